"""A quarter with more runs than GitHub's 1,000-result cap is listed in full (issue 3)."""

from __future__ import annotations

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub, synthetic_world
from audit.extract import Extractor, GitHubClient
from audit.extract.runs import RESULT_CAP

from .conftest import QUARTER, new_store

REPOSITORY = "synthetic/service-000"


def test_2500_runs_are_listed_in_windows_under_the_cap() -> None:
    with FakeGitHub(synthetic_world(deployments=2500, artifacts=False)) as server:
        db = new_store()
        client = GitHubClient(server.base_url, None)
        extractor = Extractor(db, client, Settings(), QUARTER)
        windows = extractor.runs.collect(REPOSITORY)
        client.close()
    assert sum(window["fetched"] for window in windows) == 2500
    assert db["workflow_runs"].count == 2500
    assert len(windows) >= 3
    for window in windows:
        assert window["total_count"] == window["fetched"] < RESULT_CAP
    spans = sorted((w["window_start"], w["window_end"]) for w in windows)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))  # no gap, no overlap
