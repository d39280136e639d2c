"""Requests per production deployment (issue 9) and an extraction-log row for every request."""

from __future__ import annotations

import pytest

from audit.demo.fakegithub import FakeGitHub, synthetic_world

from .conftest import extract, new_store

DEPLOYMENTS = 150
REPOSITORY = "synthetic/service-000"


@pytest.fixture(scope="module")
def quarter():
    """A synthetic quarter extracted twice (first, then unchanged): request counts and store."""
    with FakeGitHub(synthetic_world(deployments=DEPLOYMENTS)) as server:
        db = new_store()
        first = extract(server, db, [REPOSITORY])
        first_requests = server.request_count()
        first_log = list(server.requests)
        server.reset_requests()
        extract(server, db, [REPOSITORY])
        yield {
            "db": db,
            "summary": first,
            "first": first_requests,
            "first_log": first_log,
            "again": server.request_count(),
        }


def test_every_deployment_is_captured(quarter) -> None:
    assert quarter["summary"].production_deployments == DEPLOYMENTS
    captured = "select count(*) from workflow_runs where evidence_captured_at is not null"
    assert quarter["db"].execute(captured).fetchone()[0] == DEPLOYMENTS


def test_first_extraction_costs_at_most_3_requests_per_deployment(quarter) -> None:
    # Blob downloads are not counted; the 302 that leads to each one is (about 1.5 a run).
    assert quarter["first"] / DEPLOYMENTS <= 3.0


def test_reextraction_of_an_unchanged_quarter_costs_at_most_005_per_deployment(quarter) -> None:
    assert quarter["again"] / DEPLOYMENTS <= 0.05


def test_jobs_approvals_pull_requests_and_statuses_come_in_batches(quarter) -> None:
    paths = [record.path for record in quarter["first_log"]]
    # 2 batches each of runs, commits, deployments' statuses and workflow files at commits
    assert paths.count("/graphql") == 8
    assert not [p for p in paths if p.endswith(("/jobs", "/approvals", "/pulls", "/reviews", "/statuses"))]


def test_first_extraction_costs_the_scan_downloads_and_fixed_listings(quarter) -> None:
    """Issue 18: per deployment, a `/zip` per scan artifact and about 0.1 for listings and
    GraphQL batches; nothing per deployment besides the downloads."""
    paths = [record.path for record in quarter["first_log"]]
    downloads = sum(1 for path in paths if path.endswith("/zip"))
    # 8 GraphQL queries; 11 listing pages and settings (runs, deployments, artifacts, repository,
    # environments, branch protection): 19 at 150 deployments, one more per 100 of each
    assert quarter["first"] - downloads <= 20


def test_the_store_logs_every_request(quarter) -> None:
    db = quarter["db"]
    logged = db.execute("select sum(requests) from extraction_log where extraction_id = 1").fetchone()[0]
    assert logged == quarter["first"]
    graphql_rows = db.execute(
        "select count(*) from extraction_log where extraction_id = 1 and query like 'POST /graphql%'"
    ).fetchone()[0]
    assert graphql_rows == sum(1 for record in quarter["first_log"] if record.path == "/graphql")
    again = db.execute("select sum(requests) from extraction_log where extraction_id = 2").fetchone()[0]
    assert again == quarter["again"]


def test_the_extraction_record_counts_the_requests(quarter) -> None:
    rows = quarter["db"].execute("select requests from extractions order by extraction_id").fetchall()
    assert [row[0] for row in rows] == [quarter["first"], quarter["again"]]
