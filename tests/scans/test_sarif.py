"""SARIF 2.1.0: severity boundaries and sources, rule lookup, clean, unrelated, unusable."""

import pytest

from audit.scans import ScanFinding, ScanReport, UnusableReport, parse_report

from .factories import (
    PACKAGE_JSON,
    SARIF_SCHEMA,
    as_json,
    sarif_log,
    sarif_result,
    sarif_rule,
    sarif_run,
)


def severities(log: dict) -> list[str]:
    report = parse_report(as_json(log))

    scan_format, findings = report.scan_format, report.findings
    assert scan_format == "sarif"
    return [finding.severity for finding in findings]


def with_security_severity(value: object) -> dict:
    return {"security-severity": value, "tags": ["security"]}


@pytest.mark.parametrize(
    ("security_severity", "expected"),
    [
        ("10.0", "critical"),
        ("9.0", "critical"),
        ("8.9", "high"),
        ("7.0", "high"),
        ("6.9", "medium"),
        ("4.0", "medium"),
        ("3.9", "low"),
        ("0.0", "low"),
        (9.8, "critical"),
    ],
)
def test_bad_security_severity_boundaries_on_the_rule(security_severity, expected):
    rule = sarif_rule(properties=with_security_severity(security_severity))
    log = sarif_log(sarif_run([sarif_result(level="note")], rules=(rule,)))

    assert severities(log) == [expected]


@pytest.mark.parametrize(
    ("result_score", "rule_score", "expected"),
    [
        pytest.param("9.5", "2.0", "critical", id="result wins over rule"),
        pytest.param("3.0", "9.5", "low", id="result wins even when lower"),
        pytest.param(None, "7.5", "high", id="rule when the result has none"),
        pytest.param("not a number", "4.5", "medium", id="unusable result score"),
        pytest.param("NaN", None, "high", id="NaN falls back to level"),
    ],
)
def test_bad_result_level_vs_rule_level_security_severity(result_score, rule_score, expected):
    result = sarif_result(level="error")
    if result_score is not None:
        result["properties"] = with_security_severity(result_score)
    rule = sarif_rule()
    if rule_score is not None:
        rule["properties"] = with_security_severity(rule_score)

    assert severities(sarif_log(sarif_run([result], rules=(rule,)))) == [expected]


@pytest.mark.parametrize(
    ("result_level", "default_level", "expected"),
    [
        pytest.param("error", None, "high", id="error"),
        pytest.param("warning", None, "medium", id="warning"),
        pytest.param("note", None, "low", id="note"),
        pytest.param("none", None, "low", id="none"),
        pytest.param(None, None, "medium", id="no level defaults to warning"),
        pytest.param(None, "error", "high", id="rule default error"),
        pytest.param(None, "note", "low", id="rule default note"),
        pytest.param("note", "error", "low", id="result level over rule default"),
        pytest.param("critical", None, "high", id="level outside the spec"),
    ],
)
def test_bad_level_only(result_level, default_level, expected):
    result = sarif_result() if result_level is None else sarif_result(level=result_level)
    rule = sarif_rule()
    if default_level is not None:
        rule["defaultConfiguration"] = {"level": default_level}

    assert severities(sarif_log(sarif_run([result], rules=(rule,)))) == [expected]


def test_bad_kind_other_than_fail_defaults_to_none_and_pass_is_skipped():
    results = [sarif_result(kind="review"), sarif_result(kind="pass"), sarif_result(kind="notApplicable")]

    assert severities(sarif_log(sarif_run(results, rules=(sarif_rule(),)))) == ["low"]


CRITICAL_RULE = sarif_rule("py/code-injection", properties=with_security_severity("9.3"))
EXTENSION = {"name": "codeql/python-queries", "rules": [sarif_rule("py/other"), CRITICAL_RULE]}


@pytest.mark.parametrize(
    "result",
    [
        pytest.param(sarif_result("py/code-injection"), id="ruleId in an extension"),
        pytest.param(
            sarif_result(None, rule={"id": "py/code-injection", "index": 1, "toolComponent": {"index": 0}}),
            id="rule.index in the referenced extension",
        ),
        pytest.param(
            sarif_result(None, rule={"index": 1, "toolComponent": {"name": "codeql/python-queries"}}),
            id="rule.index in an extension named",
        ),
        pytest.param(sarif_result("py/code-injection/2"), id="hierarchical ruleId"),
    ],
)
def test_bad_rule_found_in_extensions(result):
    log = sarif_log(sarif_run([result], rules=(sarif_rule("py/unrelated"),), extensions=(EXTENSION,)))

    assert severities(log) == ["critical"]


def test_bad_rule_index_in_the_driver():
    rules = (sarif_rule("js/a"), sarif_rule("js/b", properties=with_security_severity("7.1")))
    log = sarif_log(sarif_run([sarif_result(None, ruleIndex=1)], rules=rules))

    assert severities(log) == ["high"]


def test_bad_finding_fields_and_several_runs():
    trivy = sarif_run(
        [sarif_result("CVE-2024-0001", level="error", message={"text": "openssl 3.0.1"})],
        driver_name="Trivy",
    )
    log = sarif_log(sarif_run([sarif_result(level="warning")], rules=(sarif_rule(),)), trivy)

    assert parse_report(as_json(log)) == ScanReport(
        "sarif",
        (
            ScanFinding(
                "CodeQL",
                "medium",
                "py/sql-injection",
                "This SQL query depends on a user-provided value.",
                "src/app/db.py:17",
            ),
            ScanFinding("Trivy", "high", "CVE-2024-0001", "openssl 3.0.1", "src/app/db.py:17"),
        ),
    )


@pytest.mark.parametrize(
    "log",
    [
        pytest.param(sarif_log(sarif_run([])), id="results empty"),
        pytest.param(
            sarif_log(sarif_run([], invocations=[{"executionSuccessful": True}])),
            id="successful invocation",
        ),
    ],
)
def test_okay_no_results_is_a_clean_report(log):
    assert parse_report(as_json(log)) == ScanReport("sarif", ())


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(PACKAGE_JSON, id="package.json"),
        pytest.param({"version": "2.1.0", "runs": {}}, id="runs not an array"),
        pytest.param({"version": "1.0", "runs": []}, id="other version, no SARIF schema"),
    ],
)
def test_unrelated_is_not_sarif(document):
    assert parse_report(as_json(document)) is None


def run_without_results() -> dict:
    run = sarif_run()
    del run["results"]
    return run


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        pytest.param({"$schema": SARIF_SCHEMA, "version": "2.0.0", "runs": []}, "version", id="SARIF 2.0.0"),
        pytest.param(sarif_log({"results": []}), "tool.driver", id="no tool"),
        pytest.param(sarif_log(sarif_run(["oops"])), "result 0", id="result not an object"),
    ],
)
def test_unusable(log, reason):
    with pytest.raises(UnusableReport, match=reason):
        parse_report(as_json(log))


@pytest.mark.parametrize(
    ("log", "reason", "findings"),
    [
        pytest.param(sarif_log(), "the SARIF log has no runs, so no tool ran", 0, id="no runs"),
        pytest.param(
            sarif_log(run_without_results()),
            "SARIF run 0 (CodeQL) has no results array, so the scanner did not complete",
            0,
            id="results absent",
        ),
        pytest.param(
            sarif_log(sarif_run([], invocations=[{"executionSuccessful": False}])),
            "SARIF run 0 (CodeQL) says the scanner did not execute successfully",
            0,
            id="failed invocation",
        ),
        pytest.param(
            sarif_log(
                sarif_run([sarif_result()]), sarif_run([sarif_result()], invocations=[{"executionSuccessful": False}])
            ),
            "SARIF run 1 (CodeQL) says the scanner did not execute successfully",
            2,
            id="one of two runs failed, findings kept",
        ),
    ],
)
def test_scanned_nothing_is_said_with_the_reason(log, reason, findings):
    report = parse_report(as_json(log))

    assert (report.scan_format, report.scanned_nothing, len(report.findings)) == ("sarif", reason, findings)
