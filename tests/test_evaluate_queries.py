"""Evaluation reads the store in a fixed number of statements, whatever the population's size.

Loading evidence one deployment at a time (N+1 queries) is what makes a 10,000-deployment
quarter slow; `load_deployments` reads each table once for the whole population. Counted
with SQLite's own trace callback on two synthetic quarters of different sizes.
"""

from __future__ import annotations

from audit.config import Settings
from audit.evaluate import evaluate_quarter
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
