"""Batched (GraphQL), REST-fallback and per-run REST extraction store the same evidence.

Run on the demo's `ledger` repository, which has every exception the controls look for:
re-runs (jobs then come from REST), rejected approvals, open hotfix pull requests,
withdrawn and dismissed reviews, expired artifacts and statuses.
"""

from __future__ import annotations

import json

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


GRAPHQL_LACKS = {"deployment_statuses": ("status_id", "target_url")}
"""Columns GraphQL cannot fill (a status's database id and REST's deprecated `target_url`)."""


def _rows(db, table: str) -> list[tuple]:
    """Comparable rows; a verdict's cited status by its store key, as GraphQL cites it by node
    id and REST by database id."""
    if table == "verdicts":
        keys = {}
        for row in db["deployment_statuses"].rows:
            keys[f"deployment_statuses:{row['node_id']}"] = keys[f"deployment_statuses:{row['status_id']}"] = (
                f"status {row['status_key']}"
            )
        return sorted(
            (
                row["run_id"],
                row["control_id"],
                row["verdict"],
                row["detail"],
                [keys.get(e, e) for e in json.loads(row["evidence"])],
            )
            for row in db.query("select * from verdicts")
        )
    if table in GRAPHQL_LACKS:
        return comparable_rows(db, table, without=GRAPHQL_LACKS[table])
    return comparable_rows(db, table)


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
