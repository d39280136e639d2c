"""SARIF 2.1.0 logs (CodeQL, Semgrep, Trivy, Bandit's and many others' ``-f sarif``).

Format: the OASIS SARIF 2.1.0 standard, with GitHub's ``security-severity`` convention
(a CVSS-style score in a rule's ``properties``).

Recognised by ``"version": "2.1.0"`` with a ``runs`` array; a log whose ``$schema`` names
SARIF but has another version is unusable (only 2.1.0 is understood). ``"results": []``
is a clean scan.

Scanned nothing: ``runs: []`` (no tool ran), or a run without a ``results`` array or with
an invocation whose ``executionSuccessful`` is false: the scanner did not finish
(§3.14.23, §3.20.14), so the log is no evidence of a clean scan. The findings of the other
runs are still read.

Severity of a result, first that applies:

1. ``properties.security-severity`` of the result, then of its rule: ≥ 9.0 critical,
   ≥ 7.0 high, ≥ 4.0 medium, else low. The rule is found through ``rule.index`` /
   ``ruleIndex`` (in the component ``rule.toolComponent`` names, else the driver), or
   through ``rule.id`` / ``ruleId`` among ``tool.driver.rules`` and every
   ``tool.extensions[].rules`` (a hierarchical id ``A/1`` also matches rule ``A``,
   §3.27.5).
2. ``level`` of the result, else the rule's ``defaultConfiguration.level``, else
   ``warning`` (§3.27.10; ``none`` for a ``kind`` other than ``fail``): error → high,
   warning → medium, note → low, none → low. A level outside the spec → high.

Results of kind ``pass`` or ``notApplicable`` are not findings and are skipped.
"""

from __future__ import annotations

from .model import ScanFinding, ScanReport, UnusableReport, id_or_none, text_or_none
from .severity import UNKNOWN_SEVERITY, from_score

FORMAT = "sarif"
VERSION = "2.1.0"

_LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "low"}
_NOT_FINDINGS = ("pass", "notApplicable")


def parse(document: object) -> ScanReport | None:
    """The SARIF 2.1.0 log in ``document``, or None when it is not SARIF."""
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        return None
    version = document.get("version")
    if version != VERSION:
        schema = document.get("$schema")
        if isinstance(schema, str) and "sarif" in schema.lower():
            raise UnusableReport(f"SARIF version {version!r} is not supported, only {VERSION}")
        return None
    if not document["runs"]:
        return ScanReport(FORMAT, (), "the SARIF log has no runs, so no tool ran")
    findings: list[ScanFinding] = []
    unfinished: list[str] = []
    for run_index, run in enumerate(document["runs"]):
        run_findings, why_unfinished = _run_findings(run_index, run)
        findings.extend(run_findings)
        if why_unfinished is not None:
            unfinished.append(why_unfinished)
    return ScanReport(FORMAT, tuple(findings), "; ".join(unfinished) or None)


def _run_findings(run_index: int, run: object) -> tuple[list[ScanFinding], str | None]:
    """The run's findings, and why the run did not finish (None when it did)."""
    where = f"SARIF run {run_index}"
    if not isinstance(run, dict):
        raise UnusableReport(f"{where} is not an object")
    tool = run.get("tool")
    if not isinstance(tool, dict) or not isinstance(tool.get("driver"), dict):
        raise UnusableReport(f"{where} has no tool.driver")
    driver = tool["driver"]
    extensions = tool.get("extensions", [])
    if not isinstance(extensions, list):
        extensions = []
    components = [driver, *(e for e in extensions if isinstance(e, dict))]
    tool_name = text_or_none(driver.get("name")) or FORMAT
    invocations = run.get("invocations", [])
    unfinished = None
    if isinstance(invocations, list) and any(
        isinstance(i, dict) and i.get("executionSuccessful") is False for i in invocations
    ):
        unfinished = f"{where} ({tool_name}) says the scanner did not execute successfully"
    results = run.get("results")
    if not isinstance(results, list):
        return [], f"{where} ({tool_name}) has no results array, so the scanner did not complete"
    findings = []
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise UnusableReport(f"{where} result {index} is not an object")
        kind = result.get("kind", "fail")
        if kind in _NOT_FINDINGS:
            continue
        rule = _rule(result, driver, extensions, components)
        findings.append(
            ScanFinding(
                tool=tool_name,
                severity=_severity(result, rule, kind),
                rule_id=id_or_none(result.get("ruleId"))
                or id_or_none(_get(result, "rule", "id"))
                or id_or_none(rule.get("id")),
                title=text_or_none(_get(result, "message", "text"))
                or text_or_none(_get(rule, "shortDescription", "text"))
                or text_or_none(rule.get("name")),
                location=_location(result),
            )
        )
    return findings, unfinished


def _severity(result: dict, rule: dict, kind: object) -> str:
    for source in (result, rule):
        score = from_score(_get(source, "properties", "security-severity"))
        if score is not None:
            return score
    level = result.get("level")
    if level is None:
        level = _get(rule, "defaultConfiguration", "level")
    if level is None:
        level = "warning" if kind == "fail" else "none"
    return _LEVELS.get(level, UNKNOWN_SEVERITY) if isinstance(level, str) else UNKNOWN_SEVERITY


def _rule(result: dict, driver: dict, extensions: list, components: list[dict]) -> dict:
    """The reportingDescriptor of a result, or {} when the log does not include it."""
    rule = result.get("rule")
    reference = rule if isinstance(rule, dict) else {}
    component = _component(reference.get("toolComponent"), driver, extensions)
    index = reference.get("index", result.get("ruleIndex"))
    if component is not None and isinstance(index, int) and not isinstance(index, bool):
        rules = component.get("rules")
        if isinstance(rules, list) and 0 <= index < len(rules) and isinstance(rules[index], dict):
            return rules[index]
    rule_id = reference.get("id", result.get("ruleId"))
    if not isinstance(rule_id, str):
        return {}
    searched = [component, *components] if component is not None else components
    candidate = rule_id
    while True:
        for each in searched:
            rules = each.get("rules")
            for rule in rules if isinstance(rules, list) else ():
                if isinstance(rule, dict) and rule.get("id") == candidate:
                    return rule
        if "/" not in candidate:
            return {}
        candidate = candidate.rsplit("/", 1)[0]


def _component(reference: object, driver: dict, extensions: list) -> dict | None:
    """The toolComponent a reference points at: the driver when there is no reference."""
    if not isinstance(reference, dict):
        return driver
    index = reference.get("index")
    if isinstance(index, int) and not isinstance(index, bool):
        if 0 <= index < len(extensions) and isinstance(extensions[index], dict):
            return extensions[index]
        return None
    name = reference.get("name")
    if isinstance(name, str):
        if name == driver.get("name"):
            return driver
        for extension in extensions:
            if isinstance(extension, dict) and extension.get("name") == name:
                return extension
        return None
    return driver


def _location(result: dict) -> str | None:
    locations = result.get("locations")
    if not isinstance(locations, list) or not locations:
        return None
    physical = _get(locations[0], "physicalLocation")
    uri = text_or_none(_get(physical, "artifactLocation", "uri"))
    line = _get(physical, "region", "startLine")
    if uri is not None and isinstance(line, int) and not isinstance(line, bool):
        return f"{uri}:{line}"
    return uri


def _get(value: object, *keys: str) -> object:
    """value[k1][k2]… through objects only; None as soon as a step is missing."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
