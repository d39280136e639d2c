"""pip-audit JSON reports (``pip-audit -f json -o pip-audit.json``).

Format: pip-audit's ``JsonFormat`` (``pip_audit/_format/json.py`` in pip-audit).
Current form::

    {"dependencies": [{"name": "flask", "version": "0.5",
                       "vulns": [{"id": "PYSEC-2019-179", "fix_versions": ["1.0"],
                                  "aliases": ["CVE-2019-1010083"], "description": "…"}]},
                      {"name": "torch", "skip_reason": "Dependency not found on PyPI …"}],
     "fixes": []}

and the older form, the ``dependencies`` array alone at the top level.

Recognised when every dependency entry is an object with a string ``name`` and either a
``vulns`` array or a ``skip_reason`` (the object form may hold only ``dependencies`` and
``fixes``). ``{"dependencies": [], "fixes": []}`` is a clean scan. A bare ``[]`` (the older
form, clean) is recognised only by its file name (`audit.scans.report`), since nothing else
tells it apart from any other empty list. pip-audit reports no severity, so every
vulnerability is of unknown severity and counts as high.

Scanned nothing: every dependency carries a ``skip_reason`` (pip-audit could not look any of
them up: no network, not on PyPI …). A report where only some were skipped is evidence for
the others.
"""

from __future__ import annotations

from .model import ScanFinding, ScanReport, UnusableReport, id_or_none, text_or_none
from .severity import UNKNOWN_SEVERITY

FORMAT = "pip-audit"

_TOP_LEVEL_KEYS = {"dependencies", "fixes"}


def parse(document: object) -> ScanReport | None:
    """The pip-audit report in ``document``, or None when it is not one."""
    if isinstance(document, dict):
        if not (
            set(document) <= _TOP_LEVEL_KEYS
            and isinstance(document.get("dependencies"), list)
            and isinstance(document.get("fixes", []), list)
        ):
            return None
        dependencies = document["dependencies"]
    elif isinstance(document, list) and document:
        dependencies = document
    else:
        return None
    if not all(_is_dependency(entry) for entry in dependencies):
        return None
    findings = tuple(_finding(dependency, vuln) for dependency in dependencies for vuln in dependency.get("vulns", ()))
    return ScanReport(FORMAT, findings, _scanned_nothing(dependencies))


def _scanned_nothing(dependencies: list[dict]) -> str | None:
    skipped = [dependency for dependency in dependencies if "skip_reason" in dependency]
    if not dependencies or len(skipped) < len(dependencies):
        return None
    reason = text_or_none(skipped[0]["skip_reason"]) or "no reason given"
    every = "its only dependency" if len(skipped) == 1 else f"all {len(skipped)} dependencies"
    return f"pip-audit skipped {every} (first: {skipped[0]['name']}: {reason})"


def _is_dependency(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and (isinstance(entry.get("vulns"), list) or "skip_reason" in entry)
    )


def _finding(dependency: dict, vuln: object) -> ScanFinding:
    name = dependency["name"]
    if not isinstance(vuln, dict):
        raise UnusableReport(f"pip-audit vulnerability of {name} is not an object")
    version = text_or_none(dependency.get("version"))
    vuln_id = id_or_none(vuln.get("id"))
    return ScanFinding(
        tool=FORMAT,
        severity=UNKNOWN_SEVERITY,
        rule_id=vuln_id,
        title=text_or_none(vuln.get("description")) or f"known vulnerability {vuln_id or '(no id)'} in {name}",
        location=f"{name}=={version}" if version else name,
    )
