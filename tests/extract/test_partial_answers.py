"""GitHub's partial answers (issue 12 §1): a refusal is never read as "none".

A token without `checks: read` gets GraphQL `FORBIDDEN` on check runs; one without
`pull_requests: read` gets it on pull requests, and REST 403 "Resource not accessible by
integration" on the same resources. Jobs then come from REST; what REST refuses too is
stored as unavailable, with the permission it needs, and the verdicts that need it are
`not_available`, never `fail`. A later extraction with a better token completes the store
and gives the clean verdicts.
"""

from __future__ import annotations

import pytest

from audit import pipeline
from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub
from audit.evaluate import evaluate_quarter
from audit.findings import completeness
from audit.pipeline import Scope
from audit.progress import Silent
from tests.reliability.helpers import REPOSITORY, run_order, small_world

from .conftest import QUARTER, comparable_rows, extract, new_store

EVIDENCE = ("jobs", "approvals", "run_captures", "commit_pulls", "pull_requests", "reviews", "workflow_runs")


def _verdicts(db) -> dict[tuple, tuple[str, str]]:
    evaluate_quarter(db, QUARTER, Settings(), demo=False, evaluated_at="fixed")
    return {
        (row["run_id"], row["control_id"]): (row["verdict"], row["detail"])
        for row in db.query("select * from verdicts where quarter = ?", [str(QUARTER)])
    }


def _refuse_checks_and_pull_requests(server: FakeGitHub, not_found_run: int) -> None:
    """A token with `actions: read` but neither `checks: read` nor `pull_requests: read`,
    and one run GraphQL cannot resolve; jobs are refused over REST too."""
    server.graphql_faults.forbidden |= {"CheckSuite.checkRuns", "Commit.associatedPullRequests"}
    server.graphql_faults.not_found_runs.add(not_found_run)
    server.refuse(r"/actions/runs/\d+/jobs$", "actions=read")
    server.refuse(r"/commits/[0-9a-f]+/pulls$", "pull_requests=read")
    server.refuse(r"/pulls/\d+/reviews$", "pull_requests=read")


@pytest.fixture(scope="module")
def runs():
    world = small_world()
    not_found = run_order(world)[2].id
    with FakeGitHub(world) as server:
        clean = new_store()
        extract(server, clean, [REPOSITORY])
        clean_verdicts = _verdicts(clean)

        faulted = new_store()
        _refuse_checks_and_pull_requests(server, not_found)
        summary = extract(server, faulted, [REPOSITORY])
        faulted_verdicts = _verdicts(faulted)
        faulted_rows = {table: comparable_rows(faulted, table) for table in EVIDENCE}
        degraded = list(faulted.query("select * from degraded_lookups order by piece, subject"))
        marked = faulted.execute("select count(*) from workflow_runs where evidence_captured_at is not null")
        runs_marked = marked.fetchone()[0]
        faulted_report = completeness(faulted, QUARTER, Settings(), [])["degraded_lookups"]

        server.clear_faults()
        again = extract(server, faulted, [REPOSITORY])
        repaired_verdicts = _verdicts(faulted)
        repaired_report = completeness(faulted, QUARTER, Settings(), [])["degraded_lookups"]
    return {
        "clean": clean,
        "clean_verdicts": clean_verdicts,
        "summary": summary,
        "faulted_verdicts": faulted_verdicts,
        "faulted_rows": faulted_rows,
        "degraded": degraded,
        "runs_marked": runs_marked,
        "faulted_report": faulted_report,
        "repaired_report": repaired_report,
        "again": again,
        "repaired": faulted,
        "repaired_verdicts": repaired_verdicts,
        "deployments": len(world.repositories[REPOSITORY].runs),
    }


def test_a_refusal_never_gives_a_worse_or_better_verdict(runs) -> None:
    clean, faulted = runs["clean_verdicts"], runs["faulted_verdicts"]
    assert clean.keys() == faulted.keys()
    for key, (verdict, detail) in faulted.items():
        assert verdict in (clean[key][0], "not_available"), (key, detail)


@pytest.mark.parametrize(
    ("control", "permission"), [("tests.passed", "actions: read"), ("change.reviewed", "pull_requests: read")]
)
def test_verdicts_needing_refused_evidence_are_not_available_and_name_the_permission(runs, control, permission):
    judged = [value for (_, control_id), value in runs["faulted_verdicts"].items() if control_id == control]
    assert len(judged) == runs["deployments"]
    for verdict, detail in judged:
        assert verdict == "not_available"
        assert "Resource not accessible by integration" in detail
        assert f"the token lacks {permission}" in detail


def test_approvals_refused_by_graphql_come_from_rest(runs) -> None:
    """The NOT_FOUND run's approvals came over REST: its approval verdicts are the clean ones."""
    clean, faulted = runs["clean_verdicts"], runs["faulted_verdicts"]
    for control in ("deploy.approved", "evidence.retained", "deploy.timely"):
        assert {k: v for k, v in faulted.items() if k[1] == control} == {
            k: v for k, v in clean.items() if k[1] == control
        }


def test_refused_pieces_are_not_marked_captured(runs) -> None:
    rows = runs["faulted_rows"]
    assert rows["jobs"] == [] and rows["commit_pulls"] == [] and rows["reviews"] == []
    assert {row[2] for row in rows["run_captures"]} == {"approvals", "artifacts"}
    assert runs["runs_marked"] == 0


def test_degraded_lookups_are_recorded_with_reason_and_permission(runs) -> None:
    by_piece: dict[tuple[str, str], list[dict]] = {}
    for row in runs["degraded"]:
        by_piece.setdefault((row["piece"], row["outcome"]), []).append(row)
    deployments = runs["deployments"]
    assert len(by_piece["jobs", "unavailable"]) == deployments
    assert len(by_piece["pull_requests", "unavailable"]) == deployments
    assert len(by_piece["approvals", "rest"]) == 1  # the NOT_FOUND run
    assert by_piece["approvals", "rest"][0]["graphql_error"].startswith("NOT_FOUND at nodes.2")
    for jobs in by_piece["jobs", "unavailable"]:
        assert jobs["rest_error"] == "HTTP 403: Resource not accessible by integration"
        not_found = jobs["graphql_error"].startswith("NOT_FOUND")
        assert jobs["permission"] == ("actions: read" if not_found else "actions: read (GraphQL: checks: read)")
    assert by_piece["pull_requests", "unavailable"][0]["permission"] == "pull_requests: read"
    summary = runs["summary"]
    assert summary.degraded == {
        ("jobs", "unavailable"): deployments,
        ("pull_requests", "unavailable"): deployments,
        ("approvals", "rest"): 1,
    }
    assert any("jobs unavailable" in reason and "actions: read" in reason for reason in summary.degraded_reasons)


def test_a_clean_rerun_completes_the_store_and_gives_the_clean_verdicts(runs) -> None:
    assert runs["again"].degraded == {}
    assert runs["repaired_verdicts"] == runs["clean_verdicts"]
    for table in EVIDENCE:
        assert comparable_rows(runs["repaired"], table) == comparable_rows(runs["clean"], table), table


def test_the_completeness_section_counts_degraded_lookups_until_a_capture_fills_them(runs) -> None:
    deployments = runs["deployments"]
    forbidden = "HTTP 403: Resource not accessible by integration"
    expected = [  # the NOT_FOUND run's jobs were not refused by GraphQL for want of checks: read
        ("jobs", "unavailable", forbidden, "actions: read", 1, 1),
        ("jobs", "unavailable", forbidden, "actions: read (GraphQL: checks: read)", deployments - 1, deployments - 1),
        ("pull_requests", "unavailable", forbidden, "pull_requests: read", deployments, deployments),
        ("approvals", "rest", runs["degraded"][0]["graphql_error"], None, 1, 0),
    ]
    columns = ("piece", "outcome", "reason", "permission", "lookups", "still_missing")
    assert [tuple(row[c] for c in columns) for row in runs["faulted_report"]] == expected
    assert [row["still_missing"] for row in runs["repaired_report"]] == [0, 0, 0, 0]


def test_the_extract_line_counts_degraded_lookups_with_their_reasons(tmp_path) -> None:
    said: list[str] = []

    class Recording(Silent):
        def say(self, message: str, style: str | None = None) -> None:
            said.append(message)

    with FakeGitHub(small_world(deployments=6)) as server:
        server.graphql_faults.forbidden.add("CheckSuite.checkRuns")
        server.refuse(r"/actions/runs/\d+/jobs$", "actions=read")
        scope = Scope(server.base_url, None, (REPOSITORY,), None, False)
        pipeline.extract(scope, Settings(), QUARTER, tmp_path / "evidence.db", progress=Recording())
    degraded = [line for line in said if "lookups degraded" in line]
    assert degraded == [
        "6 lookups degraded: 6 jobs unavailable (HTTP 403: Resource not accessible by integration; "
        "missing permission: actions: read (GraphQL: checks: read))"
    ]
