"""The findings document: verdicts, evidence summary and completeness, read from the store.

`build_findings` is the single source for findings.json, population.csv and the report, so
the three can never disagree. It reads only the store (no clock, no GitHub), which makes a
re-render from the same store byte-identical.
"""

from __future__ import annotations

import json
from importlib import metadata

from audit import __version__
from audit.collector import no_cycle_collection
from audit.config import Settings
from audit.controls import CONTROLS, criteria
from audit.documents import check_findings
from audit.errors import UsageError
from audit.evaluate import (
    extractions_overlapping,
    load_deployments,
    stored_population,
    stored_verdicts,
)
from audit.evidence import VERDICTS
from audit.period import Period
from audit.quarter import Quarter
from audit.sample import report_sample
from audit.seal import seal_timeline
from audit.settings_history import settings_in_force
from audit.times import iso_z


@no_cycle_collection()
def build_findings(
    db,
    quarter: Period | Quarter,
    settings: Settings,
    *,
    organization: str | None = None,
    responses: dict | None = None,
    responses_file: dict | None = None,
    sample_size: int | None = None,
    sample_seed: str | None = None,
    check: bool = True,
) -> dict:
    """The findings dict (model: `audit.documents.Findings`), from stored verdicts.

    `responses`: (repository, run_id, environment) → {control id: response}, from
    `audit.responses.apply_responses`; shown beside verdicts, never changing one.
    `responses_file`: where they came from (path, sha256, counts). `sample_size` and
    `sample_seed` together add the auditor sample of `audit.sample.report_sample`.
    The result is checked against the typed model `audit.documents.Findings` (which generates
    findings.json's JSON Schema), so a malformed document is a bug caught before rendering.
    With `check=False` the caller checks it (`audit.documents.check_findings`) before it writes
    anything: the render does so once the PDF process has the PDF's HTML.
    """
    if (sample_size is None) != (sample_seed is None):
        raise UsageError("a sample needs both a size and a seed (--sample-size N --sample-seed S)")
    evaluation = next(db.query("select * from evaluations where quarter = ?", [str(quarter)]), None)
    if evaluation is None:
        raise UsageError(f"no evaluation stored for {quarter}: run `soc2-audit evaluate --quarter {quarter}`")
    start, end = quarter.bounds(settings.timezone)
    verdicts = stored_verdicts(db, quarter)
    responses = responses or {}
    deployments = []
    emergencies = []
    for facts, review in stored_population(db, quarter):
        key = (facts["repository"], facts["run_id"], facts["environment"])
        results = verdicts.get(key, {})
        emergency = _emergency_entry(facts, review, results.get("change.emergency_reviewed"))
        if emergency is not None:
            emergencies.append(emergency)
        deployments.append({**facts, "controls": results, "responses": responses.get(key, {})})
    counts = verdict_counts(deployments)
    repositories = sorted(
        {name for row in extractions_overlapping(db, quarter) for name in json.loads(row["repositories"] or "[]")}
    )
    in_force = settings_in_force(db, start, end, settings, deployments)
    findings = {
        "quarter": str(quarter),
        "period": {"start": start.isoformat(), "end": end.isoformat(), "timezone": settings.timezone},
        "generated_at": evaluation["evaluated_at"],
        "generator": {"name": "soc2-audit", "version": __version__, "libraries": library_versions()},
        "demo": bool(evaluation["demo"]),
        "organization": organization,
        "repositories": repositories,
        "settings": json.loads(evaluation["settings"]),
        "completeness": {
            **completeness(db, quarter, settings, deployments),
            "settings_observed": {
                "continuously": in_force["continuously_observed"],
                "source": in_force["source"],
                "gaps": in_force["gaps"],
            },
        },
        "extraction_log": _extraction_log(db, quarter),
        "controls": [
            {
                "id": control.id,
                "title": control.title,
                "question": control.question,
                "rationale": control.rationale,
                "remediation": control.remediation,
                "criteria": list(control.criteria),
                "counts": counts[control.id],
            }
            for control in CONTROLS
        ],
        "criteria": criteria(),
        "emergency": {
            "branches": list(settings.emergency_branches),
            "labels": list(settings.emergency_labels),
            "review_days": settings.emergency_review_days,
            "deployments": emergencies,
        },
        "settings_in_force": in_force,
        "credentials": {
            "oidc": sum(1 for d in deployments if d["oidc_token"] is True),
            "secrets_only": sum(1 for d in deployments if d["oidc_token"] is False),
            "unknown": sum(1 for d in deployments if d["oidc_token"] is None),
        },
        "deployments": deployments,
        "sample": (
            report_sample(
                deployments,
                size=sample_size,
                seed=sample_seed,
                evidence={
                    (evidence.repository, evidence.run_id, evidence.environment): evidence
                    for evidence in load_deployments(db, quarter, settings)
                },
                verdicts=stored_verdicts(db, quarter, with_evidence=True),
            )
            if sample_size is not None and sample_seed is not None
            else None
        ),
        "responses_file": responses_file,
        "seal_timeline": seal_timeline(db, deployments, end.isoformat()),
    }
    if check:
        check_findings(findings)
    return findings


def verdict_counts(deployments: list[dict]) -> dict[str, dict[str, int]]:
    """Control id -> verdict -> deployments, every control and verdict of the contract (zero included)."""
    counts = {control.id: dict.fromkeys(VERDICTS, 0) for control in CONTROLS}
    for deployment in deployments:
        for control_id, result in deployment["controls"].items():
            of_control = counts.get(control_id)
            if of_control is not None and result.get("verdict") in of_control:
                of_control[result["verdict"]] += 1
    return counts


EMERGENCY_STATUS = {"pass": "reviewed in time", "not_available": "unknown", "error": "unknown"}
"""How the emergency section names each verdict; a fail is "reviewed late" or "never reviewed"."""


EMERGENCY_RUN_FIELDS = ("repository", "run_id", "run_attempt", "environment", "html_url", "head_branch")
"""The run's fields an emergency-changes row repeats, in its order."""


def _emergency_entry(facts: dict, review: dict | None, result: dict | None) -> dict | None:
    """One row of the emergency-changes section (`evaluate.emergency_facts` and the verdict); None for a normal
    deployment."""
    if review is None or result is None or result["verdict"] == "not_applicable":
        return None
    verdict = result["verdict"]
    if verdict == "fail":
        status = "reviewed late" if review["approved_at"] is not None else "never reviewed"
    else:
        status = EMERGENCY_STATUS.get(verdict, verdict)
    return {
        **{name: facts[name] for name in EMERGENCY_RUN_FIELDS},
        **review,
        "verdict": verdict,
        "status": status,
    }


OUTPUT_LIBRARIES = ("PyGithub", "WeasyPrint", "pyHanko")
"""The libraries whose version shapes the evidence package: a re-render with the same ones is reproducible."""


def library_versions() -> dict[str, str | None]:
    """Installed version of each of `OUTPUT_LIBRARIES` (None when not installed)."""
    found: dict[str, str | None] = {}
    for name in OUTPUT_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


UNLINKED_DEPLOY_RUNS = """
with deploy_jobs as materialized (
    select distinct j.repository, j.name from deployments d join jobs j on j.job_id = d.job_id
),
deploy_workflows as materialized (
    select distinct w.repository, w.workflow_id from workflow_runs w
    join deployments d on d.repository = w.repository and d.run_id = w.run_id
)
select r.repository, r.run_id,
       (select j.name from jobs j join deploy_jobs dj on dj.repository = j.repository and dj.name = j.name
        where j.repository = r.repository and j.run_id = r.run_id and j.started_at is not null
        limit 1) as deploy_job
from workflow_runs r join deploy_workflows w on w.repository = r.repository and w.workflow_id = r.workflow_id
where r.created_at >= :start and r.created_at < :end
order by r.repository, r.created_at, r.run_id
"""
"""Runs of workflows that deploy to production, and whether a production deploy job started in them."""


DEGRADED_LOOKUPS = """
select d.piece, d.outcome, coalesce(d.rest_error, d.graphql_error) as reason, d.permission, count(*) as lookups,
       sum(d.outcome = 'unavailable' and not (
           (d.piece in ('jobs', 'approvals') and exists (select 1 from run_captures c
               where c.repository = d.repository and c.run_id = cast(d.subject as integer) and c.what = d.piece))
        or (d.piece = 'pull_requests' and exists (select 1 from commit_pulls p
               where p.repository = d.repository and p.sha = d.subject))
        or (d.piece = 'reviews' and exists (select 1 from pull_requests p where p.repository = d.repository
               and p.number = cast(d.subject as integer) and p.reviews_captured_at is not null))
        or (d.piece = 'statuses' and exists (select 1 from deployments x
               where x.deployment_id = cast(d.subject as integer) and x.statuses_captured_at is not null))
       )) as still_missing
from degraded_lookups d
where d.quarter = ?
group by d.piece, d.outcome, d.permission
order by d.outcome desc, d.piece, d.permission
"""
"""Lookups GitHub refused while capturing the quarter, by piece, outcome (`rest`: GraphQL
refused and REST answered; `unavailable`: REST refused too, or answered what the endpoint does
not document) and missing permission (none for an unreadable answer), with how
many are still missing (no later capture filled them)."""


def completeness(db, quarter: Period | Quarter, settings: Settings, deployments: list[dict]) -> dict:
    """Was the population complete? Windows under the cap, and both sources reconciled."""
    start, end = quarter.bounds(settings.timezone)
    windows = [
        {
            "repository": row["repository"],
            "created": f"{row['window_start']}..{row['window_end']}",
            "total_count": row["total_count"],
            "fetched": row["fetched"],
        }
        for row in db.query(
            "select * from run_windows where window_start >= ? and window_end <= ? order by repository, window_start",
            [start.isoformat(), end.isoformat()],
        )
    ]
    start_z, end_z = iso_z(start), iso_z(end)
    population_runs = {(d["repository"], d["run_id"]) for d in deployments}
    mismatches = [
        {
            "repository": row["repository"],
            "run_id": None,
            "reason": f"production deployment {row['deployment_id']} ({row['created_at']}) names no workflow run "
            "and no run of its commit was found",
        }
        for row in db.query(
            "select repository, deployment_id, created_at from deployments where run_id is null "
            "and created_at >= ? and created_at < ? order by repository, deployment_id",
            [start_z, end_z],
        )
    ]
    deploy_workflow_runs = 0
    unlinked_deploying = 0
    for row in db.query(UNLINKED_DEPLOY_RUNS, {"start": start_z, "end": end_z}):
        deploy_workflow_runs += 1
        if (row["repository"], row["run_id"]) in population_runs:
            continue
        if row["deploy_job"] is not None:
            unlinked_deploying += 1
            mismatches.append(
                {
                    "repository": row["repository"],
                    "run_id": row["run_id"],
                    "reason": f"run {row['run_id']} started production deploy job {row['deploy_job']!r} "
                    "but no production deployment names it",
                }
            )
    evidence_lost = [
        {"repository": d["repository"], "run_id": d["run_id"], "what": d["controls"]["evidence.retained"]["detail"]}
        for d in deployments
        if d["controls"].get("evidence.retained", {}).get("verdict") == "fail"
    ]
    return {
        "degraded_lookups": [dict(row) for row in db.query(DEGRADED_LOOKUPS, [str(quarter)])],
        "complete": all(w["fetched"] == w["total_count"] for w in windows) and not mismatches,
        "windows": windows,
        "deployments_api": len(population_runs),
        "runs_with_production_job": len(population_runs) + unlinked_deploying,
        "deploy_workflow_runs": deploy_workflow_runs,
        "population": len(deployments),
        "mismatches": mismatches,
        "evidence_lost": evidence_lost,
    }


def _extraction_log(db, quarter: Period | Quarter) -> list[dict]:
    """Each query of the extractions that captured this quarter, condensed per query kind."""
    rows = db.query(
        """select l.repository, l.query, count(*) as calls, sum(l.rows) as rows, sum(l.requests) as requests,
                  sum(l.not_modified) as not_modified, min(l.started_at) as started_at,
                  min(l.rate_remaining) as rate_remaining, e.extraction_id
           from extraction_log l join extractions e using (extraction_id)
           where e.extraction_id in (select value from json_each(?))
           group by e.extraction_id, l.repository, l.query
           order by e.extraction_id, l.repository, min(l.log_id)""",
        [json.dumps([row["extraction_id"] for row in extractions_overlapping(db, quarter)])],
    )
    return [dict(row) for row in rows]
