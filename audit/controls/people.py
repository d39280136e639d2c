"""The rules several controls share: who approved, who may not count, what the run did.

Kept in one place so `change.reviewed`, `deploy.dual_control` and `deploy.independent`
cannot disagree about who an approver is, and so the population CSV and the report show
the same approvers and outcome the controls judged.

Logins compare case-insensitively (GitHub logins are case-insensitive: `Bob` and `bob`
are one account). A login of `None` (a deleted "ghost" account) is nobody we can name, so
it never counts as an approver.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from audit.evidence import Approval, Artifact, DeploymentEvidence, Job, PullRequest, Review
from audit.patterns import matches_any
from audit.scans.names import SCAN_NAME

# A review that is a plain comment (or not yet submitted) leaves the reviewer's state as
# it was (GitHub's rule for pull request reviews).
_STATE_NEUTRAL_REVIEWS = frozenset({"COMMENTED", "PENDING"})


def same_login(first: str | None, second: str | None) -> bool:
    """True when both logins are known and name the same GitHub account."""
    return first is not None and second is not None and first.casefold() == second.casefold()


def _distinct(logins: Iterable[str | None]) -> tuple[str, ...]:
    """Known logins without case-insensitive repeats, first spelling and order kept."""
    seen: set[str] = set()
    kept: list[str] = []
    for login in logins:
        if login is not None and login.casefold() not in seen:
            seen.add(login.casefold())
            kept.append(login)
    return tuple(kept)


# --- pull-request approvals -------------------------------------------------------------


@dataclass(frozen=True)
class PrApproval:
    """One person's standing approval of the deployment's pull request."""

    login: str
    """The approver, as GitHub spelled the login on the approving review."""
    review_id: int
    """The `APPROVED` review that stands (the reviewer's latest state-changing review)."""
    on_final_head: bool | None
    """Whether that review was on the PR's final head commit; None when either is unknown.

    GitHub keeps an approval given on an earlier commit unless the branch protection
    dismisses stale approvals, so it still counts; the report shows the difference."""


def latest_reviews(pull_request: PullRequest | None) -> tuple[Review, ...]:
    """Each reviewer's latest review that is not COMMENTED or PENDING, authors excluded.

    Reviews are read in the stored (GitHub's chronological) order; reviewers come back in
    the order of their first such review. Reviews by unknown (deleted) accounts are skipped.
    """
    if pull_request is None:
        return ()
    latest: dict[str, Review] = {}
    for review in pull_request.reviews:
        if review.user is None or same_login(review.user, pull_request.author):
            continue
        if review.state.upper() in _STATE_NEUTRAL_REVIEWS:
            continue
        # dict keeps the first insertion position, so reviewer order is stable
        latest[review.user.casefold()] = review
    return tuple(latest.values())


def pr_approvals(pull_request: PullRequest | None) -> tuple[PrApproval, ...]:
    """The standing approvals of a pull request by anyone other than its author.

    GitHub's rule: per reviewer, the latest review that is not COMMENTED or PENDING
    decides (`latest_reviews`). APPROVED counts; CHANGES_REQUESTED after an approval
    withdraws it; a DISMISSED review is no approval.
    """
    if pull_request is None:
        return ()
    return tuple(
        PrApproval(
            login=review.user,
            review_id=review.review_id,
            on_final_head=(
                None
                if review.commit_id is None or pull_request.head_sha is None
                else review.commit_id == pull_request.head_sha
            ),
        )
        for review in latest_reviews(pull_request)
        if review.state.upper() == "APPROVED" and review.user is not None
    )


def pr_approvers(deployment: DeploymentEvidence) -> tuple[str, ...]:
    """Logins of the people whose approval of the deployment's PR stands (see `pr_approvals`)."""
    return tuple(approval.login for approval in pr_approvals(deployment.pull_request))


def pr_author(deployment: DeploymentEvidence) -> str | None:
    """The author of the deployment's pull request; None when there is no PR or no login."""
    return deployment.pull_request.author if deployment.pull_request is not None else None


# --- environment (deployment) approvals -------------------------------------------------


def _for_environment(approval: Approval, environment: str) -> bool:
    # GitHub environment names are case-insensitive ("Production" is "production").
    return any(name.casefold() == environment.casefold() for name in approval.environments)


def deploy_approvals(deployment: DeploymentEvidence) -> tuple[Approval, ...]:
    """`/approvals` entries in state `approved` whose environments include this deployment's."""
    return tuple(
        approval
        for approval in deployment.approvals
        if approval.state.lower() == "approved" and _for_environment(approval, deployment.environment)
    )


def deploy_approvers(deployment: DeploymentEvidence) -> tuple[str, ...]:
    """Distinct logins that approved the deployment's environment in the run's review."""
    return _distinct(approval.user for approval in deploy_approvals(deployment))


def rejections(deployment: DeploymentEvidence) -> tuple[Approval, ...]:
    """`/approvals` entries in state `rejected` whose environments include this deployment's."""
    return tuple(
        approval
        for approval in deployment.approvals
        if approval.state.lower() == "rejected" and _for_environment(approval, deployment.environment)
    )


def rejected_by(deployment: DeploymentEvidence) -> tuple[str, ...]:
    """Logins that rejected the deployment's environment, "an unknown user" for a lost login."""
    return _distinct(approval.user or "an unknown user" for approval in rejections(deployment))


# --- who may not count ------------------------------------------------------------------


def excluded_roles(deployment: DeploymentEvidence) -> dict[str, tuple[str, ...]]:
    """Casefolded login → the roles that exclude it: actor, triggering actor, PR author.

    The triggering actor is named only when someone other than the actor re-ran the run.
    GitHub leaves `triggering_actor` out of runs older than 2021; it then equals `actor`,
    which is already excluded, so nothing is lost.
    """
    roles: dict[str, list[str]] = {}
    for role, login in (
        ("actor", deployment.actor),
        ("triggering actor", deployment.triggering_actor),
        ("PR author", pr_author(deployment)),
    ):
        if role == "triggering actor" and same_login(login, deployment.actor):
            continue
        if login is not None:
            roles.setdefault(login.casefold(), []).append(role)
    return {login: tuple(names) for login, names in roles.items()}


def excluded_people(deployment: DeploymentEvidence) -> frozenset[str]:
    """Casefolded logins that may not count as independent approvers of this deployment."""
    return frozenset(excluded_roles(deployment))


def role_note(login: str, deployment: DeploymentEvidence) -> str:
    """A login with the roles that exclude it, for details: `bob (actor and PR author)`."""
    roles = excluded_roles(deployment).get(login.casefold(), ())
    return f"{login} ({' and '.join(roles)})" if roles else login


# --- what the run did -------------------------------------------------------------------


def outcome(deployment: DeploymentEvidence) -> str | None:
    """The deployment's outcome: the production deploy job's conclusion, or `rejected`.

    `rejected` when a production approval was rejected and the deploy job never ran: no
    job recorded, no start time, or — GitHub's way of closing a rejected job — no
    production approval at all. None when the conclusion is unknown (the job is still
    running, or was never captured).
    """
    job = deployment.deploy_job
    never_started = job is None or job.started_at is None or not deploy_approvals(deployment)
    if rejections(deployment) and never_started:
        return "rejected"
    return job.conclusion if job is not None else None


def latest_matching_jobs(deployment: DeploymentEvidence, patterns: Iterable[str]) -> tuple[Job, ...]:
    """The latest execution of every job whose name matches one of `patterns`.

    The store holds the latest attempt's jobs (`jobs?filter=latest`), but a re-run can leave
    two rows with one name; the latest is the higher `run_attempt`, then the later start,
    then the higher job id. The production deploy job itself never counts. Ordered by name.
    """
    patterns = tuple(patterns)
    deploy_job_id = deployment.deploy_job.job_id if deployment.deploy_job is not None else None
    latest: dict[str, Job] = {}
    for job in deployment.jobs:
        if job.job_id == deploy_job_id or not matches_any(job.name, patterns):
            continue
        key = job.name.casefold()
        if key not in latest or _execution_order(job) > _execution_order(latest[key]):
            latest[key] = job
    return tuple(latest[key] for key in sorted(latest))


def _execution_order(job: Job) -> tuple[int, float, int]:
    started = job.started_at.timestamp() if job.started_at is not None else float("-inf")
    return (job.run_attempt or 0, started, job.job_id)


# --- artifacts --------------------------------------------------------------------------

# Names that say an artifact is something other than a scan report. A lost artifact's
# content can never be known, so any other name is treated as possibly scan evidence;
# a name that also mentions scanning stays possible scan evidence (see might_be_scan_evidence).
_NOT_EVIDENCE_NAME = re.compile(
    r"(coverage|cov-report|htmlcov|junit|test-results|build|dist|wheel|docs)",
    re.IGNORECASE,
)

LOST_CAPTURE_STATUSES = frozenset({"expired", "unreadable"})
"""`Artifact.capture_status` values meaning the content was never obtained."""


def might_be_scan_evidence(name: str) -> bool:
    """Whether an artifact whose content was lost could have been a scan report.

    The contract recognises scan evidence by content, "whatever its name", so a lost
    artifact is presumed possible scan evidence. The one exception is a name that plainly
    says it is something else (coverage, test results, builds, docs …) and says nothing of
    scanning: `coverage-report` is not evidence, `build-security-scan` may be.
    """
    return bool(SCAN_NAME.search(name)) or not _NOT_EVIDENCE_NAME.search(name)


@dataclass(frozen=True)
class LostArtifact:
    """An artifact of the run that may have been scan evidence but was never captured."""

    name: str
    artifact_id: int
    reason: str
    """expired or unreadable."""

    @property
    def reference(self) -> str:
        return f"artifacts:{self.artifact_id}"


def captured_scan_artifacts(deployment: DeploymentEvidence) -> tuple[Artifact, ...]:
    """Artifacts captured and recognised as scan reports (bandit, pip-audit, safety, SARIF)."""
    return tuple(
        artifact
        for artifact in deployment.artifacts
        if artifact.capture_status == "captured" and artifact.is_scan_evidence
    )


def lost_scan_artifacts(deployment: DeploymentEvidence) -> tuple[LostArtifact, ...]:
    """Artifacts that were, or may have been, scan evidence and whose content was lost.

    A lost artifact whose format was recognised (e.g. a SARIF file over the size cap) is
    scan evidence for certain; one whose content is unknown counts unless its name rules
    it out (`might_be_scan_evidence`).
    """
    lost: list[LostArtifact] = []
    for artifact in deployment.artifacts:
        if artifact.capture_status in ("captured", "not_scan"):
            continue
        if artifact.is_scan_evidence or might_be_scan_evidence(artifact.name):
            reason = artifact.capture_status if artifact.capture_status in LOST_CAPTURE_STATUSES else "not captured"
            lost.append(LostArtifact(artifact.name, artifact.artifact_id, reason))
    return tuple(lost)


def join_names(names: Iterable[str]) -> str:
    """Names as a sentence lists them: `a`, `a and b`, `a, b and c`."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """A count with its noun: `1 job`, `2 jobs`."""
    return f"{count} {noun if count == 1 else (plural_noun or noun + 's')}"
