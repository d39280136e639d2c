"""Any audit period over one store: a deployment's verdicts do not depend on the period that
reports it, and reporting a period whose quarters are captured asks GitHub for no evidence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub, synthetic_world
from audit.evaluate import evaluate_quarter, stored_verdicts
from audit.extract import Extractor, GitHubClient
from audit.findings import build_findings
from audit.period import Period
from tests.extract.conftest import new_store

REPOSITORY = "synthetic/service-000"
EVIDENCE_PATHS = ("/jobs", "/approvals", "/pulls", "/reviews", "/artifacts", "/statuses", "/zip", "/graphql")


def _extract(server, db, period: str) -> None:
    client = GitHubClient(server.base_url, None)
    try:
        Extractor(db, client, Settings(), Period.parse(period)).run([REPOSITORY])
    finally:
        client.close()


@pytest.fixture(scope="module")
def half_year():
    """Two quarters captured one by one, then the half-year extracted over them."""
    world = synthetic_world(deployments=40, start=datetime(2024, 1, 1, tzinfo=UTC), days=182, artifacts=True)
    with FakeGitHub(world) as server:
        db = new_store()
        _extract(server, db, "2024Q1")
        _extract(server, db, "2024Q2")
        server.reset_requests()
        _extract(server, db, "2024H1")
        requests = [record.path for record in server.requests]
    for period in ("2024Q1", "2024Q2", "2024Q3", "2024Q4", "2024H1", "2024"):
        evaluate_quarter(db, Period.parse(period), Settings(), demo=False)
    return {"db": db, "requests": requests}


def test_a_period_over_captured_quarters_asks_for_no_evidence(half_year):
    evidence = [path for path in half_year["requests"] if path.endswith(EVIDENCE_PATHS)]
    assert evidence == []
    assert half_year["requests"], "the listings are still asked (new runs may have appeared)"


@pytest.mark.parametrize(
    ("whole", "parts"), [("2024", ("2024Q1", "2024Q2", "2024Q3", "2024Q4")), ("2024H1", ("2024Q1", "2024Q2"))]
)
def test_a_period_is_the_union_of_its_quarters(half_year, whole, parts):
    db = half_year["db"]
    union: dict = {}
    for part in parts:
        verdicts = stored_verdicts(db, Period.parse(part))
        assert not set(verdicts) & set(union), "a deployment belongs to one quarter"
        union.update(verdicts)
    assert stored_verdicts(db, Period.parse(whole)) == union
    assert len(union) == 40
    assert {v["verdict"] for d in union.values() for v in d.values()} >= {"pass", "not_applicable"}


def test_findings_follow_the_period(half_year):
    findings = build_findings(half_year["db"], Period.parse("2024H1"), Settings())
    assert findings["quarter"] == "2024H1"
    assert (findings["period"]["start"], findings["period"]["end"]) == (
        "2024-01-01T00:00:00+00:00",
        "2024-07-01T00:00:00+00:00",
    )
    assert len(findings["deployments"]) == 40
    quarters = {d["created_at"][:7] for d in findings["deployments"]}
    assert min(quarters) < "2024-04" <= max(quarters)


def test_stored_verdicts_come_in_contract_order_however_they_were_stored(tmp_path):
    """The evaluation stores a deployment's verdicts in contract order and `stored_verdicts`
    then keeps them as read; verdicts stored in any other order are put back in it."""
    from audit.controls import CONTROLS
    from tests.synthetic_store import build_store

    db = build_store(tmp_path / "evidence.db", deployments=300)
    quarter = Period.parse("2024Q2")
    evaluate_quarter(db, quarter, Settings(), demo=False)
    as_evaluated = stored_verdicts(db, quarter)
    contract = [control.id for control in CONTROLS]
    assert all(list(controls) == contract for controls in as_evaluated.values())
    with db.conn:
        rows = db.conn.execute("select * from verdicts order by rowid").fetchall()
        db.conn.execute("delete from verdicts")
        db.conn.executemany(f"insert into verdicts values ({', '.join('?' * len(rows[0]))})", rows[::-1])
    reversed_order = stored_verdicts(db, quarter)
    assert reversed_order == as_evaluated
    assert all(list(controls) == contract for controls in reversed_order.values())
