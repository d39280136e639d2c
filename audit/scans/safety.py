"""Safety JSON reports, three generations.

- safety 2.x ``safety check --output json`` (its JSON output, as documented for 2.x)::

      {"report_meta": {"safety_version": "2.3.5", …}, "scanned_packages": {…},
       "vulnerabilities": [{"vulnerability_id": "38624", "package_name": "django",
                            "analyzed_version": "2.2", "advisory": "…", "CVE": "CVE-2021-3281",
                            "severity": null | {"cvssv3": {"base_score": 5.3,
                                                           "base_severity": "MEDIUM"}, …}, …}],
       "ignored_vulnerabilities": [], …}

  Recognised by ``report_meta`` (object) and ``vulnerabilities`` (array). Severity is
  ``severity.cvssv3.base_severity`` (else its ``base_score``, else the same in
  ``cvssv2``); without one (the free database has no CVSS data), unknown: high. safety
  3.x ``check --output json`` writes this same form, on stdout with a deprecation banner
  around it (recovered by `audit.scans.report.recover_report`). Scanned nothing:
  ``scanned_packages`` is empty.
- safety 1.x ``safety check --json``: an array of arrays
  ``[name, spec, version, advisory, vulnerability_id]`` (1.10 appends ``cvssv2``,
  ``cvssv3``). Recognised when every entry has 5 to 7 items whose first five are strings
  (the id may be a number). A bare ``[]`` (clean) is recognised by a file name naming
  safety (`audit.scans.report`). Severity from the appended ``cvssv3``, else ``cvssv2``
  (base severity, else base score), as in 2.x; the free database leaves both null, so
  usually unknown: high.
- safety 3 ``safety scan --output json`` (schema 3.x, see ``safety_schemas``)::

      {"meta": {"schema_version": "3.0", "scan_type": "scan", …},
       "scan_results": {"files": […], "projects": [{"files": [{"location": "…",
           "results": {"dependencies": [{"name": "django", "specifications": [
               {"raw": "django==2.2", "vulnerabilities": {"known_vulnerabilities": [
                   {"id": "38624", "ignored": null, "vulnerable_spec": "<2.2.18"}]}}]}]}}]}]}}

  Recognised by ``meta.schema_version`` 3.x together with a ``scan_results`` object.
  Severity: a known vulnerability's ``severity`` object when it has one, read as in 2.x
  (CVSS v3 base severity, else base score, else the same in v2). The 3.0 schema of
  safety 3.8.1 (safety-schemas 0.0.16) defines only ``id``, ``ignored`` and
  ``vulnerable_spec``, so without one: unknown, high. Entries with ``ignored`` set
  (accepted in the project's safety policy) are left out, as safety 2.x leaves them out
  of ``vulnerabilities``.
"""

from __future__ import annotations

from .model import ScanFinding, ScanReport, UnusableReport, id_or_none, text_or_none
from .severity import UNKNOWN_SEVERITY, from_label, from_score

FORMAT = "safety"


def parse(document: object) -> ScanReport | None:
    """The safety report in ``document``, or None when it is not one."""
    if isinstance(document, dict):
        if isinstance(document.get("report_meta"), dict) and isinstance(document.get("vulnerabilities"), list):
            findings = tuple(_v2_finding(index, v) for index, v in enumerate(document["vulnerabilities"]))
            nothing = None
            if document.get("scanned_packages") == {}:
                nothing = "safety found no package to check"
            return ScanReport(FORMAT, findings, nothing)
        if _is_v3(document):
            return ScanReport(FORMAT, _v3_findings(document["scan_results"]))
        return None
    if isinstance(document, list) and document and all(_is_v1_entry(e) for e in document):
        return ScanReport(FORMAT, tuple(_v1_finding(entry) for entry in document))
    return None


def _v2_finding(index: int, vuln: object) -> ScanFinding:
    if not isinstance(vuln, dict):
        raise UnusableReport(f"safety vulnerability {index} is not an object")
    name = text_or_none(vuln.get("package_name"))
    version = text_or_none(vuln.get("analyzed_version"))
    return ScanFinding(
        tool=FORMAT,
        severity=_cvss_severity(vuln.get("severity")) or UNKNOWN_SEVERITY,
        rule_id=id_or_none(vuln.get("vulnerability_id")) or text_or_none(vuln.get("CVE")),
        title=text_or_none(vuln.get("advisory")),
        location=_package(name, version),
    )


def _cvss_severity(severity: object) -> str | None:
    """From ``{"cvssv3": {...}, "cvssv2": {...}}``: v3 first, each by base severity, else base score."""
    if isinstance(severity, dict):
        for version in ("cvssv3", "cvssv2"):
            mapped = _cvss(severity.get(version))
            if mapped is not None:
                return mapped
    return None


def _cvss(cvss: object) -> str | None:
    if not isinstance(cvss, dict):
        return None
    return from_label(cvss.get("base_severity")) or from_score(cvss.get("base_score"))


def _is_v1_entry(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and 5 <= len(entry) <= 7
        and all(isinstance(item, str) for item in entry[:4])
        and id_or_none(entry[4]) is not None
    )


def _v1_finding(entry: list) -> ScanFinding:
    name, _spec, version, advisory, vulnerability_id = entry[:5]
    cvssv2, cvssv3 = (entry[5:] + [None, None])[:2]
    return ScanFinding(
        tool=FORMAT,
        severity=_cvss(cvssv3) or _cvss(cvssv2) or UNKNOWN_SEVERITY,
        rule_id=id_or_none(vulnerability_id),
        title=text_or_none(advisory),
        location=_package(text_or_none(name), text_or_none(version)),
    )


def _is_v3(document: dict) -> bool:
    meta = document.get("meta")
    if not isinstance(meta, dict) or not isinstance(document.get("scan_results"), dict):
        return False
    schema_version = meta.get("schema_version")
    return isinstance(schema_version, str) and schema_version.startswith("3.")


def _v3_findings(scan_results: dict) -> tuple[ScanFinding, ...]:
    files = list(_array(scan_results, "files", "scan_results"))
    for project in _array(scan_results, "projects", "scan_results"):
        files.extend(_array(_object(project, "project"), "files", "project"))
    findings = []
    for file in files:
        file = _object(file, "file")
        location = text_or_none(file.get("location"))
        results = _object(file.get("results", {}), "file results")
        for dependency in _array(results, "dependencies", "file results"):
            dependency = _object(dependency, "dependency")
            name = text_or_none(dependency.get("name"))
            for specification in _array(dependency, "specifications", "dependency"):
                specification = _object(specification, "specification")
                vulnerabilities = _object(specification.get("vulnerabilities", {}), "specification vulnerabilities")
                for vuln in _array(vulnerabilities, "known_vulnerabilities", "vulnerabilities"):
                    vuln = _object(vuln, "known vulnerability")
                    if vuln.get("ignored"):
                        continue
                    vulnerable_spec = text_or_none(vuln.get("vulnerable_spec"))
                    findings.append(
                        ScanFinding(
                            tool=FORMAT,
                            severity=_cvss_severity(vuln.get("severity")) or UNKNOWN_SEVERITY,
                            rule_id=id_or_none(vuln.get("id")),
                            title=f"{name} {vulnerable_spec}" if name and vulnerable_spec else name,
                            location=text_or_none(specification.get("raw")) or name or location,
                        )
                    )
    return tuple(findings)


def _object(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise UnusableReport(f"safety scan {what} is not an object")
    return value


def _array(container: dict, key: str, what: str) -> list:
    value = container.get(key, [])
    if not isinstance(value, list):
        raise UnusableReport(f"safety scan {what} has a {key} that is not an array")
    return value


def _package(name: str | None, version: str | None) -> str | None:
    if name and version:
        return f"{name}=={version}"
    return name
