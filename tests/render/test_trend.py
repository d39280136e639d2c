"""The trend view: one bar per control and calendar quarter of the period."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from audit.render.view import trend_chart

from .factories import make_deployment, make_findings


def _findings_over(period: tuple[str, str], created: list[str]) -> dict:
    findings = make_findings(len(created), sample=False)
    findings["period"] = {"start": period[0], "end": period[1], "timezone": "UTC"}
    findings["deployments"] = [make_deployment(findings, i, created_at=moment) for i, moment in enumerate(created)]
    return findings


def test_a_year_has_four_quarters_each_with_its_own_deployments():
    created = ["2024-02-01T10:00:00+00:00", "2024-02-02T10:00:00+00:00", "2024-08-01T10:00:00+00:00"]
    findings = _findings_over(("2024-01-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"), created)
    chart = trend_chart(findings, ZoneInfo("UTC"))
    assert [(q["label"], q["population"], q["partial"]) for q in chart["quarters"]] == [
        ("2024Q1", 2, False),
        ("2024Q2", 0, False),
        ("2024Q3", 1, False),
        ("2024Q4", 0, False),
    ]
    assert len(chart["rows"]) == len(findings["controls"])
    first = chart["rows"][0]["cells"]
    assert [cell["total"] for cell in first] == [2, 0, 1, 0]
    assert all(cell["segments"] == [] for cell in first if cell["total"] == 0)


def test_a_day_range_marks_its_partial_quarters():
    findings = _findings_over(("2024-03-15T00:00:00+00:00", "2024-05-01T00:00:00+00:00"), ["2024-04-02T10:00:00+00:00"])
    chart = trend_chart(findings, ZoneInfo("UTC"))
    assert [(q["label"], q["partial"]) for q in chart["quarters"]] == [("2024Q1", True), ("2024Q2", True)]


def test_failures_are_counted_per_quarter():
    created = ["2024-01-10T10:00:00+00:00", "2024-04-10T10:00:00+00:00"]
    findings = _findings_over(("2024-01-01T00:00:00+00:00", "2024-07-01T00:00:00+00:00"), created)
    control = findings["controls"][0]["id"]
    findings["deployments"][1]["controls"][control] = {"verdict": "fail", "detail": "x"}
    findings["deployments"][0]["controls"][control] = {"verdict": "pass", "detail": "x"}
    row = trend_chart(findings, ZoneInfo("UTC"))["rows"][0]
    assert [cell["fail"] for cell in row["cells"]] == [0, 1]
