"""`soc2-audit merge`: the union of evidence stores, without duplicates, never losing evidence.

Real stores come from extracting the demo repository `acme-fintech/ledger` from the fake
GitHub at two moments: on 2024-04-20, when the statuses of 2024-04-01's deployments still
exist, and on 2024-07-01, when GitHub has dropped them (90-day retention). The runs overlap
almost entirely; the merge must keep the early capture of what the late one lost. Edge
cases of the rule are built from rows inserted directly.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from audit.config import Settings
from audit.demo.organisation import start_demo_server
from audit.errors import UsageError
from audit.extract import Extractor, GitHubClient
from audit.merge import merge_stores
from audit.quarter import Quarter
from audit.store import RUN_EVIDENCE_TABLES, SCHEMA_VERSION, TABLES, open_store, tables_of, upsert_all
from tests.conftest import clean_env, run_cli

REPOSITORY = "acme-fintech/ledger"
EARLY = datetime(2024, 4, 20, 6, tzinfo=UTC)
LATE = datetime(2024, 7, 1, 6, tzinfo=UTC)
SHARD_TIMES = {"shard-1.db": datetime(2024, 5, 1, 6, tzinfo=UTC), "shard-2.db": datetime(2024, 5, 8, 6, tzinfo=UTC)}
MERGED_TABLES = tables_of("evidence", "state")


def extract(path: Path, as_of: datetime) -> None:
    """Capture 2024Q2 of the ledger repository into `path` as the fake GitHub is at `as_of`."""
    server = start_demo_server(as_of)
    try:
        client = GitHubClient(server.base_url, None, throttle=None)
        try:
            db = open_store(path)
            Extractor(db, client, Settings(), Quarter(2024, 2), demo=True).run([REPOSITORY])
            db.close()
        finally:
            client.close()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """early.db, late.db (same runs, statuses of 2024-04-01 lost) and two shards of early.db."""
    tmp = tmp_path_factory.mktemp("merge-stores")
    extract(tmp / "early.db", EARLY)
    extract(tmp / "late.db", LATE)
    for name, as_of in SHARD_TIMES.items():
        shutil.copy(tmp / "early.db", tmp / name)  # each shard starts from the durable store
        extract(tmp / name, as_of)
    return tmp


def keys(path: Path, table: str) -> set[tuple]:
    pk = ", ".join(TABLES[table].key)
    with sqlite3.connect(path) as conn:
        return set(conn.execute(f"select {pk} from [{table}]"))


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: two equal dumps are two equal stores."""
    with sqlite3.connect(path) as conn:
        names = [row[0] for row in conn.execute("select name from sqlite_master where type = 'table' order by name")]
        return {name: sorted(conn.execute(f"select * from [{name}]"), key=repr) for name in names}


def test_union_by_primary_key_without_duplicates(stores, tmp_path):
    target = tmp_path / "merged.db"
    merge_stores(target, [stores / "early.db", stores / "late.db"])
    for table in MERGED_TABLES:
        union = keys(stores / "early.db", table) | keys(stores / "late.db", table)
        assert keys(target, table) == union, table
        with sqlite3.connect(target) as conn:
            assert conn.execute(f"select count(*) from [{table}]").fetchone()[0] == len(union), table
    assert len(keys(stores / "late.db", "workflow_runs") - keys(stores / "early.db", "workflow_runs")) > 100


@pytest.mark.parametrize("order", [("early.db", "late.db"), ("late.db", "early.db")])
def test_captured_statuses_beat_statuses_lost_to_retention(stores, tmp_path, order):
    late = sqlite_utils.Database(stores / "late.db")
    lost = [
        row["deployment_id"]
        for row in late.query("select deployment_id from deployments where statuses_captured_at is null")
    ]
    assert lost, "the late capture should have lost the statuses of 2024-04-01"
    target = tmp_path / "merged.db"
    merge_stores(target, [stores / name for name in order])
    merged = sqlite_utils.Database(target)
    for deployment_id in lost:
        assert merged["deployments"].get(deployment_id)["statuses_captured_at"], deployment_id
        states = [
            r["state"]
            for r in merged.query("select state from deployment_statuses where deployment_id = ?", [deployment_id])
        ]
        assert "waiting" in states, deployment_id
    assert merged.execute("select count(*) from deployments where statuses_captured_at is null").fetchone()[0] == 0


def test_merging_again_changes_nothing(stores, tmp_path):
    target = tmp_path / "merged.db"
    first = merge_stores(target, [stores / "early.db", stores / "late.db"])
    before = dump(target)
    again = merge_stores(target, [stores / "late.db", stores / "early.db"])
    assert first.changed and not again.changed
    assert dump(target) == before


def test_shards_from_one_base_get_their_own_extraction_ids(stores, tmp_path):
    target = tmp_path / "evidence.db"
    shutil.copy(stores / "early.db", target)
    shard_ids = {name: keys(stores / name, "extractions") for name in ("shard-1.db", "shard-2.db")}
    assert shard_ids["shard-1.db"] == shard_ids["shard-2.db"] == {(1,), (2,)}  # both counted 2 from the base

    summary = merge_stores(target, [stores / "shard-1.db", stores / "shard-2.db"])

    assert summary.extractions == 2
    db = sqlite_utils.Database(target)
    assert [r["extraction_id"] for r in db.query("select extraction_id from extractions order by 1")] == [1, 2, 3]
    assert list(db.query("select extraction_id, source, source_extraction_id from merged_extractions order by 1")) == [
        {"extraction_id": 2, "source": "shard-1.db", "source_extraction_id": 2},
        {"extraction_id": 3, "source": "shard-2.db", "source_extraction_id": 2},
    ]
    for shard, merged_id in (("shard-1.db", 2), ("shard-2.db", 3)):
        with sqlite3.connect(stores / shard) as conn:
            expected = conn.execute("select count(*) from extraction_log where extraction_id = 2").fetchone()[0]
        got = db.execute("select count(*) from extraction_log where extraction_id = ?", [merged_id]).fetchone()[0]
        assert got == expected > 0, shard
    with sqlite3.connect(stores / "early.db") as conn:
        base_log = conn.execute("select count(*) from extraction_log").fetchone()[0]
    assert db["extraction_log"].count == base_log + sum(
        db.execute("select count(*) from extraction_log where extraction_id = ?", [i]).fetchone()[0] for i in (2, 3)
    )
    assert db.execute("select count(*) from deployments where statuses_captured_at is null").fetchone()[0] == 0


# -- the rule, row by row ---------------------------------------------------------------------


def store_with(path: Path, **tables: list[dict]) -> Path:
    db = open_store(path)
    for table, rows in tables.items():
        upsert_all(db, table, rows)
    db.close()
    return path


def artifact(artifact_id=7, status="captured", captured_at="2024-05-01T00:00:00+00:00", content=b"zip"):
    return {
        "artifact_id": artifact_id,
        "repository": REPOSITORY,
        "run_id": 1,
        "name": "bandit-report",
        "capture_status": status,
        "captured_at": captured_at,
        "content": content if status == "captured" else None,
    }


def run(run_attempt=1, evidence_captured_at=None, captured_at="2024-05-01T00:00:00+00:00"):
    return {
        "repository": REPOSITORY,
        "run_id": 1,
        "run_attempt": run_attempt,
        "evidence_captured_at": evidence_captured_at,
        "captured_at": captured_at,
    }


@pytest.mark.parametrize(
    ("table", "kept", "other", "expected"),
    [
        # a later capture that found the artifact expired does not erase the captured bytes
        ("artifacts", artifact(), artifact(status="expired", captured_at="2024-08-01T00:00:00+00:00"), "kept"),
        ("artifacts", artifact(status="expired"), artifact(captured_at="2024-04-02T00:00:00+00:00"), "other"),
        # the same evidence seen later: the later observation
        ("artifacts", artifact(), artifact(captured_at="2024-06-01T00:00:00+00:00"), "other"),
        ("workflow_runs", run(evidence_captured_at="2024-05-01"), run(captured_at="2024-06-01T00:00:00+00:00"), "kept"),
        # a re-run after capture starts over, as in `extract`
        ("workflow_runs", run(evidence_captured_at="2024-05-01"), run(run_attempt=2), "other"),
    ],
)
@pytest.mark.parametrize("direction", ["into", "from"])
def test_rank_decides_between_rows_with_one_key(tmp_path, table, kept, other, expected, direction):
    first, second = (kept, other) if direction == "into" else (other, kept)
    target = store_with(tmp_path / "target.db", **{table: [first]})
    source = store_with(tmp_path / "source.db", **{table: [second]})
    merge_stores(target, [source])
    rows = list(sqlite_utils.Database(target)[table].rows)
    winner = kept if expected == "kept" else other
    assert len(rows) == 1
    assert {key: rows[0][key] for key in winner} == winner


def test_scan_findings_follow_their_artifact(tmp_path):
    finding = {"artifact_id": 7, "repository": REPOSITORY, "tool": "bandit", "severity": "high", "rule_id": "B602"}
    target = store_with(tmp_path / "target.db", artifacts=[artifact(status="unreadable")])
    source = store_with(
        tmp_path / "source.db",
        artifacts=[artifact()],
        scan_findings=[{**finding, "seq": 0}, {**finding, "seq": 1, "severity": "low"}],
    )
    merge_stores(target, [source])
    db = sqlite_utils.Database(target)
    assert db["artifacts"].get(7)["capture_status"] == "captured"
    assert [r["severity"] for r in db.query("select severity from scan_findings order by seq")] == ["high", "low"]


def test_new_evidence_removes_the_stale_evaluation(tmp_path):
    extraction = {"extraction_id": 1, "started_at": "2024-05-01T00:00:00+00:00", "quarter": "2024Q2"}
    target = store_with(
        tmp_path / "target.db",
        evaluations=[{"quarter": "2024Q2", "population": 0}, {"quarter": "2024Q1", "population": 3}],
        verdicts=[
            {
                "quarter": "2024Q2",
                "repository": REPOSITORY,
                "run_id": 1,
                "environment": "production",
                "control_id": "deploy.approved",
                "verdict": "pass",
            },
        ],
    )
    source = store_with(tmp_path / "source.db", extractions=[extraction], workflow_runs=[run()])
    summary = merge_stores(target, [source])
    db = sqlite_utils.Database(target)
    assert summary.invalidated_quarters == ["2024Q2"]
    assert [r["quarter"] for r in db["evaluations"].rows] == ["2024Q1"]
    assert db["verdicts"].count == 0


def test_the_population_is_derived_never_merged(tmp_path):
    """The population is recomputed by `evaluate`: a merge neither copies a shard's nor keeps a stale one."""
    extraction = {"extraction_id": 1, "started_at": "2024-05-01T00:00:00+00:00", "quarter": "2024Q2"}

    def member(run_id: int, quarter: str = "2024Q2") -> dict:
        return {"quarter": quarter, "repository": REPOSITORY, "run_id": run_id, "environment": "production"}

    target = store_with(
        tmp_path / "target.db",
        evaluations=[{"quarter": "2024Q2", "population": 1}, {"quarter": "2024Q1", "population": 1}],
        population=[member(1), member(5, "2024Q1")],
    )
    source = store_with(
        tmp_path / "source.db",
        extractions=[extraction],
        workflow_runs=[run()],
        evaluations=[{"quarter": "2024Q2", "population": 1}],
        population=[member(2)],
    )
    merge_stores(target, [source])
    db = sqlite_utils.Database(target)
    assert [(r["quarter"], r["run_id"]) for r in db["population"].rows] == [("2024Q1", 5)]


NUMBERED_BY_EXTRACTION = [name for name in tables_of("evidence", "state") if "extraction_id" in TABLES[name].columns]
"""Merged tables whose rows name the extraction that wrote them."""


def row_naming_extraction(table: str, extraction_id: int) -> dict:
    """A row of `table` holding just its key (a fixed value per column type) and `extraction_id`."""
    columns = TABLES[table].columns
    return {column: 1 if columns[column] is int else "x" for column in TABLES[table].key} | {
        "extraction_id": extraction_id
    }


@pytest.mark.parametrize("table", NUMBERED_BY_EXTRACTION)
@pytest.mark.parametrize("known", [False, True], ids=["new extraction", "extraction merged before"])
def test_rows_point_at_their_extraction_in_the_merged_store(tmp_path, table, known):
    """Each store numbers its extractions from 1: a merged row names the target's number for its extraction."""
    own = {"extraction_id": 1, "started_at": "2024-05-01T00:00:00+00:00", "quarter": "2024Q2"}
    shard = {"extraction_id": 1, "started_at": "2024-05-08T00:00:00+00:00", "quarter": "2024Q2"}
    target_extractions = [own, {**shard, "extraction_id": 7}] if known else [own]
    target = store_with(tmp_path / "target.db", extractions=target_extractions)
    source = store_with(tmp_path / "source.db", extractions=[shard], **{table: [row_naming_extraction(table, 1)]})
    merge_stores(target, [source])
    db = sqlite_utils.Database(target)
    [row] = db[table].rows
    [extraction] = db.query("select extraction_id from extractions where started_at = ?", [shard["started_at"]])
    assert row["extraction_id"] == extraction["extraction_id"] == (7 if known else 2)


def test_a_failed_merge_leaves_the_target_untouched(tmp_path, monkeypatch):
    import audit.merge

    target = store_with(tmp_path / "target.db", workflow_runs=[run()])
    source = store_with(tmp_path / "source.db", artifacts=[artifact()], workflow_runs=[run(run_attempt=3)])
    before = dump(target)
    real = audit.merge._merge_table

    def failing(conn, reader, table, *rest):
        if table == "artifacts":
            raise RuntimeError("disk full")
        real(conn, reader, table, *rest)

    monkeypatch.setattr(audit.merge, "_merge_table", failing)
    with pytest.raises(RuntimeError):
        merge_stores(target, [source])
    assert dump(target) == before


def test_a_file_that_is_not_a_store_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a database")
    sqlite3.connect(tmp_path / "empty.db").execute("create table t (x)").connection.close()
    for name, expected in (("notes.txt", "file is not a database"), ("empty.db", "no table extractions")):
        with pytest.raises(UsageError, match=expected):
            merge_stores(tmp_path / "target.db", [tmp_path / name])
    assert not (tmp_path / "target.db").exists()


# -- the command ----------------------------------------------------------------------------------


def test_cli_merges_and_reports(stores, tmp_path):
    env = clean_env(tmp_path)
    args = ("merge", "--into", str(tmp_path / "evidence.db"), str(stores / "early.db"), str(stores / "late.db"))
    result = run_cli(*args, cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "merged 2 stores" in " ".join((result.stderr + result.stdout).split())
    again = run_cli(*args, cwd=tmp_path, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "0 extractions, 0 rows added, 0 rows replaced" in " ".join((again.stderr + again.stdout).split())


def test_cli_rejects_a_file_that_is_not_a_store(tmp_path):
    (tmp_path / "shard.db").write_bytes(b"\x00" * 4096)
    result = run_cli("merge", "--into", "evidence.db", "shard.db", cwd=tmp_path, env=clean_env(tmp_path), timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "shard.db is not an evidence store" in lines[0], result.stderr


# -- the store's schema -----------------------------------------------------------------------


def test_an_older_store_gains_new_columns_and_loses_orphaned_derived_rows(tmp_path):
    """Schema version 1 (before migrations): a table lacking a column, a population left without its evaluation."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "create table workflow_runs (repository text not null, run_id integer not null, "
            "primary key (repository, run_id))"
        )
        conn.execute("insert into workflow_runs values ('acme/api', 1)")
        conn.execute("create table evaluations (quarter text primary key not null, population integer)")
        conn.execute(
            "create table population (quarter text not null, repository text not null, run_id integer not null, "
            "environment text not null, deployment_id integer, primary key (quarter, repository, run_id, environment))"
        )
        conn.execute("insert into population values ('2024Q2', 'acme/api', 1, 'production', 7)")
        conn.execute("pragma user_version = 1")
    db = open_store(path)
    assert set(TABLES["workflow_runs"].columns) <= set(db["workflow_runs"].columns_dict)
    assert db["workflow_runs"].get(("acme/api", 1))["head_sha"] is None
    assert db["population"].count == 0
    assert db.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION > 1


def test_a_quarter_evaluated_before_the_population_kept_its_facts_is_evaluated_again(tmp_path):
    """Schema version 3: population rows without `facts`; the report would list nothing for them."""
    path = tmp_path / "v3.db"
    db = open_store(path)
    for quarter, facts in (("2024Q1", '{"run_id": 5}'), ("2024Q2", None)):
        db["evaluations"].insert({"quarter": quarter, "evaluated_at": "2024-07-01T00:00:00+00:00", "population": 1})
        key = {"quarter": quarter, "repository": "acme/api", "run_id": 5, "environment": "production"}
        db["population"].insert({**key, "deployment_id": 7, "facts": facts})
        db["verdicts"].insert({**key, "control_id": "deploy.approved", "verdict": "pass", "detail": "run 5."})
    db.execute("pragma user_version = 3")
    db.close()
    db = open_store(path)
    for table in ("evaluations", "population", "verdicts"):
        assert [row["quarter"] for row in db[table].rows] == ["2024Q1"], table
    db.close()


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.db"
    open_store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"pragma user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UsageError, match="newer than this soc2-audit"):
        open_store(path)


def test_the_tables_filled_per_run_are_declared_evidence():
    assert set(RUN_EVIDENCE_TABLES) <= set(tables_of("evidence"))
