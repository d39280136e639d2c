import pytest

from .factories import case, judge, make_review

CASES = [
    case(
        "PR reviewer and a different deployment approver",
        "pass",
        "2 distinct people of the 2 required",
        "bob and carol",
    ),
    case(
        "one approver is enough when one is required",
        "pass",
        "1 distinct person of the 1 required",
        settings={"required_approvers": 1},
        pr_approved_by=[],
    ),
    case(
        "enough approvers among what was captured",
        "pass",
        "bob and dave",
        pr_approved_by=["bob", "dave"],
        approvals_captured=False,
    ),
    case(
        "bot-triggered run with two people approving",
        "pass",
        "bob and carol",
        actor="dependabot[bot]",
        pr_author="dependabot[bot]",
    ),
    case(
        "same person approves PR and deployment",
        "fail",
        "Only 1 distinct person of the 2 required",
        approved_by=["bob"],
    ),
    case(
        "same person in another case",
        "fail",
        "Only 1 distinct person of the 2 required",
        pr_approved_by=["Bob"],
        approved_by=["bOB"],
    ),
    case(
        "re-run by the deployment approver",
        "fail",
        "leaving out carol (triggering actor)",
        triggering_actor="carol",
        run_attempt=2,
    ),
    case(
        "actor approves their own deployment",
        "fail",
        "leaving out alice (actor and PR author)",
        approved_by=["alice"],
    ),
    case(
        "PR approved only by its author", "fail", "Only 1 distinct person of the 2 required", pr_approved_by=["alice"]
    ),
    case(
        "bot-triggered run approved by one person twice",
        "fail",
        "Only 1 distinct person of the 2 required",
        actor="dependabot[bot]",
        pr_author="dependabot[bot]",
        approved_by=["bob"],
    ),
    case(
        "changes requested after approval",
        "fail",
        "acme/api: carol.",
        reviews=[make_review("bob"), make_review("bob", "CHANGES_REQUESTED")],
    ),
    case(
        "dismissed PR approval",
        "fail",
        "Only 1 distinct person of the 2 required",
        reviews=[make_review("bob", "DISMISSED")],
    ),
    case(
        "nobody approved", "fail", "None of the 2 required distinct people approved", pr_approved_by=[], approved_by=[]
    ),
    case(
        "too few approvers and approvals never captured",
        "not_available",
        "environment approvals were never captured",
        approvals_captured=False,
    ),
    case(
        "too few approvers and pull requests never captured",
        "not_available",
        "pull requests were never captured",
        pull_requests_captured=False,
    ),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_deploy_dual_control(deployment, settings, expected, phrases):
    verdict = judge("deploy.dual_control", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail
