"""evidence.retained — was all the run's evidence captured before GitHub expired it?

GitHub keeps deployment statuses 90 days and artifacts 90 days by default, so a
quarter-end extraction alone loses early-quarter evidence. This control is the test of
the information produced by the entity (IPE): the environment approvals, the production
deployment's statuses, and every artifact that was or may have been a scan report (the
same rule as `scan.clean`) must be in the store. Coverage, build and other non-scan
artifacts are not evidence.

Bad (fail): statuses gone; approvals never captured; a scan report expired (410) or
unreadable; an artifact of unknown content expired whose name does not rule it out.
Okay (pass): approvals, statuses and every scan artifact captured.
Unknown (not_available): GitHub refused the approvals or the statuses to the token (a missing
permission) or answered with what the endpoint does not document (a null body), and nothing else
was lost: they are not lost, a better token or a later capture can still capture them.
"""

from __future__ import annotations

from audit.config import Settings
from audit.controls.people import captured_scan_artifacts, join_names, lost_scan_artifacts, plural
from audit.evidence import DeploymentEvidence, Verdict


def evaluate(deployment: DeploymentEvidence, settings: Settings) -> Verdict:
    label = deployment.label
    lost: list[str] = []
    refused = deployment.refusal("approvals")
    if not deployment.approvals_captured and not refused:
        lost.append("the environment approvals")
    statuses_refused = deployment.refusal("statuses")
    if not deployment.statuses_captured and not statuses_refused:
        lost.append(f"the {deployment.environment} deployment statuses")
    lost_artifacts = lost_scan_artifacts(deployment)
    lost.extend(f"artifact {a.name!r} ({a.reason})" for a in lost_artifacts)
    if lost:
        return Verdict(
            "fail",
            f"Evidence of {label} was lost before capture: {join_names(lost)}.",
            tuple(a.reference for a in lost_artifacts),
        )
    if refused:  # not lost: a token with the permission can still capture them
        return Verdict("not_available", f"The environment approvals of {label} were never captured.{refused}")
    if statuses_refused:
        return Verdict(
            "not_available",
            f"The {deployment.environment} deployment statuses of {label} were never captured.{statuses_refused}",
        )
    reports = captured_scan_artifacts(deployment)
    evidence = (
        (f"approvals:run {deployment.run_id}",)
        + tuple(s.citation for s in deployment.statuses)
        + tuple(f"artifacts:{a.artifact_id}" for a in reports)
    )
    return Verdict(
        "pass",
        f"The approvals, {plural(len(deployment.statuses), 'deployment status', 'deployment statuses')} "
        f"and {plural(len(reports), 'scan report')} of {label} were all captured.",
        evidence,
    )
