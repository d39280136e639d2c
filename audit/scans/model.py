"""What parsing a scan artifact gives: findings on one scale, and a verdict on the zip."""

from __future__ import annotations

from dataclasses import dataclass

CAPTURED = "captured"
NOT_SCAN = "not_scan"
UNREADABLE = "unreadable"
ARTIFACT_STATUSES = (CAPTURED, NOT_SCAN, UNREADABLE)

_TEXT_LIMIT = 300


@dataclass(frozen=True)
class ScanFinding:
    """One finding of one scanner, its severity normalised (see `audit.scans.severity`)."""

    tool: str
    """The scanner: bandit, pip-audit, safety, or a SARIF run's ``tool.driver.name``."""
    severity: str
    """low, medium, high or critical."""
    rule_id: str | None
    """The check or advisory id (B602, PYSEC-2021-1, 38624, py/sql-injection); None unknown."""
    title: str | None
    """A short human description, at most a few hundred characters; None unknown."""
    location: str | None
    """``path:line`` for code findings, ``name==version`` for dependencies; None unknown."""


@dataclass(frozen=True)
class ScanReport:
    """One recognised scan report: its findings, and whether it is evidence of a scan at all."""

    scan_format: str
    """bandit, pip-audit, safety, sarif or semgrep."""
    findings: tuple[ScanFinding, ...]
    """Every finding the report holds, in report order."""
    scanned_nothing: str | None = None
    """Why the report is no evidence that anything was scanned (every dependency skipped,
    every file failed to parse, the scanner said it did not finish …); None when it is."""


@dataclass(frozen=True)
class ArtifactScan:
    """What one workflow artifact (zip bytes) holds as security-scan evidence."""

    status: str
    """captured (≥ 1 recognised scan report), not_scan (readable, nothing recognised),
    unreadable (not a zip, over a size cap, corrupt, a report we cannot read …)."""
    scan_format: str | None
    """bandit, pip-audit, safety or sarif; several formats comma-joined and sorted;
    None unless captured."""
    findings: tuple[ScanFinding, ...]
    """Every finding of every recognised report, in archive order."""
    detail: str | None
    """Why it is unreadable, or what was recognised, as one sentence fragment."""
    sha256: str
    """Hex SHA-256 of the zip bytes as downloaded."""
    size: int
    """Length of the zip bytes."""
    gaps: tuple[str, ...] = ()
    """Why the scan evidence in the artifact is incomplete, one reason per member: a file
    meant to be a scan report that could not be read, or a report that scanned nothing.
    Empty when every such file was read and scanned something."""
    recovered: tuple[str, ...] = ()
    """Members whose report was recovered from surrounding text (a banner printed around
    the JSON), so the auditor knows the file was not plain JSON."""


class UnusableReport(ValueError):
    """A document recognised as a scan report that cannot be read as evidence.

    Raised when the envelope says "bandit" (or SARIF …) but the findings inside break
    the format. Treating such a report as empty would silently pass `scan.clean`, so it
    makes the artifact's scan evidence incomplete.
    """


def text_or_none(value: object) -> str | None:
    """A string field of an untrusted report, trimmed to one short line; None otherwise."""
    if not isinstance(value, str):
        return None
    line = " ".join(value.split())
    if not line:
        return None
    if len(line) > _TEXT_LIMIT:
        return line[: _TEXT_LIMIT - 1] + "…"
    return line


def id_or_none(value: object) -> str | None:
    """An identifier that reports give as a string or an integer; None otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text_or_none(value)
