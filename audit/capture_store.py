"""The extraction's side of the evidence store: every query and write the capture makes.

Extraction (`audit/extract/`) turns GitHub answers into rows; this module is the only place
on that side that speaks SQL. Every write is an upsert keyed by GitHub's ids, so a capture
killed at any point and run again converges on the same rows.
"""

from __future__ import annotations

import json

import sqlite_utils

from audit.store import upsert_all


class CaptureStore:
    """Reads and writes of one extraction, over an open evidence store."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    # -- extractions and their query log -------------------------------------------------

    def next_extraction_id(self) -> int:
        return self.db.execute("select coalesce(max(extraction_id), 0) + 1 from extractions").fetchone()[0]

    def save_extraction(self, row: dict) -> None:
        """Create or update the `extractions` row (keyed by `extraction_id`)."""
        upsert_all(self.db, "extractions", [row])

    def log_query(self, row: dict) -> None:
        self.db.table("extraction_log").insert(row)

    # -- repository and environments -----------------------------------------------------

    def save_repository(self, row: dict) -> None:
        upsert_all(self.db, "repositories", [row])

    def save_environment_snapshots(self, rows: list[dict]) -> None:
        upsert_all(self.db, "environment_snapshots", rows)

    # -- conditional requests ------------------------------------------------------------

    def etag(self, key: str) -> str | None:
        row = self.db.execute("select etag from conditional_requests where key = ?", [key]).fetchone()
        return row[0] if row else None

    def remember_etag(self, key: str, etag: str, captured_at: str) -> None:
        upsert_all(self.db, "conditional_requests", [{"key": key, "etag": etag, "captured_at": captured_at}])

    # -- deployments and their statuses --------------------------------------------------

    def deployment_ids(self, repository: str, environment: str, start: str, end: str) -> list[int]:
        """Stored deployments to `environment` created in [start, end)."""
        return [
            row["deployment_id"]
            for row in self.db.query(
                "select deployment_id from deployments where repository = ? and environment = ? "
                "and created_at >= ? and created_at < ?",
                [repository, environment, start, end],
            )
        ]

    def deployment_links(self, repository: str) -> dict[int, dict]:
        """Per stored deployment: whether its statuses are final, the run/job they name, its
        node id, and whether it has statuses stored before node ids were kept (`legacy_statuses`)."""
        return {
            row["deployment_id"]: row
            for row in self.db.query(
                "select deployment_id, statuses_final, run_id, job_id, json_extract(raw, '$.node_id') as node_id, "
                "exists (select 1 from deployment_statuses s where s.deployment_id = d.deployment_id "
                "and s.node_id is null) as legacy_statuses "
                "from deployments d where repository = ?",
                [repository],
            )
        }

    def save_deployments(self, rows: list[dict]) -> None:
        upsert_all(self.db, "deployments", rows)

    def deployment_run_id(self, deployment_id: int) -> int | None:
        return self.db.table("deployments").get(deployment_id).get("run_id")

    def deployment_created_at(self, deployment_id: int) -> str | None:
        row = self.db.execute("select created_at from deployments where deployment_id = ?", [deployment_id]).fetchone()
        return row[0] if row else None

    def save_statuses(self, rows: list[dict]) -> None:
        """Upsert statuses by node id; one stored before node ids were kept (keyed by its
        database id) is re-keyed first, so capturing it again does not add a second row."""
        for row in rows:
            if row.get("status_id") is not None and row["status_key"] != str(row["status_id"]):
                self.db.execute(
                    "update deployment_statuses set status_key = ? where status_key = ? and status_id = ?",
                    [row["status_key"], str(row["status_id"]), row["status_id"]],
                )
        upsert_all(self.db, "deployment_statuses", rows)

    def deployments_without_run(self, repository: str) -> list[dict]:
        return list(
            self.db.query(
                "select deployment_id, sha, created_at from deployments where repository = ? and run_id is null",
                [repository],
            )
        )

    def latest_run_of_commit(self, repository: str, sha: str, created_before: str) -> int | None:
        """The latest non-pull-request run of `sha` created at or before `created_before`."""
        row = next(
            self.db.query(
                "select run_id from workflow_runs where repository = ? and head_sha = ? and created_at <= ? "
                "and event != 'pull_request' order by created_at desc limit 1",
                [repository, sha, created_before],
            ),
            None,
        )
        return row["run_id"] if row else None

    # -- workflow runs and their listing windows -----------------------------------------

    def run_window(self, repository: str, window_start: str, window_end: str) -> dict | None:
        return next(
            self.db.query(
                "select * from run_windows where repository = ? and window_start = ? and window_end = ?",
                [repository, window_start, window_end],
            ),
            None,
        )

    def save_run_window(self, row: dict) -> None:
        upsert_all(self.db, "run_windows", [row])

    def run_capture_states(self, repository: str, run_ids: list[int]) -> dict[int, dict]:
        """Attempt, status and evidence capture time of the stored runs among `run_ids`."""
        if not run_ids:
            return {}
        return {
            row["run_id"]: row
            for row in self.db.query(
                "select run_id, run_attempt, status, evidence_captured_at from workflow_runs "
                "where repository = ? and run_id in ({})".format(",".join("?" * len(run_ids))),
                [repository, *run_ids],
            )
        }

    def save_runs(self, rows: list[dict]) -> None:
        upsert_all(self.db, "workflow_runs", rows)

    def runs(self, repository: str, run_ids: set[int]) -> list[dict]:
        """The stored runs among `run_ids`, oldest first."""
        if not run_ids:
            return []
        return list(
            self.db.query(
                "select * from workflow_runs where repository = ? and run_id in ({}) order by created_at".format(
                    ",".join("?" * len(run_ids))
                ),
                [repository, *sorted(run_ids)],
            )
        )

    def mark_evidence_captured(self, repository: str, run_id: int, captured_at: str) -> None:
        upsert_all(
            self.db,
            "workflow_runs",
            [{"repository": repository, "run_id": run_id, "evidence_captured_at": captured_at}],
        )

    def deploying_runs_without_jobs(self, repository: str, start: str, end: str) -> list[int]:
        """Runs created in [start, end) of a workflow that deployed to production at least
        once, whose jobs were never captured, oldest first."""
        rows = self.db.query(
            """select r.run_id from workflow_runs r
               where r.repository = :repo and r.created_at >= :start and r.created_at < :end
                 and r.workflow_id in (select w.workflow_id from workflow_runs w join deployments d
                                       on d.repository = w.repository and d.run_id = w.run_id
                                       where w.repository = :repo)
                 and not exists (select 1 from run_captures c where c.repository = r.repository
                                 and c.run_id = r.run_id and c.what = 'jobs')
               order by r.created_at""",
            {"repo": repository, "start": start, "end": end},
        )
        return [row["run_id"] for row in rows]

    # -- evidence of one run -------------------------------------------------------------

    def mark_run_piece(self, repository: str, run_id: int, what: str, captured_at: str) -> None:
        """Record that one piece (`jobs`, `approvals`, `artifacts`) of a run's evidence is stored."""
        upsert_all(
            self.db,
            "run_captures",
            [{"repository": repository, "run_id": run_id, "what": what, "captured_at": captured_at, "detail": None}],
        )

    def save_jobs(self, rows: list[dict]) -> None:
        upsert_all(self.db, "jobs", rows)

    def save_approvals(self, rows: list[dict]) -> None:
        upsert_all(self.db, "approvals", rows)

    def artifact_capture_status(self, artifact_id: int) -> str | None:
        row = self.db.execute("select capture_status from artifacts where artifact_id = ?", [artifact_id]).fetchone()
        return row[0] if row else None

    def captured_artifact_with_digest(self, sha256: str) -> tuple[dict, list[dict]] | None:
        """An artifact already captured with these bytes (SHA-256 hex), and its findings."""
        row = next(
            self.db.query(
                "select * from artifacts where sha256 = ? and capture_status in ('captured', 'not_scan') "
                "order by artifact_id limit 1",
                [sha256],
            ),
            None,
        )
        if row is None:
            return None
        findings = list(
            self.db.query("select * from scan_findings where artifact_id = ? order by seq", [row["artifact_id"]])
        )
        return row, findings

    def save_artifact(self, row: dict, findings: list[dict]) -> None:
        """One transaction: an artifact stored as captured is never fetched again, so a crash
        between the two writes must not leave it without its findings."""
        with self.db.atomic():
            upsert_all(self.db, "artifacts", [row])
            upsert_all(self.db, "scan_findings", findings)

    def note_degraded_lookup(self, row: dict) -> None:
        """Record a piece GraphQL or REST refused (keyed by repository, piece and subject)."""
        upsert_all(self.db, "degraded_lookups", [row])

    def degraded_reasons(self, extraction_id: int) -> list[str]:
        """The distinct refusals one extraction met, e.g. "jobs read over REST: FORBIDDEN … (checks: read)".

        A lookup recorded without a permission was not refused for want of one (GitHub answered
        what the endpoint does not document): its reason names no permission at all."""
        rows = self.db.query(
            "select piece, outcome, coalesce(rest_error, graphql_error) as error, permission, count(*) as lookups "
            "from degraded_lookups where extraction_id = ? group by piece, outcome, permission "
            "order by outcome desc, piece",
            [extraction_id],
        )
        return [
            f"{row['lookups']} {row['piece'].replace('_', ' ')} "
            + ("unavailable" if row["outcome"] == "unavailable" else "read over REST")
            + f" ({row['error']}"
            + (f"; missing permission: {row['permission']})" if row["permission"] else ")")
            for row in rows
        ]

    # -- pull requests and reviews -------------------------------------------------------

    def commit_pull_numbers(self, repository: str, shas: list[str]) -> dict[str, list[int]]:
        """Pull request numbers of the commits among `shas` whose pull requests were looked up."""
        if not shas:
            return {}
        return {
            row["sha"]: json.loads(row["pr_numbers"])
            for row in self.db.query(
                "select sha, pr_numbers from commit_pulls where repository = ? and sha in ({})".format(
                    ",".join("?" * len(shas))
                ),
                [repository, *shas],
            )
        }

    def save_commit_pulls(self, pull_rows: list[dict], commit_row: dict) -> None:
        upsert_all(self.db, "pull_requests", pull_rows)
        upsert_all(self.db, "commit_pulls", [commit_row])

    def pull_request(self, repository: str, number: int) -> dict:
        return self.db.table("pull_requests").get((repository, number))

    def save_reviews(self, repository: str, number: int, rows: list[dict], captured_at: str) -> None:
        upsert_all(self.db, "reviews", rows)
        upsert_all(
            self.db, "pull_requests", [{"repository": repository, "number": number, "reviews_captured_at": captured_at}]
        )

    # -- settings in force and workflow files --------------------------------------------

    def save_branch_snapshots(self, rows: list[dict]) -> None:
        upsert_all(self.db, "branch_snapshots", rows)

    def save_audit_log_read(self, row: dict) -> None:
        upsert_all(self.db, "audit_log_reads", [row])

    def save_audit_log_events(self, rows: list[dict]) -> None:
        upsert_all(self.db, "audit_log_events", rows)

    def known_workflow_files(self, repository: str) -> set[tuple[str, str]]:
        """(path, commit) pairs whose workflow blob was already resolved (or found absent)."""
        return {
            (row["path"], row["commit_sha"])
            for row in self.db.query("select path, commit_sha from workflow_files where repository = ?", [repository])
        }

    def save_workflow_files(self, rows: list[dict]) -> None:
        upsert_all(self.db, "workflow_files", rows)

    def unread_workflow_blobs(self, repository: str) -> list[str]:
        """Blob SHAs of workflow files whose text is not stored yet."""
        return [
            row["blob_sha"]
            for row in self.db.query(
                "select distinct f.blob_sha from workflow_files f left join workflow_blobs b "
                "on b.repository = f.repository and b.blob_sha = f.blob_sha "
                "where f.repository = ? and f.blob_sha is not null and b.blob_sha is null order by f.blob_sha",
                [repository],
            )
        ]

    def save_workflow_blobs(self, rows: list[dict]) -> None:
        upsert_all(self.db, "workflow_blobs", rows)
