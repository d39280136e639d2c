"""Concurrent extraction makes the same requests and stores the same rows as a sequential one;
a rate-limit wait holds back every worker; only possible scan evidence is downloaded, once.

Run on the demo's `ledger` repository (re-runs, rejected approvals, expired artifacts,
identical reports re-uploaded by later runs) and on a synthetic quarter with coverage reports.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub, synthetic_world
from audit.demo.organisation import build_demo_world
from audit.evaluate import evaluate_quarter
from audit.extract import Extractor, GitHubClient
from audit.extract import client as client_module

from .conftest import EVIDENCE_TABLES, QUARTER, comparable_rows, new_store

REPOSITORY = "acme-fintech/ledger"


def _extract(server: FakeGitHub, repository: str, workers: int):
    db = new_store()
    client = GitHubClient(server.base_url, None)
    try:
        Extractor(db, client, Settings(), QUARTER, workers=workers).run([repository])
    finally:
        client.close()
    evaluate_quarter(db, QUARTER, Settings(), demo=True, evaluated_at="fixed")
    return db


def _requests(server: FakeGitHub) -> Counter:
    """The API requests the server answered, as a multiset (blob URLs carry one-time tokens)."""
    return Counter((r.method, r.path, tuple(sorted(r.query.items())), r.status) for r in server.requests if not r.blob)


@pytest.fixture(scope="module")
def ledger():
    result = {}
    with FakeGitHub(build_demo_world()) as server:
        for name, workers in (("sequential", 1), ("concurrent", 4)):
            server.reset_requests()
            db = _extract(server, REPOSITORY, workers)
            result[name] = (db, _requests(server), server.request_count("/_blobs/", include_blobs=True))
    return result


@pytest.mark.parametrize("table", [*EVIDENCE_TABLES, "verdicts"])
def test_concurrent_capture_stores_the_same_rows(ledger, table: str) -> None:
    assert comparable_rows(ledger["concurrent"][0], table) == comparable_rows(ledger["sequential"][0], table)


def test_concurrent_capture_makes_the_same_requests(ledger) -> None:
    sequential, concurrent = ledger["sequential"], ledger["concurrent"]
    assert concurrent[1] == sequential[1]
    assert concurrent[2] == sequential[2], "the same blob downloads"
    assert sum(concurrent[1].values()) > 100


def test_every_concurrent_request_is_logged_once(ledger) -> None:
    db, requests, _ = ledger["concurrent"]
    assert db.execute("select sum(requests) from extraction_log").fetchone()[0] == sum(requests.values())


def test_bytes_listed_with_a_stored_digest_are_not_downloaded_again(ledger) -> None:
    db, requests, _ = ledger["concurrent"]
    reused = list(db.query("select * from artifacts where capture_detail like 'not downloaded again%'"))
    assert reused, "the demo re-uploads identical reports"
    downloaded = {int(path.split("/")[-2]) for (_, path, _, _) in requests if path.endswith("/zip")}
    for row in reused:
        assert row["artifact_id"] not in downloaded
        original = next(
            db.query(
                "select * from artifacts where artifact_id != ? and sha256 = ?", [row["artifact_id"], row["sha256"]]
            )
        )
        assert original["artifact_id"] in downloaded
        assert row["content"] == original["content"] and row["scan_format"] == original["scan_format"]
        copied = db.execute("select count(*) from scan_findings where artifact_id = ?", [row["artifact_id"]])
        kept = db.execute("select count(*) from scan_findings where artifact_id = ?", [original["artifact_id"]])
        assert copied.fetchone()[0] == kept.fetchone()[0]


@pytest.fixture(scope="module")
def synthetic():
    """A synthetic quarter with coverage reports, captured with 4 workers from a server 20 ms away
    (so requests overlap)."""
    world = synthetic_world(deployments=40)
    with FakeGitHub(world, latency_ms=20) as server:
        db = _extract(server, "synthetic/service-000", 4)
        return SimpleNamespace(world=world, db=db, requests=server.requests, in_flight=dict(server.most_in_flight))


def test_only_possible_scan_evidence_is_downloaded(synthetic) -> None:
    world, db = synthetic.world, synthetic.db
    artifacts = [a for _, a in world.artifacts.values() if not a.is_expired(world.as_of)]
    coverage = [a for a in artifacts if a.name == "coverage"]
    reports = [a for a in artifacts if a.name == "bandit-report"]
    assert coverage and reports, "the synthetic quarter has coverage and bandit reports"
    zips = sorted(int(r.path.split("/")[-2]) for r in synthetic.requests if r.path.endswith("/zip"))
    assert zips == sorted(a.id for a in reports), "every bandit report once, no coverage report"
    skipped = db.execute(
        "select count(*) from artifacts where name = 'coverage' and capture_status = 'not_scan' "
        "and capture_detail like 'not downloaded%' and content is null"
    ).fetchone()[0]
    assert skipped == len(coverage)


def test_at_most_a_handful_of_api_requests_in_flight_and_blobs_beside_them(synthetic) -> None:
    """Four workers: never more than four API requests at once; blob downloads are no API
    requests and run on threads of their own, so API requests and blobs were in flight together."""
    assert 2 <= synthetic.in_flight["api"] <= 4, synthetic.in_flight
    assert synthetic.in_flight["blobs"] >= 2, synthetic.in_flight
    assert synthetic.in_flight["all"] > 4, synthetic.in_flight


def test_a_rate_limit_wait_holds_back_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(
        client_module,
        "time",
        SimpleNamespace(sleep=waits.append, time=__import__("time").time, monotonic=__import__("time").monotonic),
    )
    with FakeGitHub(synthetic_world(deployments=1)) as server:
        server.add_fault(r"/environments$", 403, headers={"retry-after": "30"})
        client = GitHubClient(server.base_url, None)
        worker = client.fork()
        try:
            worker.get("/repos/synthetic/service-000/environments")  # told to wait 30 s, then answered
            assert waits == [30.0]
            client.get("/repos/synthetic/service-000")  # another worker: waits out the same pause
        finally:
            worker.close()
            client.close()
    assert len(waits) == 2 and 0 < waits[1] <= 30.0
    assert client.counter.requests == 2 and client.counter.retries == 1, "one counter for both clients"
