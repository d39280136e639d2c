"""deploy.approved — was the production deployment approved in the environment review?

Reads the run's environment approvals (`/actions/runs/{id}/approvals`). An approval counts
when its state is `approved` and its environments include the deployment's environment.

Bad (fail): any `rejected` entry for the environment (even when someone else approved it in
another attempt); no approval at all, including a production environment configured without
required reviewers (the detail says so).
Okay (pass): at least one approval for the environment and no rejection.
Unknown (not_available): the approvals were never captured.
Who approved is judged by `deploy.independent`; how fast by `deploy.timely`.
"""

from __future__ import annotations

from audit.config import Settings
from audit.controls.people import deploy_approvers, join_names, rejected_by
from audit.evidence import DeploymentEvidence, Verdict


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    environment = deployment.environment
    evidence = (f"approvals:run {deployment.run_id}",)
    rejecters = rejected_by(deployment)
    if rejecters:
        return Verdict(
            "fail",
            f"The {environment} deployment of {label} was rejected by {join_names(rejecters)}.",
            evidence,
        )
    if not deployment.approvals_captured:
        return Verdict(
            "not_available",
            f"The environment approvals of {label} were never captured." + deployment.refusal("approvals"),
        )
    approvers = deploy_approvers(deployment)
    if approvers:
        return Verdict(
            "pass",
            f"The {environment} deployment of {label} was approved by {join_names(approvers)}.",
            evidence,
        )
    if deployment.required_reviewers == 0:
        reason = f"the {environment} environment has no required reviewers, so nobody approved it"
    elif deployment.required_reviewers is None:
        reason = "nobody approved it (the environment's required reviewers are unknown)"
    else:
        reason = f"nobody approved it although the {environment} environment now requires reviewers"
    return Verdict("fail", f"The {environment} deployment of {label} ran unapproved: {reason}.", evidence)
