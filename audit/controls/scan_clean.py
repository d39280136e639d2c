"""scan.clean — is security-scan evidence present for the run, with no serious finding?

Decided in this order:

1. Scan reports captured (bandit, pip-audit, safety, semgrep JSON or SARIF 2.1.0,
   recognised by content whatever the artifact's name): fail when any finding is at or
   above `max_severity` (the one scale of `audit.scans.severity`, where an unknown
   severity counts as high). Otherwise pass, unless the scan evidence is incomplete:
   a captured artifact holds a file meant to be a report that could not be read or a
   report that scanned nothing (`Artifact.scan_gaps`), or another artifact meant to be a
   report (recognised format, or a name that names scanning) was lost. Incomplete
   evidence never passes: not_available, with the reasons.
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

from audit.config import Settings
from audit.controls.people import (
    LostArtifact,
    captured_scan_artifacts,
    join_names,
    latest_matching_jobs,
    lost_scan_artifacts,
    plural,
)
from audit.evidence import Artifact, DeploymentEvidence, Finding, Verdict
from audit.scans.names import SCAN_NAME
from audit.scans.severity import SEVERITIES, rank


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    reports = captured_scan_artifacts(deployment)
    lost = lost_scan_artifacts(deployment)
    if reports:
        return _judge_reports(deployment, settings, reports, [a for a in lost if _meant_as_report(a, deployment)])

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


def _judge_reports(
    deployment: DeploymentEvidence,
    settings: Settings,
    reports: tuple[Artifact, ...],
    lost: list[LostArtifact],
) -> Verdict:
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
    gaps = [f"{a.name!r}: {gap}" for a in reports if a.scan_gaps for gap in a.scan_gaps.splitlines()]
    gaps += [f"{a.name!r} was lost ({a.reason})" for a in lost]
    if gaps:
        return Verdict(
            "not_available",
            f"The scan evidence of {label} is incomplete, so a clean scan cannot be shown: {'; '.join(gaps)}.",
            evidence + tuple(a.reference for a in lost),
        )
    below = f" ({plural(len(findings), 'finding')} below it)" if findings else ""
    return Verdict(
        "pass",
        f"{scanned} {hold} no finding at or above {settings.max_severity}{below}.",
        evidence,
    )


def _rank(finding: Finding) -> int:
    return rank(finding.severity)


def _meant_as_report(lost: LostArtifact, deployment: DeploymentEvidence) -> bool:
    """Beside captured reports, a lost artifact counts only when it was surely meant as one.

    Alone, any lost artifact not plainly something else is presumed possible scan evidence
    (`lost_scan_artifacts`); beside reports that were read, only a recognised format or a
    name naming scanning says a further report went missing.
    """
    recognised = any(a.artifact_id == lost.artifact_id and a.is_scan_evidence for a in deployment.artifacts)
    return recognised or bool(SCAN_NAME.search(lost.name))


def _describe(finding: Finding) -> str:
    name = finding.rule_id or finding.title or "an unnamed finding"
    where = f" at {finding.location}" if finding.location else ""
    return f"{finding.tool} {name} ({finding.severity}){where}"
