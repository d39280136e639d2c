"""Evaluation and the findings read the store in a fixed number of statements, whatever the
population's size, with Python's cycle collector paused while the quarter's records are built,
and `soc2-audit evaluate` starts without the GitHub client or the renderers.

Loading evidence one deployment at a time (N+1 queries) is what makes a 10,000-deployment
quarter slow; `load_deployments` reads each table once for the whole population, and the
findings read back what evaluation stored instead of loading the evidence a second time.
Counted with SQLite's own trace callback on two synthetic quarters of different sizes.
"""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

import audit.evaluate
from audit.config import Settings
from audit.evaluate import evaluate_quarter
from audit.findings import build_findings
from audit.period import Period
from tests.conftest import clean_env
from tests.synthetic_store import build_store

QUARTER = Period.parse("2024Q2")
SIZES = (40, 400)


def _selects(statements: list[str]) -> int:
    return sum(1 for s in statements if s.lstrip().lower().startswith("select"))


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """Size -> (population, statements of evaluate_quarter, statements of build_findings)."""
    result = {}
    for deployments in SIZES:
        db = build_store(tmp_path_factory.mktemp("store") / "evidence.db", deployments=deployments)
        evaluated: list[str] = []
        db.conn.set_trace_callback(evaluated.append)
        summary = evaluate_quarter(db, QUARTER, Settings(), demo=True)
        found: list[str] = []
        db.conn.set_trace_callback(found.append)
        findings = build_findings(db, QUARTER, Settings())
        db.conn.set_trace_callback(None)
        db.close()
        assert len(findings["deployments"]) == summary.population
        result[deployments] = (summary.population, evaluated, found)
    return result


def test_evaluation_queries_do_not_grow_with_the_population(traced):
    (small, small_statements, _), (large, large_statements, _) = traced[40], traced[400]
    assert large > 5 * small
    assert _selects(large_statements) == _selects(small_statements) < 40


def test_the_findings_read_the_evaluation_not_the_evidence_again(traced):
    (_, _, small_statements), (_, _, large_statements) = traced[40], traced[400]
    assert _selects(large_statements) == _selects(small_statements) < 40
    # load_deployments fills temp.evaluation_keys with the population before reading the evidence
    assert not [s for s in large_statements if "evaluation_keys" in s]
    assert any("from population" in s for s in large_statements)


def test_the_cycle_collector_is_paused_while_judging_and_left_as_found(tmp_path, monkeypatch):
    db = build_store(tmp_path / "evidence.db", deployments=40)
    seen: list[bool] = []
    judge = audit.evaluate.evaluate_all
    monkeypatch.setattr(audit.evaluate, "evaluate_all", lambda *args: seen.append(gc.isenabled()) or judge(*args))
    assert gc.isenabled()
    evaluate_quarter(db, QUARTER, Settings(), demo=True)
    assert seen and not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:
        build_findings(db, QUARTER, Settings())
        assert not gc.isenabled(), "a caller's choice stands"
    finally:
        gc.enable()
    db.close()


def test_the_evaluate_command_imports_neither_the_github_client_nor_a_renderer(tmp_path):
    build_store(tmp_path / "evidence.db", deployments=40).close()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "audit", "evaluate", "--quarter", "2024Q2", "--db", "evidence.db"],
        cwd=tmp_path,
        env=clean_env(tmp_path, HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert {"audit", "sqlite_utils"} <= imported, "the trace lists what the process imported"
    assert not imported & {"github", "requests", "jwt", "weasyprint", "pyhanko", "openpyxl", "xlsxwriter", "jinja2"}
