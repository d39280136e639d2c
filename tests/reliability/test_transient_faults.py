"""Transient GitHub faults change nothing: same evidence, same verdicts, bounded logged waits.

Each fault is one GitHub really produces: 502/503 on a fraction of responses, a read
timeout, a secondary rate limit (403 + `retry-after`), a 429 + `retry-after`, and primary
exhaustion (403, `x-ratelimit-remaining: 0`, `x-ratelimit-reset`). Waits are ~1 s here.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from audit.demo.fakegithub import FakeGitHub
from audit.extract.client import MAX_RETRIES, GitHubUnavailable, WaitTooLong
from tests.conftest import run_cli
from tests.reliability.helpers import (
    QUARTER,
    REPOSITORY,
    captured_runs,
    cli_env,
    evaluate,
    evidence,
    extract_quarter,
    run_order,
    verdicts,
)


def test_transient_faults_leave_population_and_verdicts_unchanged(world, clean, tmp_path):
    waits: list[str] = []
    db_path = tmp_path / "evidence.db"
    with FakeGitHub(world) as server:
        server.add_fault(r".", 502, times=None, probability=0.025, seed=1)
        server.add_fault(r".", 503, times=None, probability=0.025, seed=2)
        server.add_fault(r"/environments$", 403, headers={"retry-after": "1"})
        server.add_fault(r"/deployments$", 429, headers={"retry-after": "1"})
        server.exhaust_rate_limit(r"/actions/runs$", reset_in=1)
        server.add_fault(  # primary exhaustion can come as a 429 too
            r"/actions/artifacts$",
            429,
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)},
        )
        server.add_fault(r"/zip$", None, delay=2.5)  # longer than the client's timeout
        started = time.monotonic()
        client = extract_quarter(db_path, server.base_url, timeout=1, on_wait=waits.append)
        elapsed = time.monotonic() - started
        failed = [r for r in server.requests if r.fault and r.status >= 500]

    assert evidence(db_path) == clean["evidence"]
    assert verdicts(db_path) == clean["verdicts"]
    assert failed, "the seeded 5xx faults fired"
    # One logged wait per retry: every 5xx, the four rate limits and the timeout.
    assert client.counter.retries == len(waits) == len(failed) + 5
    for expected in (
        "HTTP 502",
        "HTTP 503",
        "HTTP 403 with retry-after 1 on GET /repos/synthetic/service-000/environments",
        "HTTP 429 with retry-after 1 on GET /repos/synthetic/service-000/deployments",
        "HTTP 403, rate limit spent until",
        "HTTP 429, rate limit spent until",
        "ReadTimeoutError on GET /repos/synthetic/service-000/actions/artifacts/",
    ):
        assert any(expected in line for line in waits), (expected, waits)
    assert all(line.count("\n") == 0 for line in waits)
    assert client.counter.waited < 12
    assert elapsed < 30


def test_persistent_5xx_is_retried_a_bounded_number_of_times(world, tmp_path):
    with FakeGitHub(world) as server:
        server.add_fault(r"/environments$", 502, times=None)
        with pytest.raises(GitHubUnavailable, match="HTTP 502 on GET /repos/synthetic/service-000/environments"):
            extract_quarter(tmp_path / "evidence.db", server.base_url, backoff_factor=0.001)
        assert server.request_count(f"/repos/{REPOSITORY}/environments") == MAX_RETRIES + 1


def test_a_wait_beyond_max_wait_stops_at_once_and_keeps_the_evidence(world, clean, tmp_path):
    db_path = tmp_path / "evidence.db"
    fourth_artifact = run_order(world)[3].artifacts[0].id
    with FakeGitHub(world) as server:
        server.exhaust_rate_limit(rf"/artifacts/{fourth_artifact}/zip$", reset_in=600)
        started = time.monotonic()
        with pytest.raises(WaitTooLong, match=r"more than the 30 s allowed \(--max-wait\)"):
            extract_quarter(db_path, server.base_url, max_wait=30)
        assert time.monotonic() - started < 10, "refused without sleeping"
    partial = evidence(db_path)
    for table, rows in partial.items():
        assert set(rows) <= set(clean["evidence"][table]), table
    assert partial["deployments"] and partial["workflow_runs"] and partial["artifacts"]

    with FakeGitHub(world) as server:  # GitHub's budget is back: the same store completes
        extract_quarter(db_path, server.base_url)
    assert evidence(db_path) == clean["evidence"]
    assert verdicts(db_path) == clean["verdicts"]


def test_cli_max_wait_is_one_line_exit_1_and_waits_are_logged(world, clean, tmp_path):
    db_path = tmp_path / "evidence.db"
    fourth_artifact = run_order(world)[3].artifacts[0].id
    args = ("extract", "--quarter", str(QUARTER), "--repo", REPOSITORY, "--db", str(db_path))
    with FakeGitHub(world) as server:
        server.add_fault(r"/deployments$", 429, headers={"retry-after": "1"})
        server.exhaust_rate_limit(rf"/artifacts/{fourth_artifact}/zip$", reset_in=3600)
        result = run_cli(*args, "--max-wait", "60", cwd=tmp_path, env=cli_env(tmp_path, server.base_url), timeout=120)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("soc2-audit:")]
    assert len(errors) == 1 and "more than the 60 s allowed (--max-wait)" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert (
        "GitHub: HTTP 429 with retry-after 1 on GET /repos/synthetic/service-000/deployments; retrying in 1.0 s"
        in result.stderr
    )
    with sqlite3.connect(db_path) as conn:
        finished = conn.execute("select finished_at from extractions").fetchall()
    assert finished == [(None,)], "the interrupted extraction is on record as unfinished"
    assert captured_runs(db_path) < len(run_order(world))

    with FakeGitHub(world) as server:
        server.add_fault(r"/environments$", 503)
        result = run_cli(*args, cwd=tmp_path, env=cli_env(tmp_path, server.base_url), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 requests retried after faults or rate limits, 0 s waited" in result.stderr
    evaluate(db_path)
    assert evidence(db_path) == clean["evidence"]
    assert verdicts(db_path) == clean["verdicts"]


def test_max_wait_must_be_a_number(tmp_path):
    result = run_cli(
        "extract",
        "--quarter",
        "2024Q2",
        "--max-wait",
        "soon",
        cwd=tmp_path,
        env=cli_env(tmp_path, "http://127.0.0.1:9"),
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--max-wait" in result.stderr
