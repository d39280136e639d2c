"""scan.clean — is security-scan evidence present for the run, with no serious finding?

Decided in this order:

1. Scan reports captured (bandit, pip-audit, safety JSON or SARIF 2.1.0, recognised by
   content whatever the artifact's name): fail when any finding is at or above
   `max_severity` (scale low < medium < high < critical), else pass.
2. An artifact that was, or may have been, a scan report expired or was unreadable before
   capture: not_available. A lost artifact's content is unknown, so it is presumed
   possible scan evidence unless its name plainly says coverage, test results, build or
   docs (`people.might_be_scan_evidence`).
3. A job matching `scan_jobs` ran: its conclusion decides (success → pass, "job
   conclusion only"; anything else → fail; no conclusion → not_available).
4. None of those: fail.

When the run's jobs were never captured, step 3 cannot be taken and step 4 becomes
not_available instead of fail.
"""

from __future__ import annotations

from audit.config import SEVERITIES, Settings
from audit.controls.people import (
    captured_scan_artifacts,
    join_names,
    latest_matching_jobs,
    lost_scan_artifacts,
    plural,
)
from audit.evidence import Artifact, DeploymentEvidence, Finding, Verdict


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    reports = captured_scan_artifacts(deployment)
    if reports:
        return _judge_reports(deployment, settings, reports)

    lost = lost_scan_artifacts(deployment)
    if lost:
        return Verdict(
            "not_available",
            f"Possible scan evidence of {label} was lost before capture: "
            f"{join_names(f'{a.name!r} ({a.reason})' for a in lost)}.",
            tuple(a.reference for a in lost),
        )

    scan_jobs = latest_matching_jobs(deployment, settings.scan_jobs)
    if scan_jobs:
        evidence = tuple(f"jobs:{job.job_id}" for job in scan_jobs)
        failed = [job for job in scan_jobs if job.conclusion is not None and job.conclusion != "success"]
        if failed:
            return Verdict(
                "fail",
                f"No scan report of {label} was captured and scan job "
                f"{join_names(f'{job.name!r} ({job.conclusion})' for job in failed)} did not succeed.",
                evidence,
            )
        unknown = [job.name for job in scan_jobs if job.conclusion is None]
        if unknown:
            return Verdict(
                "not_available",
                f"No scan report of {label} was captured and the conclusion of scan job "
                f"{join_names(repr(n) for n in unknown)} is unknown.",
                evidence,
            )
        return Verdict(
            "pass",
            f"No scan report of {label} was captured, but scan job "
            f"{join_names(repr(job.name) for job in scan_jobs)} succeeded (job conclusion only).",
            evidence,
        )

    if not deployment.jobs_captured:
        return Verdict(
            "not_available",
            f"No scan report of {label} was captured and its jobs were never captured either, "
            f"so no scan job can be looked for.",
        )
    return Verdict(
        "fail",
        f"No scan report of {label} was captured and no job matches {join_names(settings.scan_jobs)}.",
        tuple(f"artifacts:{a.artifact_id}" for a in deployment.artifacts),
    )


def _judge_reports(deployment: DeploymentEvidence, settings: Settings, reports: tuple[Artifact, ...]) -> Verdict:
    label = deployment.label
    threshold = SEVERITIES.index(settings.max_severity)
    evidence = tuple(f"artifacts:{artifact.artifact_id}" for artifact in reports)
    findings = [finding for artifact in reports for finding in artifact.findings]
    serious = [f for f in findings if _rank(f) >= threshold]
    scanned = f"{plural(len(reports), 'scan report')} of {label}"
    hold = "holds" if len(reports) == 1 else "hold"
    if serious:
        worst = max(serious, key=_rank)
        return Verdict(
            "fail",
            f"{scanned} {hold} {plural(len(serious), 'finding')} at or above {settings.max_severity}, "
            f"the worst {_describe(worst)}.",
            evidence,
        )
    below = f" ({plural(len(findings), 'finding')} below it)" if findings else ""
    return Verdict(
        "pass",
        f"{scanned} {hold} no finding at or above {settings.max_severity}{below}.",
        evidence,
    )


def _rank(finding: Finding) -> int:
    # An unrecognised severity is ranked critical: an unknown finding is not waved through.
    severity = finding.severity.lower() if finding.severity else ""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


def _describe(finding: Finding) -> str:
    name = finding.rule_id or finding.title or "an unnamed finding"
    where = f" at {finding.location}" if finding.location else ""
    return f"{finding.tool} {name} ({finding.severity}){where}"
