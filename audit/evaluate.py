"""Evaluation: stored rows -> one `DeploymentEvidence` per deployment -> verdicts in the store.

The population (DESIGN §4): one row per (repository, run id, environment) for every
workflow run created in the quarter that a production deployment links to. The link is
the deployment statuses' `target_url` (`/actions/runs/{run_id}/job/{job_id}`), captured at
extraction. Controls are pure; this module only reads the store and writes verdicts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from dateutil import parser as dateparser

from audit.config import Settings
from audit.controls import evaluate_all
from audit.evidence import (
    Approval,
    Artifact,
    DeploymentEvidence,
    DeploymentStatus,
    Finding,
    Job,
    PullRequest,
    Review,
)
from audit.quarter import Quarter
from audit.reperform import run_sql
from audit.store import now_utc, to_json, upsert_all


@dataclass(frozen=True)
class EvaluationSummary:
    quarter: str
    population: int
    counts: dict[str, dict[str, int]]
    """control id -> verdict -> number of deployments."""
    evaluated_at: str


def evaluate_quarter(
    db, quarter: Quarter, settings: Settings, *, demo: bool, evaluated_at: str | None = None
) -> EvaluationSummary:
    """Judge every deployment of the quarter and store the verdicts (replacing earlier ones)."""
    evaluated_at = evaluated_at or latest_capture_time(db) or now_utc()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows, population = [], 0
    keys = [{"quarter": str(quarter), **key} for key in population_keys(db, quarter, settings)]
    for deployment in load_deployments(db, quarter, settings):
        population += 1
        for control_id, verdict in evaluate_all(deployment, settings).items():
            counts[control_id][verdict.verdict] += 1
            rows.append(
                {
                    "quarter": str(quarter),
                    "repository": deployment.repository,
                    "run_id": deployment.run_id,
                    "environment": deployment.environment,
                    "control_id": control_id,
                    "verdict": verdict.verdict,
                    "detail": verdict.detail,
                    "evidence": to_json(list(verdict.evidence)),
                }
            )
    with db.conn:
        db.execute("delete from verdicts where quarter = ?", [str(quarter)])
        db.execute("delete from population where quarter = ?", [str(quarter)])
        upsert_all(db, "population", keys)
        upsert_all(db, "verdicts", rows)
        upsert_all(
            db,
            "evaluations",
            [
                {
                    "quarter": str(quarter),
                    "evaluated_at": evaluated_at,
                    "settings": to_json(settings.as_dict()),
                    "population": population,
                    "demo": int(demo),
                }
            ],
        )
    return EvaluationSummary(str(quarter), population, {k: dict(v) for k, v in counts.items()}, evaluated_at)


def latest_capture_time(db) -> str | None:
    """When the evidence was last captured: pins `generated_at` so re-renders are identical."""
    row = db.execute("select max(coalesce(finished_at, started_at)) from extractions").fetchone()
    return row[0] if row else None


def population_keys(db, quarter: Quarter, settings: Settings) -> list[dict]:
    """(repository, run_id, environment, deployment_id) of every deployment in the quarter.

    Computed by the shipped `audit/reperform/population.sql`, the same query an auditor
    runs, so the population we judge and the one they recompute cannot differ.
    """
    start, end = quarter.bounds(settings.timezone)
    return run_sql(
        db,
        "population",
        start=_iso_z(start),
        end=_iso_z(end),
        environments=to_json(list(settings.production_environments)),
    )


def load_deployments(db, quarter: Quarter, settings: Settings) -> Iterator[DeploymentEvidence]:
    """Assemble each deployment of the quarter from the store, oldest first."""
    deployments = [
        _deployment(db, key["repository"], key["run_id"], key["environment"], key["deployment_id"])
        for key in population_keys(db, quarter, settings)
    ]
    deployments.sort(key=lambda d: (d.created_at, d.repository, d.run_id, d.environment))
    yield from deployments


def _deployment(db, repository: str, run_id: int, environment: str, deployment_id: int) -> DeploymentEvidence:
    run = db["workflow_runs"].get((repository, run_id))
    repo = _one(db, "select default_branch from repositories where full_name = ?", [repository])
    deployment = db["deployments"].get(deployment_id)
    jobs = _latest_jobs(db, repository, run_id)
    deploy_job = next((job for job in jobs if job.job_id == deployment["job_id"]), None)
    if deploy_job is None and deployment["job_id"]:
        row = _one(db, "select * from jobs where job_id = ?", [deployment["job_id"]])
        deploy_job = _job(row) if row else None
    captured = {
        row["what"]
        for row in db.query("select what from run_captures where repository = ? and run_id = ?", [repository, run_id])
    }
    statuses = tuple(
        DeploymentStatus(row["status_id"], row["state"], _time(row["created_at"]))
        for row in db.query(
            "select * from deployment_statuses where deployment_id = ? order by created_at, status_id", [deployment_id]
        )
    )
    approvals = tuple(
        Approval(row["user"], row["state"], tuple(json.loads(row["environments"] or "[]")), row["comment"])
        for row in db.query(
            "select * from approvals where repository = ? and run_id = ? order by seq", [repository, run_id]
        )
    )
    artifacts = tuple(_artifacts(db, repository, run_id))
    return DeploymentEvidence(
        repository=repository,
        run_id=run_id,
        run_attempt=run["run_attempt"],
        environment=environment,
        head_sha=run["head_sha"],
        head_branch=run["head_branch"],
        default_branch=repo["default_branch"] if repo else None,
        actor=run["actor"],
        triggering_actor=run["triggering_actor"],
        event=run["event"],
        created_at=_time(run["created_at"]),
        html_url=run["html_url"],
        deploy_job=deploy_job,
        jobs_captured="jobs" in captured,
        jobs=jobs,
        pull_requests_captured=_pulls_captured(db, repository, run["head_sha"]),
        pull_request=_pull_request(db, repository, run["head_sha"]),
        approvals_captured="approvals" in captured,
        approvals=approvals,
        statuses_captured=deployment["statuses_captured_at"] is not None,
        statuses=statuses,
        required_reviewers=_required_reviewers(db, repository, environment),
        artifacts=artifacts,
        lost_artifacts=tuple(a.name for a in artifacts if a.capture_status in ("expired", "unreadable")),
    )


def _latest_jobs(db, repository: str, run_id: int) -> tuple[Job, ...]:
    """The latest execution of each job name (what `jobs?filter=latest` would return)."""
    latest: dict[str, dict] = {}
    for row in db.query(
        "select * from jobs where repository = ? and run_id = ? order by run_attempt, job_id", [repository, run_id]
    ):
        latest[row["name"]] = row
    return tuple(_job(row) for row in latest.values())


def _job(row: dict) -> Job:
    return Job(
        row["job_id"],
        row["name"],
        row["status"],
        row["conclusion"],
        _time(row["started_at"]),
        _time(row["completed_at"]),
        row["run_attempt"],
    )


def _pulls_captured(db, repository: str, sha: str | None) -> bool:
    return (
        bool(sha)
        and _one(db, "select 1 as x from commit_pulls where repository = ? and sha = ?", [repository, sha]) is not None
    )


def _pull_request(db, repository: str, sha: str | None) -> PullRequest | None:
    """The merged PR whose merge commit is the deployed sha, else the first merged one."""
    if not sha:
        return None
    row = _one(db, "select pr_numbers from commit_pulls where repository = ? and sha = ?", [repository, sha])
    if row is None:
        return None
    numbers = json.loads(row["pr_numbers"])
    pulls = [db["pull_requests"].get((repository, number)) for number in numbers]
    merged = [pr for pr in pulls if pr["merged_at"]]
    chosen = next((pr for pr in merged if pr["merge_commit_sha"] == sha), merged[0] if merged else None)
    if chosen is None:
        return None
    reviews = tuple(
        Review(r["review_id"], r["user"], r["state"], _time(r["submitted_at"]), r["commit_id"])
        for r in db.query(
            "select * from reviews where repository = ? and pr_number = ? order by submitted_at, review_id",
            [repository, chosen["number"]],
        )
    )
    return PullRequest(
        chosen["number"],
        chosen["author"],
        chosen["title"],
        _time(chosen["merged_at"]),
        chosen["merge_commit_sha"],
        chosen["head_sha"],
        chosen["html_url"],
        reviews,
    )


def _required_reviewers(db, repository: str, environment: str) -> int | None:
    row = _one(
        db,
        "select required_reviewers from environment_snapshots where repository = ? "
        "and environment = ? order by captured_at desc limit 1",
        [repository, environment],
    )
    return row["required_reviewers"] if row else None


def _artifacts(db, repository: str, run_id: int) -> Iterator[Artifact]:
    for row in db.query(
        "select artifact_id, name, capture_status, scan_format, capture_detail, sha256 "
        "from artifacts where repository = ? and run_id = ? order by artifact_id",
        [repository, run_id],
    ):
        findings = tuple(
            Finding(f["tool"], f["severity"], f["rule_id"], f["title"], f["location"])
            for f in db.query("select * from scan_findings where artifact_id = ? order by seq", [row["artifact_id"]])
        )
        yield Artifact(
            row["artifact_id"],
            row["name"],
            row["capture_status"],
            row["scan_format"],
            row["capture_detail"],
            row["sha256"],
            findings,
        )


def _one(db, sql: str, params: list) -> dict | None:
    return next(db.query(sql, params), None)


def _time(value: str | None) -> datetime | None:
    return dateparser.isoparse(value) if value else None


def _iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
