"""Security-scan evidence from workflow artifacts: recognise, parse, normalise severity.

DESIGN §4 (``scan.clean``, Severity): an artifact is scan evidence when its *content* is
a bandit, pip-audit, safety or SARIF 2.1.0 report, whatever it is called. Findings land
on one scale, ``low < medium < high < critical``.

- `inspect_artifact` — zip bytes → `ArtifactScan` (untrusted input: in memory, capped).
- `parse_report` — one JSON document → (format, findings), or None.
- `severity_at_least` — compare on the scale, e.g. against config ``max_severity``.

One module per format documents what it recognises and how it maps severity:
`audit.scans.bandit`, `audit.scans.pip_audit`, `audit.scans.safety`, `audit.scans.sarif`.
"""

from .archive import inspect_artifact
from .model import ARTIFACT_STATUSES, ArtifactScan, ScanFinding, UnusableReport
from .report import parse_report
from .severity import SEVERITIES, severity_at_least

__all__ = [
    "ARTIFACT_STATUSES",
    "SEVERITIES",
    "ArtifactScan",
    "ScanFinding",
    "UnusableReport",
    "inspect_artifact",
    "parse_report",
    "severity_at_least",
]
