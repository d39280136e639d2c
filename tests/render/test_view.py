"""Chart geometry and other presentation figures: re-arrangement only, no verdicts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from audit.render import view
from benchmarks.synthetic import synthetic_findings

from .factories import make_deployment, make_findings


def test_weekly_chart_covers_every_week_and_every_deployment():
    findings = make_findings(120)
    chart = view.weekly_chart(findings, ZoneInfo("UTC"))
    labels = [bar["label"] for bar in chart["bars"]]
    assert labels[0] == "W14" and labels[-1] == "W26" and len(labels) == 13  # Mon 1 Apr to Sun 30 Jun
    assert sum(bar["count"] for bar in chart["bars"]) == 120
    assert all(0 <= bar["y"] <= chart["height"] for bar in chart["bars"])


@pytest.mark.parametrize(
    ("requested", "approved", "label"),
    [
        ("2024-04-02T10:00:00+00:00", "2024-04-02T10:00:00+00:00", "0–5"),
        ("2024-04-02T10:00:00+00:00", "2024-04-02T12:00:00+00:00", "60–120"),
        ("2024-04-02T10:00:00+00:00", "2024-04-02T12:01:00+00:00", "120–240"),
        ("2024-04-02T10:00:00+00:00", "2024-04-05T10:00:00+00:00", "> 960"),
    ],
)
def test_latency_bins(requested, approved, label):
    findings = make_findings(2)
    findings["deployments"] = [make_deployment(findings, approval_requested_at=requested, approved_at=approved)]
    chart = view.latency_chart(findings)
    assert {b["label"]: b["count"] for b in chart["bins"]}[label] == 1
    assert chart["measured"] == 1


def test_latency_skips_deployments_without_both_times():
    findings = make_findings(2)
    findings["deployments"] = [make_deployment(findings, approved_at=None)]
    assert view.latency_chart(findings)["measured"] == 0


def test_verdict_bars_fill_the_width():
    chart = view.verdict_chart(make_findings(50))
    for row in chart["rows"]:
        assert sum(s["width"] for s in row["segments"]) == pytest.approx(chart["width"], abs=0.1)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://github.com/o/r/actions/runs/1", "https://github.com/o/r/actions/runs/1"),
        ("javascript:alert(1)", None),
        ("http://evil/", None),
        ("data:text/html,x", None),
        (None, None),
    ],
)
def test_safe_url(url, shown):
    assert view.safe_url(url) == shown


def test_local_time_in_report_zone():
    zone = ZoneInfo("Europe/Berlin")
    assert view.local_time("2024-04-01T00:00:00+00:00", zone) == "2024-04-01 02:00"
    assert view.local_time(None, zone) == ""


def test_limited_says_how_many_exist():
    cut = view.limited(list(range(10)), 3)
    assert cut.rows == [0, 1, 2] and cut.total == 10 and cut.truncated
    assert not view.limited([1], None).truncated


def test_synthetic_findings_are_deterministic():
    assert synthetic_findings(30, seed=4) == synthetic_findings(30, seed=4)
    assert synthetic_findings(30, seed=4) != synthetic_findings(30, seed=5)
