"""An answer GitHub gives that is not what the endpoint documents is unavailable, never "none".

A null approvals body, a null jobs page, an object page without its `jobs` list or a null
statuses page are not "nobody approved", "no jobs" or "no statuses": the piece is a degraded
lookup `unavailable` that says what was wrong and names no permission (none is missing), its
run is not marked captured, the verdicts that need it are `not_available`, and a later capture
completes it. A listing the whole capture needs (the runs, the deployments) stops the
extraction with one line and exit 1, keeping what was stored. Settings read unreadably are
recorded as unreadable, not as "no rules".
"""

from __future__ import annotations

import sqlite3

import pytest

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub
from audit.evaluate import evaluate_quarter
from audit.extract import Extractor, GitHubClient
from audit.extract.client import UnreadableAnswer
from audit.findings import completeness
from tests.conftest import run_cli
from tests.reliability.helpers import CANARY, REPOSITORY, cli_env, run_order, small_world

from .conftest import EVIDENCE_TABLES, QUARTER, comparable_rows, extract, new_store

NULL_APPROVALS, NULL_JOBS, NO_JOBS_LIST, NULL_STATUSES = range(4)
"""Positions, in capture order, of the runs whose answers are broken."""


def _marked(db) -> set[int]:
    """Runs whose evidence is marked completely captured (not fetched again)."""
    return {
        row["run_id"] for row in db.query("select run_id from workflow_runs where evidence_captured_at is not null")
    }


def _verdicts(db) -> dict[tuple[int, str], tuple[str, str]]:
    evaluate_quarter(db, QUARTER, Settings(), demo=False, evaluated_at="fixed")
    return {
        (row["run_id"], row["control_id"]): (row["verdict"], row["detail"])
        for row in db.query("select * from verdicts where quarter = ?", [str(QUARTER)])
    }


@pytest.fixture(scope="module")
def captured():
    """A clean REST capture, one where four runs' answers are broken, and that one again once
    GitHub answers properly."""
    world = small_world(deployments=6)
    runs = run_order(world)
    broken = [run.id for run in runs[:4]]
    statuses_of = next(d.id for d in world.repositories[REPOSITORY].deployments if d.run_id == broken[NULL_STATUSES])
    with FakeGitHub(world) as server:
        clean = new_store()
        extract(server, clean, [REPOSITORY], batched=False)
        clean_verdicts = _verdicts(clean)
        clean_marked = _marked(clean)

        faulted = new_store()
        for path, body in (
            (rf"/actions/runs/{broken[NULL_APPROVALS]}/approvals$", b"null"),
            (rf"/actions/runs/{broken[NULL_JOBS]}/jobs$", b"null"),
            (rf"/actions/runs/{broken[NO_JOBS_LIST]}/jobs$", {"total_count": 3}),
            (rf"/deployments/{statuses_of}/statuses$", b"null"),
        ):
            server.add_fault(path, 200, body=body, times=None)
        summary = extract(server, faulted, [REPOSITORY], batched=False)
        faulted_verdicts = _verdicts(faulted)
        degraded = [
            dict(row)
            for row in faulted.query(
                "select piece, subject, outcome, rest_error, permission from degraded_lookups order by piece, subject"
            )
        ]
        marked = _marked(faulted)
        pieces = {(row["run_id"], row["what"]) for row in faulted.query("select run_id, what from run_captures")}

        server.clear_faults()
        extract(server, faulted, [REPOSITORY], batched=False)
        repaired_verdicts = _verdicts(faulted)
        still_missing = [
            row["still_missing"] for row in completeness(faulted, QUARTER, Settings(), [])["degraded_lookups"]
        ]
    return {
        "clean_marked": clean_marked,
        "broken": broken,
        "statuses_of": statuses_of,
        "summary": summary,
        "clean_verdicts": clean_verdicts,
        "faulted_verdicts": faulted_verdicts,
        "degraded": degraded,
        "marked": marked,
        "pieces": pieces,
        "repaired_verdicts": repaired_verdicts,
        "still_missing": still_missing,
    }


def test_unreadable_answers_are_degraded_lookups_that_name_what_was_wrong_and_no_permission(captured) -> None:
    broken = captured["broken"]
    assert captured["degraded"] == [
        {
            "piece": "approvals",
            "subject": str(broken[NULL_APPROVALS]),
            "outcome": "unavailable",
            "rest_error": "HTTP 200: body is null, not a list",
            "permission": None,
        },
        *sorted(
            [
                {
                    "piece": "jobs",
                    "subject": str(broken[NULL_JOBS]),
                    "outcome": "unavailable",
                    "rest_error": "HTTP 200: body is null, not an object",
                    "permission": None,
                },
                {
                    "piece": "jobs",
                    "subject": str(broken[NO_JOBS_LIST]),
                    "outcome": "unavailable",
                    "rest_error": 'HTTP 200: body has no "jobs" list',
                    "permission": None,
                },
            ],
            key=lambda row: row["subject"],
        ),
        {
            "piece": "statuses",
            "subject": str(captured["statuses_of"]),
            "outcome": "unavailable",
            "rest_error": "HTTP 200: body is null, not a list",
            "permission": None,
        },
    ]
    assert captured["summary"].degraded == {
        ("approvals", "unavailable"): 1,
        ("jobs", "unavailable"): 2,
        ("statuses", "unavailable"): 1,
    }


def test_the_extract_line_says_what_was_unreadable_and_claims_no_missing_permission(captured) -> None:
    reasons = captured["summary"].degraded_reasons
    assert reasons and all("permission" not in reason for reason in reasons), reasons
    assert any("body is null" in reason for reason in reasons), reasons


def test_runs_with_an_unreadable_piece_are_not_marked_captured(captured) -> None:
    broken = captured["broken"]
    assert set(broken) <= captured["clean_marked"]
    assert captured["marked"] == captured["clean_marked"] - set(broken[:3])
    assert (broken[NULL_APPROVALS], "approvals") not in captured["pieces"]
    assert (broken[NULL_JOBS], "jobs") not in captured["pieces"]
    assert (broken[NO_JOBS_LIST], "jobs") not in captured["pieces"]
    assert (broken[NULL_APPROVALS], "jobs") in captured["pieces"], "the pieces GitHub did give are stored"


@pytest.mark.parametrize(
    ("position", "controls", "reason"),
    [
        (NULL_APPROVALS, ("deploy.approved", "deploy.independent", "evidence.retained"), "body is null, not a list"),
        (NULL_JOBS, ("tests.passed",), "body is null, not an object"),
        (NO_JOBS_LIST, ("tests.passed",), 'body has no "jobs" list'),
        (NULL_STATUSES, ("deploy.timely", "evidence.retained"), "body is null, not a list"),
    ],
)
def test_verdicts_needing_an_unreadable_piece_are_not_available_and_claim_no_permission(
    captured, position, controls, reason
) -> None:
    run_id = captured["broken"][position]
    for control in controls:
        verdict, detail = captured["faulted_verdicts"][run_id, control]
        assert verdict == "not_available", (control, detail)
        assert f"(HTTP 200: {reason})" in detail and "lacks" not in detail, detail


def test_no_unreadable_answer_gives_a_worse_or_better_verdict_and_a_clean_capture_completes_them(captured) -> None:
    clean = captured["clean_verdicts"]
    assert captured["faulted_verdicts"].keys() == clean.keys()
    for key, (verdict, detail) in captured["faulted_verdicts"].items():
        assert verdict in (clean[key][0], "not_available"), (key, detail)
    assert captured["repaired_verdicts"] == clean
    assert captured["still_missing"] == [0, 0, 0]


def test_unreadable_jobs_after_graphql_refused_them_name_no_permission() -> None:
    """Batched: GraphQL refuses check runs for want of `checks: read`, REST answers a null page.
    The piece is unavailable because of the null, not for want of a permission."""
    world = small_world(deployments=6)
    run_id = run_order(world)[0].id
    with FakeGitHub(world) as server:
        server.graphql_faults.forbidden.add("CheckSuite.checkRuns")
        server.add_fault(rf"/actions/runs/{run_id}/jobs$", 200, body=b"null", times=None)
        db = new_store()
        extract(server, db, [REPOSITORY])
    row = db.execute(
        "select outcome, graphql_error, rest_error, permission from degraded_lookups "
        "where piece = 'jobs' and subject = ?",
        [str(run_id)],
    ).fetchone()
    assert row[0] == "unavailable" and row[1].startswith("FORBIDDEN at nodes.0.checkSuite")
    assert row[2:] == ("HTTP 200: body is null, not an object", None)
    assert db.execute("select evidence_captured_at from workflow_runs where run_id = ?", [run_id]).fetchone() == (None,)


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            r"/actions/runs$",
            b"null",
            f"GitHub's answer to GET /repos/{REPOSITORY}/actions/runs is not what the endpoint documents "
            "(HTTP 200: body is null, not an object)",
        ),
        (
            r"/deployments$",
            {"message": "unexpected"},
            f"GitHub's answer to GET /repos/{REPOSITORY}/deployments is not what the endpoint documents "
            "(HTTP 200: body is an object, not a list)",
        ),
    ],
    ids=["null runs listing", "deployments listing as an object"],
)
def test_an_unreadable_listing_the_capture_needs_stops_it_in_one_line_keeping_what_was_stored(
    tmp_path, path, body, expected
) -> None:
    world = small_world(deployments=6)
    db_path = tmp_path / "evidence.db"
    args = ("extract", "--quarter", str(QUARTER), "--repo", REPOSITORY, "--db", str(db_path))
    with FakeGitHub(world, token=CANARY) as server:
        server.add_fault(path, 200, body=body, times=None)
        failed = run_cli(*args, cwd=tmp_path, env=cli_env(tmp_path, server.base_url), timeout=120)
        with sqlite3.connect(db_path) as conn:
            kept = conn.execute("select count(*) from environment_snapshots").fetchone()[0]
            assert conn.execute("select finished_at from extractions").fetchall() == [(None,)]
        server.clear_faults()
        again = run_cli(*args, cwd=tmp_path, env=cli_env(tmp_path, server.base_url), timeout=120)
    assert failed.returncode == 1, failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("soc2-audit:")]
    assert len(errors) == 1 and expected in errors[0], failed.stderr
    assert "Traceback" not in failed.stderr
    assert kept > 0, "what was captured before the unreadable listing is kept"
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select count(*) from deployments").fetchone()[0] == len(
            world.repositories[REPOSITORY].deployments
        )
        assert (
            conn.execute("select count(*) from workflow_runs where evidence_captured_at is not null").fetchone()[0] >= 6
        )


def _extract_with_organization(server: FakeGitHub, db) -> None:
    client = GitHubClient(server.base_url, None)
    try:
        Extractor(db, client, Settings(), QUARTER).run([REPOSITORY], organization=REPOSITORY.split("/")[0])
    finally:
        client.close()


def test_unreadable_settings_are_unknown_never_unprotected_or_unchanged() -> None:
    """A null ruleset or audit-log page is recorded as unreadable (not "no rules", "no changes"),
    and a workflow file GraphQL nulled with an error is left to ask again (not "no such file")."""
    with FakeGitHub(small_world(deployments=6)) as server:
        server.add_fault(r"/rules/branches/[^/]+$", 200, body=b"null", times=None)
        server.add_fault(r"/audit-log$", 200, body=b"null", times=None)
        server.graphql_faults.forbidden.add("Repository.object")
        db = new_store()
        _extract_with_organization(server, db)
        rules = db.execute("select readable, detail from branch_snapshots where source = 'rules'").fetchall()
        audit_log = db.execute("select readable, detail from audit_log_reads").fetchall()
        workflow_files = db.execute("select count(*) from workflow_files").fetchone()[0]
        server.clear_faults()
        _extract_with_organization(server, db)
    assert rules == [(0, "HTTP 200: body is null, not a list")]
    assert audit_log[0] == (0, "HTTP 200: body is null, not a list")
    assert workflow_files == 0
    resolved = db.execute("select count(*) from workflow_files").fetchone()[0]
    assert resolved == db.execute("select count(distinct head_sha) from workflow_runs").fetchone()[0] > 0


def test_a_null_answer_to_a_conditional_request_is_not_read_as_unchanged() -> None:
    """Only a 304 means "unchanged since the stored ETag"; a 200 with a null body stops the
    capture, and the store keeps every row the first capture gave."""
    with FakeGitHub(small_world(deployments=6)) as server:
        db = new_store()
        extract(server, db, [REPOSITORY])
        before = {table: comparable_rows(db, table) for table in EVIDENCE_TABLES}
        server.add_fault(r"/actions/runs$", 200, body=b"null", times=None)
        with pytest.raises(UnreadableAnswer, match=r"actions/runs .*\(HTTP 200: body is null, not an object\)"):
            extract(server, db, [REPOSITORY])
        assert server.request_count(f"/repos/{REPOSITORY}/actions/runs") >= 1
    assert {table: comparable_rows(db, table) for table in EVIDENCE_TABLES} == before
