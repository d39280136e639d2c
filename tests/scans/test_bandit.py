"""bandit JSON: bad (findings), okay (clean), unrelated (not bandit), unusable."""

import pytest

from audit.scans import ScanFinding, ScanReport, UnusableReport, parse_report

from .factories import COVERAGE_JSON, as_json, bandit_report, bandit_result


@pytest.mark.parametrize(
    ("issue_severity", "expected"),
    [
        ("LOW", "low"),
        ("MEDIUM", "medium"),
        ("HIGH", "high"),
        ("UNDEFINED", "high"),
        ("CRITICAL", "high"),
        (None, "high"),
        (3, "high"),
    ],
)
def test_bad_severity_is_issue_severity_and_unknown_is_high(issue_severity, expected):
    report = bandit_report(bandit_result(issue_severity=issue_severity))

    report = parse_report(as_json(report))

    scan_format, (finding,) = report.scan_format, report.findings

    assert scan_format == "bandit"
    assert finding.severity == expected


def test_bad_finding_fields():
    report = bandit_report(bandit_result(), bandit_result(issue_severity="LOW", test_id="B105"))

    assert parse_report(as_json(report)) == ScanReport(
        "bandit",
        (
            ScanFinding(
                tool="bandit",
                severity="high",
                rule_id="B602",
                title="subprocess call with shell=True identified, security issue.",
                location="src/app/jobs.py:42",
            ),
            ScanFinding(
                tool="bandit",
                severity="low",
                rule_id="B105",
                title="subprocess call with shell=True identified, security issue.",
                location="src/app/jobs.py:42",
            ),
        ),
    )


def test_okay_no_results_is_a_clean_report():
    assert parse_report(as_json(bandit_report())) == ScanReport("bandit", ())


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(COVERAGE_JSON, id="coverage.json"),
        pytest.param({"results": [], "errors": []}, id="no metrics"),
        pytest.param({"results": {}, "errors": [], "metrics": {}}, id="results not an array"),
        pytest.param([bandit_result()], id="bare results"),
    ],
)
def test_unrelated_is_not_bandit(document):
    assert parse_report(as_json(document)) is None


def test_unusable_result_that_is_not_an_object():
    with pytest.raises(UnusableReport, match="bandit result 1"):
        parse_report(as_json(bandit_report(bandit_result(), "B602")))
