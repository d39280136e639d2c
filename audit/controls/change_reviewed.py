"""change.reviewed — was the deployed commit approved in a pull request by someone else?

Checks the merged pull request behind the deployed commit (the one whose merge commit is
the run's `head_sha`, else the first merged one). A PR approver is anyone other than the
PR author whose latest state-changing review is APPROVED (see `people.pr_approvals`).

Bad (fail): a direct push (no PR); a PR approved only by its author; an approval later
withdrawn by CHANGES_REQUESTED or DISMISSED.
Okay (pass): a PR approved by someone else, even on an earlier commit of the PR (the
detail says so) and even when the author is a bot such as dependabot[bot].
Unknown (not_available): the commit's pull requests, or the reviews of its pull request, were
never captured (for instance GitHub refused them to a token without `pull_requests: read`).
"""

from __future__ import annotations

from audit.config import Settings
from audit.controls.people import join_names, latest_reviews, pr_approvals
from audit.evidence import DeploymentEvidence, Verdict

_STATES = {"CHANGES_REQUESTED": "requested changes", "DISMISSED": "had the review dismissed"}


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    if not deployment.pull_requests_captured:
        return Verdict(
            "not_available",
            f"The pull requests of the commit deployed by {label} were never captured."
            + deployment.refusal("pull_requests"),
        )
    pull_request = deployment.pull_request
    if pull_request is None:
        return Verdict(
            "fail",
            f"The commit deployed by {label} was pushed without a pull request.",
            (f"commits:{deployment.head_sha}",),
        )
    pr = f"PR #{pull_request.number}"
    if not pull_request.reviews_captured:
        return Verdict(
            "not_available",
            f"The reviews of {pr} deployed by {label} were never captured." + deployment.refusal("reviews"),
            (f"pull_requests:{pull_request.number}",),
        )
    author = pull_request.author or "an unknown author"
    approvals = pr_approvals(pull_request)
    if not approvals:
        others = latest_reviews(pull_request)
        why = (
            f"latest reviews: {join_names(f'{r.user} {_STATES.get(r.state.upper(), r.state)}' for r in others)}"
            if others
            else "nobody else reviewed it"
        )
        return Verdict(
            "fail",
            f"{pr} deployed by {label} has no standing approval from anyone other than its author {author} ({why}).",
            (f"pull_requests:{pull_request.number}",)
            + tuple(f"reviews:{review.review_id}" for review in pull_request.reviews),
        )
    earlier = [a.login for a in approvals if a.on_final_head is False]
    if earlier and len(earlier) == len(approvals):
        note = " (on an earlier commit of the PR)"
    elif earlier:
        note = f" ({join_names(earlier)} on an earlier commit of the PR)"
    else:
        note = ""
    return Verdict(
        "pass",
        f"{pr} deployed by {label} was approved by {join_names(a.login for a in approvals)}"
        f"{note}, not its author {author}.",
        (f"pull_requests:{pull_request.number}",) + tuple(f"reviews:{approval.review_id}" for approval in approvals),
    )
