"""Security-scan evidence from workflow artifacts: recognise, parse, normalise severity.

An artifact is scan evidence when its *content* is a bandit, pip-audit, safety, semgrep
or SARIF 2.1.0 report, whatever it is called. Findings land on one scale,
``low < medium < high < critical`` (`audit.scans.severity`, the only copy of it). What
cannot be read, or scanned nothing, is kept as a gap, so incomplete evidence never reads
as a clean scan.

- `inspect_artifact` — zip bytes → `ArtifactScan` (untrusted input: in memory, capped).
- `parse_report` — one file's bytes → `ScanReport`, or None.
- `severity_at_least` — compare on the scale, e.g. against config ``max_severity``.

One module per format documents what it recognises, how it maps severity and when it
scanned nothing: `audit.scans.bandit`, `audit.scans.pip_audit`, `audit.scans.safety`,
`audit.scans.sarif`, `audit.scans.semgrep`. `audit.scans.names` says which file names
were meant to be reports.
"""

from .archive import inspect_artifact
from .model import ARTIFACT_STATUSES, ArtifactScan, ScanFinding, ScanReport, UnusableReport
from .report import parse_report
from .severity import SEVERITIES, severity_at_least

__all__ = [
    "ARTIFACT_STATUSES",
    "SEVERITIES",
    "ArtifactScan",
    "ScanFinding",
    "ScanReport",
    "UnusableReport",
    "inspect_artifact",
    "parse_report",
    "severity_at_least",
]
