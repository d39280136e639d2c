"""A small world with some variety, library-level extraction, and store comparisons.

The reliability tests compare a run that met faults, crashes or hostile input with a clean
run of the same world: same evidence rows (capture times aside) and same verdicts.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from audit.config import Settings
from audit.demo.fakegithub import World, synthetic_world
from audit.evaluate import evaluate_quarter
from audit.extract import Extractor, GitHubClient
from audit.quarter import Quarter
from audit.store import RUN_EVIDENCE_TABLES, open_store
from tests.scans.factories import bandit_report, bandit_result

QUARTER = Quarter.parse("2024Q2")
REPOSITORY = "synthetic/service-000"
CANARY = "ghp_CANARY7f3c2a9e41d8b6c5a0f9e8d7c6b5a4"
"""A token-shaped secret that must never appear in any output."""

EVIDENCE_TABLES = ("repositories", *RUN_EVIDENCE_TABLES)
"""Tables of GitHub evidence, each keyed by GitHub's ids (extraction logs and environment
snapshots grow with every extraction by design, so they are not compared)."""


def small_world(deployments: int = 12) -> World:
    """`deployments` clean deployments, two of them with a HIGH bandit finding and one
    approved by the run's own actor, so verdicts are not all `pass`."""
    world = synthetic_world(deployments=deployments, seed=7)
    runs = run_order(world)
    for run in runs[1], runs[5]:
        run.artifacts[0].files = {"bandit-report.json": bandit_report(bandit_result(issue_severity="HIGH"))}
    runs[3].approvals[0].user = runs[3].actor
    return world


def run_order(world: World) -> list:
    """The runs of REPOSITORY in the order extraction captures them (creation time)."""
    repository = world.repositories[REPOSITORY]
    return sorted(repository.runs.values(), key=lambda run: run.created_at)


def extract_quarter(db_path: Path, base_url: str, token: str | None = None, **client_options) -> GitHubClient:
    """Extract and evaluate REPOSITORY's quarter into `db_path` through the library."""
    client_options.setdefault("backoff_factor", 0.05)
    db = open_store(db_path)
    client = GitHubClient(base_url, token, **client_options)
    try:
        Extractor(db, client, Settings(), QUARTER).run([REPOSITORY])
    finally:
        client.close()
    evaluate(db_path)
    return client


def evaluate(db_path: Path) -> None:
    evaluate_quarter(open_store(db_path, create=False), QUARTER, Settings(), demo=False)


def evidence(db_path: Path) -> dict[str, list[tuple]]:
    """Every evidence row, capture times left out, sorted: equal stores compare equal."""
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        result = {}
        for table in EVIDENCE_TABLES:
            rows = conn.execute(f"select * from {table}").fetchall()  # noqa: S608 - fixed names
            result[table] = sorted(
                tuple((key, row[key]) for key in row.keys() if not key.endswith("captured_at")) for row in rows
            )
    return result


def verdicts(db_path: Path) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return sorted(
            conn.execute(
                "select repository, run_id, environment, control_id, verdict, detail, evidence from verdicts "
                "where quarter = ?",
                [str(QUARTER)],
            ).fetchall()
        )


def captured_runs(db_path: Path) -> int:
    """Runs whose evidence is completely stored."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute("select count(*) from workflow_runs where evidence_captured_at is not null").fetchone()[0]


def verdict_counts(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("select verdict, count(*) from verdicts group by verdict").fetchall())


def cli_env(tmp: Path, base_url: str, token: str = CANARY, **extra: str) -> dict[str, str]:
    """Environment for the real CLI pointed at a fake server we started."""
    from tests.conftest import clean_env

    return clean_env(tmp, GITHUB_TOKEN=token, GITHUB_API_URL=base_url, **extra)


def dumps(value) -> str:
    return json.dumps(value, default=str)
