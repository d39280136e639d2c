"""The demo organisation: deterministic, sized as documented, and breaking each control on
purpose where `audit.demo.organisation` says it does."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from audit.demo.fakegithub import FakeGitHub, World, render, synthetic_world
from audit.demo.organisation import (
    DEMO_AS_OF,
    DEMO_ORGANIZATION,
    DEMO_REPOSITORIES,
    build_demo_world,
    demo_exceptions,
)

Q2 = (datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def world() -> World:
    return build_demo_world()


def deploy_runs(world: World, repo: str, period=Q2):
    return [
        run
        for run in world.repositories[repo].runs.values()
        if run.workflow.path.endswith("deploy.yml") and period[0] <= run.created_at < period[1]
    ]


def snapshot(world: World) -> str:
    """Everything the server would serve, rendered with a fixed base URL."""
    base = "http://127.0.0.1:1"
    parts = []
    for repo in world.repositories.values():
        parts.append(render.repository(repo, base))
        parts.extend(render.environment(repo, e, base) for e in repo.environments.values())
        for run in repo.runs_newest_first():
            parts.append(render.workflow_run(run, base))
            parts.extend(render.job(run, j, base) for j in run.jobs)
            parts.extend(render.approval(repo, a, base) for a in run.approvals)
            parts.extend(render.artifact(repo, run, a, world.as_of, base) for a in run.artifacts)
        for deployment in repo.deployments:
            parts.append(render.deployment(repo, deployment, base))
            parts.extend(render.deployment_status(repo, deployment, s, base) for s in deployment.statuses)
        for pull in repo.pulls.values():
            parts.append(render.pull_request(repo, pull, base))
            parts.extend(render.review(repo, pull, r, base) for r in pull.reviews)
    return json.dumps(parts, sort_keys=True)


def test_two_builds_are_identical(world: World) -> None:
    again = build_demo_world()
    assert snapshot(world) == snapshot(again)
    zips = [a.data for _, a in world.artifacts.values()]
    assert zips == [a.data for _, a in again.artifacts.values()]


def test_synthetic_world_has_the_requested_size() -> None:
    """Build time is a `make bench` figure, not a test assertion; the size is behaviour."""
    big = synthetic_world(deployments=2500)
    assert len(big.runs) == 2500


def test_constants_and_repositories(world: World) -> None:
    assert DEMO_ORGANIZATION == "acme-fintech"
    assert set(DEMO_REPOSITORIES) == {"acme-fintech/payments-api", "acme-fintech/ledger"}
    assert world.as_of == DEMO_AS_OF == datetime(2024, 7, 1, 6, tzinfo=UTC)
    payments = world.repositories["acme-fintech/payments-api"]
    ledger = world.repositories["acme-fintech/ledger"]
    assert (payments.default_branch, ledger.default_branch) == ("main", "trunk")
    assert payments.environments["production"].prevent_self_review is True
    assert ledger.environments["production"].prevent_self_review is False
    for repo in (payments, ledger):
        assert 4 <= len(repo.environments["production"].teams[0].members) <= 5


@pytest.mark.parametrize("repo", ["acme-fintech/payments-api", "acme-fintech/ledger"])
def test_a_quarter_has_150_to_200_deployments_per_repository(world: World, repo: str) -> None:
    runs = deploy_runs(world, repo)
    assert 150 <= len(runs) <= 200
    weekday = sum(1 for r in runs if r.created_at.weekday() < 5) / 65
    weekend = sum(1 for r in runs if r.created_at.weekday() >= 5) / 26
    assert weekday > 3 * weekend
    assert all(r.event in ("push", "workflow_dispatch") for r in runs)
    environments = {d.environment for d in world.repositories[repo].deployments}
    assert environments == {"staging", "production"}


def test_every_2024_quarter_has_data() -> None:
    late = build_demo_world(as_of=datetime(2025, 1, 15, tzinfo=UTC))
    for quarter in range(4):
        period = (
            datetime(2024, quarter * 3 + 1, 1, tzinfo=UTC),
            datetime(2024 + quarter // 3, (quarter * 3 + 3) % 12 + 1, 1, tzinfo=UTC),
        )
        assert len(deploy_runs(late, "acme-fintech/ledger", period)) >= 150
    earlier = build_demo_world()
    run = deploy_runs(earlier, "acme-fintech/ledger")[0]
    assert late.runs[run.id].head_sha == run.head_sha, "as_of does not reshuffle the past"


def test_every_exception_is_present_in_2024q2(world: World) -> None:
    in_q2 = {
        tag: [(repo, run_id) for repo, run_id in runs if Q2[0] <= world.runs[run_id].created_at < Q2[1]]
        for tag, runs in demo_exceptions(world).items()
    }
    assert all(3 <= len(runs) <= 8 for runs in in_q2.values()), {tag: len(runs) for tag, runs in in_q2.items()}
    assert {repo for repo, _ in in_q2["self-approval"]} == {"acme-fintech/ledger"}
    assert {repo for repo, _ in in_q2["sarif-critical"]} == {"acme-fintech/payments-api"}


def tagged(world: World, tag: str):
    return [world.runs[run_id] for _, run_id in demo_exceptions(world)[tag]]


def production(run):
    return next(d for d in run.repository.deployments if d.run_id == run.id and d.environment == "production")


def read_artifact(artifact) -> dict:
    archive = zipfile.ZipFile(io.BytesIO(artifact.data))
    (name,) = archive.namelist()
    assert archive.getinfo(name).date_time == (2024, 1, 1, 0, 0, 0)
    return json.loads(archive.read(name))


def test_a_normal_deployment_links_up(world: World) -> None:
    run = next(
        r
        for r in deploy_runs(world, "acme-fintech/payments-api")
        if not r.tags and r.created_at > datetime(2024, 5, 1, tzinfo=UTC)
    )
    repo = run.repository
    (pull,) = repo.pulls_for_commit(run.head_sha)
    assert pull.merge_commit_sha == run.head_sha
    approvals = [r for r in pull.reviews if r.state == "APPROVED"]
    assert approvals and approvals[-1].commit_id == pull.head_sha
    approver = run.approvals[0].user
    assert approver not in {pull.user, approvals[-1].user, run.actor}
    statuses = [s.state for s in production(run).statuses]
    assert statuses == ["waiting", "queued", "in_progress", "success"]
    assert {a.name for a in run.artifacts} == {"bandit-report", "pip-audit", "codeql-results", "coverage"}
    names = {j.name for j in run.jobs}
    assert {"test (3.11)", "test (3.12)", "security-scan", "deploy-staging", "deploy-production"} == names


def test_rejected_deployments_never_start(world: World) -> None:
    for run in tagged(world, "deploy-rejected"):
        deploy = next(j for j in run.jobs if j.name == "deploy-production")
        # GitHub closes a rejected job at the decision: started == completed, no steps ran.
        assert deploy.started_at == deploy.completed_at and deploy.conclusion == "failure"
        assert [a.state for a in run.approvals] == ["rejected"]
        assert [s.state for s in production(run).statuses] == ["waiting", "failure"]


def test_self_approval_and_reruns(world: World) -> None:
    for run in tagged(world, "self-approval"):
        assert run.approvals[0].user == run.actor
    for run in tagged(world, "rerun") + tagged(world, "rerun-self-approved"):
        assert run.run_attempt == 2 and run.triggering_actor != run.actor
    for run in tagged(world, "rerun-self-approved"):
        assert run.approvals[-1].user == run.triggering_actor


def test_scan_reports(world: World) -> None:
    for run in tagged(world, "bandit-high"):
        report = read_artifact(next(a for a in run.artifacts if a.name == "bandit-report"))
        assert report["results"][0]["issue_severity"] == "HIGH"
    for run in tagged(world, "sarif-critical"):
        sarif = read_artifact(next(a for a in run.artifacts if a.name == "codeql-results"))
        assert sarif["version"] == "2.1.0"
        rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
        (result,) = sarif["runs"][0]["results"]
        assert rules[result["ruleId"]]["properties"]["security-severity"] == "9.1"
    for run in tagged(world, "pip-audit-vuln"):
        audit = read_artifact(next(a for a in run.artifacts if a.name == "pip-audit"))
        assert any(dep["vulns"] for dep in audit["dependencies"])
    for run in tagged(world, "no-scan-artifact"):
        assert [a.name for a in run.artifacts] == ["coverage"]
        assert next(j for j in run.jobs if j.name == "security-scan").conclusion == "success"


def test_early_april_evidence_is_expired(world: World) -> None:
    expired = [r for r in tagged(world, "expired") if r.created_at >= Q2[0]]
    assert len(expired) == 6
    for run in expired:
        assert all(a.is_expired(world.as_of) for a in run.artifacts)
        assert not world.statuses_retained(production(run))
    later = [r for r in deploy_runs(world, "acme-fintech/ledger") if r.created_at.day > 1 or r.created_at.month > 4]
    assert not any(a.is_expired(world.as_of) for r in later for a in r.artifacts)


def test_other_breaks(world: World) -> None:
    for run in tagged(world, "no-pr"):
        assert run.repository.pulls_for_commit(run.head_sha) == []
    for run in tagged(world, "hotfix-branch"):
        assert run.head_branch.startswith("hotfix/")
    for run in tagged(world, "bot-triggered"):
        assert run.actor == "dependabot[bot]"
    for run in tagged(world, "no-test-job"):
        assert not any(j.name.startswith("test") for j in run.jobs)
    for run in tagged(world, "tests-failed"):
        assert any(j.name.startswith("test") and j.conclusion == "failure" for j in run.jobs)
        assert production(run).statuses[-1].state == "success"
    for run in tagged(world, "slow-approval"):
        statuses = production(run).statuses
        assert 3 * 3600 <= (statuses[1].created_at - statuses[0].created_at).total_seconds() <= 5 * 3600 + 60
    for tag in ("approval-withdrawn", "approval-dismissed"):
        for run in tagged(world, tag):
            (pull,) = run.repository.pulls_for_commit(run.head_sha)
            assert pull.reviews[-1].state in ("CHANGES_REQUESTED", "DISMISSED")


def test_demo_server_serves_the_demo(demo_server: FakeGitHub) -> None:
    import requests

    body = requests.get(f"{demo_server.base_url}/orgs/acme-fintech/repos", timeout=10).json()
    assert sorted(r["full_name"] for r in body) == sorted(DEMO_REPOSITORIES)
    assert demo_server.rate_limit >= 5000
