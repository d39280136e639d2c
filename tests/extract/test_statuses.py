"""Deployment statuses in GraphQL batches (issue 18): the same evidence as REST, cited by node id.

GraphQL's `DeploymentStatus` has a node id but no database id and no `target_url`. Rows are
keyed by the node id, which REST gives too, so the GraphQL store equals the REST store row
for row except those two columns, and a later REST capture fills them in without adding a
row. A deployment GraphQL does not answer in full goes to REST; when REST refuses too the
statuses stay uncaptured, recorded in `degraded_lookups`, and are never read as "none".
"""

from __future__ import annotations

import json

import pytest
import requests
import sqlite_utils

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub
from audit.documents import DegradedLookup
from audit.evaluate import evaluate_quarter
from audit.extract import GitHubClient, graphql
from audit.findings import completeness
from audit.store import ensure_schema
from tests.reliability.helpers import REPOSITORY, small_world

from .conftest import QUARTER, comparable_rows, extract, new_store

GRAPHQL_LACKS = ("status_id", "target_url")
"""What GraphQL cannot give: the database id and REST's deprecated copy of `log_url`."""


def _statuses(db, *, without: tuple[str, ...] = ()) -> list[tuple]:
    columns = sorted(c for c in db["deployment_statuses"].columns_dict if c not in (*without, "captured_at"))
    return sorted(tuple(row[c] for c in columns) for row in db["deployment_statuses"].rows)


def _statuses_requests(server: FakeGitHub) -> int:
    return sum(1 for record in server.requests if record.path.endswith("/statuses"))


@pytest.fixture(scope="module")
def world():
    return small_world()


@pytest.fixture(scope="module")
def captured(world):
    """The quarter captured with statuses from GraphQL and, separately, from REST only."""
    result = {}
    for name, graphql_on in (("graphql", True), ("rest", False)):
        with FakeGitHub(world, graphql=graphql_on) as server:
            db = new_store()
            extract(server, db, [REPOSITORY])
            evaluate_quarter(db, QUARTER, Settings(), demo=False, evaluated_at="fixed")
            result[name] = (db, _statuses_requests(server))
    return result


def test_graphql_answers_every_deployments_statuses_in_one_batch(captured) -> None:
    db, rest_requests = captured["graphql"]
    assert rest_requests == 0
    logged = db.execute(
        "select count(*), sum(requests) from extraction_log where query = 'POST /graphql nodes(ids:) Deployment'"
    ).fetchone()
    assert tuple(logged) == (1, 1)
    assert captured["rest"][1] == 12  # one per deployment without GraphQL


def test_the_stores_are_equal_but_for_what_graphql_lacks(captured) -> None:
    graphql_db, rest_db = captured["graphql"][0], captured["rest"][0]
    assert _statuses(graphql_db, without=GRAPHQL_LACKS) == _statuses(rest_db, without=GRAPHQL_LACKS)
    assert graphql_db.execute("select count(*) from deployment_statuses where status_id is not null").fetchone()[0] == 0
    assert rest_db.execute("select count(*) from deployment_statuses where status_id is null").fetchone()[0] == 0
    for table in ("deployments", "workflow_runs", "jobs", "approvals"):
        assert comparable_rows(graphql_db, table) == comparable_rows(rest_db, table), table


def test_verdicts_are_equal_and_cite_the_same_statuses(captured) -> None:
    """A GraphQL status is cited by node id, a REST one by database id: both name one row."""

    def verdicts(db) -> list[tuple]:
        key = {str(row["status_id"]): row["status_key"] for row in db["deployment_statuses"].rows}
        key.update({row["node_id"]: row["status_key"] for row in db["deployment_statuses"].rows})
        rows = []
        for row in db.query("select * from verdicts order by run_id, control_id"):
            cited = [
                "status " + key[item.removeprefix("deployment_statuses:")]
                if item.startswith("deployment_statuses:")
                else item
                for item in json.loads(row["evidence"])
            ]
            rows.append((row["run_id"], row["control_id"], row["verdict"], row["detail"], cited))
        return rows

    graphql_verdicts = verdicts(captured["graphql"][0])
    assert graphql_verdicts == verdicts(captured["rest"][0])
    cited = [item for *_, evidence in graphql_verdicts for item in evidence if item.startswith("status ")]
    assert cited, "deploy.timely and evidence.retained cite statuses"


def test_a_rest_capture_after_graphql_fills_the_ids_in_without_duplicating(world, captured) -> None:
    db = new_store()
    with FakeGitHub(world) as server:
        extract(server, db, [REPOSITORY])
    db.execute("update deployments set statuses_final = 0")  # ask GitHub again
    with FakeGitHub(world, graphql=False) as server:
        extract(server, db, [REPOSITORY])
        assert _statuses_requests(server) == 12
    assert _statuses(db) == _statuses(captured["rest"][0])


def test_refused_statuses_go_to_rest_and_what_rest_refuses_stays_uncaptured(world) -> None:
    db = new_store()
    with FakeGitHub(world) as server:
        deployments = world.repositories[REPOSITORY].deployments
        server.graphql_faults.forbidden.add("Deployment.statuses")
        server.graphql_faults.not_found_deployments.add(deployments[0].id)
        server.refuse(rf"/deployments/{deployments[1].id}/statuses$", "deployments=read")
        summary = extract(server, db, [REPOSITORY])
        assert _statuses_requests(server) == 12
    assert summary.degraded[("statuses", "rest")] == 11
    assert summary.degraded[("statuses", "unavailable")] == 1
    refused = db.execute(
        "select graphql_error, rest_error, permission from degraded_lookups where piece = 'statuses' "
        "and outcome = 'unavailable' and subject = ?",
        [str(deployments[1].id)],
    ).fetchone()
    assert refused[0].startswith("FORBIDDEN at nodes.") and refused[1].startswith("HTTP 403")
    assert refused[2] == "deployments: read"
    not_found = db.execute(
        "select graphql_error from degraded_lookups where piece = 'statuses' and subject = ?",
        [str(deployments[0].id)],
    ).fetchone()[0]
    assert not_found.startswith("NOT_FOUND")
    uncaptured = db.execute(
        "select statuses_captured_at, statuses_final, (select count(*) from deployment_statuses s "
        "where s.deployment_id = d.deployment_id) from deployments d where deployment_id = ?",
        [deployments[1].id],
    ).fetchone()
    assert tuple(uncaptured) == (None, None, 0)
    assert db.execute("select count(*) from deployments where statuses_captured_at is null").fetchone()[0] == 1
    # Not lost, refused: the verdicts that need the statuses cannot judge, and say why.
    evaluate_quarter(db, QUARTER, Settings(), demo=False, evaluated_at="fixed")
    run_id = world.repositories[REPOSITORY].deployments[1].run_id
    verdicts = {
        row["control_id"]: (row["verdict"], row["detail"])
        for row in db.query("select * from verdicts where run_id = ?", [run_id])
    }
    for control_id in ("evidence.retained", "deploy.timely"):
        verdict, detail = verdicts[control_id]
        assert verdict == "not_available" and "the token lacks deployments: read" in detail, (control_id, detail)
    lookups = completeness(db, QUARTER, Settings(), [])["degraded_lookups"]
    missing = {(row["piece"], row["outcome"]): row["still_missing"] for row in lookups}
    assert missing[("statuses", "unavailable")] == 1 and missing[("statuses", "rest")] == 0
    for row in lookups:
        DegradedLookup.model_validate(row)


def test_more_than_a_page_of_statuses_is_paged_over_rest(world, monkeypatch) -> None:
    with FakeGitHub(world) as server:
        client = GitHubClient(server.base_url, None)
        deployments = world.repositories[REPOSITORY].deployments[:3]
        api = f"{server.base_url}/repos/{REPOSITORY}/deployments"
        ids = [requests.get(f"{api}/{d.id}", timeout=10).json()["node_id"] for d in deployments]
        data, _ = graphql.query(client, graphql.STATUSES_QUERY, {"ids": ids})
        client.close()
    assert data["nodes"][1]["statuses"]["pageInfo"]["hasNextPage"] is False
    data["nodes"][1]["statuses"]["pageInfo"]["hasNextPage"] = True
    monkeypatch.setattr(graphql, "query", lambda client, text, variables: (data, graphql.Refusals(())))
    answers = graphql.deployment_statuses(None, ids)
    assert [answer.statuses is None for answer in answers] == [False, True, False]
    assert {status["state"] for status in answers[0].statuses} >= {"waiting", "success"}


def test_statuses_stored_before_node_ids_are_rekeyed_not_duplicated(world, captured, tmp_path) -> None:
    """A store of schema version 2 (statuses keyed by database id, no node id) is migrated;
    its deployments' statuses are asked over REST, which gives both ids."""
    legacy = sqlite_utils.Database(tmp_path / "legacy.db")
    legacy.execute("pragma user_version = 2")
    legacy["deployment_statuses"].create(
        {
            "status_id": int,
            "deployment_id": int,
            "repository": str,
            "state": str,
            "created_at": str,
            "creator": str,
            "description": str,
            "target_url": str,
            "log_url": str,
            "captured_at": str,
        },
        pk="status_id",
    )
    rest_rows = list(captured["rest"][0]["deployment_statuses"].rows)
    legacy["deployment_statuses"].insert_all(
        {k: v for k, v in row.items() if k not in ("status_key", "node_id")} for row in rest_rows
    )
    legacy.conn.commit()
    ensure_schema(legacy)
    assert legacy["deployment_statuses"].pks == ["status_key"]
    assert {row["status_key"] for row in legacy["deployment_statuses"].rows} == {
        str(row["status_id"]) for row in rest_rows
    }
    with FakeGitHub(world) as server:
        extract(server, legacy, [REPOSITORY])
        assert _statuses_requests(server) == 12
    assert _statuses(legacy) == _statuses(captured["rest"][0])
