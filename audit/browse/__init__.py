"""Browsing the evidence store with Datasette: descriptions, canned queries, facets.

`make browse` opens Datasette on `output/evidence.db` (loopback only) with the metadata
built here: what each table and column holds, every control's re-performance query as a
canned query (its parameters become form fields; the defaults are the settings the latest
evaluation used, linked from each query's description), facets by repository and verdict,
and `deployment`, one page per deployment with every evidence row of its run.

    python -m audit.browse output/evidence.db           # serve on 127.0.0.1:8001
    python -m audit.browse output/evidence.db --metadata-only > metadata.json
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from urllib.parse import urlencode

from audit.controls import CONTROLS
from audit.quarter import Quarter
from audit.reperform import parameter_names, parameters, query_name, query_text

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "workflow_runs": (
        "GitHub Actions workflow runs, as GitHub returned them (`raw` keeps the JSON).",
        {
            "run_id": "GitHub's run id; with the repository, the key of a run.",
            "run_attempt": "The latest attempt captured (re-runs keep the run id).",
            "head_branch": "Branch the run ran on (judged by deploy.from_main).",
            "head_sha": "The deployed commit.",
            "actor": "Who triggered the original run.",
            "triggering_actor": "Who triggered the latest attempt (a re-run).",
            "evidence_captured_at": "When the run's evidence (jobs, approvals …) was captured.",
        },
    ),
    "jobs": (
        "Jobs of each run; a re-run adds rows with a higher run_attempt.",
        {"conclusion": "success, failure, cancelled, skipped; empty while unknown."},
    ),
    "approvals": (
        "Environment approvals of a run (GET /actions/runs/{id}/approvals); GitHub gives them no time.",
        {"state": "approved or rejected.", "environments": "JSON array of the environments the entry covers."},
    ),
    "run_captures": (
        "What was captured per run (jobs, approvals …): a missing row means never captured, not empty.",
        {"what": "jobs, approvals, …"},
    ),
    "degraded_lookups": (
        "Evidence GitHub refused to the token: read over REST after GraphQL refused it, or unavailable.",
        {
            "outcome": "rest: GraphQL refused, REST answered; unavailable: REST refused too, or answered what the "
            "endpoint does not document, e.g. a null body (never captured).",
            "permission": "The permission the token lacks, e.g. actions: read; empty for an unreadable answer.",
        },
    ),
    "deployments": (
        "Production deployments (Deployments API) and the run each one links to.",
        {
            "statuses_captured_at": "Empty: the statuses were never captured (GitHub keeps them 90 days).",
            "run_link": "How the run was found: statuses' target_url, or the commit when those expired.",
        },
    ),
    "deployment_statuses": (
        "Statuses of each deployment: `waiting` is the approval request, the next status the approval.",
        {
            "status_key": "The node id (a status stored before node ids were kept: its database id).",
            "status_id": "Empty when the status came from GraphQL, which gives no database id: cited by node id.",
            "target_url": "Empty when the status came from GraphQL (REST's deprecated copy of log_url).",
        },
    ),
    "commit_pulls": ("Pull requests GitHub lists for a deployed commit (GET /commits/{sha}/pulls).", {}),
    "pull_requests": ("Pull requests behind deployed commits.", {"author": "The PR author (never an approver)."}),
    "reviews": ("Pull-request reviews, in GitHub's order.", {"state": "APPROVED, CHANGES_REQUESTED, COMMENTED …"}),
    "artifacts": (
        "Workflow-run artifacts and what capturing them gave.",
        {
            "capture_status": "captured, not_scan, expired or unreadable.",
            "scan_format": "bandit, pip-audit, safety or sarif when recognised as a scan report.",
            "sha256": "Digest of the artifact as downloaded.",
        },
    ),
    "scan_findings": ("Findings parsed from scan reports, on one severity scale.", {}),
    "population": (
        "Each period's population: one row per (repository, run, environment).",
        {
            "facts": "JSON: the deployment as findings.json and population.csv list it (run, pull request, "
            "approvers, approval times, outcome, OIDC), as the evaluation derived it.",
            "emergency_review": "JSON: an emergency deployment's review (reason, deadline, approval); "
            "null for a normal deployment.",
        },
    ),
    "verdicts": (
        "Every control's verdict per deployment, with a detail sentence and the evidence rows it rests on.",
        {"evidence": "JSON array of `<table>:<key>` references to the rows above."},
    ),
    "evaluations": ("When each period was evaluated and with which settings.", {}),
    "extractions": ("Each extraction run: when, from which API, how many requests.", {}),
    "extraction_log": ("One row per GitHub query of an extraction.", {}),
    "environment_snapshots": ("Environment protection rules as they were at each capture.", {}),
}

FACETS = {
    "verdicts": ["control_id", "verdict", "repository"],
    "population": ["repository", "environment"],
    "workflow_runs": ["repository", "head_branch", "conclusion"],
    "deployments": ["repository", "environment"],
}


def deployment_sql() -> str:
    """The per-deployment evidence query (one row per evidence row of the run)."""
    return resources.files(__package__).joinpath("deployment.sql").read_text(encoding="utf-8")


def latest_parameters(database: Path) -> dict:
    """The query parameters of the latest evaluation in the store ({} when none)."""
    # immutable: a read-only look that leaves no -wal/-shm files (a signed package stays as signed)
    connection = sqlite3.connect(f"file:{database}?mode=ro&immutable=1", uri=True)
    try:
        row = connection.execute("select quarter, settings from evaluations order by evaluated_at desc").fetchone()
    except sqlite3.DatabaseError:
        row = None
    finally:
        connection.close()
    if row is None:
        return {}
    quarter, settings = row[0], json.loads(row[1])
    start, end = Quarter.parse(quarter).bounds(settings.get("timezone") or "UTC")
    return parameters(settings, quarter, start, end)


def _canned(name: str, title: str, description: str, values: Mapping, database_name: str) -> dict:
    named = parameter_names(name)
    defaults = {key: values[key] for key in named if key in values}
    link = f"/{database_name}/{name}?{urlencode(defaults)}" if defaults else None
    return {
        "sql": query_text(name),
        "title": title,
        "params": named,
        "description_html": (
            f"<p>{description}</p>"
            + (f'<p><a href="{link}">Run it with the settings of the latest evaluation</a>.</p>' if link else "")
        ),
    }


def metadata(database: Path) -> dict:
    """Datasette metadata for one evidence store."""
    database_name = database.stem
    values = latest_parameters(database)
    queries = {
        query_name(control.id): _canned(
            query_name(control.id), f"{control.id}: {control.title}", control.question, values, database_name
        )
        for control in CONTROLS
    }
    queries["population"] = _canned(
        "population", "The population, recomputed", "Every deployment of the period.", values, database_name
    )
    queries["deployment"] = {
        "sql": deployment_sql(),
        "title": "One deployment and all of its evidence",
        "params": ["repository", "run_id"],
        "description_html": "<p>Every stored row about one run: jobs, approvals, statuses, pull request, "
        "reviews, artifacts, scan findings and verdicts.</p>",
    }
    return {
        "title": "soc2-audit evidence store",
        "description": "Every GitHub object the verdicts rest on, as captured. Read only.",
        "databases": {
            database_name: {
                "tables": {
                    table: {
                        "description": description,
                        "columns": columns,
                        **({"facets": FACETS[table]} if table in FACETS else {}),
                    }
                    for table, (description, columns) in TABLES.items()
                },
                "queries": queries,
            }
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Serve the store with Datasette on 127.0.0.1 (or print the metadata)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        print("usage: python -m audit.browse EVIDENCE.db [--metadata-only] [--port N]", file=sys.stderr)
        return 2
    database = Path(argv[0])
    if not database.is_file():
        print(f"evidence store {database} does not exist: run `make report` first", file=sys.stderr)
        return 2
    document = metadata(database)
    if "--metadata-only" in argv:
        print(json.dumps(document, indent=2))
        return 0
    port = argv[argv.index("--port") + 1] if "--port" in argv else "8001"
    metadata_path = database.with_name(f"{database.stem}.datasette.json")
    metadata_path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    from datasette import cli

    return (
        cli.cli.main(
            [
                "serve",
                "--immutable",
                str(database),
                "--metadata",
                str(metadata_path),
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--setting",
                "sql_time_limit_ms",
                "20000",
            ],
            standalone_mode=True,
        )
        or 0
    )
