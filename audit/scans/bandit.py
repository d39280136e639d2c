"""Bandit JSON reports (``bandit -r src -f json -o bandit.json``).

Format (bandit's JSON formatter)::

    {"errors": [], "generated_at": "…", "metrics": {"_totals": {…}, …},
     "results": [{"filename": "app.py", "line_number": 12, "issue_severity": "HIGH",
                  "issue_confidence": "HIGH", "issue_text": "…", "test_id": "B602",
                  "test_name": "subprocess_popen_with_shell_equals_true", …}]}

Recognised by its envelope: an object whose ``results`` and ``errors`` are arrays and
whose ``metrics`` is an object (bandit's formatter always writes all three). ``results: []``
is a clean scan. Severity is bandit's own ``issue_severity`` lower-cased (LOW, MEDIUM,
HIGH); anything else, bandit's UNDEFINED included, is unknown and counts as high.

Scanned nothing: ``errors`` is not empty and no file was scanned, i.e. every file bandit
lists in ``metrics`` (besides ``_totals``) is also in ``errors`` (bandit records a file it
could not parse in both, with zero lines of code).
"""

from __future__ import annotations

from .model import ScanFinding, ScanReport, UnusableReport, id_or_none, text_or_none
from .severity import UNKNOWN_SEVERITY

FORMAT = "bandit"

_SEVERITIES = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high"}


def parse(document: object) -> ScanReport | None:
    """The bandit report in ``document``, or None when it is not one."""
    if not (
        isinstance(document, dict)
        and isinstance(document.get("results"), list)
        and isinstance(document.get("errors"), list)
        and isinstance(document.get("metrics"), dict)
    ):
        return None
    findings = tuple(_finding(index, result) for index, result in enumerate(document["results"]))
    return ScanReport(FORMAT, findings, _scanned_nothing(document["errors"], document["metrics"]))


def _scanned_nothing(errors: list, metrics: dict) -> str | None:
    if not errors:
        return None
    failed = {error.get("filename") for error in errors if isinstance(error, dict)}
    scanned = set(metrics) - {"_totals"} - failed
    if scanned:
        return None
    return f"bandit could not parse any file it was given ({len(errors)} error{'' if len(errors) == 1 else 's'})"


def _finding(index: int, result: object) -> ScanFinding:
    if not isinstance(result, dict):
        raise UnusableReport(f"bandit result {index} is not an object")
    severity = result.get("issue_severity")
    filename = text_or_none(result.get("filename"))
    line = result.get("line_number")
    location = filename
    if filename is not None and isinstance(line, int) and not isinstance(line, bool):
        location = f"{filename}:{line}"
    return ScanFinding(
        tool=FORMAT,
        severity=_SEVERITIES.get(severity, UNKNOWN_SEVERITY) if isinstance(severity, str) else UNKNOWN_SEVERITY,
        rule_id=id_or_none(result.get("test_id")),
        title=text_or_none(result.get("issue_text")),
        location=location,
    )
