"""deploy.from_main — was the run's head branch a branch production may be deployed from?

Allowed branches are `allowed_branches` (fnmatch patterns, case-sensitive like git branch
names) or, when that is empty, the repository's default branch — which is not always
`main`.

Bad (fail): a deployment from a feature branch, a tag, or a fork's branch.
Okay (pass): a deployment from the default branch or an allowed release branch.
Unknown (not_available): the run's head branch is unknown, or no branches are configured
and the repository's default branch was never captured.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from audit.config import Settings
from audit.controls.people import join_names
from audit.evidence import DeploymentEvidence, Verdict


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    branch = deployment.head_branch
    evidence: tuple[str, ...] = (f"runs:{deployment.run_id}",)
    if branch is None:
        return Verdict("not_available", f"The head branch of {label} is unknown.", evidence)
    ran_from = f"The head branch {branch!r} of {label}"
    if settings.allowed_branches:
        allowed = settings.allowed_branches
        described = f"one of the allowed branches {join_names(allowed)}"
    elif deployment.default_branch is not None:
        allowed = (deployment.default_branch,)
        described = f"the default branch {deployment.default_branch!r}"
        evidence += (f"repositories:{deployment.repository}",)
    else:
        return Verdict(
            "not_available",
            f"{ran_from} cannot be judged: the default branch of {deployment.repository} is "
            f"unknown and no allowed branches are configured.",
            evidence,
        )
    if any(fnmatchcase(branch, pattern) for pattern in allowed):
        return Verdict("pass", f"{ran_from} is {described}.", evidence)
    return Verdict("fail", f"{ran_from} is not {described}.", evidence)
