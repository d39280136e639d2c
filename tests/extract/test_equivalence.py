"""Batched (GraphQL), REST-fallback and per-run REST extraction store the same evidence.

Run on the demo's `ledger` repository, which has every exception the controls look for:
re-runs (jobs then come from REST), rejected approvals, open hotfix pull requests,
withdrawn and dismissed reviews, expired artifacts and statuses.
"""

from __future__ import annotations

import pytest

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub
from audit.demo.organisation import build_demo_world
from audit.evaluate import evaluate_quarter

from .conftest import QUARTER, extract, new_store

REPOSITORY = "acme-fintech/ledger"
EVIDENCE_TABLES = (
    "workflow_runs",
    "deployments",
    "deployment_statuses",
    "jobs",
    "approvals",
    "run_captures",
    "commit_pulls",
    "pull_requests",
    "reviews",
    "artifacts",
    "scan_findings",
)
CAPTURE_TIMES = {"captured_at", "evidence_captured_at", "reviews_captured_at", "statuses_captured_at"}


@pytest.fixture(scope="module")
def stores():
    world = build_demo_world()
    result = {}
    for name, batched, graphql in (("batched", True, True), ("no-graphql", True, False), ("naive", False, True)):
        with FakeGitHub(world, graphql=graphql) as server:
            db = new_store()
            extract(server, db, [REPOSITORY], batched=batched)
            evaluate_quarter(db, QUARTER, Settings(), demo=True, evaluated_at="fixed")
            result[name] = (db, server.request_count())
    return result


def _rows(db, table: str) -> list[tuple]:
    columns = [c for c in db[table].columns_dict if c not in CAPTURE_TIMES]
    return sorted(tuple(row[c] for c in columns) for row in db[table].rows)


@pytest.mark.parametrize("other", ["no-graphql", "naive"])
@pytest.mark.parametrize("table", [*EVIDENCE_TABLES, "verdicts"])
def test_same_rows(stores, other: str, table: str) -> None:
    assert _rows(stores["batched"][0], table) == _rows(stores[other][0], table)


def test_verdicts_cover_the_population(stores) -> None:
    db = stores["batched"][0]
    assert db.execute("select count(distinct run_id) from verdicts").fetchone()[0] > 150


def test_batching_saves_requests(stores) -> None:
    batched, fallback, naive = (stores[name][1] for name in ("batched", "no-graphql", "naive"))
    assert batched < fallback < naive
