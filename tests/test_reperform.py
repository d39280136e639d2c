"""An auditor re-performs every control with the shipped SQL and gets our verdicts exactly.

Every registered control's query runs through Python's sqlite3 and through the `sqlite3`
command-line shell (an independent tool, fed the very script the report's appendix prints),
on the demo package's evidence.db and on a synthetic quarter of 10,000 deployments whose
evidence covers every branch of every control (`tests/synthetic_store.py`), evaluated with
non-default settings. Any disagreement fails and names the deployment.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest
import sqlite_utils

from audit.config import Settings
from audit.controls import CONTROLS
from audit.evaluate import evaluate_quarter
from audit.quarter import Quarter
from audit.reperform import QUERIES, parameter_names, parameters, query_name, query_text, run_sql, shell_script
from tests.synthetic_store import build_store

QUARTER = Quarter.parse("2024Q2")
SYNTHETIC_SETTINGS = Settings(
    allowed_branches=("main", "release/*"),
    approval_window_minutes=60,
    max_severity="medium",
    required_approvers=2,
    test_jobs=("test", "test (*)"),
    emergency_branches=("release/*", "feature/*"),
    emergency_labels=("hotfix",),
)


def _parameters(settings: Settings) -> dict:
    return parameters(settings.as_dict(), str(QUARTER), *QUARTER.bounds(settings.timezone))


@pytest.fixture(scope="module")
def demo_store(demo_report):
    path = demo_report["dir"] / "evidence.db"
    db = sqlite_utils.Database(path)
    stored = json.loads(db.execute("select settings from evaluations where quarter = ?", [str(QUARTER)]).fetchone()[0])
    assert stored == Settings().as_dict()  # the demo ran with the defaults
    return {"path": path, "db": db, "parameters": _parameters(Settings())}


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):
    """10,000 deployments with awkward evidence, evaluated once for the module."""
    path = tmp_path_factory.mktemp("synthetic") / "evidence.db"
    db = build_store(path, deployments=10_000)
    summary = evaluate_quarter(db, QUARTER, SYNTHETIC_SETTINGS, demo=True)
    assert summary.population > 9_000
    return {"path": path, "db": db, "parameters": _parameters(SYNTHETIC_SETTINGS)}


def _stored_verdicts(db, control_id: str) -> dict:
    return {
        (r["repository"], r["run_id"], r["environment"]): r["verdict"]
        for r in db.query("select * from verdicts where quarter = ? and control_id = ?", [str(QUARTER), control_id])
    }


def _assert_same_verdicts(rows: list[dict], stored: dict, control_id: str) -> None:
    reperformed = {(r["repository"], r["run_id"], r["environment"]): r["verdict"] for r in rows}
    assert len(rows) == len(reperformed), f"{control_id}: the query gives some deployment twice"
    disagreements = [
        f"run {run_id} of {repository} ({environment}): SQL {reperformed.get(key)!r}, evaluation {stored.get(key)!r}"
        for key in sorted(set(reperformed) | set(stored), key=str)
        for repository, run_id, environment in [key]
        if reperformed.get(key) != stored.get(key)
    ]
    assert not disagreements, f"{control_id}: {len(disagreements)} disagreement(s), first: " + "; ".join(
        disagreements[:5]
    )


def _python_rows(store: dict, name: str) -> list[dict]:
    return run_sql(store["db"], name, **{k: store["parameters"][k] for k in parameter_names(name)})


def _shell_rows(store: dict, name: str) -> list[dict]:
    """The appendix's script, run by the `sqlite3` shell on a read-only database."""
    result = subprocess.run(
        ["sqlite3", "-readonly", str(store["path"])],
        input=shell_script(name, store["parameters"], mode="json"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert not result.stderr, result.stderr
    return json.loads(result.stdout or "[]")


def test_every_registered_control_has_a_query():
    missing = [control.id for control in CONTROLS if query_name(control.id) not in QUERIES]
    assert not missing, f"controls without re-performance SQL in audit/reperform/: {missing}"


def test_every_query_parameter_comes_from_the_settings():
    known = _parameters(Settings())
    for name in QUERIES:
        unknown = set(parameter_names(name)) - set(known)
        assert not unknown, f"{name}.sql names parameters no setting provides: {unknown}"


@pytest.mark.parametrize("how", ["python", "shell"])
@pytest.mark.parametrize("control_id", [control.id for control in CONTROLS])
def test_demo_verdicts_reperformed(demo_store, control_id, how):
    name = query_name(control_id)
    rows = _python_rows(demo_store, name) if how == "python" else _shell_rows(demo_store, name)
    stored = _stored_verdicts(demo_store["db"], control_id)
    assert len(stored) > 300
    _assert_same_verdicts(rows, stored, control_id)


@pytest.mark.parametrize("how", ["python", "shell"])
@pytest.mark.parametrize("control_id", [control.id for control in CONTROLS])
def test_synthetic_verdicts_reperformed(synthetic_store, control_id, how):
    name = query_name(control_id)
    rows = _python_rows(synthetic_store, name) if how == "python" else _shell_rows(synthetic_store, name)
    stored = _stored_verdicts(synthetic_store["db"], control_id)
    assert len(stored) > 9_000
    _assert_same_verdicts(rows, stored, control_id)
    assert len(set(stored.values())) >= 2, f"{control_id}: the synthetic quarter exercises one verdict only"


def test_a_disagreement_names_the_deployment():
    stored = {("acme/api", 7, "production"): "pass"}
    with pytest.raises(AssertionError, match=r"run 7 of acme/api \(production\): SQL 'fail', evaluation 'pass'"):
        _assert_same_verdicts(
            [{"repository": "acme/api", "run_id": 7, "environment": "production", "verdict": "fail"}],
            stored,
            "deploy.approved",
        )


def test_population_sql_recomputes_the_stored_population(demo_store):
    rows = _python_rows(demo_store, "population")
    stored = [
        dict(r)
        for r in demo_store["db"].query(
            "select repository, run_id, environment, deployment_id from population where quarter = '2024Q2' "
            "order by repository, run_id, environment"
        )
    ]
    assert rows == stored and len(rows) > 300


def test_queries_only_read():
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
            {
                "status_key": "1",
                "status_id": 1,
                "deployment_id": 10,
                "state": "waiting",
                "created_at": f"{requested:%Y-%m-%dT%H:%M:%S}Z",
            },
            {
                "status_key": "2",
                "status_id": 2,
                "deployment_id": 10,
                "state": "queued",
                "created_at": f"{approved:%Y-%m-%dT%H:%M:%S}Z",
            },
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
