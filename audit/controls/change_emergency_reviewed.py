"""change.emergency_reviewed — was an emergency change reviewed within the window after deploying?

An emergency deployment (its head branch matches `emergency_branches`, or a pull request of
the deployed commit carries one of `emergency_labels`) may skip review before it reaches
production. It must then be approved in a pull request containing the deployed commit, by
someone other than the PR's author, within `emergency_review_days` after the deployment
(the production deploy job's completion, else its start, else the run's creation). The PR
may still be open: a post-incident review often lands before the fix is merged.

Bad (fail): no pull request contains the commit, or none has a standing approval by
someone other than its author (never reviewed); the first such approval came after the
window (reviewed late).
Okay (pass): approved by someone else before the deployment or within the window.
Unrelated (not_applicable): a normal deployment.
Unknown (not_available): the commit's pull requests, their reviews or labels were not
captured, or they were captured before the window closed and show no approval yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from audit.config import Settings
from audit.controls.people import pr_approvals
from audit.evidence import DeploymentEvidence, PullRequest, Verdict


@dataclass(frozen=True)
class EmergencyReview:
    """What the evidence says about one emergency deployment's review after the fact."""

    reason: str
    """Why it counts as an emergency, e.g. "branch hotfix/login" or "label emergency on PR #7"."""
    deployed_at: datetime | None
    """When the change reached production; None when unknown."""
    deadline: datetime | None
    """`deployed_at` plus the review window."""
    pull_request: PullRequest | None
    """The pull request whose approval counts (the earliest approved), else the first one."""
    approved_at: datetime | None
    """The earliest standing approval by someone other than the PR's author; None: none seen."""
    approvers: tuple[str, ...]
    """Who gave the standing approvals of `pull_request`."""


def emergency_reason(deployment: DeploymentEvidence, settings: Settings) -> str | None:
    """Why the deployment is an emergency; None when it is a normal one (or labels are unknown)."""
    branch = deployment.head_branch
    if branch is not None and any(fnmatchcase(branch, pattern) for pattern in settings.emergency_branches):
        return f"branch {branch}"
    wanted = {label.casefold() for label in settings.emergency_labels}
    for pull_request in deployment.commit_pull_requests:
        for label in pull_request.labels or ():
            if label.casefold() in wanted:
                return f"label {label} on PR #{pull_request.number}"
    return None


def labels_unknown(deployment: DeploymentEvidence, settings: Settings) -> bool:
    """True when emergency labels are configured but the PRs' labels were not captured."""
    if not settings.emergency_labels:
        return False
    return not deployment.pull_requests_captured or any(pr.labels is None for pr in deployment.commit_pull_requests)


def emergency_review(deployment: DeploymentEvidence, settings: Settings) -> EmergencyReview | None:
    """The review facts of an emergency deployment; None for a normal one."""
    reason = emergency_reason(deployment, settings)
    if reason is None:
        return None
    job = deployment.deploy_job
    deployed_at = (job.completed_at or job.started_at if job else None) or deployment.created_at
    deadline = deployed_at + timedelta(days=settings.emergency_review_days) if deployed_at else None
    best: tuple[datetime, PullRequest, tuple[str, ...]] | None = None
    for pull_request in deployment.commit_pull_requests:
        approvals = pr_approvals(pull_request)
        times = {review.review_id: review.submitted_at for review in pull_request.reviews}
        moments = [moment for a in approvals if (moment := times.get(a.review_id)) is not None]
        if moments and (best is None or min(moments) < best[0]):
            best = (min(moments), pull_request, tuple(a.login for a in approvals))
    if best is None:
        first = deployment.commit_pull_requests[0] if deployment.commit_pull_requests else None
        return EmergencyReview(reason, deployed_at, deadline, first, None, ())
    return EmergencyReview(reason, deployed_at, deadline, best[1], best[0], best[2])


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    review = emergency_review(deployment, settings)
    if review is None:
        if labels_unknown(deployment, settings):
            return Verdict(
                "not_available",
                f"Whether {label} was an emergency change is unknown: its pull requests' labels were never captured.",
                (f"commits:{deployment.head_sha}",),
            )
        return Verdict("not_applicable", f"{label} is a normal deployment, not an emergency change.")
    days = settings.emergency_review_days
    if not deployment.pull_requests_captured:
        return Verdict(
            "not_available",
            f"The pull requests of the emergency change deployed by {label} ({review.reason}) were never captured.",
        )
    evidence = (f"commits:{deployment.head_sha}",) + tuple(
        f"pull_requests:{pr.number}" for pr in deployment.commit_pull_requests
    )
    if review.deadline is None:
        return Verdict("not_available", f"When {label} ({review.reason}) deployed is unknown.", evidence)
    if review.approved_at is None:
        uncaptured = [pr for pr in deployment.commit_pull_requests if pr.reviews_captured_at is None]
        early = [
            pr
            for pr in deployment.commit_pull_requests
            if pr.reviews_captured_at and pr.reviews_captured_at < review.deadline
        ]
        if uncaptured or early:
            unread = (uncaptured or early)[0]
            why = "were never captured" if uncaptured else "were captured before its review window closed"
            return Verdict(
                "not_available",
                f"The reviews of PR #{unread.number}, the emergency change deployed by {label} "
                f"({review.reason}), {why}.",
                evidence,
            )
        if not deployment.commit_pull_requests:
            return Verdict(
                "fail",
                f"The emergency change deployed by {label} ({review.reason}) was never reviewed: "
                "no pull request contains the deployed commit.",
                evidence,
            )
        return Verdict(
            "fail",
            f"The emergency change deployed by {label} ({review.reason}) was never reviewed: PR "
            f"#{review.pull_request.number if review.pull_request else '?'} has no approval by anyone but its author.",
            evidence,
        )
    pr = review.pull_request
    number = pr.number if pr else "?"
    who = ", ".join(review.approvers)
    evidence += tuple(
        f"reviews:{r.review_id}" for r in (pr.reviews if pr else ()) if r.submitted_at == review.approved_at
    )
    if review.approved_at <= review.deadline:
        return Verdict(
            "pass",
            f"The emergency change deployed by {label} ({review.reason}) was approved in PR #{number} by {who} "
            f"within {days} days of deploying.",
            evidence,
        )
    late = review.approved_at - review.deadline
    return Verdict(
        "fail",
        f"The emergency change deployed by {label} ({review.reason}) was reviewed late: PR #{number} was first "
        f"approved {_duration(late)} after its {days}-day window closed.",
        evidence,
    )


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.1f} days"
