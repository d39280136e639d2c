"""Hostile artifacts, downloaded from the fake GitHub through a real extraction.

Each run of a small world carries one hostile artifact zip. The evidence is recorded as
unreadable with the reason (or, for names that are only names, read in memory), the
extraction goes on with the other runs, and nothing is written anywhere but the store.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import uuid
from pathlib import Path

import pytest

import audit.extract.client as client_module
from audit.demo.fakegithub import FakeGitHub, synthetic_world
from tests.reliability.helpers import REPOSITORY, captured_runs, extract_quarter, run_order
from tests.scans.factories import as_json, bandit_report, bandit_result, sarif_log, zip_bomb, zip_of

DOWNLOAD_CAP = 1024 * 1024
ESCAPE = f"soc2-escape-{uuid.uuid4().hex}"
ESCAPE_TARGETS = [
    Path(tempfile.gettempdir()) / f"{ESCAPE}.json",
    Path(tempfile.gettempdir()) / f"{ESCAPE}-abs.json",
    Path.home() / f"{ESCAPE}-win.json",
]
HIGH = as_json(bandit_report(bandit_result(issue_severity="HIGH")))

# name -> (zip bytes, capture_status, start of capture_detail, scan.clean verdict)
HOSTILE = {
    "zip bomb": (
        zip_bomb("bandit.json", expanded_bytes=64 * 1024 * 1024),
        "unreadable",
        "member bandit.json expands from",
        "not_available",
    ),
    "path traversal": (
        zip_of(
            ("../../../../../../../../../.." + str(ESCAPE_TARGETS[0]), HIGH),
            (str(ESCAPE_TARGETS[1]), HIGH),
            (f"..\\..\\..\\..\\{ESCAPE}-win.json", HIGH),
        ),
        "captured",
        "recognised bandit report in ../",
        "fail",
    ),
    "nested zip": (zip_of(("reports.zip", zip_of(("bandit.json", HIGH)))), "not_scan", "no scan report", "fail"),
    "invalid JSON": (
        zip_of(("bandit.json", b'{"results": [')),
        "unreadable",
        "bandit.json was meant to be a scan report but is not readable JSON",
        "not_available",
    ),
    "invalid SARIF": (
        zip_of(("codeql.sarif", as_json(sarif_log({"results": []})))),
        "unreadable",
        "SARIF run 0 has no tool.driver in codeql.sarif",
        "not_available",
    ),
    "not a zip": (b"<html><body>Not Found</body></html>", "unreadable", "not a readable zip archive", "not_available"),
    "huge download": (
        zip_of(("bandit.json", os.urandom(DOWNLOAD_CAP + 1))),
        "unreadable",
        f"artifact larger than {DOWNLOAD_CAP} bytes",
        "not_available",
    ),
    "too many members": (
        zip_of(*[(f"r{n}.json", b"{}") for n in range(1001)]),
        "unreadable",
        "1001 members, more than the cap of 1000",
        "not_available",
    ),
}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """One extraction of a world whose runs carry the hostile artifacts, in an empty cwd."""
    world = synthetic_world(deployments=len(HOSTILE) + 1, seed=11)
    runs = run_order(world)
    cases = {}
    for run, (name, (content, *expected)) in zip(runs, HOSTILE.items(), strict=False):
        run.artifacts[0].data = content  # the served zip bytes (a cached property)
        cases[name] = (run.id, run.artifacts[0].id, *expected)
    cases["ordinary"] = (runs[-1].id, runs[-1].artifacts[0].id, "captured", "recognised bandit report", "pass")

    tmp = tmp_path_factory.mktemp("hostile")
    cwd = tmp / "cwd"
    cwd.mkdir()
    with pytest.MonkeyPatch.context() as patch, FakeGitHub(world) as server:
        patch.chdir(cwd)
        patch.setattr(client_module, "MAX_ARTIFACT_BYTES", DOWNLOAD_CAP)
        extract_quarter(tmp / "evidence.db", server.base_url)
        blob_statuses = {r.status for r in server.requests if r.blob}
    return {"db": tmp / "evidence.db", "tmp": tmp, "cwd": cwd, "cases": cases, "blob_statuses": blob_statuses}


@pytest.mark.parametrize("case", [*HOSTILE, "ordinary"])
def test_each_artifact_is_recorded_with_its_reason(extracted, case):
    run_id, artifact_id, status, detail, scan_verdict = extracted["cases"][case]
    with sqlite3.connect(extracted["db"]) as conn:
        row = conn.execute(
            "select capture_status, capture_detail, content is not null from artifacts where artifact_id = ?",
            [artifact_id],
        ).fetchone()
        verdict = conn.execute(
            "select verdict from verdicts where run_id = ? and control_id = 'scan.clean'", [run_id]
        ).fetchone()
    assert row is not None, "every artifact has a row"
    assert row[0] == status
    assert row[1].startswith(detail), row[1]
    assert row[2] == (status == "captured"), "only recognised evidence keeps its bytes"
    assert verdict == (scan_verdict,)


def test_path_traversal_names_stay_names_in_the_detail(extracted):
    _, artifact_id, *_ = extracted["cases"]["path traversal"]
    with sqlite3.connect(extracted["db"]) as conn:
        (detail,) = conn.execute("select capture_detail from artifacts where artifact_id = ?", [artifact_id]).fetchone()
        findings = conn.execute("select count(*) from scan_findings where artifact_id = ?", [artifact_id]).fetchone()
    assert "unsafe member names, read in memory only" in detail
    assert findings == (3,)


def test_the_run_goes_on_and_nothing_is_written_outside_the_store(extracted):
    assert captured_runs(extracted["db"]) == len(HOSTILE) + 1
    assert extracted["blob_statuses"] == {200}, "blob downloads never carry the token"
    assert list(extracted["cwd"].iterdir()) == []
    assert {p.name for p in extracted["tmp"].iterdir()} <= {"cwd", "evidence.db", "evidence.db-wal", "evidence.db-shm"}
    for target in ESCAPE_TARGETS:
        assert not target.exists(), target
    assert not list(Path(tempfile.gettempdir()).glob(f"*{ESCAPE}*"))


def test_the_repository_verdicts_exist_for_every_run(extracted):
    with sqlite3.connect(extracted["db"]) as conn:
        runs = conn.execute("select count(distinct run_id) from verdicts where repository = ?", [REPOSITORY]).fetchone()
    assert runs == (len(HOSTILE) + 1,)
