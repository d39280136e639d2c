"""deploy.independent — is every deployment approver someone other than the people involved?

Looks at the production environment's approvers only (PR reviews are `change.reviewed`'s
business). Each must differ, case-insensitively, from the run's actor, its triggering
actor (who re-ran it) and the PR author.

Bad (fail): the author approving their own deployment; an approver who re-ran the run
(triggering actor); an approver who triggered it.
Okay (pass): every approver is someone else — including on a bot-triggered run
(dependabot[bot]) approved by a person.
Not applicable: nobody approved the deployment (`deploy.approved` fails it already).
Unknown (not_available): the approvals were never captured, or no approver conflicts with
the actors but the PR (hence its author) was never captured.
"""

from __future__ import annotations

from audit.config import Settings
from audit.controls.people import deploy_approvers, excluded_people, join_names, role_note
from audit.evidence import DeploymentEvidence, Verdict


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    if not deployment.approvals_captured:
        return Verdict(
            "not_available",
            f"The environment approvals of {label} were never captured." + deployment.refusal("approvals"),
        )
    evidence: tuple[str, ...] = (f"approvals:run {deployment.run_id}",)
    if deployment.pull_request is not None:
        evidence += (f"pull_requests:{deployment.pull_request.number}",)
    approvers = deploy_approvers(deployment)
    if not approvers:
        return Verdict(
            "not_applicable",
            f"Nobody approved the {deployment.environment} deployment of {label}.",
            evidence,
        )
    excluded = excluded_people(deployment)
    conflicted = [login for login in approvers if login.casefold() in excluded]
    if conflicted:
        return Verdict(
            "fail",
            f"The {deployment.environment} deployment of {label} was approved by "
            f"{join_names(role_note(login, deployment) for login in conflicted)}.",
            evidence,
        )
    if not deployment.pull_requests_captured:
        return Verdict(
            "not_available",
            f"The {deployment.environment} deployment of {label} was approved by "
            f"{join_names(approvers)}, who did not start it, but its pull requests were never "
            f"captured, so whether they authored the change is unknown." + deployment.refusal("pull_requests"),
            evidence,
        )
    return Verdict(
        "pass",
        f"The {deployment.environment} deployment of {label} was approved by "
        f"{join_names(approvers)}, {'none of them' if len(approvers) > 1 else 'not'} its actor, "
        f"triggering actor or PR author.",
        evidence,
    )
