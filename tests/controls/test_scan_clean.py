import pytest

from .factories import case, judge, make_artifact, make_deployment, make_finding, make_job

_NO_SCAN_JOB = [make_job("test")]

CASES = [
    case("clean bandit report", "pass", "1 scan report", "no finding at or above high"),
    case(
        "findings below the threshold",
        "pass",
        "2 findings below it",
        artifacts=[make_artifact(findings=[make_finding("low"), make_finding("medium")])],
    ),
    case(
        "high finding under a critical threshold",
        "pass",
        "at or above critical",
        settings={"max_severity": "critical"},
        artifacts=[make_artifact(findings=[make_finding("high")])],
    ),
    case(
        "report recognised whatever its name",
        "pass",
        "1 scan report",
        artifacts=[make_artifact("build-output", scan_format="sarif")],
    ),
    case(
        "captured report decides even when another artifact was lost",
        "pass",
        "1 scan report",
        artifacts=[make_artifact(), make_artifact("sarif", "expired")],
    ),
    case(
        "no report, scan job succeeded",
        "pass",
        "job conclusion only",
        artifacts=[],
    ),
    case(
        "lost coverage artifact is not scan evidence",
        "pass",
        "job conclusion only",
        artifacts=[make_artifact("coverage-report", "expired")],
    ),
    case(
        "matrix scan job, name in another case",
        "pass",
        "'Security-Scan (pip-audit)'",
        artifacts=[],
        jobs=[make_job("test"), make_job("Security-Scan (pip-audit)")],
    ),
    case(
        "high finding",
        "fail",
        "1 finding at or above high",
        "bandit B105 (high) at app/settings.py:12",
        artifacts=[make_artifact(findings=[make_finding("high"), make_finding("low")])],
    ),
    case(
        "critical finding in one of two reports",
        "fail",
        "2 scan reports",
        "(critical)",
        artifacts=[
            make_artifact(),
            make_artifact(
                "results", scan_format="sarif", findings=[make_finding("critical", tool="sarif", rule_id="CVE-1")]
            ),
        ],
    ),
    case(
        "medium finding under a medium threshold",
        "fail",
        "at or above medium",
        settings={"max_severity": "medium"},
        artifacts=[make_artifact(findings=[make_finding("medium")])],
    ),
    case(
        "no report, scan job failed",
        "fail",
        "'security-scan' (failure)",
        artifacts=[],
        jobs=[make_job("test"), make_job("security-scan", "failure")],
    ),
    case("no report and no scan job", "fail", "no job matches", artifacts=[], jobs=_NO_SCAN_JOB),
    case(
        "only non-scan artifacts and no scan job",
        "fail",
        "No scan report",
        artifacts=[make_artifact("coverage", "not_scan", scan_format=None)],
        jobs=_NO_SCAN_JOB,
    ),
    case(
        "scan report expired before capture",
        "not_available",
        "'security-report' (expired)",
        artifacts=[make_artifact("security-report", "expired")],
    ),
    case(
        "recognised SARIF unreadable (over the size cap)",
        "not_available",
        "(unreadable)",
        artifacts=[make_artifact("results", "unreadable", scan_format="sarif")],
    ),
    case(
        "artifact of unknown content expired",
        "not_available",
        "'reports' (expired)",
        artifacts=[make_artifact("reports", "expired")],
    ),
    case(
        "artifact known only by name expired",
        "not_available",
        "'bandit' (expired)",
        artifacts=[],
        lost_artifacts=["bandit"],
    ),
    case(
        "no report and the jobs were never captured",
        "not_available",
        "jobs were never captured either",
        artifacts=[],
        jobs_captured=False,
    ),
    case(
        "no report and the scan job's conclusion is unknown",
        "not_available",
        "is unknown",
        artifacts=[],
        jobs=[make_job("security-scan", None)],
    ),
]


@pytest.mark.parametrize(("deployment", "settings", "expected", "phrases"), CASES)
def test_scan_clean(deployment, settings, expected, phrases):
    verdict = judge("scan.clean", deployment, settings)
    assert verdict.verdict == expected, verdict.detail
    for phrase in phrases:
        assert phrase in verdict.detail


def test_cites_the_report():
    assert judge("scan.clean", make_deployment()).evidence == ("artifacts:42",)


def test_job_conclusion_only_cites_the_job():
    deployment = make_deployment(artifacts=[], jobs=[make_job("security-scan", job_id=7)])
    assert judge("scan.clean", deployment).evidence == ("jobs:7",)


def test_lost_artifact_known_only_by_name_is_cited_by_name():
    deployment = make_deployment(artifacts=[], lost_artifacts=["sarif-results"])
    assert judge("scan.clean", deployment).evidence == ("artifacts:sarif-results",)
