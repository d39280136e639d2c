"""`soc2-audit doctor`: every endpoint the capture needs, asked once per repository."""

from __future__ import annotations

import pytest

from audit.demo.fakegithub import FakeGitHub
from audit.extract import GitHubClient
from audit.extract.doctor import OK, REFUSED, check_access, missing_permissions, table
from tests.conftest import ROOT, run_cli
from tests.reliability.helpers import REPOSITORY, cli_env, small_world

PROBES_PER_REPOSITORY = 13
"""Repository, environments, deployments, runs, artifacts, statuses, jobs, approvals, commit
pulls, reviews (REST), and the three GraphQL queries (runs, commits, deployments' statuses)."""


@pytest.fixture(scope="module")
def world():
    return small_world(deployments=6)


def _check(server: FakeGitHub) -> list:
    client = GitHubClient(server.base_url, None)
    try:
        return check_access(client, [REPOSITORY])
    finally:
        client.close()


def test_a_sufficient_token_passes_every_probe_with_one_request_each(world) -> None:
    with FakeGitHub(world) as server:
        probes = _check(server)
        requests = server.request_count()
    assert [p.outcome for p in probes] == [OK] * PROBES_PER_REPOSITORY, table(probes)
    assert requests == PROBES_PER_REPOSITORY
    assert missing_permissions(probes) == []


def test_refusals_name_the_missing_permissions(world) -> None:
    with FakeGitHub(world) as server:
        server.graphql_faults.forbidden |= {"CheckSuite.checkRuns", "Commit.associatedPullRequests"}
        server.graphql_faults.forbidden.add("Deployment.statuses")
        server.refuse(r"/commits/[0-9a-f]+/pulls$", "pull_requests=read")
        probes = _check(server)
    refused = {p.request: p for p in probes if p.outcome == REFUSED}
    assert set(refused) == {
        "GET /repos/{owner}/{repo}/commits/{sha}/pulls",
        "POST /graphql WorkflowRun check runs",
        "POST /graphql Commit pull requests",
        "POST /graphql Deployment statuses",
    }
    assert refused["POST /graphql Deployment statuses"].detail.startswith("FORBIDDEN at nodes.0.statuses")
    assert "Resource not accessible by integration" in refused["GET /repos/{owner}/{repo}/commits/{sha}/pulls"].detail
    assert refused["POST /graphql WorkflowRun check runs"].detail.startswith("FORBIDDEN at nodes.0.checkSuite")
    assert missing_permissions(probes) == ["checks: read", "deployments: read", "pull_requests: read"]


def test_the_command_prints_one_table_and_exits_1_when_a_permission_is_missing(world, tmp_path) -> None:
    with FakeGitHub(world) as server:
        server.refuse(r"/actions/runs/\d+/jobs$", "actions=read")
        result = run_cli("doctor", "--repo", REPOSITORY, cwd=ROOT, env=cli_env(tmp_path, server.base_url))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + PROBES_PER_REPOSITORY
    assert "GitHub accepts: actions=read" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (
        "soc2-audit: error: the token lacks actions: read: grant it and run `soc2-audit doctor` again"
    )
    assert "Traceback" not in result.stderr
