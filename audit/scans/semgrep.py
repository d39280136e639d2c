"""semgrep's native JSON output (``semgrep scan --json``); its SARIF goes to `audit.scans.sarif`.

Format: semgrep's ``semgrep_output_v1`` CLI output::

    {"version": "1.185.0", "results": [{"check_id": "rules.subprocess-shell-true",
        "path": "app.py", "start": {"line": 13, …}, "end": {…},
        "extra": {"message": "…", "severity": "ERROR", "metadata": {…}, …}}],
     "errors": [], "paths": {"scanned": ["app.py", …]}, "skipped_rules": [], …}

Recognised by ``results`` and ``errors`` arrays beside a ``paths`` object (bandit, the
other format with ``results`` and ``errors``, has ``metrics`` and no ``paths``).
``results: []`` with files scanned is a clean scan.

Severity is the rule's own ``extra.severity``: ERROR → high, WARNING → medium, INFO → low
(the same bands as semgrep's SARIF ``level`` error/warning/note), and the words of the
newer scale (CRITICAL, HIGH, MEDIUM, LOW) as they are. Anything else is unknown: high.

Scanned nothing: ``paths.scanned`` is an empty array (no file matched the rules'
languages, or every target was excluded or failed).
"""

from __future__ import annotations

from .model import ScanFinding, ScanReport, UnusableReport, id_or_none, text_or_none
from .severity import UNKNOWN_SEVERITY, from_label

FORMAT = "semgrep"

_SEVERITIES = {"ERROR": "high", "WARNING": "medium", "INFO": "low"}


def parse(document: object) -> ScanReport | None:
    """The semgrep report in ``document``, or None when it is not one."""
    if not (
        isinstance(document, dict)
        and isinstance(document.get("results"), list)
        and isinstance(document.get("errors"), list)
        and isinstance(document.get("paths"), dict)
        and "metrics" not in document
    ):
        return None
    findings = tuple(_finding(index, result) for index, result in enumerate(document["results"]))
    scanned = document["paths"].get("scanned")
    nothing = None
    if isinstance(scanned, list) and not scanned:
        errors = len(document["errors"])
        nothing = f"semgrep scanned no file ({errors} error{'' if errors == 1 else 's'})"
    return ScanReport(FORMAT, findings, nothing)


def _finding(index: int, result: object) -> ScanFinding:
    if not isinstance(result, dict) or not isinstance(result.get("extra", {}), dict):
        raise UnusableReport(f"semgrep result {index} is not an object")
    extra = result.get("extra", {})
    path = text_or_none(result.get("path"))
    start = result.get("start")
    line = start.get("line") if isinstance(start, dict) else None
    location = path
    if path is not None and isinstance(line, int) and not isinstance(line, bool):
        location = f"{path}:{line}"
    return ScanFinding(
        tool=FORMAT,
        severity=_severity(extra.get("severity")),
        rule_id=id_or_none(result.get("check_id")),
        title=text_or_none(extra.get("message")),
        location=location,
    )


def _severity(severity: object) -> str:
    if not isinstance(severity, str):
        return UNKNOWN_SEVERITY
    return _SEVERITIES.get(severity.upper()) or from_label(severity) or UNKNOWN_SEVERITY
