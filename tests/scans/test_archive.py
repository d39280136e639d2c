"""Artifact zips: recognised by content, never trusted, never written to disk."""

import hashlib
import zipfile

import pytest

from audit.scans import archive, inspect_artifact

from .factories import (
    COVERAGE_JSON,
    PACKAGE_JSON,
    as_json,
    bandit_report,
    bandit_result,
    pip_audit_dependency,
    pip_audit_report,
    pip_audit_vuln,
    safety2_report,
    safety2_vuln,
    sarif_log,
    sarif_result,
    sarif_rule,
    sarif_run,
    zip_bomb,
    zip_of,
)

BANDIT = as_json(bandit_report(bandit_result()))
SARIF = as_json(sarif_log(sarif_run([sarif_result(level="note")], rules=(sarif_rule(),))))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return zip_bomb()


@pytest.mark.parametrize(
    ("members", "scan_format", "severities"),
    [
        pytest.param([("bandit.json", BANDIT)], "bandit", ["high"], id="bandit"),
        pytest.param([("out/results", BANDIT)], "bandit", ["high"], id="recognised by content, not name"),
        pytest.param([("codeql.sarif", SARIF)], "sarif", ["low"], id="sarif"),
        pytest.param(
            [
                ("audit.json", as_json(pip_audit_report(pip_audit_dependency("flask", "2.2.0", pip_audit_vuln())))),
                ("safety.json", as_json(safety2_report(safety2_vuln()))),
                ("coverage.json", as_json(COVERAGE_JSON)),
                ("README.txt", b"Security scan output for run 42."),
            ],
            "pip-audit,safety",
            ["high", "high"],
            id="several reports and unrelated members",
        ),
        pytest.param(
            [("a/bandit.json", BANDIT), ("b/bandit.json", as_json(bandit_report()))],
            "bandit",
            ["high"],
            id="same format twice",
        ),
        pytest.param([("bandit.json", as_json(bandit_report()))], "bandit", [], id="clean report"),
        pytest.param([("bandit.json", b"\xef\xbb\xbf" + BANDIT)], "bandit", ["high"], id="UTF-8 BOM"),
        pytest.param([("bandit.json", BANDIT.decode().encode("utf-16"))], "bandit", ["high"], id="UTF-16"),
        pytest.param([("reports/", b""), ("reports/bandit.json", BANDIT)], "bandit", ["high"], id="directory"),
    ],
)
def test_captured(members, scan_format, severities):
    content = zip_of(*members)

    scan = inspect_artifact(content)

    assert (scan.status, scan.scan_format) == ("captured", scan_format)
    assert [finding.severity for finding in scan.findings] == severities
    assert scan.sha256 == hashlib.sha256(content).hexdigest()
    assert scan.size == len(content)


def test_captured_detail_says_what_was_recognised():
    scan = inspect_artifact(zip_of(("bandit.json", BANDIT), ("codeql.sarif", SARIF)))

    assert scan.scan_format == "bandit,sarif"
    assert scan.detail == (
        "recognised bandit report in bandit.json (1 finding), sarif report in codeql.sarif (1 finding)"
    )


@pytest.mark.parametrize(
    ("members", "detail"),
    [
        pytest.param([], "empty archive, no scan report", id="empty zip"),
        pytest.param(
            [("coverage.json", as_json(COVERAGE_JSON))],
            "no scan report among 1 member (1 JSON document not recognised)",
            id="coverage.json",
        ),
        pytest.param(
            [("package.json", as_json(PACKAGE_JSON)), ("dist/app.whl", b"PK\x03\x04 binary")],
            "no scan report among 2 members (1 JSON document not recognised); nested archives not opened: dist/app.whl",
            id="package.json and a wheel",
        ),
        pytest.param(
            [("build.log", b"[INFO] build ok\n"), ("app.bin", bytes(100))],
            "no scan report among 2 members",
            id="text that starts like JSON is only sniffed",
        ),
    ],
)
def test_not_scan(members, detail):
    scan = inspect_artifact(zip_of(*members))

    assert (scan.status, scan.scan_format, scan.findings) == ("not_scan", None, ())
    assert scan.detail == detail


def test_nested_zip_is_noted_and_not_opened():
    inner = zip_of(("bandit.json", BANDIT))

    scan = inspect_artifact(zip_of(("reports.zip", inner), ("misnamed.json", inner)))

    assert scan.status == "not_scan"
    assert scan.detail == ("no scan report among 2 members; nested archives not opened: reports.zip, misnamed.json")


@pytest.mark.parametrize(
    "name",
    ["../../etc/cron.d/bandit.json", "/tmp/bandit.json", "reports\\..\\bandit.json", "C:/bandit.json"],
)
def test_unsafe_member_names_are_only_names(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    scan = inspect_artifact(zip_of((name, BANDIT)))

    assert scan.status == "captured"
    assert scan.detail.endswith(f"unsafe member names, read in memory only: {name}")
    assert list(tmp_path.iterdir()) == []


def test_control_characters_in_names_are_escaped():
    scan = inspect_artifact(zip_of(("evil\n\x1b[2J.json", BANDIT)))

    assert "evil\\x0a\\x1b[2J.json" in scan.detail


@pytest.mark.parametrize(
    ("members", "detail"),
    [
        pytest.param(
            [("bandit.json", b'{"results": [')],
            "bandit.json was meant to be a scan report but is not readable JSON (Expecting value at line 1 column 14)",
            id="truncated report",
        ),
        pytest.param(
            [("results.sarif", b"\xff\xfe\xfa not text"), ("coverage.json", as_json(COVERAGE_JSON))],
            "results.sarif was meant to be a scan report but is not readable JSON",
            id="binary .sarif",
        ),
        pytest.param([("deep.json", b"[" * 100_000)], "invalid JSON in deep.json", id="nested too deeply"),
        pytest.param(
            [("bandit.json", as_json(bandit_report("B602")))],
            "bandit result 0 is not an object in bandit.json",
            id="recognised but unusable",
        ),
        pytest.param(
            [("safety-output.txt", b"+==========+\n| REPORT |\n+==========+\nNo known vulnerabilities\n")],
            "safety-output.txt was meant to be a scan report but is not readable JSON",
            id="text named as a report",
        ),
        pytest.param(
            [("scan.json", as_json(COVERAGE_JSON))],
            "scan.json was meant to be a scan report but its JSON is in no format understood here",
            id="JSON named as a report in another format",
        ),
    ],
)
def test_unreadable_content(members, detail):
    scan = inspect_artifact(zip_of(*members))

    assert (scan.status, scan.scan_format, scan.findings) == ("unreadable", None, ())
    assert scan.detail.startswith(detail)


def test_invalid_json_not_meant_as_a_report_beside_one_is_noted():
    scan = inspect_artifact(zip_of(("bandit.json", BANDIT), ("metadata.json", b"{oops")))

    assert (scan.status, scan.gaps) == ("captured", ())
    assert scan.detail.endswith("; ignored invalid JSON in metadata.json")


@pytest.mark.parametrize(
    ("members", "artifact_name", "scan_format", "gap"),
    [
        pytest.param(
            [("bandit.json", BANDIT), ("safety.json", b"{oops")],
            None,
            "bandit",
            "safety.json was meant to be a scan report but is not readable JSON (Expecting property name",
            id="invalid JSON named as a report",
        ),
        pytest.param(
            [("bandit.json", BANDIT), ("results.json", b"{oops")],
            "security-scan",
            "bandit",
            "results.json was meant to be a scan report but is not readable JSON",
            id="invalid JSON in an artifact named as scan evidence",
        ),
        pytest.param(
            [("bandit.json", BANDIT), ("codeql.sarif", as_json(sarif_log({"results": []})))],
            None,
            "bandit",
            "SARIF run 0 has no tool.driver in codeql.sarif",
            id="unusable report",
        ),
        pytest.param(
            [("bandit.json", BANDIT), ("trivy.sarif", as_json(sarif_log()))],
            None,
            "bandit,sarif",
            "trivy.sarif scanned nothing: the SARIF log has no runs, so no tool ran",
            id="report that scanned nothing",
        ),
    ],
)
def test_unreadable_report_beside_a_readable_one_leaves_a_gap(members, artifact_name, scan_format, gap):
    scan = inspect_artifact(zip_of(*members), artifact_name=artifact_name)

    assert (scan.status, scan.scan_format, len(scan.findings)) == ("captured", scan_format, 1)
    assert len(scan.gaps) == 1 and scan.gaps[0].startswith(gap)
    assert gap in scan.detail


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        pytest.param(b"", "not a readable zip archive", id="no bytes"),
        pytest.param(b"<html>Not Found</html>", "not a readable zip archive", id="html"),
        pytest.param(BANDIT, "not a readable zip archive", id="bare JSON"),
        pytest.param(zip_of(("bandit.json", BANDIT))[:-30], "not a readable zip archive", id="truncated"),
    ],
)
def test_unreadable_not_a_zip(content, detail):
    scan = inspect_artifact(content)

    assert scan.status == "unreadable"
    assert scan.detail.startswith(detail)
    assert scan.sha256 == hashlib.sha256(content).hexdigest()


def test_zip_bomb_is_refused_before_expanding(bomb):
    assert len(bomb) < 1024 * 1024

    scan = inspect_artifact(bomb)

    assert scan.status == "unreadable"
    assert scan.detail.startswith("member bandit.json expands from ")
    assert scan.detail.endswith("more than 200 times (a zip bomb)")


def test_zip_bomb_is_refused_while_streaming_when_headers_are_not_trusted(bomb, monkeypatch):
    monkeypatch.setattr(archive, "_check_headers", lambda files, limits: None)

    scan = inspect_artifact(bomb, max_ratio=20)

    assert scan.status == "unreadable"
    assert scan.detail == ("member bandit.json expands more than 20 times its compressed size (a zip bomb)")


def test_member_cap_holds_while_streaming_when_headers_are_not_trusted(monkeypatch):
    monkeypatch.setattr(archive, "_check_headers", lambda files, limits: None)
    big = as_json(bandit_report(*[bandit_result(line_number=n) for n in range(3000)]))

    scan = inspect_artifact(zip_of(("bandit.json", big)), max_member_bytes=len(big) - 1)

    assert scan.detail == f"member bandit.json expands beyond the cap of {len(big) - 1} bytes"


def test_member_lying_about_its_size_is_unreadable():
    content = bytearray(zip_of(("bandit.json", BANDIT)))
    central = content.index(b"PK\x01\x02")
    content[central + 24 : central + 28] = (10).to_bytes(4, "little")

    scan = inspect_artifact(bytes(content))

    assert scan.status == "unreadable"
    assert scan.detail.startswith("member bandit.json is corrupt")


@pytest.mark.parametrize(
    ("members", "limits", "detail"),
    [
        pytest.param(
            [("bandit.json", BANDIT)],
            {"max_member_bytes": 100},
            f"member bandit.json is {len(BANDIT)} bytes, over the cap of 100 bytes",
            id="member over the cap",
        ),
        pytest.param(
            [("a.json", BANDIT), ("b.json", BANDIT)],
            {"max_total_bytes": len(BANDIT) + 1},
            f"members total more than the cap of {len(BANDIT) + 1} bytes",
            id="total over the cap",
        ),
        pytest.param(
            [(f"r{n}.json", b"{}") for n in range(4)],
            {"max_members": 3},
            "4 members, more than the cap of 3",
            id="too many members",
        ),
        pytest.param(
            [("bandit.json", bytes(2 * 1024 * 1024))],
            {"max_ratio": 50},
            "a zip bomb",
            id="lower ratio",
        ),
    ],
)
def test_unreadable_over_a_cap(members, limits, detail):
    scan = inspect_artifact(zip_of(*members), **limits)

    assert scan.status == "unreadable"
    assert detail in scan.detail


def test_small_repetitive_member_is_not_a_bomb():
    padded = BANDIT + b" " * 500_000

    assert inspect_artifact(zip_of(("bandit.json", padded))).status == "captured"


def test_encrypted_member_is_unreadable():
    content = bytearray(zip_of(("bandit.json", BANDIT)))
    central = content.index(b"PK\x01\x02")
    content[central + 8] |= 0x1

    scan = inspect_artifact(bytes(content))

    assert (scan.status, scan.detail) == ("unreadable", "member bandit.json is encrypted")


def test_stored_members_are_read_too():
    scan = inspect_artifact(zip_of(("bandit.json", BANDIT), compression=zipfile.ZIP_STORED))

    assert scan.status == "captured"


def test_other_json_in_a_scan_artifact_is_not_an_unread_report():
    sbom = as_json({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []})

    scan = inspect_artifact(zip_of(("bandit.json", BANDIT), ("sbom.cdx.json", sbom)), artifact_name="security-scan")

    assert (scan.status, scan.gaps) == ("captured", ())
