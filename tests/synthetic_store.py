"""A seeded evidence store of many deployments whose evidence covers every branch of every control.

The demo organisation has a few hundred deployments and mostly clean ones; the synthetic
quarter from the fake server (`synthetic_world`) is uniform and clean, and extracting 10,000
deployments through it takes minutes. Re-performance must agree with the evaluation on the
awkward cases too, so this writes store rows directly, each field drawn from the values the
extraction can store (None included: evidence never captured), with mixed-case logins and
environments, re-runs, reviews in every state, findings of every severity, lost artifacts and
approval times on the window's boundary. Same `deployments` and `seed` -> the same store.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import sqlite_utils

from audit.store import ensure_schema

QUARTER = "2024Q2"
START = datetime(2024, 4, 1, tzinfo=UTC)
REPOSITORIES = {"syn/api": "main", "syn/web": "trunk", "syn/Ledger": None}
PEOPLE = ("ana", "Ana", "bo", "cy", "dee", "eli", "fay", "dependabot[bot]")
BRANCHES = ("main", "trunk", "release/2024.5", "feature/x", None)
SEVERITIES = ("low", "medium", "high", "critical", "LOW", "weird", None)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _maybe(rng: random.Random, value, chance: float = 0.05):
    """`value`, or None with `chance`: a field GitHub left out or we never captured."""
    return None if rng.random() < chance else value


def _captured(rng: random.Random, rows: dict, repository: str, run_id: int, what: str) -> bool:
    """Whether the run's `what` was captured (most were); records the capture when it was."""
    if rng.random() < 0.08:
        return False
    rows["run_captures"].append({"repository": repository, "run_id": run_id, "what": what, "captured_at": "x"})
    return True


def build_store(path, *, deployments: int = 10_000, seed: int = 17) -> sqlite_utils.Database:
    """Write the synthetic quarter into a new store at `path` (not evaluated yet)."""
    rng = random.Random(seed)
    db = sqlite_utils.Database(path)
    ensure_schema(db)
    rows: dict[str, list[dict]] = {name: [] for name in ("workflow_runs", "jobs", "approvals", "run_captures")}
    rows.update({name: [] for name in ("deployments", "deployment_statuses", "commit_pulls", "pull_requests")})
    rows.update({name: [] for name in ("reviews", "artifacts", "scan_findings", "repositories", "degraded_lookups")})
    for repository, default_branch in REPOSITORIES.items():
        rows["repositories"].append({"full_name": repository, "default_branch": default_branch})
    ids = iter(range(1_000_000, 100_000_000))
    late = random.Random(seed + 1)  # emergency-review fields: their own stream, the rest stays as it was
    span = int(timedelta(days=91).total_seconds())
    for index in range(deployments):
        repository = rng.choice(list(REPOSITORIES))
        run_id = 50_000 + index
        created = START + timedelta(seconds=rng.randrange(-86_400, span + 86_400))
        actor = _maybe(rng, rng.choice(PEOPLE))
        head_sha = _maybe(rng, f"{index:040x}", 0.01)
        rows["workflow_runs"].append(
            {
                "repository": repository,
                "run_id": run_id,
                "run_attempt": rng.choice((1, 1, 1, 2, 3, None)),
                "event": "push",
                "head_branch": rng.choice(BRANCHES),
                "head_sha": head_sha,
                "actor": actor,
                "triggering_actor": rng.choice((actor, actor, rng.choice(PEOPLE), None)),
                "created_at": _iso(created),
                "html_url": f"https://github.com/{repository}/actions/runs/{run_id}",
            }
        )

        # jobs: tests (re-run attempts included), a scan job now and then, the deploy job
        deploy_job_id = next(ids)
        deploy_started = _maybe(rng, created + timedelta(minutes=rng.randint(5, 60)))
        if _captured(rng, rows, repository, run_id, "jobs"):
            for name in rng.sample(("test", "Test (unit)", "test (e2e)", "lint", "security-scan", "build"), 3):
                for attempt in range(1, rng.choice((1, 1, 2)) + 1):
                    completed = created + timedelta(minutes=rng.randint(1, 70))
                    rows["jobs"].append(
                        {
                            "job_id": next(ids),
                            "repository": repository,
                            "run_id": run_id,
                            "run_attempt": _maybe(rng, attempt),
                            "name": name,
                            "conclusion": _maybe(rng, rng.choice(("success", "success", "success", "failure"))),
                            "started_at": _iso(created),
                            "completed_at": _iso(_maybe(rng, completed)),
                        }
                    )
            if rng.random() < 0.95:
                rows["jobs"].append(
                    {
                        "job_id": deploy_job_id,
                        "repository": repository,
                        "run_id": run_id,
                        "run_attempt": 1,
                        "name": "deploy",
                        "conclusion": _maybe(rng, "success"),
                        "started_at": _iso(deploy_started),
                        "completed_at": _iso(deploy_started),
                    }
                )

        # environment approvals, possibly by the people involved, possibly rejected
        environment = rng.choice(("production", "production", "Production"))
        approvals_captured = _captured(rng, rows, repository, run_id, "approvals")
        if not approvals_captured and rng.random() < 0.5:
            # GitHub refused them to the token (not lost: evidence.retained cannot judge)
            rows["degraded_lookups"].append(
                {
                    "repository": repository,
                    "piece": "approvals",
                    "subject": str(run_id),
                    "outcome": "unavailable",
                    "rest_error": "HTTP 403: Resource not accessible by integration",
                    "permission": "actions: read",
                    "quarter": "2024Q2",
                }
            )
        if approvals_captured:
            for seq in range(rng.choice((0, 1, 1, 2, 3))):
                rows["approvals"].append(
                    {
                        "repository": repository,
                        "run_id": run_id,
                        "seq": seq,
                        "user": _maybe(rng, rng.choice(PEOPLE)),
                        "state": rng.choice(("approved", "approved", "approved", "rejected", "APPROVED")),
                        "environments": json.dumps(rng.choice((["production"], ["PRODUCTION"], ["staging"]))),
                    }
                )

        # the production deployment and its statuses (the approval's request and time)
        deployment_id = next(ids)
        statuses_captured = rng.random() > 0.08
        rows["deployments"].append(
            {
                "deployment_id": deployment_id,
                "repository": repository,
                "environment": environment,
                "sha": head_sha,
                "run_id": run_id,
                "job_id": deploy_job_id,
                "statuses_captured_at": "x" if statuses_captured else None,
            }
        )
        if not statuses_captured and deployment_id % 2 == 0:
            # GitHub refused them to the token (not lost: evidence.retained cannot judge)
            rows["degraded_lookups"].append(
                {
                    "repository": repository,
                    "piece": "statuses",
                    "subject": str(deployment_id),
                    "outcome": "unavailable",
                    "rest_error": "HTTP 403: Resource not accessible by integration",
                    "permission": "deployments: read",
                    "quarter": "2024Q2",
                }
            )
        if statuses_captured:
            requested = created + timedelta(minutes=2)
            waited = rng.choice((7200, 7201, 60, 3 * 3600, 3599, 3600, 3601))
            states = rng.choice(
                (("waiting", "queued", "success"), ("waiting", "in_progress"), ("waiting", "failure"), ("queued",))
            )
            if deployment_id % 5 == 0:
                waited = 0  # created in the same second: ordered by lifecycle
            for position, state in enumerate(states):
                status_id = next(ids)
                # Every other deployment's statuses as GraphQL captures them: a node id, no database id.
                from_graphql = deployment_id % 2 == 1
                node_id = f"DES_{status_id}"
                rows["deployment_statuses"].append(
                    {
                        "status_key": node_id if from_graphql else str(status_id),
                        "status_id": None if from_graphql else status_id,
                        "node_id": node_id if from_graphql else None,
                        "deployment_id": deployment_id,
                        "repository": repository,
                        "state": state,
                        "created_at": _iso(requested + timedelta(seconds=waited * position)),
                    }
                )

        # the commit's pull requests and their reviews
        if head_sha is not None and rng.random() > 0.08:
            numbers = rng.choice(([], [index + 1], [index + 1], [index + 100_001, index + 1]))  # GitHub numbers from 1
            rows["commit_pulls"].append(
                {"repository": repository, "sha": head_sha, "pr_numbers": json.dumps(numbers), "captured_at": "x"}
            )
            for number in numbers:
                author = _maybe(rng, rng.choice(PEOPLE))
                merged = rng.random() > 0.1
                # A merged PR's reviews are captured with it, unless GitHub refused them.
                reviews_captured = merged and rng.random() > 0.03
                rows["pull_requests"].append(
                    {
                        "repository": repository,
                        "number": number,
                        "author": author,
                        "merged_at": _iso(created - timedelta(minutes=5)) if merged else None,
                        "merge_commit_sha": rng.choice((head_sha, head_sha, f"{number:040x}")),
                        "head_sha": "head",
                        "labels": late.choice((None, "[]", "[]", '["hotfix"]', '["Hotfix", "db"]')),
                        "reviews_captured_at": late.choice(("2024-08-01T00:00:00+00:00", _iso(created)))
                        if reviews_captured
                        else None,
                    }
                )
                deployed = deploy_started or created
                if reviews_captured and late.random() < 0.4:  # a review after deploying: in, on or past a 3-day window
                    after = late.choice((3600, 3 * 86_400, 3 * 86_400 + 1, 10 * 86_400))
                    rows["reviews"].append(
                        {
                            "review_id": next(ids),
                            "repository": repository,
                            "pr_number": number,
                            "user": late.choice(PEOPLE),
                            "state": late.choice(("APPROVED", "COMMENTED", "CHANGES_REQUESTED")),
                            "submitted_at": _iso(deployed + timedelta(seconds=after)),
                            "commit_id": "head",
                        }
                    )
                submitted = created - timedelta(hours=2)
                for _ in range(rng.choice((0, 1, 2, 3, 4)) if reviews_captured else 0):
                    submitted += timedelta(minutes=rng.choice((0, 5)))
                    rows["reviews"].append(
                        {
                            "review_id": next(ids),
                            "repository": repository,
                            "pr_number": number,
                            "user": _maybe(rng, rng.choice((*PEOPLE, author or "ana"))),
                            "state": rng.choice(
                                ("APPROVED", "APPROVED", "approved", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED")
                            ),
                            "submitted_at": _iso(_maybe(rng, submitted)),
                            "commit_id": "head",
                        }
                    )

        # artifacts: scan reports with findings, other reports, and lost ones
        for name, status, scan_format in rng.sample(
            (
                ("bandit-report", "captured", "bandit"),
                ("results.sarif", "captured", "sarif"),
                ("safety-report", "captured", "safety"),
                ("coverage", "not_scan", None),
                ("coverage", "expired", None),
                ("build-security-scan", "expired", None),
                ("nightly-output", "unreadable", None),
                ("pip-audit", "unreadable", "pip-audit"),
                ("docs", None, None),
            ),
            rng.choice((0, 1, 1, 2)),
        ):
            artifact_id = next(ids)
            rows["artifacts"].append(
                {
                    "artifact_id": artifact_id,
                    "repository": repository,
                    "run_id": run_id,
                    "name": name,
                    "capture_status": status,
                    "scan_format": scan_format,
                    "scan_gaps": "safety.json scanned nothing: safety found no package to check"
                    if name == "safety-report"
                    else None,
                }
            )
            if status == "captured":
                for seq in range(rng.choice((0, 0, 1, 2))):
                    rows["scan_findings"].append(
                        {
                            "artifact_id": artifact_id,
                            "seq": seq,
                            "repository": repository,
                            "tool": scan_format,
                            "severity": rng.choice(SEVERITIES),
                            "rule_id": f"R{seq}",
                        }
                    )
    with db.conn:
        for table, table_rows in rows.items():
            columns = sorted({column for row in table_rows for column in row})
            db.conn.executemany(
                f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
                [tuple(row.get(column) for column in columns) for row in table_rows],
            )
    return db
