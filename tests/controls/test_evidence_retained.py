import pytest

from .factories import case, judge, make_artifact, make_deployment

CASES = [
    case("everything captured", "pass", "3 deployment statuses", "1 scan report"),
    case(
        "lost coverage and build artifacts are not evidence",
        "pass",
        "0 scan reports",
        artifacts=[
            make_artifact("coverage-html", "expired"),
            make_artifact("dist", "expired"),
            make_artifact("junit", "not_scan", scan_format=None),
        ],
    ),
    case("deployment that failed", "pass", "were all captured", deploy_conclusion="failure"),
    case("statuses lost", "fail", "the production deployment statuses", statuses_captured=False),
    case("approvals lost", "fail", "the environment approvals", approvals_captured=False),
    case(
        "approvals and statuses lost",
        "fail",
        "the environment approvals and the production deployment statuses",
        approvals_captured=False,
        statuses_captured=False,
    ),
    case(
        "scan report expired (410)",
        "fail",
        "artifact 'bandit-report' (expired)",
        artifacts=[make_artifact(), make_artifact("bandit-report", "expired")],
    ),
    case(
        "unreadable artifact of unknown content",
        "fail",
        "'reports' (unreadable)",
        artifacts=[make_artifact("reports", "unreadable")],
    ),
    case(
        "a scan-sounding build artifact may be evidence",
        "fail",
        "'build-security-scan' (expired)",
        artifacts=[make_artifact("build-security-scan", "expired")],
    ),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_evidence_retained(deployment, settings, expected, phrases):
    verdict = judge("evidence.retained", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail


def test_pass_cites_everything_captured():
    verdict = judge("evidence.retained", make_deployment())
    assert verdict.evidence == (
        "approvals:run 123",
        "deployment_statuses:55",
        "deployment_statuses:56",
        "deployment_statuses:57",
        "artifacts:42",
    )


def test_fail_cites_the_lost_artifact():
    deployment = make_deployment(artifacts=[make_artifact("sarif", "expired", artifact_id=9)])
    assert judge("evidence.retained", deployment).evidence == ("artifacts:9",)
