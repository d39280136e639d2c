"""Settings in force over the period: what each capture saw, what changed, and where the
settings were weaker than the controls assume. Evidence beside the verdicts, not a verdict.

The controls assume that production needs an environment review (`deploy.approved`) that a
reviewer cannot give to their own deployment (`deploy.independent`), and that the default
branch needs an approving pull-request review (`change.reviewed`) and passing status checks
(`tests.passed`). GitHub only shows the configuration of the moment, so:

- with the organisation audit log readable from the period's start, every change is known
  with its time and actor, and a captured state holds back to the last change before it;
- without it, a state is known at each capture only; a change lies somewhere between two
  captures ("bounded by capture dates"), and a weak window is stated as at least from the
  first to the last capture that saw it, at most from the capture before to the one after.

Settings count as continuously observed when the audit log covers the period, or when no
two consecutive captures (and neither end of the period) are more than `MAX_CAPTURE_GAP`
apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from audit.config import Settings
from audit.patterns import matches_any
from audit.times import parse

MAX_CAPTURE_GAP = timedelta(days=7)
"""Captures further apart than this leave a gap in the observation of the settings."""


@dataclass(frozen=True)
class Observation:
    """The state of one protected object (an environment, a branch) at one moment."""

    at: datetime
    source: str
    """"capture" or "audit_log"."""
    state: dict
    """Settings as plain values; a None value is unknown."""
    actor: str | None = None
    """Who changed it (audit log only)."""


def weaknesses(kind: str, state: dict) -> list[str]:
    """What in `state` is weaker than the controls assume (empty: as assumed; unknowns are skipped)."""
    found = []
    if kind == "environment":
        if state.get("required_reviewers") == 0:
            found.append("no required reviewers (deploy.approved)")
        if state.get("required_reviewers") and state.get("prevent_self_review") is False:
            found.append("self-review allowed (deploy.independent)")
    else:
        if state.get("required_reviews") == 0:
            found.append("no approving review required (change.reviewed)")
        if state.get("required_checks") == []:
            found.append("no required status checks (tests.passed)")
    return found


def settings_in_force(db, start: datetime, end: datetime, settings: Settings, deployments: list[dict]) -> dict:
    """The findings' `settings_in_force` section for `[start, end)`."""
    reads = [dict(r) for r in db.query("select * from audit_log_reads order by captured_at")]
    readable = [r for r in reads if r["readable"]]
    covering = [r for r in readable if _time(r["since"] + "T00:00:00+00:00") <= start]
    audit_mode = bool(covering)
    audit_since = min(_time(r["since"] + "T00:00:00+00:00") for r in covering) if covering else None
    repositories = sorted({d["repository"] for d in deployments} | _captured_repositories(db))
    by_repository = []
    gaps = []
    for repository in repositories:
        objects = []
        for kind, name, observations in _objects(db, repository, settings, audit_mode):
            label = f"{kind} {name}"
            if audit_mode and audit_since is not None:
                windows, unknown = _audit_windows(kind, _segments(observations, audit_since), start, end)
            else:
                captures = [o for o in observations if o.source == "capture"]
                windows, unknown = (
                    _capture_windows(kind, captures, start, end),
                    _gaps([o.at for o in captures], start, end),
                )
            gaps += [{"repository": repository, "object": label, "from": _iso(a), "to": _iso(b)} for a, b in unknown]
            for window in windows:
                low = parse(window["earliest_start"]) or start
                high = parse(window["latest_end"]) or end
                window["deployments"] = [
                    {"run_id": d["run_id"], "created_at": d["created_at"], "environment": d["environment"]}
                    for d in deployments
                    if d["repository"] == repository and low <= _time(d["created_at"]) < high
                ]
            objects.append(
                {
                    "kind": kind,
                    "name": name,
                    "observations": [
                        {
                            "at": _iso(o.at),
                            "source": o.source,
                            "actor": o.actor,
                            "state": o.state,
                            "weaknesses": weaknesses(kind, o.state),
                        }
                        for o in observations
                        if _relevant(o, observations, start, end)
                    ],
                    "changes": _changes(observations, start, end),
                    "windows": windows,
                }
            )
        observed = {(o["kind"], o["name"]) for o in objects}
        expected = {("environment", d["environment"]) for d in deployments if d["repository"] == repository}
        never = sorted(expected - observed) + (
            [] if any(k == "branch" for k, _ in observed) else [("branch", "default")]
        )
        gaps += [
            {"repository": repository, "object": f"{k} {n}", "from": _iso(start), "to": _iso(end)} for k, n in never
        ]
        by_repository.append({"repository": repository, "objects": objects})
    return {
        "source": "audit_log" if audit_mode else "captures",
        "audit_log": {
            "readable": bool(readable),
            "since": _iso(audit_since) if audit_since else None,
            "detail": None if readable else (reads[-1]["detail"] if reads else "never read"),
        },
        "continuously_observed": not gaps,
        "gaps": gaps,
        "repositories": by_repository,
    }


def _captured_repositories(db) -> set[str]:
    return {r["repository"] for r in db.query("select distinct repository from environment_snapshots")}


def _objects(db, repository: str, settings: Settings, audit_mode: bool):
    """(kind, name, observations oldest first) for each production environment and the default branch."""
    environments: dict[str, list[Observation]] = {}
    for row in db.query("select * from environment_snapshots where repository = ? order by captured_at", [repository]):
        if matches_any(row["environment"], settings.production_environments):
            environments.setdefault(row["environment"], []).append(
                Observation(
                    _time(row["captured_at"]),
                    "capture",
                    {
                        "required_reviewers": row["required_reviewers"],
                        "prevent_self_review": None
                        if row["prevent_self_review"] is None
                        else bool(row["prevent_self_review"]),
                        "wait_timer": row["wait_timer"],
                        "branch_policy": row["branch_policy"],
                    },
                )
            )
    events = [
        dict(r)
        for r in db.query(
            "select * from audit_log_events where lower(repository) = lower(?) order by created_at, document_id",
            [repository],
        )
    ]
    for name, observations in sorted(environments.items()):
        if audit_mode:  # environment events do not record the rules: a change of unknown state
            observations += [
                Observation(_time(e["created_at"]), "audit_log", {}, e["actor"])
                for e in events
                if e["action"].startswith("environment.") and e["subject"] == name
            ]
        yield "environment", name, sorted(observations, key=lambda o: (o.at, o.source))
    branches: dict[str, dict[str, list[dict]]] = {}
    for row in db.query(
        "select * from branch_snapshots where repository = ? order by captured_at, source", [repository]
    ):
        branches.setdefault(row["branch"], {}).setdefault(row["captured_at"], []).append(dict(row))
    for branch, captures in sorted(branches.items()):
        observations = [Observation(_time(at), "capture", _branch_state(rows)) for at, rows in captures.items()]
        if audit_mode:
            observations += [
                Observation(_time(e["created_at"]), "audit_log", _event_state(json.loads(e["raw"])), e["actor"])
                for e in events
                if e["action"].startswith("protected_branch.") and e["subject"] == branch
            ]
            observations += [  # a ruleset change may touch any branch; its event does not say how
                Observation(_time(e["created_at"]), "audit_log", {}, e["actor"])
                for e in events
                if e["action"].startswith("repository_ruleset.")
            ]
        yield "branch", branch, sorted(observations, key=lambda o: (o.at, o.source))


def _branch_state(rows: list[dict]) -> dict:
    """The effective protection of a branch from classic protection and rulesets together."""
    readable = [r for r in rows if r["readable"]]
    if not readable:
        return {"required_reviews": None, "dismiss_stale_reviews": None, "required_checks": None}
    checks = sorted({c for r in readable for c in json.loads(r["required_checks"] or "[]")})
    return {
        "required_reviews": max(r["required_reviews"] or 0 for r in readable),
        "dismiss_stale_reviews": any(r["dismiss_stale_reviews"] for r in readable),
        "required_checks": checks,
    }


def _event_state(event: dict) -> dict:
    """A `protected_branch.*` audit-log event records the branch's protection after the change."""
    off = event.get("pull_request_reviews_enforcement_level") == "off"
    count = event.get("required_approving_review_count")
    checks = event.get("required_status_checks")
    return {
        "required_reviews": 0 if off else count,
        "dismiss_stale_reviews": event.get("dismiss_stale_reviews_on_push"),
        "required_checks": sorted(checks) if isinstance(checks, list) else None,
    }


def _segments(
    observations: list[Observation], audit_since: datetime
) -> list[tuple[datetime, datetime | None, Observation | None]]:
    """Audit-log mode: `[from, to)` segments between consecutive changes, each with the state
    that held in it (None: unknown), from the start of the log on.

    A change whose event records the full state gives that state; otherwise (and before the
    first change) a capture taken inside the segment does, since nothing changed in between.
    """
    changes = [o for o in observations if o.source == "audit_log"]
    captures = [o for o in observations if o.source == "capture"]
    edges = [audit_since, *[c.at for c in changes if c.at > audit_since]]
    segments = []
    for index, low in enumerate(edges):
        high = edges[index + 1] if index + 1 < len(edges) else None
        event = next((c for c in changes if c.at == low), None)
        state = event if event is not None and _known(event.state) else None
        if state is None:
            inside = [c for c in captures if c.at >= low and (high is None or c.at < high)]
            state = inside[-1] if inside else None
            if state is not None and event is not None:
                state = Observation(event.at, "audit_log", state.state, event.actor)
        segments.append((low, high, state))
    return segments


def _known(state: dict) -> bool:
    """True when the observation says anything about the settings (an empty state does not)."""
    return any(value is not None for value in state.values())


def _audit_windows(kind: str, segments, start: datetime, end: datetime) -> tuple[list[dict], list[tuple]]:
    """Weak windows and unknown stretches within `[start, end)`, from audit-log segments."""
    windows, unknown = [], []
    for low, high, observation in segments:
        low, high = max(low, start), min(high or end, end)
        if low >= high:
            continue
        if observation is None:
            unknown.append((low, high))
            continue
        found = weaknesses(kind, observation.state)
        if found:
            windows.append(
                {
                    "weaknesses": found,
                    "start": _iso(low),
                    "end": _iso(high),
                    "earliest_start": _iso(low),
                    "latest_end": _iso(high),
                    "exact": True,
                    "actor": observation.actor,
                }
            )
    return _merge(windows), unknown


def _capture_windows(kind: str, ordered: list[Observation], start: datetime, end: datetime) -> list[dict]:
    """Capture mode: a weak window is at least from the first to the last capture that saw
    it, and at most from the capture before to the capture after."""
    windows = []
    index = 0
    while index < len(ordered):
        found = weaknesses(kind, ordered[index].state)
        if not found:
            index += 1
            continue
        first = index
        while index + 1 < len(ordered) and weaknesses(kind, ordered[index + 1].state) == found:
            index += 1
        before = ordered[first - 1].at if first > 0 else None
        after = ordered[index + 1].at if index + 1 < len(ordered) else None
        if (after is None or after > start) and (before is None or before < end):
            windows.append(
                {
                    "weaknesses": found,
                    "start": _iso(ordered[first].at),
                    "end": _iso(ordered[index].at),
                    "earliest_start": _iso(before) if before else None,
                    "latest_end": _iso(after) if after else None,
                    "exact": False,
                    "actor": None,
                }
            )
        index += 1
    return windows


def _merge(windows: list[dict]) -> list[dict]:
    """Adjacent audit-log windows with the same weaknesses become one."""
    merged: list[dict] = []
    for window in windows:
        if merged and merged[-1]["weaknesses"] == window["weaknesses"] and merged[-1]["end"] >= window["start"]:
            merged[-1]["end"] = merged[-1]["latest_end"] = max(merged[-1]["end"], window["end"])
        else:
            merged.append(window)
    return merged


def _changes(observations: list[Observation], start: datetime, end: datetime) -> list[dict]:
    """Every audit-logged change in the period, and every difference between consecutive
    captures that bounds a change in it."""
    changes = []
    previous: Observation | None = None
    for current in observations:
        exact = current.source == "audit_log"
        if previous is not None and (exact or current.state != previous.state):
            what = [
                f"{key}: {_show(previous.state.get(key))} → {_show(current.state.get(key))}"
                for key in current.state
                if previous.state.get(key) != current.state.get(key)
                and current.state.get(key) is not None
                and previous.state.get(key) is not None  # from unknown to known is no change
            ]
            if exact and not _known(current.state) and not what:
                what = ["changed; the audit-log entry does not record the settings"]
            inside = start <= current.at < end if exact else previous.at < end and current.at > start
            if what and inside:
                changes.append(
                    {
                        "at": _iso(current.at) if exact else None,
                        "between": None if exact else [_iso(previous.at), _iso(current.at)],
                        "actor": current.actor,
                        "what": what,
                    }
                )
        if _known(current.state) or previous is None:
            previous = current
    return changes


def _relevant(observation: Observation, observations: list[Observation], start: datetime, end: datetime) -> bool:
    """Observations inside the period, plus the last one before it (the state it started with)."""
    if start <= observation.at < end:
        return True
    if observation.at < start:
        later_before_start = [o for o in observations if observation.at < o.at < start]
        return not later_before_start
    return observation.source == "capture" and not [o for o in observations if end <= o.at < observation.at]


def _gaps(captures: list[datetime], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Stretches of `[start, end)` more than `MAX_CAPTURE_GAP` away from any capture."""
    points = sorted(c for c in captures)
    inside = [c for c in points if start <= c < end]
    before = [c for c in points if c < start]
    after = [c for c in points if c >= end]
    edges = [before[-1] if before else None, *inside, after[0] if after else None]
    gaps = []
    for low, high in zip(edges, edges[1:], strict=False):
        low_bound = low if low is not None else start
        high_bound = high if high is not None else end
        if high_bound - low_bound > MAX_CAPTURE_GAP:
            gap = (max(low_bound, start), min(high_bound, end))
            if gap[0] < gap[1]:
                gaps.append(gap)
    return gaps


def _show(value) -> str:
    if isinstance(value, list):
        return ", ".join(value) if value else "none"
    return "unknown" if value is None else str(value)


def _time(value: str) -> datetime:
    """A stored timestamp that is never missing (see `audit.times.parse` for one that may be)."""
    return datetime.fromisoformat(value)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
