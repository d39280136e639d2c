import pytest

from audit.evidence import DeploymentStatus

from .factories import at, case, judge, make_approval, make_deployment

_NO_WAITING = (DeploymentStatus(60, "in_progress", at(0)), DeploymentStatus(61, "success", at(5)))

CASES = [
    case("approved after 30 minutes", "pass", "came 30 minutes after the request", "120-minute"),
    case("exactly the window passes", "pass", "120 minutes", approved_after=120),
    case("one minute over the window", "fail", "121 minutes", "beyond", approved_after=121),
    case("half a minute over the window", "fail", "120.5 minutes", approved_after=120.5),
    case(
        "configured window",
        "fail",
        "beyond the 60-minute window",
        settings={"approval_window_minutes": 60},
        approved_after=61,
    ),
    case(
        "approval straight into in_progress",
        "pass",
        "came 1 minute after",
        statuses=[DeploymentStatus(55, "waiting", at(0)), DeploymentStatus(56, "in_progress", at(1))],
    ),
    case("deployment that failed is timed all the same", "pass", "30 minutes", deploy_conclusion="failure"),
    case("bot-triggered run", "pass", "30 minutes", actor="dependabot[bot]"),
    case(
        "approvals lost, statuses show the approval",
        "fail",
        "200 minutes",
        approvals_captured=False,
        approved_after=200,
    ),
    case("nobody approved", "not_applicable", "nothing to time", approved_by=[], approved_after=None),
    case(
        "rejected",
        "not_applicable",
        "nothing to time",
        approved_by=[],
        rejected_by=["dave"],
        approved_after=5,
        statuses=[DeploymentStatus(55, "waiting", at(0)), DeploymentStatus(56, "failure", at(5))],
    ),
    case(
        "approvals lost and no approval ever requested",
        "not_applicable",
        "No production approval was requested",
        approvals_captured=False,
        statuses=_NO_WAITING,
    ),
    case(
        "approvals lost and the request never answered",
        "not_applicable",
        "was given",
        approvals_captured=False,
        approved_after=None,
    ),
    case("statuses lost to retention", "not_available", "never captured", statuses_captured=False),
    case(
        "approved but no waiting status",
        "not_available",
        "do not show when approval was requested",
        statuses=_NO_WAITING,
    ),
    case(
        "approved but statuses end at waiting",
        "not_available",
        "do not show when approval was given",
        approved_after=None,
        deploy_started=None,
    ),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_deploy_timely(deployment, settings, expected, phrases):
    verdict = judge("deploy.timely", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail


def test_cites_the_request_and_the_approval_statuses():
    verdict = judge("deploy.timely", make_deployment())
    assert verdict.evidence == ("deployment_statuses:55", "deployment_statuses:56")


def test_approval_for_another_environment_is_not_timed():
    deployment = make_deployment(approvals=[make_approval("carol", environments=["staging"])])
    assert judge("deploy.timely", deployment).verdict == "not_applicable"
