"""Small builders for `DeploymentEvidence` with keyword defaults.

`make_deployment()` with no arguments is a clean deployment that passes every control:
alice's PR #42 approved by bob on its final commit, merged and pushed by alice, the
production environment approved by carol 30 minutes after the request, tests and a bandit
scan with no findings, all evidence captured. Each test changes only what it is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from audit.config import Settings
from audit.controls import control
from audit.evidence import (
    Approval,
    Artifact,
    DeploymentEvidence,
    DeploymentStatus,
    Finding,
    Job,
    PullRequest,
    Review,
    Verdict,
)

REQUESTED_AT = datetime(2024, 4, 2, 9, 0, tzinfo=UTC)
"""When the default deployment's production approval was requested (its `waiting` status)."""
HEAD_SHA = "a" * 40
EARLIER_SHA = "b" * 40
RUN_ID = 123
REPOSITORY = "acme/api"
LABEL = f"run {RUN_ID} of {REPOSITORY}"

_DEFAULT = object()


def at(minutes: float) -> datetime:
    """A time `minutes` after the default approval request (negative: before)."""
    return REQUESTED_AT + timedelta(minutes=minutes)


def make_settings(**overrides) -> Settings:
    return Settings(**overrides)


def make_review(
    user: str | None,
    state: str = "APPROVED",
    *,
    review_id: int | None = None,
    commit_id: str | None = HEAD_SHA,
    minutes: float = -60,
) -> Review:
    return Review(
        review_id=review_id if review_id is not None else 9000 + _next_id(),
        user=user,
        state=state,
        submitted_at=at(minutes),
        commit_id=commit_id,
    )


def make_pull_request(
    *,
    author: str | None = "alice",
    approved_by: Iterable[str] = ("bob",),
    reviews: Iterable[Review] | None = None,
    number: int = 42,
    merged: bool = True,
    labels: Iterable[str] | None = (),
    reviews_captured_after: float | None = 14 * 24 * 60,
) -> PullRequest:
    """A merged PR of the deployed commit; `reviews` overrides `approved_by`.

    `reviews_captured_after`: minutes after the approval request its reviews were captured
    (None: never)."""
    if reviews is None:
        reviews = [make_review(login, review_id=900 + index) for index, login in enumerate(approved_by)]
    return PullRequest(
        number=number,
        author=author,
        title="Change things",
        merged_at=at(-30) if merged else None,
        merge_commit_sha=HEAD_SHA if merged else None,
        head_sha=HEAD_SHA,
        html_url=f"https://github.com/{REPOSITORY}/pull/{number}",
        reviews=tuple(reviews),
        labels=None if labels is None else tuple(labels),
        reviews_captured_at=None if reviews_captured_after is None else at(reviews_captured_after),
    )


def make_approval(
    user: str | None, state: str = "approved", *, environments: Iterable[str] = ("production",)
) -> Approval:
    return Approval(user=user, state=state, environments=tuple(environments), comment=None)


def make_job(
    name: str,
    conclusion: str | None = "success",
    *,
    job_id: int | None = None,
    started: float | None = -20,
    completed: float | None = -10,
    run_attempt: int | None = 1,
) -> Job:
    """A job started and completed at minutes relative to the approval request."""
    return Job(
        job_id=job_id if job_id is not None else 700 + _next_id(),
        name=name,
        status="completed" if conclusion is not None else "in_progress",
        conclusion=conclusion,
        started_at=at(started) if started is not None else None,
        completed_at=at(completed) if completed is not None else None,
        run_attempt=run_attempt,
    )


def make_finding(severity: str, *, tool: str = "bandit", rule_id: str = "B105") -> Finding:
    return Finding(tool=tool, severity=severity, rule_id=rule_id, title="finding", location="app/settings.py:12")


def make_artifact(
    name: str = "bandit-report",
    capture_status: str = "captured",
    *,
    scan_format: str | None = _DEFAULT,
    findings: Iterable[Finding] = (),
    artifact_id: int | None = None,
    scan_gaps: str | None = None,
) -> Artifact:
    """A captured bandit report by default; a lost one has no format unless given."""
    if scan_format is _DEFAULT:
        scan_format = "bandit" if capture_status == "captured" else None
    return Artifact(
        artifact_id=artifact_id if artifact_id is not None else 500 + _next_id(),
        name=name,
        capture_status=capture_status,
        scan_format=scan_format,
        capture_detail=None,
        sha256="0" * 64 if capture_status in ("captured", "not_scan") else None,
        findings=tuple(findings),
        scan_gaps=scan_gaps,
    )


def make_statuses(approved_after: float | None = 30, *, then: str = "queued") -> tuple[DeploymentStatus, ...]:
    """waiting at the request, then `then` after `approved_after` minutes, then success.

    `approved_after=None`: only the waiting status (never approved)."""
    statuses = [DeploymentStatus(55, "waiting", at(0))]
    if approved_after is not None:
        statuses.append(DeploymentStatus(56, then, at(approved_after)))
        statuses.append(DeploymentStatus(57, "success", at(approved_after + 5)))
    return tuple(statuses)


def make_deployment(
    *,
    repository: str = REPOSITORY,
    run_id: int = RUN_ID,
    run_attempt: int | None = 1,
    environment: str = "production",
    head_branch: str | None = "main",
    default_branch: str | None = "main",
    actor: str | None = "alice",
    triggering_actor: str | None = _DEFAULT,
    pr_author: str | None = "alice",
    pr_approved_by: Iterable[str] = ("bob",),
    reviews: Iterable[Review] | None = None,
    pull_request: PullRequest | None = _DEFAULT,
    commit_pull_requests: Iterable[PullRequest] | None = None,
    pull_requests_captured: bool = True,
    approved_by: Iterable[str] = ("carol",),
    rejected_by: Iterable[str] = (),
    approvals: Iterable[Approval] | None = None,
    approvals_captured: bool = True,
    approved_after: float | None = 30,
    statuses: Iterable[DeploymentStatus] | None = None,
    statuses_captured: bool = True,
    required_reviewers: int | None = 1,
    deploy_conclusion: str | None = "success",
    deploy_started: float | None = _DEFAULT,
    deploy_job: Job | None = _DEFAULT,
    jobs: Iterable[Job] | None = None,
    jobs_captured: bool = True,
    artifacts: Iterable[Artifact] | None = None,
) -> DeploymentEvidence:
    """A deployment; every argument defaults to the clean case described in the module."""
    if triggering_actor is _DEFAULT:
        triggering_actor = actor
    if pull_request is _DEFAULT:
        pull_request = make_pull_request(author=pr_author, approved_by=pr_approved_by, reviews=reviews)
    if commit_pull_requests is None:
        commit_pull_requests = () if pull_request is None else (pull_request,)
    if approvals is None:
        approvals = [make_approval(login) for login in approved_by]
        approvals += [make_approval(login, "rejected") for login in rejected_by]
    if not approvals_captured:
        approvals = []
    if statuses is None:
        statuses = make_statuses(approved_after) if statuses_captured else ()
    if deploy_started is _DEFAULT:
        deploy_started = approved_after if approved_after is not None else 0
    if deploy_job is _DEFAULT:
        deploy_job = make_job(
            "deploy",
            deploy_conclusion,
            job_id=800,
            started=deploy_started,
            completed=None if deploy_started is None else deploy_started + 5,
        )
    if jobs is None:
        jobs = [make_job("test", job_id=701), make_job("security-scan", job_id=702)]
    jobs = list(jobs)
    if deploy_job is not None and all(job.job_id != deploy_job.job_id for job in jobs):
        jobs.append(deploy_job)
    if not jobs_captured:
        jobs = []
    if artifacts is None:
        artifacts = [make_artifact(artifact_id=42)]
    return DeploymentEvidence(
        repository=repository,
        run_id=run_id,
        run_attempt=run_attempt,
        environment=environment,
        head_sha=HEAD_SHA,
        head_branch=head_branch,
        default_branch=default_branch,
        actor=actor,
        triggering_actor=triggering_actor,
        event="push",
        created_at=at(-25),
        html_url=f"https://github.com/{repository}/actions/runs/{run_id}",
        deploy_job=deploy_job,
        jobs_captured=jobs_captured,
        jobs=tuple(jobs),
        pull_requests_captured=pull_requests_captured,
        pull_request=pull_request if pull_requests_captured else None,
        commit_pull_requests=tuple(commit_pull_requests) if pull_requests_captured else (),
        approvals_captured=approvals_captured,
        approvals=tuple(approvals),
        statuses_captured=statuses_captured,
        statuses=tuple(statuses),
        required_reviewers=required_reviewers,
        artifacts=tuple(artifacts),
    )


def judge(control_id: str, deployment: DeploymentEvidence, settings: Settings | None = None) -> Verdict:
    """Run one control and check what every verdict owes the reader.

    The verdict is one its text documents; the detail is one sentence naming the run; every
    evidence reference reads `<table>:<key>`.
    """
    registered = control(control_id)
    verdict = registered.evaluate(deployment, settings or Settings())
    assert isinstance(verdict, Verdict)
    assert verdict.verdict in registered.verdicts, f"{verdict.verdict} undocumented for {control_id}"
    assert deployment.label in verdict.detail
    assert verdict.detail.endswith("."), verdict.detail
    assert ". " not in verdict.detail.rstrip("."), f"more than one sentence: {verdict.detail}"
    assert all(":" in ref and ref.split(":", 1)[1] for ref in verdict.evidence), verdict.evidence
    return verdict


def case(case_id: str, expected: str, *phrases: str, settings: dict | None = None, **deployment):
    """One parametrized row: a deployment built from keywords, the verdict and detail phrases."""
    import pytest

    return pytest.param(make_deployment(**deployment), make_settings(**(settings or {})), expected, phrases, id=case_id)


_counter = iter(range(1, 10**6))


def _next_id() -> int:
    return next(_counter)
