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


class UnusableReport(ValueError):
    """A document recognised as a scan report that cannot be read as evidence.

    Raised when the envelope says "bandit" (or SARIF …) but the findings inside break
    the format, or the report says the scanner did not complete. Treating such a report
    as empty would silently pass `scan.clean`, so the artifact becomes unreadable.
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
