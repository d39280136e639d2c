"""Real scanner reports served as artifacts by the fake GitHub, through extraction and evaluation.

One small world; each run's scan artifact is replaced by recorded real reports. The store
must say what the parser found (status, gaps, recovery) and `scan.clean` must follow it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit.demo.fakegithub import FakeGitHub, synthetic_world
from tests.reliability.helpers import extract_quarter, run_order

from .factories import zip_of

FIXTURES = Path(__file__).parents[1] / "fixtures" / "scans"


def report(pattern: str) -> bytes:
    (path,) = FIXTURES.glob(pattern)
    return path.read_bytes()


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


# case -> (artifact name, members, capture_status, scan_gaps starts with, scan_recovered, scan.clean)
CASES = {
    "clean bandit": (
        "bandit-report",
        {"bandit.json": report("bandit-*-clean.json")},
        "captured",
        None,
        None,
        "pass",
    ),
    "clean bandit beside a truncated safety report": (
        "security-scan",
        {"bandit.json": report("bandit-*-clean.json"), "safety.json": half(report("safety-2.*.json"))},
        "captured",
        "safety.json was meant to be a scan report but is not readable JSON",
        None,
        "not_available",
    ),
    "pip-audit offline": (
        "pip-audit",
        {"pip-audit.json": report("pip-audit-*-offline.json")},
        "captured",
        "pip-audit.json scanned nothing: pip-audit skipped all 6 dependencies",
        None,
        "not_available",
    ),
    "bandit whose every file failed to parse": (
        "bandit-report",
        {"bandit.json": report("bandit-*-all-files-errored.json")},
        "captured",
        "bandit.json scanned nothing: bandit could not parse any file",
        None,
        "not_available",
    ),
    "safety 3 check with its banner": (
        "safety",
        {"safety-report.json": report("safety-3.*-check-stdout.json")},
        "captured",
        None,
        "safety-report.json",
        "fail",
    ),
    "safety 1 clean list beside clean bandit": (
        "dependency-scan",
        {"bandit.json": report("bandit-*-clean.json"), "safety.json": report("safety-1.*-clean.json")},
        "captured",
        None,
        None,
        "pass",
    ),
    "only a truncated report": (
        "security-scan",
        {"bandit.sarif": half(report("bandit-*.sarif"))},
        "unreadable",
        "bandit.sarif was meant to be a scan report but is not readable JSON",
        None,
        "not_available",
    ),
}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    world = synthetic_world(deployments=len(CASES) + 3, seed=23)
    recent_runs = run_order(world)[-len(CASES) :]  # the first ones' artifacts have expired
    cases = {}
    for run, (case, (name, members, *expected)) in zip(recent_runs, CASES.items(), strict=True):
        artifact = run.artifacts[0]
        artifact.name = name
        artifact.data = zip_of(*members.items())
        cases[case] = (run.id, artifact.id, *expected)
    db_path = tmp_path_factory.mktemp("real-scans") / "evidence.db"
    with FakeGitHub(world) as server:
        extract_quarter(db_path, server.base_url)
    return db_path, cases


@pytest.mark.parametrize("case", CASES)
def test_stored_artifact_decides_the_verdict(extracted, case):
    db_path, cases = extracted
    run_id, artifact_id, status, gaps, recovered, verdict = cases[case]
    with sqlite3.connect(db_path) as conn:
        row = conn.execute(
            "select capture_status, scan_gaps, scan_recovered from artifacts where artifact_id = ?", [artifact_id]
        ).fetchone()
        stored_verdict, detail = conn.execute(
            "select verdict, detail from verdicts where run_id = ? and control_id = 'scan.clean'", [run_id]
        ).fetchone()

    assert row[0] == status
    assert (row[1] is None) == (gaps is None) and (gaps is None or row[1].startswith(gaps)), row[1]
    assert row[2] == recovered
    assert stored_verdict == verdict, detail
    if verdict == "not_available":
        assert (gaps if status == "captured" else f"({status})") in detail
