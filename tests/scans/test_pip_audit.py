"""pip-audit JSON, current and legacy forms: bad, okay, unrelated, unusable."""

import pytest

from audit.scans import ScanFinding, ScanReport, UnusableReport, parse_report

from .factories import (
    PACKAGE_JSON,
    as_json,
    pip_audit_dependency,
    pip_audit_report,
    pip_audit_vuln,
)

SKIPPED = {"name": "torch", "skip_reason": "Dependency not found on PyPI and could not be audited"}


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy list"])
def test_bad_every_vulnerability_is_high(legacy):
    report = pip_audit_report(
        pip_audit_dependency("flask", "2.2.0", pip_audit_vuln(description="Cookie leak.")),
        pip_audit_dependency("jinja2", "3.1.2", pip_audit_vuln(vuln_id="GHSA-h5c8-rqwp-cp95")),
        SKIPPED,
        legacy=legacy,
    )

    assert parse_report(as_json(report)) == ScanReport(
        "pip-audit",
        (
            ScanFinding("pip-audit", "high", "PYSEC-2023-62", "Cookie leak.", "flask==2.2.0"),
            ScanFinding(
                "pip-audit",
                "high",
                "GHSA-h5c8-rqwp-cp95",
                "known vulnerability GHSA-h5c8-rqwp-cp95 in jinja2",
                "jinja2==3.1.2",
            ),
        ),
    )


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(pip_audit_report(), id="no dependencies"),
        pytest.param(pip_audit_report(pip_audit_dependency(), SKIPPED), id="no vulns"),
        pytest.param(pip_audit_report(pip_audit_dependency(), legacy=True), id="legacy no vulns"),
        pytest.param({"dependencies": []}, id="without fixes"),
    ],
)
def test_okay_no_vulnerabilities_is_a_clean_report(report):
    assert parse_report(as_json(report)) == ScanReport("pip-audit", ())


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(PACKAGE_JSON, id="package.json"),
        pytest.param([], id="empty list is ambiguous"),
        pytest.param({"dependencies": [], "fixes": [], "name": "x"}, id="extra key"),
        pytest.param({"dependencies": [{"name": "flask"}]}, id="no vulns nor skip_reason"),
        pytest.param({"dependencies": {"flask": "2.2.0"}}, id="dependencies mapping"),
        pytest.param([{"name": "flask", "version": "1"}], id="legacy without vulns"),
    ],
)
def test_unrelated_is_not_pip_audit(document):
    assert parse_report(as_json(document)) is None


def test_unusable_vulnerability_that_is_not_an_object():
    report = pip_audit_report(pip_audit_dependency("flask", "2.2.0", "PYSEC-2023-62"))

    with pytest.raises(UnusableReport, match="flask"):
        parse_report(as_json(report))
