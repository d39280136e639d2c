"""Merge evidence stores: the union of every table, by primary key, with no duplicates.

At organisation scale the scheduled capture shards repositories across a matrix of jobs,
each writing its own store; `soc2-audit merge --into evidence.db shard-*.db` then folds
them into the durable store. Merging the same source twice changes nothing.

The rule, by the kind each table declares in `audit.store.TABLES` (SQL below, so an
auditor can read it), for evidence and state tables first:

* A row whose key is not in the target is copied.
* A row whose key is in the target replaces it only when it ranks strictly higher;
  on a tie the target's row stays. The rank puts captured evidence first, so evidence
  once captured is never overwritten by an emptier row (a later capture that found
  GitHub's copy gone), then the later observation (`captured_at`):

  ====================  ================================================================
  table                 rank, compared left to right
  ====================  ================================================================
  workflow_runs         run_attempt (a re-run starts over, as in `extract`),
                        evidence_captured_at set, captured_at
  deployments           statuses_captured_at set, statuses_final, run_id set,
                        statuses_captured_at, captured_at
  artifacts             capture_status captured/not_scan, content kept, captured_at
  pull_requests         reviews_captured_at set, merged_at set, captured_at
  jobs                  completed_at set, captured_at
  deployment_statuses   status_id set (REST gives it, GraphQL not), captured_at
  other tables          captured_at (GitHub objects with their own ids, or snapshots
                        whose key includes the capture time); scan_findings has none,
                        so a row already in the target always stays
  ====================  ================================================================

* `scan_findings` follow their artifact: when an artifact row is replaced, its findings
  are replaced by the source's.
* `extractions` are identified by what they were (start time, quarter, API, repository
  list), not by their number, which every shard counts from the same base. A new one gets
  the next free `extraction_id` in the target, its `extraction_log` rows are copied with
  fresh `log_id`s, and `merged_extractions` records where it came from (source file name
  and its id there), so every log row stays traceable to the shard that made it. Merged
  rows that name their extraction (an `extraction_id` column, e.g. `degraded_lookups`)
  are renumbered the same way.
* Derived tables (`evaluations`, `population`, `verdicts`: kind "derived" in
  `audit.store.TABLES`) are never copied, and when a merge changes any evidence, their rows
  for the quarters the sources extracted are removed, since they no longer describe the
  store. Run `evaluate` (or `report`) afterwards.

Everything happens in one transaction: a merge is applied whole or not at all. Seals
(audit.seal) are each store's own chain and are never copied: a merge that changed anything
ends with a seal of its own over the rows it added or replaced.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from audit.errors import UsageError
from audit.seal import seal_extraction
from audit.store import TABLES, Table, ensure_tables, now_utc, open_store, tables_of, writer_lock

REQUIRED_TABLES = ("extractions", "extraction_log", "workflow_runs")
"""Tables every evidence store has; a table added to the store later may be missing from an older one."""

RANKS: dict[str, str] = {
    "workflow_runs": (
        "coalesce({t}.run_attempt, 0), {t}.evidence_captured_at is not null, coalesce({t}.captured_at, '')"
    ),
    "deployments": (
        "{t}.statuses_captured_at is not null, coalesce({t}.statuses_final, 0), {t}.run_id is not null, "
        "coalesce({t}.statuses_captured_at, ''), coalesce({t}.captured_at, '')"
    ),
    "artifacts": (
        "coalesce({t}.capture_status in ('captured', 'not_scan'), 0), {t}.content is not null, "
        "coalesce({t}.captured_at, '')"
    ),
    "pull_requests": ("{t}.reviews_captured_at is not null, {t}.merged_at is not null, coalesce({t}.captured_at, '')"),
    "jobs": "{t}.completed_at is not null, coalesce({t}.captured_at, '')",
    "deployment_statuses": "{t}.status_id is not null, coalesce({t}.captured_at, '')",
}
"""Per table, the SQL row value a candidate row must exceed to replace the target's row."""

DEFAULT_RANK = "coalesce({t}.captured_at, '')"

MERGED_EXTRACTIONS = "merged_extractions"
MERGE_TABLES: dict[str, Table] = {
    MERGED_EXTRACTIONS: Table(
        {"extraction_id": int, "source": str, "source_extraction_id": int, "merged_at": str},
        ("extraction_id",),
        "log",
    ),
}
"""Where each extraction copied in by a merge came from: made by the first merge into a store."""

_EXTRACTION_IDENTITY = ("started_at", "quarter", "api_url", "repositories")


@dataclass
class MergeSummary:
    """What one merge did, per table: rows copied in and rows replaced by a better one."""

    sources: list[str]
    inserted: dict[str, int] = field(default_factory=dict)
    """Rows whose key was new to the target."""
    replaced: dict[str, int] = field(default_factory=dict)
    """Rows of the target replaced by a source row that holds more evidence or is newer."""
    extractions: int = 0
    """Extractions new to the target (their log rows are renumbered)."""
    invalidated_quarters: list[str] = field(default_factory=list)
    """Quarters whose stored evaluation was removed because the evidence changed."""

    @property
    def changed(self) -> bool:
        return self.extractions > 0 or any(self.inserted.values()) or any(self.replaced.values())


def merge_stores(target_path: Path, sources: list[Path]) -> MergeSummary:
    """Fold every source store into the store at `target_path` (created if missing)."""
    target_path = Path(target_path)
    readers: list[sqlite3.Connection] = []
    try:
        for source in sources:
            readers.append(_open_source(Path(source), target_path))
        with writer_lock(target_path):  # no extraction writes the target meanwhile
            summary = _merge(target_path, list(zip(sources, readers, strict=True)))
            if summary.changed:
                _seal(target_path)
            return summary
    finally:
        for reader in readers:
            reader.close()


def _seal(target_path: Path) -> None:
    """A merge is a capture run for the target: it seals the rows it added or replaced."""
    db = open_store(target_path)
    try:
        seal_extraction(db, None, tsa_url=os.environ.get("AUDIT_TSA_URL") or None)
    finally:
        db.close()


def _merge(target_path: Path, sources: list[tuple[Path, sqlite3.Connection]]) -> MergeSummary:
    db = open_store(target_path)
    summary = MergeSummary([str(source) for source, _ in sources])
    conn = db.conn
    quarters: set[str] = set()
    conn.execute("BEGIN IMMEDIATE")
    try:
        ensure_tables(db, MERGE_TABLES)
        for source, reader in sources:
            quarters |= {row[0] for row in reader.execute("select distinct quarter from extractions")}
            extraction_ids = _merge_extractions(conn, reader, Path(source), summary)
            present = {row[0] for row in reader.execute("select name from sqlite_master where type = 'table'")}
            for table in tables_of("evidence", "state"):
                if table in present:
                    _merge_table(conn, reader, table, extraction_ids, summary)
        if summary.changed:
            summary.invalidated_quarters = _invalidate_evaluations(conn, quarters)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        db.close()
    return summary


# -- sources --------------------------------------------------------------------------------


def _open_source(source: Path, target: Path) -> sqlite3.Connection:
    """A read-only connection to a source store, or one clear `UsageError` (exit 2)."""
    if not source.is_file():
        raise UsageError(f"{source} does not exist or is not a file: expected an evidence store")
    if target.exists() and source.resolve() == target.resolve():
        raise UsageError(f"{source} is the merge target itself")
    reader = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        present = {row[0] for row in reader.execute("select name from sqlite_master where type = 'table'")}
        missing = [name for name in REQUIRED_TABLES if name not in present]
        if missing:
            raise UsageError(f"{source} is not an evidence store (no table {', '.join(missing)})")
        for name, table in TABLES.items():
            if name in present and not set(table.key) <= _columns(reader, name):
                raise UsageError(
                    f"{source} is not an evidence store (table {name} lacks its key {', '.join(table.key)})"
                )
    except sqlite3.DatabaseError as error:
        reader.close()
        raise UsageError(f"{source} is not an evidence store ({error})") from None
    except UsageError:
        reader.close()
        raise
    return reader


def _columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> set[str]:
    return {row[1] for row in conn.execute(f"pragma {schema}.table_info([{table}])")}


def _stage(
    conn: sqlite3.Connection,
    reader: sqlite3.Connection,
    table: str,
    columns: list[str],
    extraction_ids: dict[int, int],
) -> str:
    """Copy the source's `table` into a temporary table of the target's connection, its
    `extraction_id`s (if it has them) renumbered to the target's (unknown: NULL).

    Staging (rather than ATTACH) keeps the whole merge in one transaction whatever the
    number of sources: SQLite cannot detach a database inside a transaction and attaches
    at most ten.
    """
    staged = f"incoming_{table}"
    column_list = ", ".join(f"[{c}]" for c in columns)
    conn.execute(f"drop table if exists temp.[{staged}]")
    conn.execute(f"create temp table [{staged}] ({column_list})")
    rows: Iterable[tuple] = reader.execute(f"select {column_list} from [{table}]")
    if "extraction_id" in columns:
        at = columns.index("extraction_id")
        rows = (row[:at] + (extraction_ids.get(row[at]),) + row[at + 1 :] for row in rows)
    placeholders = ", ".join("?" for _ in columns)
    conn.executemany(f"insert into temp.[{staged}] values ({placeholders})", rows)
    return f"temp.[{staged}]"


# -- tables ----------------------------------------------------------------------------------


def _merge_table(
    conn: sqlite3.Connection,
    reader: sqlite3.Connection,
    table: str,
    extraction_ids: dict[int, int],
    summary: MergeSummary,
) -> None:
    pk = TABLES[table].key
    columns = sorted(_columns(conn, table) & _columns(reader, table))
    staged = _stage(conn, reader, table, columns, extraction_ids)
    column_list = ", ".join(f"[{c}]" for c in columns)
    selected = ", ".join(f"s.[{c}]" for c in columns)
    joined = " and ".join(f"m.[{c}] = s.[{c}]" for c in pk)
    rank = RANKS.get(table, DEFAULT_RANK if "captured_at" in columns else "0")
    better = f"({rank.format(t='s')}) > ({rank.format(t='m')})"

    if table == "artifacts":
        # Findings belong to the artifact capture that produced them: a replaced artifact
        # brings its own findings (merged next, scan_findings comes after artifacts).
        conn.execute(
            f"""delete from main.scan_findings where artifact_id in (
                    select s.artifact_id from {staged} s join main.artifacts m on {joined} where {better})"""
        )
    before = conn.total_changes
    conn.execute(
        f"""insert or replace into main.[{table}] ({column_list})
            select {selected} from {staged} s join main.[{table}] m on {joined} where {better}"""
    )
    summary.replaced[table] = summary.replaced.get(table, 0) + conn.total_changes - before
    before = conn.total_changes
    conn.execute(
        f"""insert into main.[{table}] ({column_list})
            select {selected} from {staged} s
            where not exists (select 1 from main.[{table}] m where {joined})"""
    )
    summary.inserted[table] = summary.inserted.get(table, 0) + conn.total_changes - before
    conn.execute(f"drop table {staged}")


def _merge_extractions(
    conn: sqlite3.Connection, reader: sqlite3.Connection, source: Path, summary: MergeSummary
) -> dict[int, int]:
    """Copy the extractions the target does not know, renumbered, with their log rows.

    Returns each source extraction's id in the target (new or known before)."""
    extraction_ids: dict[int, int] = {}
    reader.row_factory = sqlite3.Row
    try:
        extractions = reader.execute("select * from extractions order by started_at, extraction_id").fetchall()
        target_columns = _columns(conn, "extractions")
        log_columns = sorted((_columns(conn, "extraction_log") & _columns(reader, "extraction_log")) - {"log_id"})
        merged_at = now_utc()
        for extraction in extractions:
            row = {key: extraction[key] for key in extraction.keys() if key in target_columns}
            identity = [row.get(c) for c in _EXTRACTION_IDENTITY]
            known = conn.execute(
                "select extraction_id, finished_at from main.extractions where "
                + " and ".join(f"[{c}] is ?" for c in _EXTRACTION_IDENTITY),
                identity,
            ).fetchone()
            if known:
                extraction_ids[row["extraction_id"]] = known[0]
                if known[1] is None and row.get("finished_at"):
                    # Still running when an earlier copy of its store was merged.
                    conn.execute(
                        "update main.extractions set finished_at = ?, requests = ? where extraction_id = ?",
                        [row["finished_at"], row.get("requests"), known[0]],
                    )
                continue
            source_id = row["extraction_id"]
            row["extraction_id"] = conn.execute(
                "select coalesce(max(extraction_id), 0) + 1 from main.extractions"
            ).fetchone()[0]
            extraction_ids[source_id] = row["extraction_id"]
            conn.execute(
                f"insert into main.extractions ({', '.join(f'[{c}]' for c in row)}) "
                f"values ({', '.join('?' for _ in row)})",
                list(row.values()),
            )
            log = reader.execute(
                f"select {', '.join(f'[{c}]' for c in log_columns)} from extraction_log "
                "where extraction_id = ? order by log_id",
                [source_id],
            )
            conn.executemany(
                f"insert into main.extraction_log ({', '.join(f'[{c}]' for c in log_columns)}) "
                f"values ({', '.join('?' for _ in log_columns)})",
                (
                    [row["extraction_id"] if column == "extraction_id" else entry[column] for column in log_columns]
                    for entry in log
                ),
            )
            conn.execute(
                f"insert into main.{MERGED_EXTRACTIONS} (extraction_id, source, source_extraction_id, merged_at) "
                "values (?, ?, ?, ?)",
                [row["extraction_id"], source.name, source_id, merged_at],
            )
            summary.extractions += 1
    finally:
        reader.row_factory = None
    return extraction_ids


def _invalidate_evaluations(conn: sqlite3.Connection, quarters: set[str]) -> list[str]:
    """Remove every derived row of the quarters whose evidence changed; the evaluated ones are named."""
    stale = sorted(row[0] for row in conn.execute("select quarter from main.evaluations") if row[0] in quarters)
    for quarter in sorted(quarters):
        for table in tables_of("derived"):
            conn.execute(f"delete from main.[{table}] where quarter = ?", [quarter])
    return stale
