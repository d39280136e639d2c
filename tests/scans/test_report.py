"""Recognition beyond the envelope: clean ``[]`` by name, reports recovered from text, semgrep JSON."""

import json

import pytest

from audit.scans import ScanFinding, ScanReport, parse_report
from audit.scans.report import recover_report

from .factories import as_json, bandit_report, bandit_result, safety2_report, safety2_vuln, safety3_report, safety3_vuln

BANNER = b"+" + b"=" * 78 + b"+\n\nDEPRECATED: this command (`check`) has been DEPRECATED.\n\n+" + b"=" * 78 + b"+\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("safety-report.json", ScanReport("safety", ())),
        ("reports/SAFETY.json", ScanReport("safety", ())),
        ("pip-audit.json", ScanReport("pip-audit", ())),
        ("pip_audit_results.json", ScanReport("pip-audit", ())),
        ("results.json", None),
        (None, None),
    ],
)
def test_bare_empty_list_is_a_clean_report_only_by_its_name(name, expected):
    assert parse_report(b"[]", name) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(BANNER + as_json(safety2_report(safety2_vuln())) + b"\n" + BANNER, id="banner around"),
        pytest.param(b"\xef\xbb\xbf" + BANNER + as_json(safety2_report(safety2_vuln())), id="BOM, banner before"),
        pytest.param(
            BANNER + json.dumps(safety2_report(safety2_vuln())).encode() + b"\r\n" + BANNER.replace(b"\n", b"\r\n"),
            id="one line, CRLF",
        ),
        pytest.param(BANNER + b'["not", "a report"]\n' + as_json(safety2_report(safety2_vuln())), id="other JSON too"),
    ],
)
def test_one_report_in_text_is_recovered(text):
    report = recover_report(text, "safety-report.json")

    assert report is not None and report.scan_format == "safety" and len(report.findings) == 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(BANNER, id="no JSON"),
        pytest.param(BANNER + as_json(safety2_report(safety2_vuln()))[:-40] + b"\n" + BANNER, id="truncated"),
        pytest.param(
            as_json(bandit_report(bandit_result())) + b"\n" + as_json(safety2_report()), id="two reports: which one?"
        ),
        pytest.param(BANNER + b"result: " + as_json(safety2_report()), id="not at the start of a line"),
        pytest.param(BANNER + as_json(safety2_report()) + b" trailing words\n", id="text after it on its line"),
        pytest.param(b"\xff\xfe\xfa\x00 not text", id="not text"),
    ],
)
def test_nothing_is_recovered_unless_it_is_exactly_one_report(text):
    assert recover_report(text, "safety-report.json") is None


def test_safety_2_with_no_package_scanned_nothing():
    report = parse_report(as_json({**safety2_report(), "scanned_packages": {}}))

    assert report.scanned_nothing == "safety found no package to check"


def test_safety_3_scan_uses_a_severity_when_the_vulnerability_carries_one():
    with_cvss = {**safety3_vuln(), "severity": {"cvssv3": None, "cvssv2": {"base_score": 9.3}}}

    report = parse_report(as_json(safety3_report(with_cvss, safety3_vuln())))

    assert [f.severity for f in report.findings] == ["critical", "high"]


def semgrep_result(severity: object = "ERROR", check_id: str = "rules.eval-use") -> dict:
    return {
        "check_id": check_id,
        "path": "src/app.py",
        "start": {"line": 7, "col": 5, "offset": 80},
        "end": {"line": 7, "col": 20, "offset": 95},
        "extra": {"message": "eval() runs arbitrary code", "severity": severity, "metadata": {}, "lines": "x"},
    }


def semgrep_report(*results: dict, scanned: tuple = ("src/app.py",), errors: tuple = ()) -> dict:
    return {
        "version": "1.185.0",
        "results": list(results),
        "errors": list(errors),
        "paths": {"scanned": list(scanned)},
        "skipped_rules": [],
    }


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("ERROR", "high"),
        ("WARNING", "medium"),
        ("INFO", "low"),
        ("CRITICAL", "critical"),
        ("LOW", "low"),
        ("EXPERIMENT", "high"),
        (None, "high"),
    ],
)
def test_semgrep_severity_is_the_rules_own(severity, expected):
    report = parse_report(as_json(semgrep_report(semgrep_result(severity))))

    assert report == ScanReport(
        "semgrep",
        (ScanFinding("semgrep", expected, "rules.eval-use", "eval() runs arbitrary code", "src/app.py:7"),),
    )


def test_semgrep_that_scanned_no_file_says_so():
    report = parse_report(as_json(semgrep_report(scanned=(), errors=({"level": "error"},))))

    assert report == ScanReport("semgrep", (), "semgrep scanned no file (1 error)")


def test_bandit_report_is_not_taken_for_semgrep():
    assert parse_report(as_json({**bandit_report(), "paths": {"scanned": []}})).scan_format == "bandit"
