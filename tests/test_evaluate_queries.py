"""Evaluation and the findings read the store in a fixed number of statements, whatever the
population's size (per slice of `EVALUATION_SLICE` deployments, more than these quarters
have), with Python's cycle collector paused while the quarter's records are built, and
`soc2-audit evaluate` starts without the GitHub client or the renderers; sliced and judged
in two processes, the store gets the same rows in the same order.

Loading evidence one deployment at a time (N+1 queries) is what makes a 10,000-deployment
quarter slow; `load_deployments` reads each table once per slice of the population, and the
findings read back what evaluation stored instead of loading the evidence a second time.
Counted with SQLite's own trace callback on two synthetic quarters of different sizes.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import subprocess
import sys

import pytest
import sqlite_utils

import audit.evaluate
from audit.config import Settings
from audit.evaluate import evaluate_quarter
from audit.findings import build_findings
from audit.period import Period
from audit.store import to_json
from audit.times import parse
from tests.conftest import clean_env
from tests.synthetic_store import build_store

QUARTER = Period.parse("2024Q2")
SIZES = (40, 400)


def _selects(statements: list[str]) -> int:
    return sum(1 for s in statements if s.lstrip().lower().startswith("select"))


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """Size -> (population, statements of evaluate_quarter, statements of build_findings)."""
    result = {}
    for deployments in SIZES:
        db = build_store(tmp_path_factory.mktemp("store") / "evidence.db", deployments=deployments)
        evaluated: list[str] = []
        db.conn.set_trace_callback(evaluated.append)
        summary = evaluate_quarter(db, QUARTER, Settings(), demo=True)
        found: list[str] = []
        db.conn.set_trace_callback(found.append)
        findings = build_findings(db, QUARTER, Settings())
        db.conn.set_trace_callback(None)
        db.close()
        assert len(findings["deployments"]) == summary.population
        result[deployments] = (summary.population, evaluated, found)
    return result


def test_evaluation_queries_do_not_grow_with_the_population(traced):
    (small, small_statements, _), (large, large_statements, _) = traced[40], traced[400]
    assert large > 5 * small
    assert _selects(large_statements) == _selects(small_statements) < 40


def test_the_findings_read_the_evaluation_not_the_evidence_again(traced):
    (_, _, small_statements), (_, _, large_statements) = traced[40], traced[400]
    assert _selects(large_statements) == _selects(small_statements) < 40
    # load_deployments fills temp.evaluation_keys with the population before reading the evidence
    assert not [s for s in large_statements if "evaluation_keys" in s]
    assert any("from population" in s for s in large_statements)


def test_the_cycle_collector_is_paused_while_judging_and_left_as_found(tmp_path, monkeypatch):
    db = build_store(tmp_path / "evidence.db", deployments=40)
    seen: list[bool] = []
    judge = audit.evaluate.evaluate_all
    monkeypatch.setattr(audit.evaluate, "evaluate_all", lambda *args: seen.append(gc.isenabled()) or judge(*args))
    assert gc.isenabled()
    evaluate_quarter(db, QUARTER, Settings(), demo=True)
    assert seen and not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:
        build_findings(db, QUARTER, Settings())
        assert not gc.isenabled(), "a caller's choice stands"
    finally:
        gc.enable()
    db.close()


def _stored(db) -> tuple[list, list]:
    return (
        db.execute("select * from verdicts order by rowid").fetchall(),
        db.execute("select * from population order by rowid").fetchall(),
    )


def _judge_recording_pids(monkeypatch, record, *, fail_beside: str | None = None) -> None:
    """evaluate_all, noting each judging process's id in `record`; `fail_beside` makes it fail
    in a forked process only: "raise" or "kill"."""
    judge, parent = audit.evaluate.evaluate_all, os.getpid()

    def recording(*args):
        with record.open("a") as pids:
            pids.write(f"{os.getpid()}\n")
        if os.getpid() != parent and fail_beside == "raise":
            raise ValueError("a control broke beside")
        if os.getpid() != parent and fail_beside == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        return judge(*args)

    monkeypatch.setattr(audit.evaluate, "evaluate_all", recording)


def _judged_order(db) -> list[tuple]:
    """The deployments in the order their verdicts were stored."""
    order: list[tuple] = []
    for key in db.execute("select repository, run_id, environment from verdicts order by rowid"):
        if not order or order[-1] != key:
            order.append(key)
    return order


def _oldest_first(db) -> list[tuple]:
    """The population's deployments by their run's creation, then key: the order they are judged in."""
    facts = [json.loads(row[0]) for row in db.execute("select facts from population")]
    return [
        (f["repository"], f["run_id"], f["environment"])
        for f in sorted(facts, key=lambda f: (parse(f["created_at"]), f["repository"], f["run_id"], f["environment"]))
    ]


def _record_slices(monkeypatch, record) -> None:
    """Each slice of evidence read, as "process id, deployments" lines in `record`."""
    index = audit.evaluate._EvidenceIndex

    def recording(conn, keys, store_wide):
        with record.open("a") as slices:
            slices.write(f"{os.getpid()} {len(keys)}\n")
        return index(conn, keys, store_wide)

    monkeypatch.setattr(audit.evaluate, "_EvidenceIndex", recording)


def test_judged_in_slices_and_two_processes_the_store_gets_the_same_rows_in_the_same_order(tmp_path, monkeypatch):
    alone, sliced = tmp_path / "alone.db", tmp_path / "sliced.db"
    build_store(alone, deployments=60).close()
    shutil.copy(alone, sliced)
    monkeypatch.setattr(audit.evaluate, "JUDGED_BESIDE_FROM", 10**9)
    db = sqlite_utils.Database(alone)
    expected = evaluate_quarter(db, QUARTER, Settings(), demo=True, evaluated_at="2024-07-01T00:00:00Z")
    stored_alone = _stored(db)
    monkeypatch.setattr(audit.evaluate, "JUDGED_BESIDE_FROM", 0)
    monkeypatch.setattr(audit.evaluate, "EVALUATION_SLICE", 7)
    _judge_recording_pids(monkeypatch, tmp_path / "pids")
    _record_slices(monkeypatch, tmp_path / "slices")
    db = sqlite_utils.Database(sliced)
    summary = evaluate_quarter(db, QUARTER, Settings(), demo=True, evaluated_at="2024-07-01T00:00:00Z")
    assert summary == expected
    assert _stored(db) == stored_alone and len(stored_alone[1]) == summary.population > 40
    assert _judged_order(db) == _oldest_first(db) != sorted(_oldest_first(db)), "oldest first, not by key"
    pids = (tmp_path / "pids").read_text().split()
    assert str(os.getpid()) in pids and len(set(pids)) == 2, "two processes judged"
    slices = [line.split() for line in (tmp_path / "slices").read_text().splitlines()]
    sizes = sorted(int(size) for _, size in slices)  # the two processes' lines interleave
    assert sum(sizes) == summary.population and set(sizes[1:]) == {7}, "read slice by slice"
    judged_here = sum(1 for pid, _ in slices if pid == str(os.getpid()))
    assert 2 <= judged_here < len(slices) - 2, "each process read several slices"
    assert multiprocessing.active_children() == []


def test_a_store_without_a_write_ahead_log_is_judged_in_one_process(tmp_path, monkeypatch):
    """With a rollback journal, a reader beside the evaluation's open transaction would stop it
    from writing: the quarter is judged in the evaluating process alone, slice by slice."""
    build_store(tmp_path / "evidence.db", deployments=40).close()
    db = sqlite_utils.Database(tmp_path / "evidence.db")
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    expected = evaluate_quarter(db, QUARTER, Settings(), demo=True, evaluated_at="2024-07-01T00:00:00Z")
    stored = _stored(db)
    db.execute("pragma journal_mode=delete")
    monkeypatch.setattr(audit.evaluate, "JUDGED_BESIDE_FROM", 0)
    monkeypatch.setattr(audit.evaluate, "EVALUATION_SLICE", 7)
    _judge_recording_pids(monkeypatch, tmp_path / "pids")
    assert evaluate_quarter(db, QUARTER, Settings(), demo=True, evaluated_at="2024-07-01T00:00:00Z") == expected
    assert _stored(db) == stored
    assert set((tmp_path / "pids").read_text().split()) == {str(os.getpid())}


@pytest.mark.parametrize("failure", ["raise", "kill"])
def test_a_failure_beside_fails_the_evaluation_and_keeps_the_previous_one(tmp_path, monkeypatch, failure):
    db = build_store(tmp_path / "evidence.db", deployments=100)
    evaluate_quarter(db, QUARTER, Settings(), demo=True)
    previous = _stored(db)
    monkeypatch.setattr(audit.evaluate, "JUDGED_BESIDE_FROM", 0)
    monkeypatch.setattr(audit.evaluate, "EVALUATION_SLICE", 10)
    _judge_recording_pids(monkeypatch, tmp_path / "pids", fail_beside=failure)
    expected = ValueError if failure == "raise" else RuntimeError
    with pytest.raises(expected, match="a control broke beside" if failure == "raise" else "exit code -9"):
        evaluate_quarter(db, QUARTER, Settings(), demo=True)
    assert _stored(db) == previous
    assert multiprocessing.active_children() == []


def test_a_failed_send_beside_fails_the_evaluation_instead_of_leaving_it_waiting(tmp_path, monkeypatch):
    """A send that fails beside for another reason than the evaluation having gone ends that
    process, so the evaluation sees the pipe close instead of waiting for slices forever."""
    db = build_store(tmp_path / "evidence.db", deployments=100)
    evaluate_quarter(db, QUARTER, Settings(), demo=True)
    previous = _stored(db)
    monkeypatch.setattr(audit.evaluate, "JUDGED_BESIDE_FROM", 0)
    monkeypatch.setattr(audit.evaluate, "EVALUATION_SLICE", 10)

    def failing(*args, **kwargs):  # only the process beside sends: the evaluation's end only reads
        raise OSError("the pipe is on fire")

    def waited_too_long(*_):
        raise TimeoutError("still waiting for the process beside")

    monkeypatch.setattr(multiprocessing.connection.Connection, "send_bytes", failing)
    handler = signal.signal(signal.SIGALRM, waited_too_long)
    signal.alarm(30)
    try:
        with pytest.raises(RuntimeError, match="exit code 1"):
            evaluate_quarter(db, QUARTER, Settings(), demo=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, handler)
    assert _stored(db) == previous
    assert multiprocessing.active_children() == []


def test_a_failure_while_judging_keeps_the_previous_evaluation(tmp_path, monkeypatch):
    """sqlite-utils commits a write at once unless a transaction is open: the evaluation opens
    one, so deleting the previous verdicts is undone with the rest."""
    db = build_store(tmp_path / "evidence.db", deployments=100)
    evaluate_quarter(db, QUARTER, Settings(), demo=True)
    previous = _stored(db)

    def broken(*args):
        raise ValueError("a control broke")

    monkeypatch.setattr(audit.evaluate, "evaluate_all", broken)
    with pytest.raises(ValueError, match="a control broke"):
        evaluate_quarter(db, QUARTER, Settings(), demo=True)
    assert _stored(db) == previous and len(previous[0]) > 100


def test_the_evaluate_command_imports_neither_the_github_client_nor_a_renderer(tmp_path):
    build_store(tmp_path / "evidence.db", deployments=40).close()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "audit", "evaluate", "--quarter", "2024Q2", "--db", "evidence.db"],
        cwd=tmp_path,
        env=clean_env(tmp_path, HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert {"audit", "sqlite_utils"} <= imported, "the trace lists what the process imported"
    assert not imported & {"github", "requests", "jwt", "weasyprint", "pyhanko", "openpyxl", "xlsxwriter", "jinja2"}


@pytest.mark.parametrize(
    "evidence", [(), ("reviews:1",), ("approvals:run 7", 'quote " backslash \\ é \u2028 \x01 tab\t', "jobs:2")]
)
def test_a_verdicts_evidence_is_stored_as_store_to_json_writes_it(evidence):
    assert audit.evaluate._evidence_json(evidence) == to_json(list(evidence))
