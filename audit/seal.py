"""Evidence seals: proof of *when* each evidence row was captured, checkable years later.

A package signed at the end of a quarter proves nothing about when its evidence was
gathered: a store rebuilt from doctored rows would sign just as well. So every extraction
run ends by sealing the evidence rows it added, changed or removed:

- each row gets a digest, SHA-256 over a canonical JSON serialisation (`row_digest`);
  binary columns enter as the SHA-256 of their bytes;
- the seal records those (table, key, digest) entries in `sealed_rows`, and in `seals`
  the SHA-256 over them, the previous seal's hash (a chain), the time, the run's identity
  and, when a timestamp authority is configured, an RFC 3161 token over the seal's hash.

`check_seal_chain` recomputes all of it from the store alone and names any row changed,
added or removed after it was sealed, any missing seal and any broken link. Without a TSA
a forger who rewrites the store can rebuild the whole chain; the timestamp tokens (and, in
the scheduled workflow, the attestation of each weekly store) are what fix a seal in time.

Auditors can redo the row digests without our code: see `canonical_row`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import sqlite_utils

from audit import __version__
from audit.errors import UsageError
from audit.store import TABLES, Table, ensure_tables, now_utc, tables_of

SEAL_TABLES: dict[str, Table] = {
    "seals": Table(
        {
            "seal_id": int,
            "extraction_id": int,
            "sealed_at": str,
            "run_identity": str,
            "rows": int,
            "rows_sha256": str,
            "previous_sha256": str,
            "seal_sha256": str,
            "timestamp_token": bytes,
            "tsa_url": str,
        },
        ("seal_id",),
        "log",
    ),
    "sealed_rows": Table(
        {"seal_id": int, "table_name": str, "row_key": str, "row_sha256": str},
        ("seal_id", "table_name", "row_key"),
        "log",
    ),
}
"""The seal chain's own tables, kept apart from the store schema: merge never copies them."""

REMOVED = ""
"""The digest recorded for a row that a run removed."""

_NAMED_ROWS = 10
"""How many changed rows a check names before it only counts the rest."""


def evidence_tables(db: sqlite_utils.Database) -> list[str]:
    """Every table of kind evidence the store has, sorted: the tables seals cover.

    The other kinds record how we worked or what we concluded, not what GitHub said: they
    may change between extraction runs (evaluation rewrites verdicts) and are never sealed.
    """
    return sorted(name for name in tables_of("evidence") if db.table(name).exists())


def canonical_row(table: str, row: dict) -> bytes:
    """The bytes a row digest is taken over: `[table, {column: value}]` as compact JSON.

    Keys sorted, no whitespace, UTF-8; a blob becomes `{"sha256": "<hex>"}`; NULL is null.
    """
    values = {
        column: {"sha256": hashlib.sha256(value).hexdigest()} if isinstance(value, bytes) else value
        for column, value in row.items()
    }
    return json.dumps([table, values], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_digest(table: str, row: dict) -> str:
    """SHA-256 (hex) of `canonical_row`."""
    return hashlib.sha256(canonical_row(table, row)).hexdigest()


def row_key(table: str, row: dict) -> str:
    """The row's primary key values as a JSON list: how seals name a row."""
    return json.dumps([row[column] for column in TABLES[table].key], separators=(",", ":"), ensure_ascii=False)


def rows_digest(entries: list[tuple[str, str, str]]) -> str:
    """SHA-256 over a seal's (table, key, digest) entries, one `table\\tkey\\tdigest\\n` line each, sorted."""
    digest = hashlib.sha256()
    for table, key, value in sorted(entries):
        digest.update(f"{table}\t{key}\t{value}\n".encode())
    return digest.hexdigest()


def seal_digest(seal: dict) -> str:
    """SHA-256 over the seal's own fields, canonical JSON: what the chain links and the TSA stamps."""
    fields = {
        name: seal[name]
        for name in ("seal_id", "extraction_id", "sealed_at", "run_identity", "rows", "rows_sha256", "previous_sha256")
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Seal:
    """One sealed extraction run."""

    seal_id: int
    """1, 2, 3 … in order; a gap means a seal was removed."""

    rows: int
    """Evidence rows the run added, changed or removed."""

    seal_sha256: str
    """The seal's hash (`seal_digest`)."""

    timestamped: bool
    """True when an RFC 3161 token over `seal_sha256` was stored."""

    timestamp_error: str | None = None
    """Why a configured TSA gave no token (the seal is written without one)."""

    @property
    def message(self) -> str:
        """One line for the terminal."""
        stamp = "RFC 3161 timestamped" if self.timestamped else "not timestamped (no AUDIT_TSA_URL)"
        if self.timestamp_error:
            stamp = f"NOT timestamped: {self.timestamp_error}"
        return f"sealed {self.rows} evidence rows: seal {self.seal_id}, SHA-256 {self.seal_sha256[:16]}…, {stamp}"


def run_identity(extraction_id: int | None, api_url: str | None) -> str:
    """Who sealed: the extraction, the tool version and, in GitHub Actions, the workflow run.

    Only public identifiers: never a token or anything secret.
    """
    identity: dict[str, object] = {
        "extraction_id": extraction_id,
        "api_url": api_url,
        "generator_version": __version__,
    }
    if os.environ.get("GITHUB_RUN_ID"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        identity["workflow_run"] = (
            f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{os.environ['GITHUB_RUN_ID']}"
            f"/attempts/{os.environ.get('GITHUB_RUN_ATTEMPT', '1')}"
        )
        identity["workflow_ref"] = os.environ.get("GITHUB_WORKFLOW_REF")
    return json.dumps(identity, sort_keys=True, separators=(",", ":"))


def _current_digests(db: sqlite_utils.Database) -> Iterator[tuple[str, str, str]]:
    for table in evidence_tables(db):
        for row in db[table].rows:
            yield table, row_key(table, row), row_digest(table, row)


def _sealed_digests(conn: sqlite3.Connection) -> dict[tuple[str, str], tuple[str, int]]:
    """(table, key) -> (digest, seal_id) as of the latest seal of each row."""
    latest: dict[tuple[str, str], tuple[str, int]] = {}
    for table, key, digest, seal_id in conn.execute(
        "select table_name, row_key, row_sha256, seal_id from sealed_rows order by seal_id"
    ):
        latest[(table, key)] = (digest, seal_id)
    return latest


def ensure_seal_tables(db: sqlite_utils.Database) -> None:
    ensure_tables(db, SEAL_TABLES)
    db.table("sealed_rows").create_index(["table_name", "row_key"], if_not_exists=True)


def seal_extraction(
    db: sqlite_utils.Database,
    extraction_id: int | None,
    *,
    api_url: str | None = None,
    tsa_url: str | None = None,
) -> Seal:
    """Seal what changed in the store since the last seal; called once at the end of a run.

    A run that changed nothing still writes a seal: it shows the capture ran, and a later
    gap in the weekly chain is then visible.
    """
    ensure_seal_tables(db)
    sealed = _sealed_digests(db.conn)
    entries = []
    seen = set()
    for table, key, digest in _current_digests(db):
        seen.add((table, key))
        if sealed.get((table, key), (None,))[0] != digest:
            entries.append((table, key, digest))
    entries.extend(
        (table, key, REMOVED)
        for (table, key), (digest, _) in sealed.items()
        if (table, key) not in seen and digest != REMOVED
    )
    previous = db.execute("select seal_id, seal_sha256 from seals order by seal_id desc limit 1").fetchone()
    seal_id: int = (previous[0] + 1) if previous else 1
    seal: dict[str, object] = {
        "seal_id": seal_id,
        "extraction_id": extraction_id,
        "sealed_at": now_utc(),
        "run_identity": run_identity(extraction_id, api_url),
        "rows": len(entries),
        "rows_sha256": rows_digest(entries),
        "previous_sha256": previous[1] if previous else None,
    }
    seal_sha256 = seal_digest(seal)
    token: bytes | None = None
    timestamp_error = None
    if tsa_url:
        try:
            token = _timestamp(seal_sha256, tsa_url)
        except UsageError as error:
            # The rows are captured either way; a seal without its token is weaker, and
            # says so, but losing the seal would be worse.
            timestamp_error = str(error)
    seal |= {"seal_sha256": seal_sha256, "timestamp_token": token, "tsa_url": _public_url(tsa_url)}
    with db.atomic():  # the seal and its rows together, or neither
        db.table("seals").insert(seal)
        db.table("sealed_rows").insert_all(
            (
                {"seal_id": seal_id, "table_name": table, "row_key": key, "row_sha256": digest}
                for table, key, digest in entries
            ),
            batch_size=5000,
        )
    return Seal(seal_id, len(entries), seal_sha256, token is not None, timestamp_error)


def _public_url(url: str | None) -> str | None:
    """The TSA's address without user, password or query, which may carry credentials."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", "")) if host else None


def _timestamp(seal_sha256: str, tsa_url: str) -> bytes:
    """An RFC 3161 token (DER ContentInfo) whose message imprint is the seal's hash."""
    from audit.signing.cms import timestamp_errors_as_usage, timestamper_for

    timestamper = timestamper_for(tsa_url)
    assert timestamper is not None
    with timestamp_errors_as_usage(tsa_url):
        token = asyncio.run(timestamper.async_timestamp(bytes.fromhex(seal_sha256), "sha256"))
    return token.dump()


# --- checking ------------------------------------------------------------------------


def check_seal_chain(db_path: Path) -> Iterator[tuple[bool, str]]:
    """(ok, message) lines for the seal chain of the store at `db_path`, opened read-only."""
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as err:
        yield False, f"cannot be opened as SQLite ({err})"
        return
    conn.row_factory = sqlite3.Row
    try:
        yield from _check(conn)
    except sqlite3.DatabaseError as err:
        yield False, f"seals cannot be read ({err})"
    finally:
        conn.close()


def _check(conn: sqlite3.Connection) -> Iterator[tuple[bool, str]]:
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    if not {"seals", "sealed_rows"} <= tables:
        yield False, "no seals: when this evidence was captured cannot be shown"
        return
    seals = [dict(row) for row in conn.execute("select * from seals order by seal_id")]
    if not seals:
        yield False, "no seals: when this evidence was captured cannot be shown"
        return
    entries: dict[int, list[tuple[str, str, str]]] = {}
    for table, key, digest, seal_id in conn.execute("select table_name, row_key, row_sha256, seal_id from sealed_rows"):
        entries.setdefault(seal_id, []).append((table, key, digest))
    problems = list(_chain_problems(seals, entries))
    for problem in problems:
        yield False, problem
    yield from _row_problems(conn, tables, entries)
    timestamped = sum(1 for seal in seals if seal["timestamp_token"])
    if not problems:
        last = seals[-1]
        yield (
            True,
            f"{len(seals)} seals chain intact, {last['sealed_at']} the latest; "
            f"{timestamped} carry an RFC 3161 timestamp over their hash",
        )


def _chain_problems(seals: list[dict], entries: dict[int, list[tuple[str, str, str]]]) -> Iterator[str]:
    previous_hash = None
    expected_id = 1
    for seal in seals:
        seal_id = seal["seal_id"]
        if seal_id != expected_id:
            missing = f"{expected_id}" if seal_id == expected_id + 1 else f"{expected_id}..{seal_id - 1}"
            yield f"seal {missing} missing: a gap in the chain before seal {seal_id}"
        expected_id = seal_id + 1
        if seal["previous_sha256"] != previous_hash:
            yield f"seal {seal_id} does not link to the seal before it (previous hash differs)"
        own = entries.get(seal_id, [])
        if len(own) != seal["rows"] or rows_digest(own) != seal["rows_sha256"]:
            yield f"seal {seal_id}: its sealed rows were altered (rows hash differs)"
        if seal_digest(seal) != seal["seal_sha256"]:
            yield f"seal {seal_id}: the seal record was altered (seal hash differs)"
        if seal["timestamp_token"] and not _token_matches(seal["timestamp_token"], seal["seal_sha256"]):
            yield f"seal {seal_id}: its RFC 3161 timestamp does not match the seal hash or does not verify"
        previous_hash = seal["seal_sha256"]


def _row_problems(
    conn: sqlite3.Connection, tables: set[str], entries: dict[int, list[tuple[str, str, str]]]
) -> Iterator[tuple[bool, str]]:
    sealed: dict[tuple[str, str], tuple[str, int]] = {}
    for seal_id in sorted(entries):
        for table, key, digest in entries[seal_id]:
            sealed[(table, key)] = (digest, seal_id)
    changed, added = [], []
    seen = set()
    for table in sorted(name for name in tables_of("evidence") if name in tables):
        for row in conn.execute(f'select * from "{table}"'):  # noqa: S608 - names from our schema
            values = dict(row)
            key = row_key(table, values)
            seen.add((table, key))
            recorded = sealed.get((table, key))
            if recorded is None or recorded[0] == REMOVED:
                added.append(f"{table} {key}")
            elif recorded[0] != row_digest(table, values):
                changed.append(f"{table} {key} (sealed in seal {recorded[1]})")
    removed = [
        f"{table} {key} (sealed in seal {seal_id})"
        for (table, key), (digest, seal_id) in sealed.items()
        if digest != REMOVED and (table, key) not in seen
    ]
    for what, rows in (
        ("changed after it was sealed", changed),
        ("removed after it was sealed", removed),
        ("never sealed", added),
    ):
        for name in rows[:_NAMED_ROWS]:
            yield False, f"row {name} {what}"
        if len(rows) > _NAMED_ROWS:
            yield False, f"{len(rows) - _NAMED_ROWS} more rows {what}"
    if not (changed or removed or added):
        yield True, f"all {len(seen)} evidence rows match their seals"


def _token_matches(token_der: bytes, seal_sha256: str) -> bool:
    from asn1crypto import cms
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    try:
        signed_data = cms.ContentInfo.load(token_der)["content"]
        expected = bytes.fromhex(seal_sha256)
        status = asyncio.run(
            validate_tst_signed_data(
                signed_data,
                ValidationContext(trust_roots=[], allow_fetching=False),
                lambda algorithm: expected if algorithm == "sha256" else b"",
            )
        )
    except Exception:  # noqa: BLE001 - an unreadable token is a failed check
        return False
    return bool(status.get("intact") and status.get("valid"))


def seal_timestamps(db: sqlite_utils.Database) -> dict[tuple[str, int], str]:
    """(repository, run_id) -> time of the first seal that covered the run's workflow_runs row."""
    if not (db["seals"].exists() and db["sealed_rows"].exists()):
        return {}
    first: dict[tuple[str, int], str] = {}
    for key, sealed_at in db.execute(
        "select r.row_key, min(s.sealed_at) from sealed_rows r join seals s using (seal_id) "
        "where r.table_name = 'workflow_runs' and r.row_sha256 != '' group by r.row_key"
    ):
        repository, run_id = json.loads(key)
        first[(repository, run_id)] = sealed_at
    return first


# --- the report's seal timeline ------------------------------------------------------

DELAY_BUCKETS = ((1, "within a day"), (7, "within a week"), (30, "within 30 days"), (90, "within 90 days"))
"""Upper bounds in days of the delay from deployment to first sealed capture."""

AFTER_PERIOD_LISTED = 50
"""Deployments sealed only after the period that the report lists by name."""


def seal_timeline(db: sqlite_utils.Database, deployments: list[dict], period_end: str) -> dict:
    """When each deployment's evidence was first sealed, for the report.

    Delay = first seal covering the run's `workflow_runs` row − the run's `created_at`.
    A deployment never sealed has no delay (unknown, counted apart). Evidence first sealed
    after the period ended was gathered when it could already have been rebuilt: it is
    counted as weaker evidence.
    """
    first = seal_timestamps(db)
    delays: list[float] = []
    unsealed = 0
    after = []
    end = _instant(period_end)
    for deployment in deployments:
        sealed_at = first.get((deployment["repository"], deployment["run_id"]))
        created_at = deployment.get("created_at")
        if sealed_at is None or created_at is None:
            unsealed += 1
            continue
        sealed = _instant(sealed_at)
        delays.append(max((sealed - _instant(created_at)).total_seconds(), 0) / 86400)
        if sealed >= end:
            after.append(
                {
                    "repository": deployment["repository"],
                    "run_id": deployment["run_id"],
                    "created_at": created_at,
                    "first_sealed_at": sealed_at,
                }
            )
    counts = [0] * (len(DELAY_BUCKETS) + 1)
    for delay in delays:
        counts[next((i for i, (bound, _) in enumerate(DELAY_BUCKETS) if delay <= bound), len(DELAY_BUCKETS))] += 1
    labels = [label for _, label in DELAY_BUCKETS] + [f"after more than {DELAY_BUCKETS[-1][0]} days"]
    buckets = [{"label": label, "count": count} for label, count in zip(labels, counts, strict=True)]
    ordered = sorted(delays)
    return {
        "sealed": len(delays),
        "unsealed": unsealed,
        "median_delay_days": round(ordered[len(ordered) // 2], 2) if ordered else None,
        "max_delay_days": round(ordered[-1], 2) if ordered else None,
        "delay_buckets": buckets,
        "sealed_after_period": len(after),
        "after_period": sorted(after, key=lambda d: (d["created_at"], d["repository"], d["run_id"]))[
            :AFTER_PERIOD_LISTED
        ],
    }


def _instant(value: str) -> datetime:
    """A stored time, aware (one without an offset is UTC)."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
