"""change.emergency_reviewed: one case per outcome, boundaries of the review window included.

The default deployment's production deploy job completes 35 minutes after the approval
request (`at(35)`): that is when the emergency change reached production.
"""

import pytest

from .factories import case, judge, make_pull_request, make_review

DEPLOYED = 35
DAY = 24 * 60
WINDOW = 3 * DAY


def _hotfix_pr(*reviews, **options):
    return make_pull_request(author="alice", reviews=list(reviews), merged=False, **options)


CASES = [
    case("normal deployment", "not_applicable", "normal deployment"),
    case(
        "emergency branches switched off",
        "not_applicable",
        "normal deployment",
        head_branch="hotfix/login",
        settings={"emergency_branches": []},
    ),
    case(
        "reviewed before deploying",
        "pass",
        "(branch hotfix/login)",
        "approved in PR #42 by bob within 3 days",
        head_branch="hotfix/login",
    ),
    case(
        "open PR approved two days after deploying",
        "pass",
        "approved in PR #42 by bob",
        head_branch="hotfix/login",
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(make_review("bob", minutes=DEPLOYED + 2 * DAY))],
    ),
    case(
        "approved exactly when the window closes",
        "pass",
        "within 3 days",
        head_branch="hotfix/login",
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(make_review("bob", minutes=DEPLOYED + WINDOW))],
    ),
    case(
        "approved a minute after the window",
        "fail",
        "reviewed late",
        "0 hours after its 3-day window closed",
        head_branch="hotfix/login",
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(make_review("bob", minutes=DEPLOYED + WINDOW + 1))],
    ),
    case(
        "approved ten days late",
        "fail",
        "reviewed late",
        "10.0 days after",
        head_branch="emergency/db",
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(make_review("bob", minutes=DEPLOYED + WINDOW + 10 * DAY))],
    ),
    case(
        "a longer configured window",
        "pass",
        "within 14 days",
        head_branch="hotfix/login",
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(make_review("bob", minutes=DEPLOYED + 10 * DAY))],
        settings={"emergency_review_days": 14},
    ),
    case(
        "no pull request at all",
        "fail",
        "never reviewed",
        "no pull request contains the deployed commit",
        head_branch="hotfix/login",
        pull_request=None,
    ),
    case(
        "approved only by its author",
        "fail",
        "never reviewed",
        "PR #42 has no approval by anyone but its author",
        head_branch="hotfix/login",
        pr_approved_by=["alice"],
    ),
    case(
        "approval withdrawn",
        "fail",
        "never reviewed",
        head_branch="hotfix/login",
        pull_request=None,
        commit_pull_requests=[
            _hotfix_pr(make_review("bob", minutes=60), make_review("bob", "CHANGES_REQUESTED", minutes=90))
        ],
    ),
    case(
        "the earliest approval of two pull requests counts",
        "pass",
        "PR #7 by carol",
        head_branch="hotfix/login",
        pull_request=None,
        commit_pull_requests=[
            _hotfix_pr(make_review("bob", minutes=DEPLOYED + WINDOW + DAY)),
            make_pull_request(number=7, reviews=[make_review("carol", minutes=DEPLOYED + DAY)], merged=False),
        ],
    ),
    case(
        "label marks an emergency",
        "pass",
        "(label Emergency on PR #42)",
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(make_review("bob", minutes=DEPLOYED + DAY), labels=["Emergency"])],
        settings={"emergency_labels": ["emergency"]},
    ),
    case(
        "labels configured but never captured",
        "not_available",
        "labels were never captured",
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(make_review("bob"), labels=None)],
        settings={"emergency_labels": ["emergency"]},
    ),
    case(
        "labels configured, captured, none matching",
        "not_applicable",
        "normal deployment",
        settings={"emergency_labels": ["emergency"]},
    ),
    case(
        "pull requests never captured",
        "not_available",
        "were never captured",
        head_branch="hotfix/login",
        pull_requests_captured=False,
    ),
    case(
        "reviews of the open PR never captured",
        "not_available",
        "The reviews of PR #42",
        "were never captured",
        head_branch="hotfix/login",
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(reviews_captured_after=None)],
    ),
    case(
        "captured before the window closed, no approval yet",
        "not_available",
        "captured before its review window closed",
        head_branch="hotfix/login",
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(reviews_captured_after=DEPLOYED + DAY)],
    ),
    case(
        "deploy job unknown: the run's creation time",
        "pass",
        "within 3 days",
        head_branch="hotfix/login",
        deploy_job=None,
        pull_request=None,
        commit_pull_requests=[_hotfix_pr(make_review("bob", minutes=-25 + WINDOW))],
    ),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_change_emergency_reviewed(deployment, settings, expected, phrases):
    verdict = judge("change.emergency_reviewed", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail
