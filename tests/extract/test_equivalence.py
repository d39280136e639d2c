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

from .conftest import EVIDENCE_TABLES, QUARTER, comparable_rows, extract, new_store

REPOSITORY = "acme-fintech/ledger"


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


@pytest.mark.parametrize("other", ["no-graphql", "naive"])
@pytest.mark.parametrize("table", [*EVIDENCE_TABLES, "verdicts"])
def test_same_rows(stores, other: str, table: str) -> None:
    assert comparable_rows(stores["batched"][0], table) == comparable_rows(stores[other][0], table)


def test_verdicts_cover_the_population(stores) -> None:
    db = stores["batched"][0]
    assert db.execute("select count(distinct run_id) from verdicts").fetchone()[0] > 150


def test_batching_saves_requests(stores) -> None:
    batched, fallback, naive = (stores[name][1] for name in ("batched", "no-graphql", "naive"))
    assert batched < fallback < naive
