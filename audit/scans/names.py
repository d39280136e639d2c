"""Which file names say "this is (or was meant to be) a security-scan report".

Reports are recognised by content whatever they are called; names matter only for files
whose content cannot be read. Such a file counts as scan evidence that was lost when its
name says it was meant to be a report, so an unreadable report beside a readable one makes
the scan evidence incomplete instead of being ignored. GitHub does not record which job
uploaded an artifact, so the artifact's own name stands for "the scan job that uploaded it".
"""

from __future__ import annotations

import re

SCAN_NAME = re.compile(
    r"(scan|sarif|bandit|audit|safety|secur|vuln|sast|codeql|trivy|semgrep|grype|snyk)",
    re.IGNORECASE,
)
"""Words that name scanning or a scanner, anywhere in a name."""

SCANNER_NAME = re.compile(
    r"(scan|sarif|bandit|safety|pip[-_]?audit|sast|codeql|trivy|semgrep|grype|snyk)", re.IGNORECASE
)
"""The narrower words that make a plain-text file a report (``requirements-audit.txt`` is not)."""

_TEXT_SUFFIXES = (".txt", ".log", ".out")


def meant_as_report(member: str, artifact: str | None = None) -> bool:
    """Whether an artifact member was meant to be a scan report, judged by names alone.

    True for a ``.sarif`` file; a ``.json`` file whose name names scanning or that sits in
    an artifact whose name does; a plain-text file (``.txt``, ``.log``, ``.out`` or no
    extension) whose name names a scanner, as a report redirected from stdout often is.
    Without ``artifact``, only the file's own name counts (valid JSON of an unknown kind in
    a scan artifact, such as an SBOM, is judged that way).
    """
    lower = member.lower()
    base = lower.rsplit("/", 1)[-1]
    if base.endswith(".sarif"):
        return True
    if base.endswith(".json"):
        return bool(SCAN_NAME.search(base)) or (artifact is not None and bool(SCAN_NAME.search(artifact)))
    if base.endswith(_TEXT_SUFFIXES) or "." not in base:
        return bool(SCANNER_NAME.search(base))
    return False
