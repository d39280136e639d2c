"""The real client, PyGithub, over real HTTP against the fake server."""

from __future__ import annotations

import github

from audit.demo.fakegithub import FakeGitHub


def test_pygithub_lists_runs_jobs_and_deployments(demo_server: FakeGitHub) -> None:
    client = github.Github(base_url=demo_server.base_url, auth=github.Auth.Token("demo"), per_page=100, retry=None)
    repo = client.get_repo("acme-fintech/ledger")
    assert repo.default_branch == "trunk"
    runs = repo.get_workflow_runs(created="2024-06-01..2024-06-30", event="push")
    assert 30 < runs.totalCount < 100
    run = next(iter(runs))
    assert run.event == "push" and run.head_branch == "trunk"
    jobs = list(run.jobs())
    assert "deploy-production" in {job.name for job in jobs}
    deployments = repo.get_deployments(sha=run.head_sha, environment="production")
    (deployment,) = list(deployments)
    assert deployment.creator.login == "github-actions[bot]"
    statuses = [status.state for status in deployment.get_statuses()]
    assert statuses[-1] == "waiting"
    # PyGithub has no method for the approvals endpoint.
    _, approvals = repo._requester.requestJsonAndCheck("GET", f"{run.url}/approvals")
    assert approvals[0]["environments"][0]["name"] == "production"
    _, pulls = repo._requester.requestJsonAndCheck("GET", f"{repo.url}/commits/{run.head_sha}/pulls")
    pull = repo.get_pull(pulls[0]["number"])
    assert pull.merged and pull.merge_commit_sha == run.head_sha
    assert "APPROVED" in {review.state for review in pull.get_reviews()}
