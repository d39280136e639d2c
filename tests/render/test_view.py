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


def test_brief_lines_group_by_repository_and_verdict_in_run_order():
    def item(repository, run_id, attempt, verdict):
        deployment = {"repository": repository, "run_id": run_id, "run_attempt": attempt}
        return view.ExceptionItem(deployment, {"verdict": verdict}, None)

    items = [
        item("acme/web", 30, 1, "fail"),
        item("acme/api", 20, 2, "not_available"),
        item("acme/api", 7, None, "fail"),
        item("acme/api", 11, 3, "fail"),
        item("acme/api", 9, 1, "error"),
    ]
    items += [item("acme/web", 100 + n, 1, "fail") for n in range(view.BRIEF_CHUNK)]
    lines = view.brief_lines(items)
    assert [(line["repository"], line["verdict"]) for line in lines] == [
        ("acme/api", "fail"),
        ("acme/api", "not_available"),
        ("acme/api", "error"),
        ("acme/web", "fail"),
        ("acme/web", "fail"),  # more than BRIEF_CHUNK runs: a second paragraph
    ]
    assert lines[0]["runs"] == "7 11·3" and lines[1]["runs"] == "20·2" and lines[2]["runs"] == "9"
    assert lines[3]["runs"].startswith("30 100 101 ") and lines[4]["runs"] == f"{100 + view.BRIEF_CHUNK - 1}"
    assert sum(len(line["runs"].split()) for line in lines) == len(items)


def test_pdf_population_section_counts_per_repository_instead_of_rows():
    from audit.render.html import iter_html

    findings = make_findings(30)
    html = "".join(iter_html(findings, medium="pdf", population_limit=0, table_limit=25))
    section = html.split('<section id="population"', 1)[1].split("</section>", 1)[0]
    assert 'class="population' not in section  # no row per deployment
    repositories = sorted({d["repository"] for d in findings["deployments"]})
    for repository in repositories:
        deployments = [d for d in findings["deployments"] if d["repository"] == repository]
        exceptions = sum(
            any(r["verdict"] in view.EXCEPTION_VERDICTS for r in d["controls"].values()) for d in deployments
        )
        assert (
            f'<td class="mono">{repository}</td><td class="num">{len(deployments)}</td>'
            f'<td class="num">{exceptions}</td>' in section
        )
    assert "population.csv, population.xlsx and findings.json" in section


def test_run_cells_are_formatted_once_per_deployment_and_escaped():
    """A deployment with exceptions under several controls appears in each table with the
    same cells, formatted once; another deployment (even an equal one) gets its own."""
    deployment = make_deployment(make_findings(1), repository="acme/<b>", pr_number=7, pr_title="fix & ship")
    cells = view.RunCells(ZoneInfo("Europe/Berlin"))
    first = cells.of(deployment)
    assert cells.of(deployment) == first
    repository, run, when, pr = first
    assert repository == "acme/&lt;b&gt;" and "fix &amp; ship" in pr
    assert when == view.local_time(deployment["created_at"], ZoneInfo("Europe/Berlin"))
    assert str(deployment["run_id"]) in run
    other = dict(deployment, repository="acme/other")
    assert cells.of(other)[0] == "acme/other" and cells.of(deployment) == first


def test_the_pdf_details_the_first_exceptions_of_each_control_and_names_the_others_in_brief():
    """The PDF's exception tables hold `EXCEPTIONS_IN_DETAIL_PDF` rows per control; the other
    exceptions of the control are all named in its brief index."""
    import re

    from audit.render.html import pdf_html

    findings = synthetic_findings(300)
    html = pdf_html(findings)
    groups = view.exception_groups(findings, None)
    sections = html.split("<h3>C")[1:]
    for group, section in zip(groups, sections, strict=False):
        total = group["entries"].total
        if not total:
            continue
        table = section.split("</table>", 1)[0] if "<table" in section else ""
        detailed = table.count("<tr>") - 1 if table else 0  # less the header row
        assert detailed == min(total, view.EXCEPTIONS_IN_DETAIL_PDF), group["control"]["id"]
        named = re.findall(r'<p class="brief-list"><b>[^<]*</b> ([^<]*)</p>', section)
        assert sum(len(runs.split()) for runs in named) == total - detailed, group["control"]["id"]
    assert any(group["entries"].total > view.EXCEPTIONS_IN_DETAIL_PDF for group in groups)
