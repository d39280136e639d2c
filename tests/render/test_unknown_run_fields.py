"""A stored run that does not say everything still renders: unknown is shown as unknown.

GitHub leaves `run_attempt` out of older runs, and a stored run may lack its commit, page,
branch or actor (all nullable in the store). The findings model accepts these as null and
the report prints "unknown" where a cell has nothing, never the word None. One small
synthetic store, one such run among its deployments, rendered once by `soc2-audit render`'s
own pipeline function.
"""

from __future__ import annotations

import json
import re

import pytest

from audit.config import Settings
from audit.evaluate import evaluate_quarter
from audit.period import Period
from audit.pipeline import render
from tests.synthetic_store import build_store

from .conftest import poppler

QUARTER = Period.parse("2024Q2")
DEPLOYMENTS = 40
BLANKED = ("run_attempt", "head_sha", "html_url", "head_branch", "actor", "triggering_actor")


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("unknown-run-fields")
    db = build_store(directory / "evidence.db", deployments=DEPLOYMENTS)
    run_id = db.execute("select min(run_id) from workflow_runs where created_at >= '2024-04-02'").fetchone()[0]
    with db.conn:
        db.execute(f"update workflow_runs set {', '.join(f'{c} = null' for c in BLANKED)} where run_id = ?", [run_id])
    settings = Settings(population_pdf_limit=DEPLOYMENTS)  # the PDF prints its population table
    evaluate_quarter(db, QUARTER, settings, demo=True)
    db.close()
    output = directory / "out"
    render(settings, QUARTER, directory / "evidence.db", output)
    return {"output": output, "run_id": run_id}


def test_findings_keep_the_unknown_fields_null(package):
    findings = json.loads((package["output"] / "findings.json").read_text())
    deployment = next(d for d in findings["deployments"] if d["run_id"] == package["run_id"])
    assert {field: deployment[field] for field in BLANKED} == dict.fromkeys(BLANKED)


def test_pdf_and_html_show_unknown_never_none(package):
    pdf_text = poppler("pdftotext", "-layout", str(package["output"] / "report.pdf"), "-")
    html = (package["output"] / "report.html").read_text()
    none = re.compile(r"\bNone\b(?! of )")  # "None of the 2 required people approved" is a sentence
    assert not none.findall(pdf_text)
    assert not none.findall(re.sub(r"<[^>]*>", " ", html))
    row = next(line for line in pdf_text.split("Population")[-1].splitlines() if str(package["run_id"]) in line)
    assert row.count("unknown") >= 2  # the branch and the actor


def test_csv_leaves_unknown_cells_empty(package):
    lines = (package["output"] / "population.csv").read_text().splitlines()
    row = next(line for line in lines if f",{package['run_id']}," in line)
    assert "None" not in row and ',"",' in row
