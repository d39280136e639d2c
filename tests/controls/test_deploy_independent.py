import pytest

from .factories import case, judge, make_approval

CASES = [
    case("approver is nobody involved", "pass", "approved by carol, not its actor"),
    case(
        "bot-triggered run approved by a person",
        "pass",
        "approved by carol, not its actor",
        actor="dependabot[bot]",
        pr_author="dependabot[bot]",
    ),
    case("direct push approved by someone else", "pass", "approved by carol, not its actor", pull_request=None),
    case("deployment that failed", "pass", "approved by carol, not its actor", deploy_conclusion="failure"),
    case("approver is the actor", "fail", "carol (actor)", actor="carol"),
    case(
        "approver re-ran the run",
        "fail",
        "carol (triggering actor)",
        triggering_actor="carol",
        run_attempt=2,
    ),
    case("approver is the PR author, in another case", "fail", "ALICE (actor and PR author)", approved_by=["ALICE"]),
    case(
        "one of two approvers is the PR author",
        "fail",
        "dave (PR author)",
        pr_author="dave",
        approved_by=["carol", "dave"],
    ),
    case(
        "bot approves its own run",
        "fail",
        "dependabot[bot] (actor)",
        actor="dependabot[bot]",
        approved_by=["dependabot[bot]"],
    ),
    case(
        "nobody approved",
        "not_applicable",
        "Nobody approved",
        approvals=[make_approval("dave", "rejected")],
    ),
    case("approvals never captured", "not_available", "never captured", approvals_captured=False),
    case(
        "pull requests never captured",
        "not_available",
        "whether they authored the change is unknown",
        pull_requests_captured=False,
    ),
    case(
        "self-approval shows even when the PR was never captured",
        "fail",
        "alice (actor)",
        approved_by=["alice"],
        pull_requests_captured=False,
    ),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_deploy_independent(deployment, settings, expected, phrases):
    verdict = judge("deploy.independent", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail
