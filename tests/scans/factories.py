"""Realistic scan reports and artifact zips, built in memory for the scans tests.

Each factory writes a document shaped like the tool's real output, with keyword defaults,
so a test states only what it is about: ``bandit_result(issue_severity="LOW")``.
"""

from __future__ import annotations

import io
import json
import zipfile


def as_json(document: object) -> bytes:
    return json.dumps(document, indent=2).encode()


def zip_of(*members: tuple[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip holding (name, content) members in order; names are written as given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
            info.compress_type = compression
            archive.writestr(info, content)
    return buffer.getvalue()


def zip_bomb(name: str = "bandit.json", expanded_bytes: int = 300 * 1024 * 1024) -> bytes:
    """A zip with one member of ``expanded_bytes`` zeros, written in 1 MiB chunks.

    Deflate squeezes zeros about 1000:1, so 300 MB of them stay under 1 MB of zip and
    nothing larger than one chunk is ever held in memory.
    """
    buffer = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            for _ in range(expanded_bytes // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()


# bandit: its JSON formatter's output


def bandit_result(
    *,
    issue_severity: object = "HIGH",
    test_id: str = "B602",
    filename: str = "src/app/jobs.py",
    line_number: int = 42,
    issue_text: str = "subprocess call with shell=True identified, security issue.",
) -> dict:
    return {
        "code": "41 def run(cmd):\n42     subprocess.Popen(cmd, shell=True)\n",
        "col_offset": 4,
        "end_col_offset": 37,
        "filename": filename,
        "issue_confidence": "HIGH",
        "issue_cwe": {"id": 78, "link": "https://cwe.mitre.org/data/definitions/78.html"},
        "issue_severity": issue_severity,
        "issue_text": issue_text,
        "line_number": line_number,
        "line_range": [line_number],
        "more_info": "https://bandit.readthedocs.io/en/1.7.9/plugins/b602_subprocess_popen_with_shell_equals_true.html",
        "test_id": test_id,
        "test_name": "subprocess_popen_with_shell_equals_true",
    }


def bandit_report(*results: object) -> dict:
    totals = {"loc": 812, "nosec": 0, "skipped_tests": 0, "SEVERITY.HIGH": len(results)}
    return {
        "errors": [],
        "generated_at": "2024-05-01T12:00:00Z",
        "metrics": {"_totals": totals, "src/app/jobs.py": totals},
        "results": list(results),
    }


# pip-audit: its JSON output format


def pip_audit_vuln(*, vuln_id: str = "PYSEC-2023-62", description: str | None = None) -> dict:
    vuln = {"id": vuln_id, "fix_versions": ["2.3.2"], "aliases": ["CVE-2023-30861"]}
    if description is not None:
        vuln["description"] = description
    return vuln


def pip_audit_dependency(name: str = "flask", version: str = "2.2.0", *vulns: dict) -> dict:
    return {"name": name, "version": version, "vulns": list(vulns)}


def pip_audit_report(*dependencies: dict, legacy: bool = False) -> object:
    if legacy:
        return list(dependencies)
    return {"dependencies": list(dependencies), "fixes": []}


# safety 2.x `safety check --output json`


def safety2_vuln(*, severity: object = None, package_name: str = "django") -> dict:
    return {
        "vulnerability_id": "38624",
        "package_name": package_name,
        "ignored": {},
        "ignored_reason": None,
        "ignored_expires": None,
        "vulnerable_spec": "<2.2.18",
        "all_vulnerable_specs": ["<2.2.18"],
        "analyzed_version": "2.2",
        "advisory": "Django 2.2 before 2.2.18 allows directory traversal via archive.extract().",
        "is_transitive": False,
        "published_date": None,
        "fixed_versions": ["2.2.18"],
        "closest_versions_without_known_vulnerabilities": [],
        "resources": [],
        "CVE": "CVE-2021-3281",
        "severity": severity,
        "affected_versions": [],
        "more_info_url": "https://data.safetycli.com/v/38624/f17",
    }


def safety2_cvss(base_severity: object = "MEDIUM", base_score: object = 5.3) -> dict:
    return {
        "source": "CVE-2021-3281",
        "cvssv2": None,
        "cvssv3": {"base_score": base_score, "base_severity": base_severity},
    }


def safety2_report(*vulns: object) -> dict:
    return {
        "report_meta": {
            "scan_target": "files",
            "scanned": ["requirements.txt"],
            "api_key": False,
            "safety_version": "2.3.5",
            "timestamp": "2024-05-01 12:00:00",
            "packages_found": 12,
            "vulnerabilities_found": len(vulns),
            "vulnerabilities_ignored": 0,
            "remediations_recommended": 0,
            "json_version": 1,
        },
        "scanned_packages": {"django": {"name": "django", "version": "2.2"}},
        "affected_packages": {},
        "announcements": [],
        "vulnerabilities": list(vulns),
        "ignored_vulnerabilities": [],
        "remediations": {},
    }


def safety1_entry(vulnerability_id: object = "38624") -> list:
    return ["django", "<2.2.18", "2.2", "Django 2.2 before 2.2.18 allows …", vulnerability_id]


# safety 3 `safety scan --output json`


def safety3_vuln(*, ignored: object = None) -> dict:
    return {"id": "38624", "ignored": ignored, "vulnerable_spec": "<2.2.18"}


def safety3_report(*vulns: dict, schema_version: str = "3.0") -> dict:
    dependency = {
        "name": "django",
        "specifications": [
            {
                "raw": "django==2.2",
                "vulnerabilities": {"known_vulnerabilities": list(vulns), "remediation": None},
            }
        ],
    }
    return {
        "meta": {
            "scan_type": "scan",
            "stage": "cicd",
            "scan_locations": ["/home/runner/work/app"],
            "authenticated": True,
            "schema_version": schema_version,
            "timestamp": "2024-05-01T12:00:00",
        },
        "scan_results": {
            "files": [],
            "projects": [
                {
                    "id": "app",
                    "location": "/home/runner/work/app",
                    "files": [
                        {
                            "location": "requirements.txt",
                            "type": "requirements.txt",
                            "results": {"dependencies": [dependency]},
                        }
                    ],
                }
            ],
        },
    }


# SARIF 2.1.0 (the OASIS standard)

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif_rule(rule_id: str = "py/sql-injection", **extra: object) -> dict:
    rule = {
        "id": rule_id,
        "name": "SqlInjection",
        "shortDescription": {"text": "SQL query built from user-controlled sources"},
    }
    rule.update(extra)
    return rule


def sarif_result(rule_id: str | None = "py/sql-injection", **extra: object) -> dict:
    result = {
        "message": {"text": "This SQL query depends on a user-provided value."},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "src/app/db.py", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 17, "startColumn": 5},
                }
            }
        ],
    }
    if rule_id is not None:
        result["ruleId"] = rule_id
    result.update(extra)
    return result


def sarif_run(
    results: list | None = None,
    *,
    rules: tuple = (),
    extensions: tuple = (),
    driver_name: str = "CodeQL",
    **extra: object,
) -> dict:
    run = {
        "tool": {
            "driver": {"name": driver_name, "semanticVersion": "2.17.0", "rules": list(rules)},
            "extensions": list(extensions),
        },
        "results": [] if results is None else results,
    }
    run.update(extra)
    return run


def sarif_log(*runs: dict, version: str = "2.1.0") -> dict:
    return {"$schema": SARIF_SCHEMA, "version": version, "runs": list(runs)}


# Unrelated JSON an artifact may carry.

COVERAGE_JSON = {
    "meta": {"format": 3, "version": "7.5.1", "timestamp": "2024-05-01T12:00:00", "branch_coverage": False},
    "files": {"src/app/jobs.py": {"executed_lines": [1, 2], "summary": {"percent_covered": 90.0}}},
    "totals": {"covered_lines": 731, "num_statements": 812, "percent_covered": 90.02},
}

PACKAGE_JSON = {
    "name": "web",
    "version": "1.4.0",
    "scripts": {"test": "jest"},
    "dependencies": {"react": "^18.3.1"},
    "devDependencies": {"jest": "^29.7.0"},
}
