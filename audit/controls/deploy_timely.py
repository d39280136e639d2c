"""deploy.timely — was the deployment approved within the window after it was requested?

GitHub's approvals carry no timestamp, so the times come from the production deployment's
statuses (`evidence.approval_times`): the request is the `waiting` status, the approval the
first status after it (queued or in_progress). Passes when approval − request ≤
`approval_window_minutes`; exactly the window passes.

Bad (fail): approved after the window (a stale request rubber-stamped later).
Okay (pass): approved within the window, boundary included.
Not applicable: nothing to time — no approval was given (or none was ever requested).
Unknown (not_available): the statuses were lost to GitHub's 90-day retention, or an
approval exists but the statuses do not show when it was requested or given.
"""

from __future__ import annotations

from datetime import datetime

from audit.config import Settings
from audit.controls.people import deploy_approvals, plural
from audit.evidence import DeploymentEvidence, DeploymentStatus, Verdict, approval_times


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    environment = deployment.environment
    approved = bool(deploy_approvals(deployment))
    if deployment.approvals_captured and not approved:
        return Verdict(
            "not_applicable",
            f"Nobody approved the {environment} deployment of {label}, so there is nothing to time.",
            (f"approvals:run {deployment.run_id}",),
        )
    if not deployment.statuses_captured:
        return Verdict(
            "not_available",
            f"The {environment} deployment statuses of {label} were never captured, so the approval cannot be timed."
            + deployment.refusal("statuses"),
        )
    requested_at, approved_at = approval_times(deployment.statuses)
    evidence = tuple(
        status.citation
        for status in (
            _status_at(deployment.statuses, requested_at, waiting=True),
            _status_at(deployment.statuses, approved_at, waiting=False),
        )
        if status is not None
    )
    if requested_at is None or approved_at is None:
        if approved:
            missing = "requested" if requested_at is None else "given"
            captured = plural(len(deployment.statuses), "status", "statuses")
            return Verdict(
                "not_available",
                f"The {environment} deployment of {label} was approved, but its deployment "
                f"statuses ({captured} captured) do not show when approval was {missing}.",
                evidence,
            )
        what = "requested" if requested_at is None else "given"
        return Verdict(
            "not_applicable",
            f"No {environment} approval was {what} for {label}, so there is nothing to time.",
            evidence,
        )
    minutes = (approved_at - requested_at).total_seconds() / 60
    window = settings.approval_window_minutes
    took = f"The {environment} approval of {label} came {_minutes(minutes)} after the request"
    if minutes <= window:
        return Verdict("pass", f"{took}, within the {window}-minute window.", evidence)
    return Verdict("fail", f"{took}, beyond the {window}-minute window.", evidence)


def _status_at(
    statuses: tuple[DeploymentStatus, ...], at: datetime | None, *, waiting: bool
) -> DeploymentStatus | None:
    """The status `approval_times` took a time from, to cite it as evidence."""
    if at is None:
        return None
    return next(
        (s for s in statuses if s.created_at == at and (s.state == "waiting") == waiting),
        None,
    )


def _minutes(minutes: float) -> str:
    shown = f"{minutes:.0f}" if minutes == int(minutes) else f"{minutes:.1f}"
    return f"{shown} minute" if shown == "1" else f"{shown} minutes"
