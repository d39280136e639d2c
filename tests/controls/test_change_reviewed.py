import pytest

from .factories import EARLIER_SHA, HEAD_SHA, case, judge, make_deployment, make_review

CASES = [
    case("approved by another person", "pass", "PR #42", "approved by bob", "not its author alice"),
    case(
        "approval on an earlier commit still counts",
        "pass",
        "approved by bob (on an earlier commit of the PR)",
        reviews=[make_review("bob", commit_id=EARLIER_SHA)],
    ),
    case(
        "one of two approvals on an earlier commit",
        "pass",
        "approved by bob and dave (dave on an earlier commit of the PR)",
        reviews=[make_review("bob"), make_review("dave", commit_id=EARLIER_SHA)],
    ),
    case(
        "bot-authored PR approved by a person",
        "pass",
        "approved by bob",
        "dependabot[bot]",
        pr_author="dependabot[bot]",
        actor="dependabot[bot]",
    ),
    case(
        "comment after approval leaves it standing",
        "pass",
        "approved by bob",
        reviews=[make_review("bob"), make_review("bob", "COMMENTED")],
    ),
    case(
        "approval after changes requested",
        "pass",
        "approved by bob",
        reviews=[make_review("bob", "CHANGES_REQUESTED"), make_review("bob")],
    ),
    case("case-different reviewer login", "pass", "approved by BOB", pr_approved_by=["BOB"]),
    case("pushed without a pull request", "fail", "pushed without a pull request", pull_request=None),
    case("no reviews", "fail", "no standing approval", "alice (nobody else reviewed it)", pr_approved_by=[]),
    case("approved only by its author", "fail", "nobody else reviewed it", pr_approved_by=["alice"]),
    case(
        "approved only by its author, login in another case",
        "fail",
        "no standing approval",
        pr_author="Alice",
        pr_approved_by=["aLICE"],
    ),
    case(
        "changes requested after approval withdraws it",
        "fail",
        "(latest reviews: bob requested changes)",
        reviews=[make_review("bob"), make_review("bob", "CHANGES_REQUESTED")],
    ),
    case(
        "dismissed approval",
        "fail",
        "(latest reviews: bob had the review dismissed)",
        reviews=[make_review("bob", "DISMISSED")],
    ),
    case("review by a deleted account", "fail", "no standing approval", reviews=[make_review(None)]),
    case("pull requests never captured", "not_available", "never captured", pull_requests_captured=False),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_change_reviewed(deployment, settings, expected, phrases):
    verdict = judge("change.reviewed", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail


def test_pass_cites_the_approving_review():
    verdict = judge("change.reviewed", make_deployment())
    assert verdict.evidence == ("pull_requests:42", "reviews:900")


def test_no_pull_request_cites_the_commit_lookup():
    verdict = judge("change.reviewed", make_deployment(pull_request=None))
    assert verdict.evidence == (f"commits:{HEAD_SHA}",)
