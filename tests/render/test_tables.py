"""population.csv and findings.json."""

from __future__ import annotations

import csv
import io
import json

import pytest

from audit.render import population_rows, write_findings_json, write_population_csv
from audit.render.tables import POPULATION_COLUMNS, findings_json_bytes

from .factories import make_deployment, make_findings

CONTROL_IDS = [
    "change.reviewed",
    "deploy.approved",
    "deploy.dual_control",
    "deploy.independent",
    "deploy.timely",
    "tests.passed",
    "scan.clean",
    "deploy.from_main",
    "evidence.retained",
    "change.emergency_reviewed",
]


def read_csv(path):
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def test_columns_in_contract_order(tmp_path):
    findings = make_findings(5)
    rows = read_csv(write_population_csv(findings, tmp_path / "population.csv"))
    assert rows[0] == [*POPULATION_COLUMNS, *CONTROL_IDS, "oidc_token"]
    assert POPULATION_COLUMNS[:3] == ("repository", "run_id", "run_attempt")
    assert len(rows) == 1 + 5


def test_lines_end_with_newline_only(tmp_path):
    data = write_population_csv(make_findings(3), tmp_path / "p.csv").read_bytes()
    assert b"\r" not in data and data.endswith(b"\n")


def test_lists_joined_none_empty_verdicts_in_columns(tmp_path):
    findings = make_findings(2)
    findings["deployments"] = [
        make_deployment(
            findings, pr_approvers=["alice-ng", "bob-okafor"], deploy_approvers=[], pr_number=None, approved_at=None
        )
    ]
    row = population_rows(findings)[0]
    assert row["pr_approvers"] == "alice-ng;bob-okafor"
    assert row["deploy_approvers"] == ""
    assert row["pr_number"] == "" and row["approved_at"] == ""
    for control_id in CONTROL_IDS:
        assert row[control_id] == findings["deployments"][0]["controls"][control_id]["verdict"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("feature/=x", "feature/=x"),
        ("main", "main"),
    ],
)
def test_formula_injection_neutralised(tmp_path, value, written):
    findings = make_findings(2)
    findings["deployments"] = [make_deployment(findings, head_branch=value, actor=value)]
    rows = read_csv(write_population_csv(findings, tmp_path / "p.csv"))
    header, row = rows[0], rows[1]
    assert row[header.index("head_branch")] == written
    assert row[header.index("actor")] == written


def test_list_starting_with_formula_is_neutralised():
    findings = make_findings(2)
    findings["deployments"] = [make_deployment(findings, pr_approvers=["=evil", "bob"])]
    assert population_rows(findings)[0]["pr_approvers"] == "'=evil;bob"


def test_numbers_stay_numbers():
    row = population_rows(make_findings(2))[0]
    assert isinstance(row["run_id"], int)


def test_findings_json_round_trips(tmp_path):
    findings = make_findings(8)
    findings["deployments"][0]["pr_title"] = "Ünïcødé — fix ≥ 2 approvals"
    path = write_findings_json(findings, tmp_path / "findings.json")
    text = path.read_text("utf-8")
    assert json.loads(text) == findings
    assert "Ünïcødé — fix ≥ 2" in text  # ensure_ascii=False
    assert text.startswith('{\n  "quarter": "2024Q2",\n  "period"')


def test_findings_json_gives_each_deployment_one_line(tmp_path):
    findings = make_findings(5)
    findings["deployments"][1]["pr_title"] = "two\nlines"  # escaped, so still one line of the file
    lines = write_findings_json(findings, tmp_path / "findings.json").read_text("utf-8").splitlines()
    deployment_lines = [line for line in lines if line.startswith('    {"repository"')]
    assert [json.loads(line.rstrip(",")) for line in deployment_lines] == findings["deployments"]
    assert lines[-1] == "}"


def test_findings_json_keys_in_contract_order_whatever_the_input_order():
    findings = make_findings(2)
    shuffled = dict(reversed(list(findings.items())))
    assert list(json.loads(findings_json_bytes(shuffled))) == list(findings)


def test_written_findings_json_equals_the_attachment_bytes(tmp_path):
    findings = make_findings(6)
    path = write_findings_json(findings, tmp_path / "findings.json")
    assert path.read_bytes() == findings_json_bytes(findings)
