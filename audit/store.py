"""The SQLite evidence store (sqlite-utils): every GitHub object we captured, as rows.

The store accumulates across quarters and extractions. Rows are keyed by GitHub's own ids
so re-running an extraction upserts instead of duplicating, and evidence once captured is
never replaced by a later fetch that has lost it (GitHub drops deployment statuses after 90
days and artifacts when they expire). Auditors can open the file with `sqlite3` or
Datasette: table and column names say what they hold, and `raw` columns keep GitHub's JSON.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sqlite_utils

from audit.errors import UsageError
from audit.times import utc_now

Kind = Literal["evidence", "state", "log", "derived"]


@dataclass(frozen=True)
class Table:
    """A table's columns, key and kind; merge and invalidation follow from the kind.

    evidence  what GitHub showed us: merged by key, the row holding more evidence wins;
              sealed (audit/seal.py) at the end of every capture run
    state     how the capture listed and what it may re-ask conditionally (listing windows,
              ETags): merged by key as evidence is, never sealed, since every run rewrites it
    log       numbered per store (extractions and their queries; the seal chain's `seals` and
              `sealed_rows`, declared in audit/seal.py; `merged_extractions`, declared in
              audit/merge.py): never merged row by row; merge renumbers extractions and
              ends with a seal of its own
    derived   recomputed from the evidence by `evaluate`: never merged, and dropped for a
              quarter whose evidence changed
    """

    columns: dict[str, type]
    key: tuple[str, ...]
    kind: Kind = "evidence"


TABLES: dict[str, Table] = {
    "extractions": Table(
        {
            "extraction_id": int,
            "started_at": str,
            "finished_at": str,
            "quarter": str,
            "api_url": str,
            "demo": int,
            "repositories": str,
            "generator_version": str,
            "requests": int,
        },
        ("extraction_id",),
        "log",
    ),
    "extraction_log": Table(
        {
            "log_id": int,
            "extraction_id": int,
            "repository": str,
            "query": str,
            "params": str,
            "started_at": str,
            "total_count": int,
            "rows": int,
            "requests": int,
            "rate_remaining": int,
            "not_modified": int,
        },
        ("log_id",),
        "log",
    ),
    "run_windows": Table(
        {
            "repository": str,
            "window_start": str,
            "window_end": str,
            "total_count": int,
            "fetched": int,
            "etag": str,
            "captured_at": str,
        },
        ("repository", "window_start", "window_end"),
        "state",
    ),
    "conditional_requests": Table(
        {"key": str, "etag": str, "captured_at": str},
        ("key",),
        "state",
    ),
    "repositories": Table(
        {
            "full_name": str,
            "default_branch": str,
            "private": int,
            "html_url": str,
            "captured_at": str,
            "raw": str,
        },
        ("full_name",),
    ),
    "environment_snapshots": Table(
        {
            "repository": str,
            "environment": str,
            "captured_at": str,
            "required_reviewers": int,
            "reviewers": str,
            "prevent_self_review": int,
            "wait_timer": int,
            "branch_policy": str,
            "raw": str,
        },
        ("repository", "environment", "captured_at"),
    ),
    "workflow_runs": Table(
        {
            "repository": str,
            "run_id": int,
            "run_attempt": int,
            "workflow_id": int,
            "workflow_name": str,
            "path": str,
            "event": str,
            "status": str,
            "conclusion": str,
            "head_branch": str,
            "head_sha": str,
            "actor": str,
            "triggering_actor": str,
            "created_at": str,
            "updated_at": str,
            "run_started_at": str,
            "html_url": str,
            "captured_at": str,
            "evidence_captured_at": str,
            "raw": str,
        },
        ("repository", "run_id"),
    ),
    "jobs": Table(
        {
            "job_id": int,
            "repository": str,
            "run_id": int,
            "run_attempt": int,
            "name": str,
            "status": str,
            "conclusion": str,
            "started_at": str,
            "completed_at": str,
            "html_url": str,
            "captured_at": str,
        },
        ("job_id",),
    ),
    "approvals": Table(
        {
            "repository": str,
            "run_id": int,
            "seq": int,
            "user": str,
            "state": str,
            "comment": str,
            "environments": str,
            "captured_at": str,
        },
        ("repository", "run_id", "seq"),
    ),
    "run_captures": Table(
        {"repository": str, "run_id": int, "what": str, "captured_at": str, "detail": str},
        ("repository", "run_id", "what"),
    ),
    "degraded_lookups": Table(
        {
            "repository": str,
            "piece": str,
            "subject": str,
            "outcome": str,
            "graphql_error": str,
            "rest_error": str,
            "permission": str,
            "quarter": str,
            "extraction_id": int,
            "captured_at": str,
        },
        ("repository", "piece", "subject"),
    ),
    "deployments": Table(
        {
            "deployment_id": int,
            "repository": str,
            "environment": str,
            "sha": str,
            "ref": str,
            "task": str,
            "creator": str,
            "created_at": str,
            "run_id": int,
            "job_id": int,
            "run_link": str,
            "statuses_captured_at": str,
            "statuses_final": int,
            "captured_at": str,
            "raw": str,
        },
        ("deployment_id",),
    ),
    "deployment_statuses": Table(
        {
            "status_key": str,
            "status_id": int,
            "node_id": str,
            "deployment_id": int,
            "repository": str,
            "state": str,
            "created_at": str,
            "creator": str,
            "description": str,
            "target_url": str,
            "log_url": str,
            "captured_at": str,
        },
        ("status_key",),
    ),
    "commit_pulls": Table(
        {"repository": str, "sha": str, "pr_numbers": str, "captured_at": str},
        ("repository", "sha"),
    ),
    "pull_requests": Table(
        {
            "repository": str,
            "number": int,
            "title": str,
            "author": str,
            "state": str,
            "merged_at": str,
            "merge_commit_sha": str,
            "head_sha": str,
            "base_ref": str,
            "html_url": str,
            "captured_at": str,
            "reviews_captured_at": str,
            "labels": str,
        },
        ("repository", "number"),
    ),
    "reviews": Table(
        {
            "review_id": int,
            "repository": str,
            "pr_number": int,
            "user": str,
            "state": str,
            "submitted_at": str,
            "commit_id": str,
            "author_association": str,
            "captured_at": str,
        },
        ("review_id",),
    ),
    "artifacts": Table(
        {
            "artifact_id": int,
            "repository": str,
            "run_id": int,
            "name": str,
            "size_in_bytes": int,
            "created_at": str,
            "expires_at": str,
            "expired": int,
            "capture_status": str,
            "capture_detail": str,
            "scan_format": str,
            "sha256": str,
            "captured_at": str,
            "content": bytes,
            "scan_gaps": str,
            "scan_recovered": str,
        },
        ("artifact_id",),
    ),
    "scan_findings": Table(
        {
            "artifact_id": int,
            "seq": int,
            "repository": str,
            "tool": str,
            "severity": str,
            "rule_id": str,
            "title": str,
            "location": str,
        },
        ("artifact_id", "seq"),
    ),
    "branch_snapshots": Table(
        {
            "repository": str,
            "branch": str,
            "captured_at": str,
            "source": str,
            "readable": int,
            "detail": str,
            "required_reviews": int,
            "dismiss_stale_reviews": int,
            "required_checks": str,
            "raw": str,
        },
        ("repository", "branch", "captured_at", "source"),
    ),
    "audit_log_reads": Table(
        {
            "organization": str,
            "captured_at": str,
            "since": str,
            "readable": int,
            "events": int,
            "detail": str,
        },
        ("organization", "captured_at"),
    ),
    "audit_log_events": Table(
        {
            "document_id": str,
            "organization": str,
            "repository": str,
            "created_at": str,
            "action": str,
            "actor": str,
            "subject": str,
            "captured_at": str,
            "raw": str,
        },
        ("document_id",),
    ),
    "workflow_files": Table(
        {"repository": str, "path": str, "commit_sha": str, "blob_sha": str, "captured_at": str},
        ("repository", "path", "commit_sha"),
    ),
    "workflow_blobs": Table(
        {"repository": str, "blob_sha": str, "text": str, "captured_at": str},
        ("repository", "blob_sha"),
    ),
    "evaluations": Table(
        {"quarter": str, "evaluated_at": str, "settings": str, "population": int, "demo": int},
        ("quarter",),
        "derived",
    ),
    "population": Table(
        {
            "quarter": str,
            "repository": str,
            "run_id": int,
            "environment": str,
            "deployment_id": int,
            "facts": str,
            "emergency_review": str,
        },
        ("quarter", "repository", "run_id", "environment"),
        "derived",
    ),
    "verdicts": Table(
        {
            "quarter": str,
            "repository": str,
            "run_id": int,
            "environment": str,
            "control_id": str,
            "verdict": str,
            "detail": str,
            "evidence": str,
        },
        ("quarter", "repository", "run_id", "environment", "control_id"),
        "derived",
    ),
}

INDEXES = (
    ("workflow_runs", ["repository", "created_at"]),
    ("jobs", ["repository", "run_id"]),
    ("deployments", ["repository", "run_id"]),
    ("deployment_statuses", ["deployment_id"]),
    ("deployment_statuses", ["status_id"]),
    ("reviews", ["repository", "pr_number"]),
    ("artifacts", ["repository", "run_id"]),
    ("artifacts", ["sha256"]),
    ("verdicts", ["quarter", "control_id", "verdict"]),
)


def default_db_path() -> Path:
    return Path(os.environ.get("AUDIT_DB") or "output/evidence.db")


def open_store(path: str | os.PathLike | None = None, *, create: bool = True) -> sqlite_utils.Database:
    """Open (and create or migrate) the evidence store at `path`."""
    db_path = Path(path) if path else default_db_path()
    if not create and not db_path.exists():
        raise UsageError(f"evidence store {db_path} does not exist: run `soc2-audit extract` first")
    if db_path.is_dir():
        raise UsageError(f"evidence store {db_path} is a directory, expected an SQLite file")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite_utils.Database(db_path)
        ensure_schema(db)
    except sqlite3.DatabaseError as error:
        raise UsageError(f"{db_path} is not an evidence store ({error})") from None
    return db


CAPTURE_TIME_COLUMNS = frozenset(
    column for table in TABLES.values() for column in table.columns if column.endswith("captured_at")
)
"""The columns saying when a row, or a part of it, was captured: all two captures of the
same GitHub may differ in."""

RUN_EVIDENCE_TABLES = (
    "workflow_runs",
    "deployments",
    "deployment_statuses",
    "jobs",
    "approvals",
    "run_captures",
    "commit_pulls",
    "pull_requests",
    "reviews",
    "artifacts",
    "scan_findings",
)
"""The evidence tables a capture fills per production run, whatever its mode (batched
GraphQL, REST only, one request at a time): two captures of one GitHub agree on them (but for a
deployment status's `status_id` and `target_url`, which GraphQL does not give). The
other evidence is per repository or organisation, some of it read through GraphQL only."""


def tables_of(*kinds: Kind) -> tuple[str, ...]:
    """The names of every table of these kinds, in declaration order."""
    return tuple(name for name, table in TABLES.items() if table.kind in kinds)


def _drop_orphaned_derived_rows(db: sqlite_utils.Database) -> None:
    """Version 2: derived rows of a quarter with no evaluation are stale (merge once copied
    `population` as evidence and left it behind when it removed the evaluation)."""
    for name in tables_of("derived"):
        if name != "evaluations" and db[name].exists():
            db.execute(f"delete from [{name}] where quarter not in (select quarter from evaluations)")


def _key_statuses_by_node_id(db: sqlite_utils.Database) -> None:
    """Version 3: deployment statuses are keyed by `status_key`, the node id that REST and
    GraphQL both give (GraphQL gives no database id). Rows stored before keep their database
    id as key until a REST capture of the same status re-keys them (`save_statuses`)."""
    table = db.table("deployment_statuses")
    if table.pks == ["status_key"]:
        return
    db.execute("update deployment_statuses set status_key = cast(status_id as text) where status_key is null")
    table.transform(pk="status_key", not_null={"status_key": True, "status_id": False})
    for name, columns in INDEXES:
        if name == "deployment_statuses":
            table.create_index(columns, if_not_exists=True)


def _drop_evaluations_without_facts(db: sqlite_utils.Database) -> None:
    """Version 4: the population keeps what the report lists of each deployment (`facts`,
    `emergency_review`, written by evaluate); a quarter evaluated before has none, so its
    derived rows are dropped and the next render asks for `soc2-audit evaluate` again."""
    stale = json.dumps([row[0] for row in db.execute("select distinct quarter from population where facts is null")])
    for name in tables_of("derived"):
        db.execute(f"delete from [{name}] where quarter in (select value from json_each(?))", [stale])


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _drop_orphaned_derived_rows,
    _key_statuses_by_node_id,
    _drop_evaluations_without_facts,
)
"""Data changes between schema versions: MIGRATIONS[i] upgrades version i + 1 to i + 2.

Tables and columns need no entry: `ensure_schema` creates any that `TABLES` declares and a
store lacks. A change to what stored rows mean appends a function here."""

SCHEMA_VERSION = 1 + len(MIGRATIONS)


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create missing tables, columns and indexes, then run the migrations the store has not seen.

    Existing rows are left alone except by a migration. A store written by a newer
    soc2-audit (a higher version) is refused rather than misread.
    """
    db.execute("PRAGMA journal_mode=WAL") if not db.memory else None
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"evidence store has schema version {version}, newer than this soc2-audit's {SCHEMA_VERSION}: upgrade"
        )
    fresh = not db.table_names()
    with db.conn:
        ensure_tables(db, TABLES)
        for name, columns in INDEXES:
            db.table(name).create_index(columns, if_not_exists=True)
        if not fresh:
            for migration in MIGRATIONS[max(version, 1) - 1 :]:
                migration(db)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def ensure_tables(db: sqlite_utils.Database, tables: dict[str, Table]) -> None:
    """Create the declared tables the store lacks, and the declared columns its tables lack
    (NULL in existing rows: unknown)."""
    for name, table in tables.items():
        handle = db.table(name)
        if not handle.exists():
            handle.create(table.columns, pk=table.key[0] if len(table.key) == 1 else table.key, not_null=set(table.key))
            continue
        present = handle.columns_dict
        for column, column_type in table.columns.items():
            if column not in present:
                handle.add_column(column, column_type)


def now_utc() -> str:
    """Capture time in ISO 8601 UTC, second precision."""
    return utc_now().isoformat()


def to_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def upsert_all(db: sqlite_utils.Database, table: str, rows: Iterable[dict]) -> None:
    """Insert or update rows by the table's primary key."""
    rows = list(rows)
    if rows:
        key = TABLES[table].key
        db.table(table).upsert_all(rows, pk=key[0] if len(key) == 1 else key)


def snapshot(db: sqlite_utils.Database, destination: Path) -> None:
    """Write a consistent copy of the store with SQLite's online backup API."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        destination.unlink()
    target = sqlite3.connect(destination)
    try:
        db.conn.backup(target)
    finally:
        target.close()


_HELD_LOCKS: dict[Path, int] = {}
"""Writer locks this process holds, with their nesting depth (report holds it around extract)."""


@contextmanager
def writer_lock(path: str | os.PathLike | None = None) -> Iterator[None]:
    """Hold the store's writer lock: an exclusive `flock` on `<db>.lock` beside it.

    Two extractions writing one store at once would interleave their extraction logs and
    race on the same rows; the second one stops at once with a clear message instead. The
    kernel releases the lock when the holder exits, however it exits (SIGKILL included), so
    a crashed run never leaves a stale lock. The lock file itself stays; removing it would
    let a third process lock a different inode.
    """
    db_path = Path(path) if path else default_db_path()
    lock_path = db_path.with_name(db_path.name + ".lock").resolve()
    if lock_path in _HELD_LOCKS:
        _HELD_LOCKS[lock_path] += 1
        try:
            yield
        finally:
            _HELD_LOCKS[lock_path] -= 1
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise UsageError(
                f"evidence store {db_path} is being written by another extraction (pid {holder}): try again later"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _HELD_LOCKS[lock_path] = 1
        try:
            yield
        finally:
            del _HELD_LOCKS[lock_path]
            fcntl.flock(handle, fcntl.LOCK_UN)
