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
        "captured report beside an unrelated lost artifact",
        "pass",
        "1 scan report",
        artifacts=[make_artifact(), make_artifact("screenshots", "unreadable")],
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
        "no report and the jobs were never captured",
        "not_available",
        "jobs were never captured either",
        artifacts=[],
        jobs_captured=False,
    ),
    case(
        "unreadable report beside a readable one",
        "not_available",
        "incomplete",
        "'safety-report' was lost (unreadable)",
        artifacts=[make_artifact(), make_artifact("safety-report", "unreadable")],
    ),
    case(
        "expired SARIF beside a captured report",
        "not_available",
        "'sarif' was lost (expired)",
        artifacts=[make_artifact(), make_artifact("sarif", "expired")],
    ),
    case(
        "lost artifact of recognised format beside a captured report",
        "not_available",
        "'results' was lost (unreadable)",
        artifacts=[make_artifact(), make_artifact("results", "unreadable", scan_format="sarif")],
    ),
    case(
        "unreadable member beside a readable report in one artifact",
        "not_available",
        "'bandit-report': safety.json was meant to be a scan report but is not readable JSON",
        artifacts=[make_artifact(scan_gaps="safety.json was meant to be a scan report but is not readable JSON")],
    ),
    case(
        "pip-audit skipped every dependency",
        "not_available",
        "pip-audit skipped all 6 dependencies",
        artifacts=[
            make_artifact(
                "pip-audit",
                scan_format="pip-audit",
                scan_gaps="pip-audit.json scanned nothing: pip-audit skipped all 6 dependencies",
            )
        ],
    ),
    case(
        "bandit could not parse any file",
        "not_available",
        "bandit could not parse any file",
        artifacts=[
            make_artifact(scan_gaps="bandit.json scanned nothing: bandit could not parse any file it was given")
        ],
    ),
    case(
        "SARIF without runs",
        "not_available",
        "no tool ran",
        artifacts=[
            make_artifact(
                "codeql",
                scan_format="sarif",
                scan_gaps="codeql.sarif scanned nothing: the SARIF log has no runs, so no tool ran",
            )
        ],
    ),
    case(
        "SARIF run that did not execute successfully, every gap listed",
        "not_available",
        "says it did not execute successfully; 'bandit-report': other.sarif",
        artifacts=[
            make_artifact(
                scan_gaps="run.sarif scanned nothing: SARIF run 0 (Semgrep) says it did not execute successfully\n"
                "other.sarif was meant to be a scan report but is not readable JSON"
            )
        ],
    ),
    case(
        "incomplete evidence with a serious finding still fails",
        "fail",
        "1 finding at or above high",
        artifacts=[make_artifact(findings=[make_finding("high")], scan_gaps="safety.json is unreadable")],
    ),
    case(
        "finding of unknown severity counts as high",
        "fail",
        "(UNDEFINED)",
        artifacts=[make_artifact(findings=[make_finding("UNDEFINED")])],
    ),
    case(
        "finding of unknown severity under a critical threshold",
        "pass",
        "1 finding below it",
        settings={"max_severity": "critical"},
        artifacts=[make_artifact(findings=[make_finding("UNDEFINED")])],
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
