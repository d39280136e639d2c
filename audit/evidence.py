"""Records passed from the store to the controls: one `DeploymentEvidence` per deployment.

Frozen dataclasses; `None` always means "unknown / not captured", never a made-up default.
Controls read only these records, so they need no database and no network in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from audit.scans.model import ScanFinding

VERDICTS = ("pass", "fail", "not_applicable", "not_available", "error")
"""Every verdict a control can give. `not_available`: evidence could not be obtained."""


@dataclass(frozen=True)
class Verdict:
    """One control's answer for one deployment."""

    verdict: str
    """One of `VERDICTS`."""
    detail: str
    """One sentence naming the run id, saying why."""
    evidence: tuple[str, ...] = ()
    """References to the stored rows the verdict rests on, e.g. "reviews:1234"."""


@dataclass(frozen=True)
class Job:
    """A job of the run's latest attempt."""

    job_id: int
    name: str
    status: str | None
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    run_attempt: int | None = None


@dataclass(frozen=True)
class Review:
    """A pull-request review, in GitHub's chronological order."""

    review_id: int
    user: str | None
    state: str
    """APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING."""
    submitted_at: datetime | None
    commit_id: str | None


@dataclass(frozen=True)
class PullRequest:
    """The merged pull request behind the deployed commit."""

    number: int
    author: str | None
    title: str | None
    merged_at: datetime | None
    merge_commit_sha: str | None
    head_sha: str | None
    html_url: str | None
    reviews: tuple[Review, ...] = ()
    labels: tuple[str, ...] | None = None
    """The PR's label names; None when they were not captured."""
    reviews_captured_at: datetime | None = None
    """When its reviews were last captured; None: never (only merged PRs' reviews used to be)."""
    reviews_captured: bool = True
    """False when GitHub refused the reviews (so `reviews` says nothing)."""


@dataclass(frozen=True)
class Approval:
    """An entry of the run's environment approvals (`/actions/runs/{id}/approvals`)."""

    user: str | None
    state: str
    """approved or rejected."""
    environments: tuple[str, ...]
    comment: str | None


@dataclass(frozen=True)
class DeploymentStatus:
    """A status of the production deployment, oldest first."""

    status_id: int | None
    """GitHub's database id; None when the status came from GraphQL, which gives none."""
    state: str
    """waiting, queued, in_progress, success, failure, error, inactive …"""
    created_at: datetime | None
    node_id: str | None = None

    @property
    def citation(self) -> str:
        """`deployment_statuses:<database id>`, or `<node id>` where no database id is known."""
        return f"deployment_statuses:{self.status_id if self.status_id is not None else self.node_id}"


Finding = ScanFinding
"""One security-scan finding on the normalised severity scale: the parser's own record."""


@dataclass(frozen=True)
class Artifact:
    """A workflow-run artifact and what capturing it gave."""

    artifact_id: int
    name: str
    capture_status: str
    """captured (a recognised scan report), not_scan (readable but not scan evidence),
    expired (GitHub answered 410 or marked it expired before we captured it),
    unreadable (bad zip, bad JSON, over a size cap …)."""
    scan_format: str | None
    """bandit, pip-audit, safety or sarif when recognised."""
    capture_detail: str | None
    sha256: str | None
    findings: tuple[Finding, ...] = ()
    scan_gaps: str | None = None
    """Why the scan evidence in a captured artifact is incomplete (a member meant to be a
    report could not be read, a report scanned nothing), one reason per line; None when
    nothing is known to be missing."""

    @property
    def is_scan_evidence(self) -> bool:
        return self.scan_format is not None


@dataclass(frozen=True)
class EvidenceGap:
    """A piece of a run's evidence GitHub refused to the token, or answered with what the endpoint
    does not document (a null body), so it was never captured."""

    piece: str
    """jobs, approvals, pull_requests or reviews."""
    reason: str
    """GitHub's answer, e.g. "HTTP 403: Resource not accessible by integration" or "HTTP 200: body
    is null, not a list"."""
    permission: str | None
    """The permission the token lacks, e.g. "actions: read"; None if unknown or none is missing."""


@dataclass(frozen=True)
class DeploymentEvidence:
    """Everything the store holds about one (repository, run id, environment) deployment."""

    repository: str
    run_id: int
    run_attempt: int | None
    environment: str
    head_sha: str | None
    head_branch: str | None
    default_branch: str | None
    actor: str | None
    triggering_actor: str | None
    event: str | None
    created_at: datetime | None
    html_url: str | None
    deploy_job: Job | None
    """The job that targeted the production environment."""
    jobs_captured: bool = False
    """True once the run's jobs were captured (even if it had none)."""
    jobs: tuple[Job, ...] = ()
    """The latest execution of each of the run's jobs."""
    pull_requests_captured: bool = False
    """True once `GET /commits/{sha}/pulls` was answered (even with no PR)."""
    pull_request: PullRequest | None = None
    commit_pull_requests: tuple[PullRequest, ...] = ()
    """Every captured pull request containing the deployed commit, merged or not, with its
    reviews: an emergency change may be reviewed after deployment in a PR still open."""
    approvals_captured: bool = False
    approvals: tuple[Approval, ...] = ()
    statuses_captured: bool = False
    """False when the deployment statuses were never captured (lost to retention)."""
    statuses: tuple[DeploymentStatus, ...] = ()
    required_reviewers: int | None = None
    """Required reviewers of the production environment at capture time; None unknown."""
    artifacts: tuple[Artifact, ...] = ()
    gaps: tuple[EvidenceGap, ...] = ()
    """Pieces GitHub refused (a permission the token lacks) or answered unreadably, still uncaptured."""

    def refusal(self, piece: str) -> str:
        """Why `piece` is missing when GitHub did not give it, as a sentence to append; else "".
        Only a named missing permission makes it a refusal: an unreadable answer is no refusal."""
        gap = next((gap for gap in self.gaps if gap.piece == piece), None)
        if gap is None:
            return ""
        if gap.permission:
            return f" GitHub refused them ({gap.reason}); the token lacks {gap.permission}."
        return f" GitHub did not give them ({gap.reason})."

    @property
    def label(self) -> str:
        """How a verdict's detail names this deployment."""
        return f"run {self.run_id} of {self.repository}"


WAITING = "waiting"
APPROVED_NEXT_STATES = ("queued", "in_progress")
LIFECYCLE = ("waiting", "pending", "queued", "in_progress")
"""The order of a deployment's states: statuses created in the same second are taken in this
order (final states after), the same whether they came with a database id or only a node id."""


def lifecycle_rank(state: str | None) -> int:
    return LIFECYCLE.index(state) if state in LIFECYCLE else len(LIFECYCLE)


def approval_times(statuses: tuple[DeploymentStatus, ...]) -> tuple[datetime | None, datetime | None]:
    """(requested_at, approved_at) from a production deployment's statuses, oldest first.

    GitHub's approvals endpoint carries no timestamp, so the request is the `waiting`
    status and the approval the first status after it, when that one is queued or
    in_progress (a failure right after waiting is a rejection, not an approval).
    """
    ordered = sorted(
        statuses,
        key=lambda s: (s.created_at is None, s.created_at or datetime.min, lifecycle_rank(s.state), s.citation),
    )
    for index, status in enumerate(ordered):
        if status.state == WAITING:
            following = ordered[index + 1] if index + 1 < len(ordered) else None
            if following is not None and following.state in APPROVED_NEXT_STATES:
                return status.created_at, following.created_at
            return status.created_at, None
    return None, None
