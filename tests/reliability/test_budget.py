"""Capture under GitHub's Actions budget: 1,000 requests an hour for a `GITHUB_TOKEN`.

A first capture of a busy repository needs more than one hour's budget. Each run spends the
budget, stops at the rate limit (a reset an hour away is beyond --max-wait) and keeps what it
captured; the next run (the server's clock moved on an hour) goes on from there. The runs
together reach the same evidence and verdicts as one unlimited run, and nothing is fetched
twice: every request GitHub charged for in the limited runs, the unlimited run made too,
apart from the few listings each run starts with.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub, synthetic_world
from audit.extract import Extractor, GitHubClient
from audit.extract.client import WaitTooLong
from audit.extract.evidence import BATCHES_AHEAD
from audit.store import open_store
from tests.reliability.helpers import QUARTER, REPOSITORY, evaluate, evidence, verdicts

BUDGET = 250
"""A workflow's GITHUB_TOKEN gets 1,000 requests an hour; scaled down with the quarter here: at
about one request per deployment, 600 deployments against 250 are 2,400 against 1,000."""


def capture(db_path, server: FakeGitHub) -> None:
    client = GitHubClient(server.base_url, "token", max_wait=60, backoff_factor=0.01)
    try:
        Extractor(open_store(db_path), client, Settings(), QUARTER).run([REPOSITORY])
    finally:
        client.close()


def charged(server: FakeGitHub) -> Counter:
    """The requests GitHub charged for (answered 200 or 302), by method, path and query."""
    return Counter(
        (r.method, r.path, tuple(sorted(r.query.items())))
        for r in server.requests
        if not r.blob and r.status in (200, 302)
    )


@pytest.fixture
def memory_dir(tmp_path):
    """A directory in RAM when the machine has one: two 600-deployment captures commit
    thousands of small transactions, and a busy disk's fsyncs would dominate the test."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield tmp_path
        return
    directory = Path(tempfile.mkdtemp(dir=shm, prefix="soc2-budget-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_a_small_request_budget_spreads_the_capture_over_runs_without_fetching_anything_twice(memory_dir):
    world = synthetic_world(deployments=600, seed=3)
    unlimited_db, limited_db = memory_dir / "unlimited.db", memory_dir / "limited.db"
    with FakeGitHub(world) as server:
        capture(unlimited_db, server)
        unlimited = charged(server)
    assert sum(unlimited.values()) > BUDGET, "the capture needs more than an hour's budget"

    runs = 0
    with FakeGitHub(world, rate_limit=BUDGET) as server:
        while True:
            runs += 1
            assert runs <= 10, "the capture makes no progress"
            try:
                capture(limited_db, server)
                break
            except WaitTooLong:
                server.next_rate_window()  # an hour later, the next scheduled run
        limited = charged(server)
    evaluate(unlimited_db)
    evaluate(limited_db)

    assert runs == -(-sum(limited.values()) // BUDGET), "each run but the last spent a full hour's budget"
    assert not unlimited - limited, ("nothing left out", unlimited - limited)
    # Each run starts by reading the repository, its environments and the default branch's
    # protection and rules (settings snapshots per capture, by design), the artifact listing and
    # the deployments query again: a few requests a run.
    # No per-deployment evidence (statuses, runs, jobs, approvals, artifacts, pull requests,
    # reviews) is fetched twice.
    per_run = {
        f"/repos/{REPOSITORY}",
        f"/repos/{REPOSITORY}/environments",
        f"/repos/{REPOSITORY}/actions/artifacts",
        f"/repos/{REPOSITORY}/branches/main/protection",
        f"/repos/{REPOSITORY}/rules/branches/main",
    }
    # GraphQL batches (100 runs, commits or deployments each) are fetched one ahead of the
    # writer (BATCHES_AHEAD, per query: deployments' statuses, runs, commits). When the budget
    # runs out, the batch being stored and the one ahead are not all stored; the next run asks
    # again for what was not captured, in new batches. Per stop and query, that is the batch
    # ahead and the one the new grouping adds: BATCHES_AHEAD queries. Per-deployment REST
    # evidence (statuses GraphQL did not give, artifact downloads) is never fetched twice.
    refetched = limited - unlimited
    assert {path for _, path, _ in refetched} <= per_run | {"/graphql"}, refetched
    graphql_again = refetched.pop(("POST", "/graphql", ()), 0)
    assert graphql_again <= 3 * BATCHES_AHEAD * (runs - 1), (runs, graphql_again)
    assert all(count <= runs - 1 for count in refetched.values()), (runs, refetched)
    assert evidence(limited_db) == evidence(unlimited_db)
    assert verdicts(limited_db) == verdicts(unlimited_db)
