"""Evidence seals: every extraction run seals what it captured; the chain names any row
changed, added or removed afterwards, any missing seal and any broken link."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit.seal import canonical_row, check_seal_chain, row_digest, seal_extraction
from audit.store import TABLES, open_store, snapshot, tables_of, upsert_all
from tests.signing.conftest import workflow_run, write_sealed_store


def problems(db_path: Path) -> list[str]:
    return [message for ok, message in check_seal_chain(db_path) if not ok]


@pytest.fixture
def store(tmp_path) -> Path:
    return write_sealed_store(tmp_path / "evidence.db")


def execute(db_path: Path, sql: str, *args) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(sql, args)
    conn.close()


def test_untouched_chain_holds(store):
    results = list(check_seal_chain(store))
    assert all(ok for ok, _ in results), results
    assert any("2 seals chain intact" in message for _, message in results)


def test_each_seal_holds_only_what_its_run_changed(store):
    conn = sqlite3.connect(store)
    sealed = conn.execute("select seal_id, row_key from sealed_rows order by seal_id").fetchall()
    assert sealed == [(1, '["acme/api",101]'), (2, '["acme/api",102]')]
    first, second = conn.execute("select seal_sha256, previous_sha256 from seals order by seal_id").fetchall()
    assert first[1] is None and second[1] == first[0]


def test_changed_row_is_named(store):
    execute(store, "update workflow_runs set head_branch = 'hotfix' where run_id = 102")
    assert problems(store) == ['row workflow_runs ["acme/api",102] (sealed in seal 2) changed after it was sealed']


def test_removed_and_added_rows_are_named(store):
    execute(store, "delete from workflow_runs where run_id = 101")
    execute(store, "insert into workflow_runs (repository, run_id) values ('acme/api', 103)")
    assert problems(store) == [
        'row workflow_runs ["acme/api",101] (sealed in seal 1) removed after it was sealed',
        'row workflow_runs ["acme/api",103] never sealed',
    ]


def test_missing_seal_is_a_gap(store):
    execute(store, "delete from sealed_rows where seal_id = 1")
    execute(store, "delete from seals where seal_id = 1")
    found = problems(store)
    assert "seal 1 missing: a gap in the chain before seal 2" in found
    assert "seal 2 does not link to the seal before it (previous hash differs)" in found


def test_rewritten_seal_record_is_caught(store):
    execute(store, "update seals set sealed_at = '2024-04-07T00:00:00+00:00' where seal_id = 2")
    assert problems(store) == ["seal 2: the seal record was altered (seal hash differs)"]


def test_forger_who_also_reseals_the_row_breaks_the_rows_hash(store):
    execute(store, "update workflow_runs set actor = 'mallory' where run_id = 101")
    conn = sqlite3.connect(store)
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("select * from workflow_runs where run_id = 101").fetchone())
    conn.close()
    execute(store, "update sealed_rows set row_sha256 = ? where seal_id = 1", row_digest("workflow_runs", row))
    assert problems(store) == ["seal 1: its sealed rows were altered (rows hash differs)"]


def test_unsealed_store_cannot_show_when_evidence_was_captured(tmp_path):
    db = open_store(tmp_path / "work.db")
    upsert_all(db, "workflow_runs", [workflow_run(101)])
    snapshot(db, tmp_path / "evidence.db")
    assert problems(tmp_path / "evidence.db") == ["no seals: when this evidence was captured cannot be shown"]


def test_a_run_that_changed_nothing_still_seals(tmp_path):
    db = open_store(tmp_path / "work.db")
    upsert_all(db, "workflow_runs", [workflow_run(101)])
    assert seal_extraction(db, 1).rows == 1
    assert seal_extraction(db, 2).rows == 0
    assert db.execute("select count(*) from seals").fetchone()[0] == 2


def test_a_seal_is_written_with_its_rows_or_not_at_all(tmp_path, monkeypatch):
    """sqlite-utils commits each insert on its own unless a transaction is open: a seal whose
    rows failed to be written would be left claiming rows the store does not hold."""
    db = open_store(tmp_path / "work.db")
    upsert_all(db, "workflow_runs", [workflow_run(101)])
    seal_extraction(db, 1)
    upsert_all(db, "workflow_runs", [workflow_run(102)])
    insert_all = type(db.table("sealed_rows")).insert_all

    def failing(table, records, *args, **kwargs):
        if table.name == "sealed_rows":
            raise sqlite3.OperationalError("disk I/O error")
        return insert_all(table, records, *args, **kwargs)

    monkeypatch.setattr(type(db.table("sealed_rows")), "insert_all", failing)
    with pytest.raises(sqlite3.OperationalError):
        seal_extraction(db, 2)
    assert db.execute("select count(*) from seals").fetchone()[0] == 1


def test_seals_cover_the_tables_declared_evidence_and_no_other(tmp_path):
    """One row in every declared table: the seal holds one row of each evidence table, none of the rest."""
    db = open_store(tmp_path / "work.db")
    for name, table in TABLES.items():
        upsert_all(db, name, [{column: 1 if table.columns[column] is int else "x" for column in table.key}])
    seal_extraction(db, 1)
    sealed = [row[0] for row in db.execute("select table_name from sealed_rows order by table_name")]
    assert sealed == sorted(tables_of("evidence"))
    assert {"run_windows", "conditional_requests", "extractions", "verdicts"}.isdisjoint(sealed)


def test_canonical_row_is_documented_json_with_blobs_as_digests():
    assert canonical_row("artifacts", {"artifact_id": 7, "content": b"abc", "name": None}) == (
        b'["artifacts",{"artifact_id":7,"content":'
        b'{"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},"name":null}]'
    )


def test_timestamped_seals_carry_a_token_over_the_seal_hash(tmp_path, live_tsa_url):
    store = write_sealed_store(tmp_path / "evidence.db", tsa_url=live_tsa_url)
    results = list(check_seal_chain(store))
    assert all(ok for ok, _ in results), results
    assert any("2 carry an RFC 3161 timestamp" in message for _, message in results)
    conn = sqlite3.connect(store)
    token = conn.execute("select timestamp_token from seals where seal_id = 1").fetchone()[0]
    conn.close()
    execute(store, "update seals set timestamp_token = ? where seal_id = 2", token)
    assert problems(store) == ["seal 2: its RFC 3161 timestamp does not match the seal hash or does not verify"]


def test_credentials_in_the_tsa_url_never_reach_the_store(tmp_path, live_tsa_url):
    with_secret = live_tsa_url.replace("http://", "http://user:s3cret-canary@") + "?key=s3cret-canary"
    db = open_store(tmp_path / "work.db")
    upsert_all(db, "workflow_runs", [workflow_run(101)])
    assert seal_extraction(db, 1, tsa_url=with_secret).timestamped
    db.close()
    assert b"s3cret-canary" not in (tmp_path / "work.db").read_bytes()
    for wal in tmp_path.glob("work.db-*"):
        assert b"s3cret-canary" not in wal.read_bytes()


def test_unreachable_tsa_still_seals_and_says_so(tmp_path):
    db = open_store(tmp_path / "work.db")
    upsert_all(db, "workflow_runs", [workflow_run(101)])
    seal = seal_extraction(db, 1, tsa_url="http://127.0.0.1:9/tsa")
    assert not seal.timestamped and "NOT timestamped" in seal.message and "AUDIT_TSA_URL" in seal.message


def test_seal_timeline_counts_delays_and_weaker_evidence(tmp_path, monkeypatch):
    from audit import seal as seal_module

    db = open_store(tmp_path / "work.db")
    upsert_all(db, "workflow_runs", [workflow_run(101, created_at="2024-04-02T10:00:00Z")])
    monkeypatch.setattr(seal_module, "now_utc", lambda: "2024-04-02T22:00:00+00:00")
    seal_extraction(db, 1)
    upsert_all(db, "workflow_runs", [workflow_run(102, created_at="2024-06-20T10:00:00Z")])
    monkeypatch.setattr(seal_module, "now_utc", lambda: "2024-07-05T10:00:00+00:00")
    seal_extraction(db, 2)
    deployments = [
        {"repository": "acme/api", "run_id": 101, "created_at": "2024-04-02T10:00:00Z"},
        {"repository": "acme/api", "run_id": 102, "created_at": "2024-06-20T10:00:00Z"},
        {"repository": "acme/api", "run_id": 103, "created_at": "2024-06-30T10:00:00Z"},
    ]
    timeline = seal_module.seal_timeline(db, deployments, "2024-07-01T00:00:00+00:00")
    assert timeline["sealed"] == 2 and timeline["unsealed"] == 1
    assert [bucket["count"] for bucket in timeline["delay_buckets"]] == [1, 0, 1, 0, 0]
    assert timeline["max_delay_days"] == 15.0
    assert timeline["sealed_after_period"] == 1
    assert timeline["after_period"] == [
        {
            "repository": "acme/api",
            "run_id": 102,
            "created_at": "2024-06-20T10:00:00Z",
            "first_sealed_at": "2024-07-05T10:00:00+00:00",
        }
    ]
