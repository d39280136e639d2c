"""Settings in force without an audit log: changes bounded by capture dates, weak windows
at least / at most, and the gaps between captures more than a week apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils

from audit.config import Settings
from audit.settings_history import settings_in_force, weaknesses
from audit.store import ensure_schema

START, END = datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)
REPOSITORY = "acme/api"


def _store(captures: list[tuple[datetime, bool]]) -> sqlite_utils.Database:
    """Production snapshots at each (moment, prevent_self_review)."""
    db = sqlite_utils.Database(memory=True)
    ensure_schema(db)
    db["environment_snapshots"].insert_all(
        {
            "repository": REPOSITORY,
            "environment": "production",
            "captured_at": moment.isoformat(),
            "required_reviewers": 1,
            "prevent_self_review": int(prevent),
            "wait_timer": 0,
            "branch_policy": None,
        }
        for moment, prevent in captures
    )
    db["branch_snapshots"].insert_all(
        {
            "repository": REPOSITORY,
            "branch": "main",
            "captured_at": moment.isoformat(),
            "source": "rules",
            "readable": 1,
            "required_reviews": 1,
            "required_checks": '["test"]',
        }
        for moment, _ in captures
    )
    return db


def _deployment(moment: datetime, run_id: int) -> dict:
    return {"repository": REPOSITORY, "run_id": run_id, "environment": "production", "created_at": moment.isoformat()}


def weekly(weak_from: int, weak_to: int) -> list[tuple[datetime, bool]]:
    """A capture every 6 days across the quarter; captures weak_from..weak_to saw self-review allowed."""
    return [(START - timedelta(days=2) + timedelta(days=6 * n), not weak_from <= n <= weak_to) for n in range(17)]


def test_weak_window_is_bounded_by_the_captures_around_it():
    captures = weekly(5, 7)
    deployments = [_deployment(START + timedelta(days=day, hours=12), day) for day in range(0, 91, 3)]
    section = settings_in_force(_store(captures), START, END, Settings(), deployments)
    assert section["source"] == "captures" and section["continuously_observed"] is True
    environment, branch = section["repositories"][0]["objects"]
    assert branch["windows"] == [] and branch["changes"] == []
    (window,) = environment["windows"]
    assert window["exact"] is False and window["weaknesses"] == ["self-review allowed (deploy.independent)"]
    assert (window["start"], window["end"]) == (captures[5][0].isoformat(), captures[7][0].isoformat())
    assert (window["earliest_start"], window["latest_end"]) == (captures[4][0].isoformat(), captures[8][0].isoformat())
    low, high = captures[4][0], captures[8][0]
    assert [d["run_id"] for d in window["deployments"]] == [
        d["run_id"] for d in deployments if low <= datetime.fromisoformat(d["created_at"]) < high
    ]
    assert [c["between"] for c in environment["changes"]] == [
        [captures[4][0].isoformat(), captures[5][0].isoformat()],
        [captures[7][0].isoformat(), captures[8][0].isoformat()],
    ]
    assert all(c["at"] is None and c["actor"] is None for c in environment["changes"])


def test_captures_more_than_a_week_apart_leave_gaps():
    captures = [(START + timedelta(days=1), True), (START + timedelta(days=20), True), (END + timedelta(days=1), True)]
    section = settings_in_force(_store(captures), START, END, Settings(), [])
    assert section["continuously_observed"] is False
    gaps = [(g["object"], g["from"][:10], g["to"][:10]) for g in section["gaps"]]
    assert gaps == [
        (f"{kind} {name}", low, high)
        for kind, name in (("environment", "production"), ("branch", "main"))
        for low, high in (("2024-04-02", "2024-04-21"), ("2024-04-21", "2024-07-01"))
    ]


def test_settings_never_captured_are_a_gap_over_the_whole_period():
    db = _store([])
    db["environment_snapshots"].insert(
        {"repository": REPOSITORY, "environment": "staging", "captured_at": START.isoformat(), "required_reviewers": 0}
    )
    section = settings_in_force(db, START, END, Settings(), [_deployment(START + timedelta(days=3), 1)])
    assert section["continuously_observed"] is False
    assert {(g["object"], g["from"], g["to"]) for g in section["gaps"]} == {
        ("environment production", START.isoformat(), END.isoformat()),
        ("branch default", START.isoformat(), END.isoformat()),
    }


@pytest.mark.parametrize(
    ("kind", "state", "expected"),
    [
        ("environment", {"required_reviewers": 2, "prevent_self_review": True}, []),
        (
            "environment",
            {"required_reviewers": 0, "prevent_self_review": None},
            ["no required reviewers (deploy.approved)"],
        ),
        ("environment", {"required_reviewers": None, "prevent_self_review": None}, []),
        (
            "branch",
            {"required_reviews": 0, "required_checks": []},
            [
                "no approving review required (change.reviewed)",
                "no required status checks (tests.passed)",
            ],
        ),
        ("branch", {"required_reviews": 1, "required_checks": None}, []),
    ],
)
def test_weaknesses(kind, state, expected):
    assert weaknesses(kind, state) == expected
