"""An auditor re-performs controls with the shipped SQL and gets our verdicts exactly.

Runs each query both through Python's sqlite3 and through the `sqlite3` command-line shell
(an independent tool), on the demo package's evidence.db.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from importlib import resources

import pytest
import sqlite_utils

from audit.reperform import QUERIES, query_text, run_sql

CONTROL_QUERIES = {
    "deploy.approved": "deploy_approved",
    "deploy.from_main": "deploy_from_main",
    "tests.passed": "tests_passed",
    "deploy.timely": "deploy_timely",
}
PARAMETERS = {
    "quarter": "2024Q2",
    "start": "2024-04-01T00:00:00Z",
    "end": "2024-07-01T00:00:00Z",
    "environments": '["production"]',
    "allowed_branches": "[]",
    "test_jobs": '["test", "test (*)"]',
    "approval_window_minutes": 120,
}


@pytest.fixture(scope="module")
def store(demo_report):
    return sqlite_utils.Database(demo_report["dir"] / "evidence.db")


def _stored_verdicts(store, control_id: str) -> dict:
    return {
        (r["repository"], r["run_id"], r["environment"]): r["verdict"]
        for r in store.query("select * from verdicts where quarter = '2024Q2' and control_id = ?", [control_id])
    }


@pytest.mark.parametrize("control_id", sorted(CONTROL_QUERIES))
def test_sql_gives_the_stored_verdicts(store, control_id):
    rows = run_sql(
        store,
        CONTROL_QUERIES[control_id],
        **{k: v for k, v in PARAMETERS.items() if f":{k}" in query_text(CONTROL_QUERIES[control_id])},
    )
    reperformed = {(r["repository"], r["run_id"], r["environment"]): r["verdict"] for r in rows}
    stored = _stored_verdicts(store, control_id)
    assert len(stored) > 300
    assert reperformed == stored
    assert set(reperformed.values()) >= {"pass", "fail"}


def test_population_sql_recomputes_the_stored_population(store):
    rows = run_sql(
        store, "population", start=PARAMETERS["start"], end=PARAMETERS["end"], environments=PARAMETERS["environments"]
    )
    stored = [
        dict(r)
        for r in store.query(
            "select repository, run_id, environment, deployment_id from population where quarter = '2024Q2' "
            "order by repository, run_id, environment"
        )
    ]
    assert rows == stored and len(rows) > 300


def test_the_sqlite3_shell_reperforms_without_our_code(demo_report, store):
    database = demo_report["dir"] / "evidence.db"
    sql = resources.files("audit.reperform").joinpath("deploy_from_main.sql").read_text()
    script = "\n".join(
        [
            ".mode json",
            ".parameter init",
            f".parameter set :quarter \"'{PARAMETERS['quarter']}'\"",
            f".parameter set :allowed_branches \"'{PARAMETERS['allowed_branches']}'\"",
            sql,
        ]
    )
    result = subprocess.run(
        ["sqlite3", "-readonly", str(database)], input=script, capture_output=True, text=True, check=True
    )
    rows = json.loads(result.stdout)
    assert {(r["repository"], r["run_id"], r["environment"]): r["verdict"] for r in rows} == _stored_verdicts(
        store, "deploy.from_main"
    )


def test_queries_only_read(demo_report):
    """Shipped queries are SELECTs (with CTEs): running them cannot change the evidence."""
    for name in QUERIES:
        statement = "\n".join(line for line in query_text(name).splitlines() if not line.startswith("--")).strip()
        assert statement.lower().startswith(("select", "with")), name
        assert sqlite3.complete_statement(statement)


@pytest.mark.parametrize(("approved_after_seconds", "verdict"), [(7200, "pass"), (7201, "fail"), (60, "pass")])
def test_timely_sql_boundary(approved_after_seconds, verdict):
    """Exactly the window passes, one second more fails (whole-second GitHub timestamps)."""
    from datetime import datetime, timedelta

    from audit.store import ensure_schema

    db = sqlite_utils.Database(memory=True)
    ensure_schema(db)
    requested = datetime(2024, 5, 6, 10, 0, 0)
    approved = requested + timedelta(seconds=approved_after_seconds)
    db["population"].insert(
        {"quarter": "2024Q2", "repository": "acme/api", "run_id": 1, "environment": "production", "deployment_id": 10}
    )
    db["deployments"].insert(
        {
            "deployment_id": 10,
            "repository": "acme/api",
            "environment": "production",
            "run_id": 1,
            "statuses_captured_at": "2024-07-01T00:00:00Z",
        }
    )
    db["deployment_statuses"].insert_all(
        [
            {"status_id": 1, "deployment_id": 10, "state": "waiting", "created_at": f"{requested:%Y-%m-%dT%H:%M:%S}Z"},
            {"status_id": 2, "deployment_id": 10, "state": "queued", "created_at": f"{approved:%Y-%m-%dT%H:%M:%S}Z"},
        ]
    )
    db["run_captures"].insert({"repository": "acme/api", "run_id": 1, "what": "approvals", "captured_at": "x"})
    db["approvals"].insert(
        {
            "repository": "acme/api",
            "run_id": 1,
            "seq": 0,
            "user": "dana",
            "state": "approved",
            "environments": '["production"]',
        }
    )
    rows = run_sql(db, "deploy_timely", quarter="2024Q2", approval_window_minutes=120)
    assert [r["verdict"] for r in rows] == [verdict]
