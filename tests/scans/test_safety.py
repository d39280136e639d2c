"""safety JSON, 1.x, 2.x and 3 (`scan`): bad, okay, unrelated, unusable."""

import pytest

from audit.scans import ScanFinding, ScanReport, UnusableReport, parse_report

from .factories import (
    COVERAGE_JSON,
    as_json,
    safety1_entry,
    safety2_cvss,
    safety2_report,
    safety2_vuln,
    safety3_report,
    safety3_vuln,
)

ADVISORY = "Django 2.2 before 2.2.18 allows directory traversal via archive.extract()."


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        pytest.param(None, "high", id="no severity"),
        pytest.param(safety2_cvss("CRITICAL", 9.8), "critical", id="cvssv3 critical"),
        pytest.param(safety2_cvss("HIGH", 7.5), "high", id="cvssv3 high"),
        pytest.param(safety2_cvss("MEDIUM", 5.3), "medium", id="cvssv3 medium"),
        pytest.param(safety2_cvss("LOW", 3.1), "low", id="cvssv3 low"),
        pytest.param(safety2_cvss(None, 9.1), "critical", id="score only"),
        pytest.param(safety2_cvss("bogus", None), "high", id="unusable cvss"),
        pytest.param(
            {"cvssv2": {"base_score": 4.3, "base_severity": "MEDIUM"}, "cvssv3": None},
            "medium",
            id="cvssv2 only",
        ),
    ],
)
def test_bad_v2_severity_from_cvss_else_high(severity, expected):
    report = safety2_report(safety2_vuln(severity=severity))

    assert parse_report(as_json(report)) == ScanReport(
        "safety",
        (ScanFinding("safety", expected, "38624", ADVISORY, "django==2.2"),),
    )


def test_bad_v1_list_of_lists_is_high():
    report = [safety1_entry(), safety1_entry(vulnerability_id=40104) + [None, None]]

    report = parse_report(as_json(report))

    scan_format, findings = report.scan_format, report.findings

    assert scan_format == "safety"
    assert [(f.severity, f.rule_id, f.location) for f in findings] == [
        ("high", "38624", "django==2.2"),
        ("high", "40104", "django==2.2"),
    ]


def test_bad_v3_scan_known_vulnerabilities_are_high_and_ignored_ones_left_out():
    report = safety3_report(safety3_vuln(), safety3_vuln(ignored={"code": "manual"}))

    assert parse_report(as_json(report)) == ScanReport(
        "safety",
        (ScanFinding("safety", "high", "38624", "django <2.2.18", "django==2.2"),),
    )


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(safety2_report(), id="2.x"),
        pytest.param(safety3_report(), id="3 scan"),
    ],
)
def test_okay_no_vulnerabilities_is_a_clean_report(report):
    assert parse_report(as_json(report)) == ScanReport("safety", ())


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(COVERAGE_JSON, id="coverage.json"),
        pytest.param([], id="empty list is ambiguous"),
        pytest.param([["a", "b", "c", "d"]], id="short rows"),
        pytest.param([["a", "b", "c", "d", "e", "f", "g", "h"]], id="long rows"),
        pytest.param([[1, 2, 3, 4, 5]], id="numeric rows"),
        pytest.param({"vulnerabilities": []}, id="no report_meta"),
        pytest.param(safety3_report(schema_version="2.0"), id="scan schema 2"),
        pytest.param({"meta": {"schema_version": "3.0"}, "results": []}, id="no scan_results"),
    ],
)
def test_unrelated_is_not_safety(document):
    assert parse_report(as_json(document)) is None


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(safety2_report("38624"), id="2.x vulnerability not an object"),
        pytest.param(
            {"meta": {"schema_version": "3.0"}, "scan_results": {"projects": {}}},
            id="3 projects not an array",
        ),
    ],
)
def test_unusable(report):
    with pytest.raises(UnusableReport, match="safety"):
        parse_report(as_json(report))
