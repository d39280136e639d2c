import pytest

from .factories import case, judge, make_approval, make_deployment

CASES = [
    case("approved by a reviewer", "pass", "approved by carol"),
    case(
        "environment name in another case",
        "pass",
        "approved by carol",
        approvals=[make_approval("carol", environments=["Production"])],
    ),
    case("bot-triggered run approved", "pass", "approved by carol", actor="dependabot[bot]"),
    case("deployment that failed is still approved", "pass", "carol", deploy_conclusion="failure"),
    case(
        "rejected",
        "fail",
        "rejected by dave",
        approved_by=[],
        rejected_by=["dave"],
        approved_after=None,
        deploy_started=None,
    ),
    case(
        "rejected once, approved on a re-run",
        "fail",
        "rejected by dave",
        rejected_by=["dave"],
        run_attempt=2,
        triggering_actor="erin",
    ),
    case(
        "approved for staging only",
        "fail",
        "nobody approved it",
        approvals=[make_approval("carol", environments=["staging"])],
    ),
    case(
        "rejection of another environment does not count",
        "pass",
        "approved by carol",
        approvals=[make_approval("carol"), make_approval("dave", "rejected", environments=["staging"])],
    ),
    case(
        "no required reviewers",
        "fail",
        "has no required reviewers",
        approved_by=[],
        required_reviewers=0,
    ),
    case(
        "reviewers required but nobody approved",
        "fail",
        "now requires reviewers",
        approved_by=[],
        required_reviewers=2,
    ),
    case(
        "required reviewers unknown and nobody approved",
        "fail",
        "required reviewers are unknown",
        approved_by=[],
        required_reviewers=None,
    ),
    case("approvals never captured", "not_available", "never captured", approvals_captured=False),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_deploy_approved(deployment, settings, expected, phrases):
    verdict = judge("deploy.approved", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail


def test_cites_the_approvals_of_the_run():
    assert judge("deploy.approved", make_deployment()).evidence == ("approvals:run 123",)
