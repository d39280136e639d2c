"""The auditor sample: reproducible through the CLI, re-drawable without our code, and each
sampled deployment carrying its complete evidence."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import subprocess

import pytest

from audit.config import Settings
from audit.controls import CONTROLS
from audit.findings import build_findings
from audit.quarter import Quarter
from audit.render import render_html
from audit.sample import ALGORITHM, report_sample
from audit.store import open_store
from tests.conftest import run_cli

QUARTER = Quarter.parse("2024Q2")


@pytest.fixture(scope="module")
def store(demo_report, tmp_path_factory):
    """A private copy of the demo store (the sample command must not need the original)."""
    path = tmp_path_factory.mktemp("sample") / "evidence.db"
    with sqlite3.connect(demo_report["db"]) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    return path


@pytest.fixture(scope="module")
def population(store) -> list[tuple[str, int, str]]:
    """Every (repository, run_id, environment) the quarter's verdicts cover."""
    db = open_store(store, create=False)
    rows = db.query("select distinct repository, run_id, environment from verdicts where quarter = ?", [str(QUARTER)])
    return [(row["repository"], row["run_id"], row["environment"]) for row in rows]


def draw(demo_report, store, tmp_path, *, size: int, seed: str, name: str) -> dict:
    """Run `soc2-audit sample` and return sample.json plus the rows of sample.csv."""
    out = tmp_path / name
    result = run_cli(
        "sample",
        "--quarter",
        "2024Q2",
        "--size",
        str(size),
        "--seed",
        seed,
        "--db",
        str(store),
        "--output",
        str(out),
        cwd=tmp_path,
        env=demo_report["env"],
    )
    assert result.returncode == 0, result.stderr
    with (out / "sample.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {"json": json.loads((out / "sample.json").read_text(encoding="utf-8")), "csv": rows, "dir": out}


def keys(drawn: dict) -> list[tuple[str, int, str]]:
    return [(item["repository"], item["run_id"], item["environment"]) for item in drawn["json"]["items"]]


def test_the_same_seed_gives_the_same_sample(demo_report, store, tmp_path):
    first = draw(demo_report, store, tmp_path, size=25, seed="20240701", name="first")
    second = draw(demo_report, store, tmp_path, size=25, seed="20240701", name="second")
    assert (first["dir"] / "sample.json").read_bytes() == (second["dir"] / "sample.json").read_bytes()
    assert (first["dir"] / "sample.csv").read_bytes() == (second["dir"] / "sample.csv").read_bytes()
    assert len(keys(first)) == len(set(keys(first))) == 25
    assert first["json"]["algorithm"] == ALGORITHM


def test_a_different_seed_gives_a_different_sample(demo_report, store, tmp_path):
    one = draw(demo_report, store, tmp_path, size=25, seed="20240701", name="one")
    other = draw(demo_report, store, tmp_path, size=25, seed="20240702", name="other")
    assert set(keys(one)) != set(keys(other))


def test_a_size_beyond_the_population_takes_it_all(demo_report, store, population, tmp_path):
    drawn = draw(demo_report, store, tmp_path, size=len(population) + 100, seed="all", name="all")
    assert sorted(keys(drawn)) == sorted(population)
    assert drawn["json"]["size"] == drawn["json"]["population"] == len(population)
    assert drawn["json"]["requested_size"] == len(population) + 100


def test_the_sample_reproduces_without_our_code(demo_report, store, population, tmp_path):
    """What the module docstring tells an auditor: the SIZE smallest sha256 hex digests."""
    seed = "fy2024-q2"
    digests = sorted(
        (
            hashlib.sha256(f"{seed}:{repository}:{run_id}:{environment}".encode()).hexdigest(),
            repository,
            run_id,
            environment,
        )
        for repository, run_id, environment in population
    )
    drawn = draw(demo_report, store, tmp_path, size=25, seed=seed, name="redraw")
    assert [(row["sample_key"], row["repository"], int(row["run_id"]), row["environment"]) for row in drawn["csv"]] == (
        digests[:25]
    )
    assert [int(row["rank"]) for row in drawn["csv"]] == list(range(1, 26))


def test_the_shell_computes_the_same_keys(demo_report, store, tmp_path):
    """`printf '%s' "<seed>:<repository>:<run_id>:<environment>" | sha256sum` gives each sample key."""
    seed = "20240701"
    drawn = draw(demo_report, store, tmp_path, size=3, seed=seed, name="shell")
    for row in drawn["csv"]:
        line = f"{seed}:{row['repository']}:{row['run_id']}:{row['environment']}"
        result = subprocess.run(
            ["sh", "-c", 'printf "%s" "$1" | sha256sum', "sh", line], capture_output=True, text=True, check=True
        )
        assert result.stdout.split()[0] == row["sample_key"]


def test_each_sampled_deployment_has_its_complete_evidence(demo_report, store, population, tmp_path):
    drawn = draw(demo_report, store, tmp_path, size=len(population), seed="evidence", name="evidence")
    control_ids = [control.id for control in CONTROLS]
    for item in drawn["json"]["items"]:
        where = f"{item['repository']} run {item['run_id']}"
        run = item["run"]
        assert run["head_sha"] and run["created_at"] and run["actor"], where
        assert run["html_url"] == f"https://github.com/{item['repository']}/actions/runs/{item['run_id']}", where
        assert item["jobs"] and all(job["name"] and job["status"] for job in item["jobs"]), where
        assert set(item["controls"]) == set(control_ids), where
        for control_id, result in item["controls"].items():
            assert result["verdict"] and result["detail"] and isinstance(result["evidence"], list), (where, control_id)
        retained = item["controls"]["evidence.retained"]["verdict"] == "pass"
        if retained:
            assert item["deployment_statuses"] and item["approval_requested_at"], where
        if item["deploy_approvers"]:
            assert {a["user"] for a in item["approvals"] if a["state"] == "approved"} >= set(item["deploy_approvers"])
            if retained:
                assert item["approved_at"] >= item["approval_requested_at"], where
        if item["controls"]["change.reviewed"]["verdict"] == "pass":
            pr = item["pull_request"]
            assert pr["html_url"].startswith(f"https://github.com/{item['repository']}/pull/"), where
            approvals = [r for r in pr["reviews"] if r["state"] == "APPROVED"]
            assert approvals and all(r["submitted_at"] and r["user"] for r in approvals), where
            assert set(item["pr_approvers"]) <= {r["user"] for r in approvals}, where
        if item["controls"]["scan.clean"]["verdict"] in ("pass", "fail"):
            scans = [a for a in item["artifacts"] if a["scan_format"]]
            job_only = "job conclusion only" in item["controls"]["scan.clean"]["detail"]
            assert job_only or all(a["sha256"] and isinstance(a["findings"], list) for a in scans), where
            assert job_only or scans, where
    with_findings = [a for item in drawn["json"]["items"] for a in item["artifacts"] if a.get("findings")]
    assert with_findings, "the demo has scans with findings: they are in the sample's evidence"


def test_sample_needs_an_evaluation(demo_report, store, tmp_path):
    result = run_cli(
        "sample",
        "--quarter",
        "2023Q1",
        "--size",
        "5",
        "--seed",
        "x",
        "--db",
        str(store),
        "--output",
        str(tmp_path / "none"),
        cwd=tmp_path,
        env=demo_report["env"],
    )
    assert result.returncode == 2 and "no evaluation stored for 2023Q1" in result.stderr


# -- the sample section of the report --------------------------------------------------------


def test_the_report_sample_matches_the_sample_command(demo_report, store, tmp_path):
    drawn = draw(demo_report, store, tmp_path, size=10, seed="audit-q2", name="command")
    db = open_store(store, create=False)
    findings = build_findings(db, QUARTER, Settings(), sample_size=10, sample_seed="audit-q2")
    section = findings["sample"]
    assert {key: section[key] for key in ("seed", "size", "requested_size", "population", "algorithm")} == {
        "seed": "audit-q2",
        "size": 10,
        "requested_size": 10,
        "population": drawn["json"]["population"],
        "algorithm": ALGORITHM,
    }
    assert [(i["repository"], i["run_id"], i["environment"], i["sample_key"]) for i in section["items"]] == [
        (i["repository"], i["run_id"], i["environment"], i["sample_key"]) for i in drawn["json"]["items"]
    ]
    html = render_html(findings)
    assert 'id="sample"' in html and "audit-q2" in html and "not in the population" not in html


def test_no_sample_unless_asked(store):
    findings = build_findings(open_store(store, create=False), QUARTER, Settings())
    assert findings["sample"] is None
    assert 'id="sample"' not in render_html(findings)


def test_report_sample_is_pure():
    deployments = [{"repository": "acme/api", "run_id": n, "environment": "production"} for n in range(1, 40)]
    first = report_sample(deployments, size=5, seed="s")
    assert first == report_sample(list(reversed(deployments)), size=5, seed="s")
    assert [item["sample_key"] for item in first["items"]] == sorted(item["sample_key"] for item in first["items"])
