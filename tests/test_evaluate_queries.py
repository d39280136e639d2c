"""Evaluation reads the store in a fixed number of statements, whatever the population's size,
with Python's cycle collector paused while the quarter's records are built.

Loading evidence one deployment at a time (N+1 queries) is what makes a 10,000-deployment
quarter slow; `load_deployments` reads each table once for the whole population. Counted
with SQLite's own trace callback on two synthetic quarters of different sizes.
"""

from __future__ import annotations

import gc

import audit.evaluate
from audit.config import Settings
from audit.evaluate import evaluate_quarter
from audit.findings import build_findings
from audit.period import Period
from tests.synthetic_store import build_store

QUARTER = Period.parse("2024Q2")


def _statements(tmp_path, deployments: int) -> tuple[int, int]:
    db = build_store(tmp_path / f"evidence-{deployments}.db", deployments=deployments)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    summary = evaluate_quarter(db, QUARTER, Settings(), demo=True)
    db.conn.set_trace_callback(None)
    db.close()
    return summary.population, sum(1 for s in statements if s.lstrip().lower().startswith("select"))


def test_evaluation_queries_do_not_grow_with_the_population(tmp_path):
    small, small_selects = _statements(tmp_path, 40)
    large, large_selects = _statements(tmp_path, 400)
    assert large > 5 * small
    assert large_selects == small_selects
    assert small_selects < 40


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
