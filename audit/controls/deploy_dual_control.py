"""deploy.dual_control — did at least `required_approvers` distinct people approve the change?

GitHub needs only one of an environment's reviewers, so dual control is measured across
the whole change: the PR approvers plus the deployment approvers, counted once each
(logins compare case-insensitively), leaving out the run's actor, its triggering actor and
the PR author — someone cannot be one of the two people checking their own change.

Bad (fail): one reviewer approving both the PR and the deployment; a re-run by an
approver, who then no longer counts; a bot-triggered run approved by one person.
Okay (pass): a PR approver and a different deployment approver, both outside the excluded.
Unknown (not_available): too few approvers were found and the PR or the approvals were
never captured, so the missing record might hold the rest. Enough approvers among what was
captured is a pass, since missing records can only add approvers.
"""

from __future__ import annotations

from audit.config import Settings
from audit.controls.people import (
    deploy_approvals,
    excluded_people,
    join_names,
    plural,
    pr_approvals,
    role_note,
)
from audit.evidence import DeploymentEvidence, Verdict


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    required = settings.required_approvers
    excluded = excluded_people(deployment)

    counted: dict[str, str] = {}
    left_out: dict[str, str] = {}
    evidence: list[str] = []
    for approval in pr_approvals(deployment.pull_request):
        evidence.append(f"reviews:{approval.review_id}")
        _sort(approval.login, excluded, counted, left_out)
    if deployment.approvals_captured:
        evidence.append(f"approvals:run {deployment.run_id}")
    for deploy_approval in deploy_approvals(deployment):
        if deploy_approval.user is not None:
            _sort(deploy_approval.user, excluded, counted, left_out)

    people = list(counted.values())
    count = len(people)
    who = f": {join_names(people)}" if people else ""
    excluded_note = (
        f", leaving out {join_names(role_note(login, deployment) for login in left_out.values())}" if left_out else ""
    )
    approvers = (
        f"{plural(count, 'distinct person', 'distinct people')} of the {required} required"
        if count
        else f"None of the {required} required distinct people"
    )
    summary = f"{approvers} approved the change deployed by {label}{who}{excluded_note}"
    if count >= required:
        return Verdict("pass", f"{summary}.", tuple(evidence))
    missing = [
        name
        for name, captured in (
            ("pull requests", deployment.pull_requests_captured),
            ("pull request reviews", deployment.pull_request is None or deployment.pull_request.reviews_captured),
            ("environment approvals", deployment.approvals_captured),
        )
        if not captured
    ]
    if missing:
        refusals = "".join(deployment.refusal(piece) for piece in ("pull_requests", "reviews", "approvals"))
        return Verdict(
            "not_available",
            f"{summary}, and its {join_names(missing)} were never captured.{refusals}",
            tuple(evidence),
        )
    return Verdict("fail", f"{'Only ' if count else ''}{summary}.", tuple(evidence))


def _sort(login: str, excluded: frozenset[str], counted: dict[str, str], left_out: dict[str, str]) -> None:
    key = login.casefold()
    if key in excluded:
        left_out.setdefault(key, login)
    else:
        counted.setdefault(key, login)
