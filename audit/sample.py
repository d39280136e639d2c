"""A reproducible auditor sample of the quarter's deployments, with each one's evidence.

The algorithm needs no Python and no random-number generator, so an auditor can re-draw
the sample with a shell: for every deployment compute

    SHA-256( "<seed>:<repository>:<run_id>:<environment>" )   (UTF-8, hex)

and take the `size` deployments with the smallest digests (ties cannot happen in
practice; they would break by repository, run id, environment). The same seed and
population always give the same sample, and a different seed gives an independent one.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from audit.config import Settings
from audit.controls import deploy_approvers, outcome, pr_approvers
from audit.evaluate import load_deployments, stored_verdicts
from audit.evidence import DeploymentEvidence, approval_times
from audit.period import Period
from audit.quarter import Quarter
from audit.times import iso

ALGORITHM = (
    "sha256('<seed>:<repository>:<run_id>:<environment>') per deployment, the SIZE smallest hex digests, ascending"
)


def sample_key(seed: str, repository: str, run_id: int, environment: str) -> str:
    """The digest that orders deployments for sampling."""
    return hashlib.sha256(f"{seed}:{repository}:{run_id}:{environment}".encode()).hexdigest()


def choose(population: list, *, size: int, seed: str, key=lambda d: (d.repository, d.run_id, d.environment)) -> list:
    """The `size` members of `population` with the smallest sample keys, smallest first.

    `key` gives a member's (repository, run_id, environment).
    """
    return sorted(population, key=lambda d: (sample_key(seed, *key(d)), *key(d)))[:size]


def report_sample(
    deployments: list[dict], *, size: int, seed: str, evidence: dict | None = None, verdicts: dict | None = None
) -> dict:
    """The sample section of findings.json: which deployments of findings["deployments"] were drawn.

    With `evidence` ((repository, run_id, environment) -> DeploymentEvidence) and `verdicts`
    (`stored_verdicts(..., with_evidence=True)`), each item carries the deployment's complete
    evidence under "evidence": the auditor's test sheet in the report is printed from it.
    """
    chosen = choose(deployments, size=size, seed=seed, key=lambda d: (d["repository"], d["run_id"], d["environment"]))
    items = []
    for d in chosen:
        key = (d["repository"], d["run_id"], d["environment"])
        item = {
            "repository": d["repository"],
            "run_id": d["run_id"],
            "environment": d["environment"],
            "sample_key": sample_key(seed, *key),
        }
        if evidence is not None and key in evidence:
            full = _item(evidence[key], seed, (verdicts or {}).get(key, {}))
            item["evidence"] = {name: value for name, value in full.items() if name not in item}
        items.append(item)
    return {
        "seed": seed,
        "size": len(chosen),
        "requested_size": size,
        "population": len(deployments),
        "algorithm": ALGORITHM,
        "items": items,
    }


def draw_sample(db, quarter: Period | Quarter, settings: Settings, *, size: int, seed: str) -> dict:
    """The sample as a dict: seed, size, algorithm, and per deployment its full evidence."""
    population = list(load_deployments(db, quarter, settings))
    chosen = choose(population, size=size, seed=seed)
    verdicts = stored_verdicts(db, quarter, with_evidence=True)
    return {
        "quarter": str(quarter),
        "seed": seed,
        "size": len(chosen),
        "requested_size": size,
        "population": len(population),
        "algorithm": ALGORITHM,
        "items": [_item(d, seed, verdicts.get((d.repository, d.run_id, d.environment), {})) for d in chosen],
    }


def write_sample(sample: dict, output_dir: Path) -> tuple[Path, Path]:
    """sample.json (complete evidence) and sample.csv (the list, for the auditor's workpaper)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = output_dir / "sample.json", output_dir / "sample.csv"
    json_path.write_text(json.dumps(sample, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["rank", "sample_key", "repository", "run_id", "environment", "created_at", "html_url"])
        for rank, item in enumerate(sample["items"], 1):
            writer.writerow(
                [
                    rank,
                    item["sample_key"],
                    item["repository"],
                    item["run_id"],
                    item["environment"],
                    item["run"]["created_at"],
                    item["run"]["html_url"],
                ]
            )
    return json_path, csv_path


def _item(d: DeploymentEvidence, seed: str, verdicts: dict) -> dict:
    requested_at, approved_at = approval_times(d.statuses)
    pr = d.pull_request
    return {
        "repository": d.repository,
        "run_id": d.run_id,
        "environment": d.environment,
        "sample_key": sample_key(seed, d.repository, d.run_id, d.environment),
        "run": {
            "run_attempt": d.run_attempt,
            "event": d.event,
            "head_sha": d.head_sha,
            "head_branch": d.head_branch,
            "default_branch": d.default_branch,
            "actor": d.actor,
            "triggering_actor": d.triggering_actor,
            "created_at": iso(d.created_at),
            "html_url": d.html_url,
            "outcome": outcome(d),
        },
        "deploy_job": _plain(d.deploy_job),
        "jobs": [_plain(job) for job in d.jobs],
        "approvals": [_plain(a) for a in d.approvals],
        "approval_requested_at": iso(requested_at),
        "approved_at": iso(approved_at),
        "deployment_statuses": [_plain(s) for s in d.statuses],
        "pull_request": _plain(pr),
        "pr_approvers": sorted(pr_approvers(d)),
        "deploy_approvers": sorted(deploy_approvers(d)),
        "artifacts": [_plain(a) for a in d.artifacts],
        "controls": verdicts,
    }


def _plain(record):
    """A frozen record as JSON-ready data (datetimes as ISO 8601)."""
    if record is None:
        return None
    return _iso_all(asdict(record))


def _iso_all(value):
    if isinstance(value, dict):
        return {k: _iso_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso_all(v) for v in value]
    return iso(value) if isinstance(value, datetime) else value
