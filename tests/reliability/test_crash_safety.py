"""An extraction killed with SIGKILL and run again gives the clean result; one writer at a time.

Every write is an upsert keyed by GitHub's ids, the "captured" marks are written after the
evidence they vouch for, and an artifact's row and findings share one transaction. A kill at
any point therefore loses at most work in progress, which the next run fetches again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from audit.demo.fakegithub import FakeGitHub
from audit.store import writer_lock
from tests.conftest import ROOT, run_cli
from tests.reliability.helpers import (
    QUARTER,
    REPOSITORY,
    captured_runs,
    cli_env,
    evaluate,
    evidence,
    extract_quarter,
    verdicts,
)


@pytest.mark.parametrize(
    ("table", "after"),
    [
        pytest.param("deployments", 1, id="after the deployments listing"),
        pytest.param("deployment_statuses", 5, id="amid deployment statuses"),
        pytest.param("workflow_runs", 1, id="after the runs listing"),
        pytest.param("artifacts", 2, id="inside an artifact's transaction (HIGH finding)"),
        pytest.param("artifacts", 7, id="amid artifacts"),
        pytest.param("workflow_runs", 5, id="amid runs marked captured"),
    ],
)
def test_sigkill_at_a_write_then_rerun_gives_the_clean_result(world, clean, tmp_path, table, after):
    db_path = tmp_path / "evidence.db"
    with FakeGitHub(world) as server:
        child = subprocess.run(
            [sys.executable, "-m", "tests.reliability.crash_child", str(db_path), server.base_url, table, str(after)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert child.returncode == -signal.SIGKILL, child.stderr
        assert captured_runs(db_path) < len(clean["evidence"]["workflow_runs"])

        extract_quarter(db_path, server.base_url)

    assert evidence(db_path) == clean["evidence"]
    assert verdicts(db_path) == clean["verdicts"]


def test_cli_killed_mid_extraction_then_rerun_and_a_second_writer_is_refused(world, clean, tmp_path):
    db_path = tmp_path / "evidence.db"
    args = ("extract", "--quarter", str(QUARTER), "--repo", REPOSITORY, "--db", str(db_path))
    with FakeGitHub(world) as server:
        env = cli_env(tmp_path, server.base_url)
        # Slow artifact downloads, so the extraction (a handful of downloads at a time) is
        # still running when the second writer starts.
        server.add_fault(r"/_blobs/", None, delay=6.0, times=None)
        first = subprocess.Popen(
            [sys.executable, "-m", "audit", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while not (db_path.exists() and _artifacts(db_path) >= 3):
                assert first.poll() is None and time.monotonic() < deadline, "extraction ended before the kill"
                time.sleep(0.05)

            second = run_cli(*args, cwd=tmp_path, env=env, timeout=60)
            assert second.returncode == 2, second.stderr
            assert second.stderr.strip() == (
                f"soc2-audit: error: evidence store {db_path} is being written by another extraction "
                f"(pid {first.pid}): try again later"
            )

            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL
        finally:
            if first.poll() is None:
                first.kill()
            first.stderr.close()
        assert 3 <= _artifacts(db_path) < len(clean["evidence"]["artifacts"])

        server.clear_faults()
        rerun = run_cli(*args, cwd=tmp_path, env=env, timeout=120)  # the kernel dropped the lock
        assert rerun.returncode == 0, rerun.stderr

    evaluate(db_path)
    assert evidence(db_path) == clean["evidence"]
    assert verdicts(db_path) == clean["verdicts"]


def test_the_writer_lock_names_its_holder(tmp_path):
    db_path = tmp_path / "evidence.db"
    with writer_lock(db_path):
        with writer_lock(db_path):  # re-entrant within one process (report holds it around extract)
            pass
        result = run_cli(
            "extract",
            "--quarter",
            "2024Q2",
            "--repo",
            REPOSITORY,
            "--db",
            str(db_path),
            cwd=tmp_path,
            env=cli_env(tmp_path, "http://127.0.0.1:9"),
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"soc2-audit: error: evidence store {db_path} is being written by another extraction "
        f"(pid {os.getpid()}): try again later"
    ]
    with writer_lock(db_path):  # released
        pass


def _artifacts(db_path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(db_path, timeout=1) as conn:
            return conn.execute("select count(*) from artifacts").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
