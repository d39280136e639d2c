"""Reports recorded from the real scanners (`tests/fixtures/scans/regenerate`), parsed as committed.

Each expectation is computed here from the report's own fields with a few lines of plain
code, independent of the parsers, so a parser that miscounts or mis-maps a severity fails.
Two formats of one scan (bandit JSON and SARIF, semgrep JSON and SARIF) must agree.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from audit.scans import inspect_artifact, parse_report
from audit.scans.report import recover_report

from .factories import zip_of

FIXTURES = Path(__file__).parents[1] / "fixtures" / "scans"
TOOL_WORDS = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high", "CRITICAL": "critical"}
SARIF_LEVELS = {"error": "high", "warning": "medium", "note": "low"}
SEMGREP_WORDS = {"ERROR": "high", "WARNING": "medium", "INFO": "low"}


def fixture(pattern: str) -> Path:
    """The one committed report matching ``pattern`` (the tool version is in its name)."""
    (path,) = FIXTURES.glob(pattern)
    return path


def raw(path: Path) -> object:
    return json.loads(path.read_bytes())


def parsed(path: Path):
    report = parse_report(path.read_bytes(), path.name)
    assert report is not None, f"{path.name} is not recognised"
    return report


def severities(report) -> Counter:
    return Counter(finding.severity for finding in report.findings)


def test_bandit_json_counts_and_severities_are_bandits_own():
    path = fixture("bandit-*[0-9].json")
    document = raw(path)
    expected = Counter(TOOL_WORDS[result["issue_severity"]] for result in document["results"])

    report = parsed(path)

    assert report.scan_format == "bandit" and report.scanned_nothing is None
    assert severities(report) == expected
    assert expected["high"] > 0 and expected["medium"] > 0 and expected["low"] > 0
    assert {f.rule_id for f in report.findings} == {r["test_id"] for r in document["results"]}


def test_bandit_sarif_agrees_with_bandit_json():
    sarif = raw(fixture("bandit-*.sarif"))
    (run,) = sarif["runs"]
    # SARIF's default level is "warning" (bandit leaves it out for MEDIUM).
    expected = Counter(SARIF_LEVELS[result.get("level", "warning")] for result in run["results"])
    assert expected == Counter(TOOL_WORDS[result["properties"]["issue_severity"]] for result in run["results"])

    report = parsed(fixture("bandit-*.sarif"))

    assert report.scan_format == "sarif" and report.scanned_nothing is None
    assert severities(report) == expected == severities(parsed(fixture("bandit-*[0-9].json")))


def test_semgrep_json_counts_and_severities_are_semgreps_own():
    path = fixture("semgrep-*[0-9].json")
    document = raw(path)
    expected = Counter(SEMGREP_WORDS[result["extra"]["severity"]] for result in document["results"])

    report = parsed(path)

    assert report.scan_format == "semgrep" and report.scanned_nothing is None
    assert severities(report) == expected and sum(expected.values()) == len(document["results"]) > 0
    assert {f.rule_id for f in report.findings} == {r["check_id"] for r in document["results"]}


def test_semgrep_sarif_agrees_with_semgrep_json():
    sarif = raw(fixture("semgrep-*.sarif"))
    (run,) = sarif["runs"]
    rule_levels = {rule["id"]: rule["defaultConfiguration"]["level"] for rule in run["tool"]["driver"]["rules"]}
    expected = Counter(SARIF_LEVELS[result.get("level") or rule_levels[result["ruleId"]]] for result in run["results"])

    report = parsed(fixture("semgrep-*.sarif"))

    assert report.scanned_nothing is None
    assert severities(report) == expected == severities(parsed(fixture("semgrep-*[0-9].json")))


def test_clean_bandit_report_is_clean():
    document = raw(fixture("bandit-*-clean.json"))
    assert document["results"] == [] and document["errors"] == []

    report = parsed(fixture("bandit-*-clean.json"))

    assert (report.findings, report.scanned_nothing) == ((), None)


@pytest.mark.parametrize(
    ("pattern", "scan_format", "reason"),
    [
        pytest.param("bandit-*-all-files-errored.json", "bandit", "bandit could not parse any file", id="bandit"),
        pytest.param("pip-audit-*-offline.json", "pip-audit", "pip-audit skipped all", id="pip-audit offline"),
        pytest.param("semgrep-*-nothing-scanned.json", "semgrep", "semgrep scanned no file", id="semgrep"),
    ],
)
def test_reports_that_scanned_nothing_say_so(pattern, scan_format, reason):
    path = fixture(pattern)
    document = raw(path)
    if scan_format == "bandit":
        assert {e["filename"] for e in document["errors"]} == set(document["metrics"]) - {"_totals"}
    elif scan_format == "pip-audit":
        assert all("skip_reason" in d for d in document["dependencies"])
    else:
        assert document["paths"]["scanned"] == []

    report = parsed(path)

    assert (report.scan_format, report.findings) == (scan_format, ())
    assert report.scanned_nothing is not None and report.scanned_nothing.startswith(reason)


def test_safety_1_list_is_read_with_its_own_cvss_fields():
    path = fixture("safety-1.*[0-9].json")
    document = raw(path)
    # safety 1.10 appends cvssv2 and cvssv3; the free database leaves them null.
    assert all(entry[5] is None and entry[6] is None for entry in document)

    report = parsed(path)

    assert report.scan_format == "safety"
    assert severities(report) == Counter({"high": len(document)}) and len(document) > 0
    assert sorted(f.rule_id for f in report.findings) == sorted(str(entry[4]) for entry in document)


def test_safety_1_clean_list_is_recognised_by_its_name():
    path = fixture("safety-1.*-clean.json")
    assert raw(path) == []

    assert parsed(path).findings == ()
    assert parse_report(path.read_bytes(), "results.json") is None


def test_safety_2_severities_are_its_cvss_fields():
    path = fixture("safety-2.*.json")
    document = raw(path)

    def tool_severity(vuln: dict) -> str:
        cvss = (vuln.get("severity") or {}).get("cvssv3") or {}
        return (cvss.get("base_severity") or "high").lower()

    report = parsed(path)

    assert report.scan_format == "safety" and report.scanned_nothing is None
    assert severities(report) == Counter(tool_severity(v) for v in document["vulnerabilities"])
    assert len(report.findings) == len(document["vulnerabilities"]) > 0


def test_safety_3_check_on_stdout_is_recovered_from_its_banner():
    path = fixture("safety-3.*-check-stdout.json")
    data = path.read_bytes()
    with pytest.raises(json.JSONDecodeError):
        json.loads(data)
    text = data.decode()
    embedded = json.loads(text[text.index("\n{") : text.rindex("\n}") + 2])

    report = recover_report(data, path.name)

    assert report is not None and report.scan_format == "safety"
    assert len(report.findings) == len(embedded["vulnerabilities"]) > 0
    assert embedded["report_meta"]["safety_version"].startswith("3.")


def test_banner_report_in_an_artifact_is_captured_and_recorded_as_recovered():
    path = fixture("safety-3.*-check-stdout.json")

    scan = inspect_artifact(zip_of(("safety-report.json", path.read_bytes())), artifact_name="safety")

    assert (scan.status, scan.scan_format, scan.gaps, scan.recovered) == (
        "captured",
        "safety",
        (),
        ("safety-report.json",),
    )
    assert "recovered the JSON report from the text around it in safety-report.json" in scan.detail


def test_truncated_report_beside_a_real_one_leaves_the_evidence_incomplete():
    bandit = fixture("bandit-*-clean.json").read_bytes()
    safety = fixture("safety-2.*.json").read_bytes()

    scan = inspect_artifact(zip_of(("bandit.json", bandit), ("safety.json", safety[: len(safety) // 2])))

    assert (scan.status, scan.scan_format, scan.findings) == ("captured", "bandit", ())
    assert len(scan.gaps) == 1 and scan.gaps[0].startswith("safety.json was meant to be a scan report")
