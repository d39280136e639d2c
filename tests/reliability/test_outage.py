"""GitHub going away mid-capture: the run stops within --max-wait, and loses nothing.

The fake server fails every request from the moment an artifact download is in flight, then
is really stopped (connections refused). The circuit breaker counts outage failures across
requests, so the run stops after at most MAX_RETRIES + 1 failed attempts in a row or
--max-wait seconds of waiting on them, whichever comes first, instead of spending every
remaining request's own retries. Nothing
that failed because of the outage is recorded as expired or unreadable: the resumed run
fetches it, and its verdicts equal a clean run's.
"""

from __future__ import annotations

import re
import sqlite3
import threading

from audit.demo.fakegithub import FakeGitHub
from audit.extract.client import MAX_RETRIES
from tests.conftest import run_cli
from tests.reliability.helpers import QUARTER, REPOSITORY, cli_env, evaluate, evidence, run_order, verdicts

WAIT = re.compile(r"^GitHub: .*; retrying in (?P<seconds>[\d.]+) s$")


def kill_when_requested(server: FakeGitHub, path_regex: str) -> threading.Thread:
    """Stop the server (for good) as soon as a request for `path_regex` arrives.

    From that moment every request fails: a 502 until the server has stopped, then a refused
    connection. Stopping alone left a window (the server finishing its loop, up to half a
    second on a busy machine) in which it still answered requests sent after the outage
    began, and such an answer rightly tells the breaker GitHub is back."""
    trigger = server.add_fault(path_regex, None, delay=0.5)

    def watch() -> None:
        while trigger.fired == 0:
            threading.Event().wait(0.001)
        server.add_fault(r"", 502, times=None)
        server.stop()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_an_outage_stops_the_run_within_max_wait_and_the_resumed_run_loses_nothing(world, clean, tmp_path):
    db_path = tmp_path / "evidence.db"
    args = ("extract", "--quarter", str(QUARTER), "--repo", REPOSITORY, "--db", str(db_path))
    fourth_artifact = run_order(world)[3].artifacts[0].id
    server = FakeGitHub(world).start()
    base_url = server.base_url
    watcher = kill_when_requested(server, rf"/artifacts/{fourth_artifact}/zip$")
    # Backoff 0, 2, 4 … s: a 3 s budget allows two waits (0 + 2 s) before the breaker opens.
    result = run_cli(*args, "--max-wait", "3", cwd=tmp_path, env=cli_env(tmp_path, base_url), timeout=120)
    watcher.join(timeout=5)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("soc2-audit:")]
    assert len(errors) == 1 and "GitHub unavailable" in errors[0], result.stderr
    waits = [float(m["seconds"]) for line in result.stderr.splitlines() if (m := WAIT.match(line))]
    # Attempts after the kill are bounded, and so is the time spent waiting on them, across
    # requests, though a handful were in flight: an answer already on its way when the server
    # died does not close the breaker again.
    assert 1 <= len(waits) <= MAX_RETRIES, result.stderr
    assert sum(waits) <= 3, waits
    with sqlite3.connect(db_path) as conn:
        lost = conn.execute("select count(*) from artifacts where capture_status in ('expired', 'unreadable')")
        assert lost.fetchone()[0] == 0, "an outage is not a lost artifact"
        assert conn.execute("select finished_at from extractions").fetchall() == [(None,)]

    with FakeGitHub(world) as server:  # GitHub is back: the same store completes
        result = run_cli(*args, cwd=tmp_path, env=cli_env(tmp_path, server.base_url), timeout=120)
    assert result.returncode == 0, result.stderr
    evaluate(db_path)
    assert evidence(db_path) == clean["evidence"]
    assert verdicts(db_path) == clean["verdicts"]


def test_consecutive_failures_across_requests_open_the_breaker(world, tmp_path):
    """With waits too short to matter, the count bounds the run: MAX_RETRIES + 1 failures in
    a row, however many requests they are spread over."""
    from audit.extract.client import GitHubUnavailable
    from tests.reliability.helpers import extract_quarter

    with FakeGitHub(world) as server:
        server.add_fault(r"/environments$", 502, times=MAX_RETRIES)  # one request, all its retries but one
        server.add_fault(r"/deployments$", 503, times=None)
        try:
            extract_quarter(tmp_path / "evidence.db", server.base_url, backoff_factor=0.001)
        except GitHubUnavailable as error:
            message = str(error)
        else:
            raise AssertionError("the run went on through an outage")
        failed = [record for record in server.requests if record.fault]
    # environments: MAX_RETRIES failures then an answer (the breaker closes again);
    # deployments: MAX_RETRIES + 1 failures in a row open it.
    assert len(failed) == MAX_RETRIES + MAX_RETRIES + 1
    assert f"{MAX_RETRIES + 1} failures in a row" in message and "HTTP 503" in message


def test_only_an_attempt_started_after_the_last_failure_closes_the_breaker():
    """Requests side by side: one answered after another failed, but sent before, says nothing
    about GitHub now; one sent after the failure does."""
    from concurrent.futures import ThreadPoolExecutor

    from audit.extract.client import CircuitBreaker, GitHubUnavailable

    breaker = CircuitBreaker(max_failures=3)
    with ThreadPoolExecutor(1) as early, ThreadPoolExecutor(1) as late:
        early.submit(breaker.attempting).result()  # sent before the outage began
        breaker.attempting()
        breaker.failed("ConnectionError on GET /a")
        early.submit(breaker.answered).result()  # its answer arrives after the failure
        assert breaker.failures == 1, "an answer sent before the failure leaves the breaker open"
        late.submit(breaker.attempting).result()
        breaker.failed("ConnectionError on GET /b")
        late.submit(breaker.answered).result()  # sent before the second failure too
        assert breaker.failures == 2
        late.submit(breaker.attempting).result()
        late.submit(breaker.answered).result()  # sent after it: GitHub answers again
        assert breaker.failures == 0 and breaker.last == ""
        for _ in range(2):
            breaker.failed("HTTP 502 on GET /c")
        early.submit(breaker.answered).result()
        try:
            breaker.failed("HTTP 502 on GET /c")
        except GitHubUnavailable as error:
            assert "3 failures in a row" in str(error)
        else:
            raise AssertionError("three failures in a row must open the breaker")
