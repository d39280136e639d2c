"""report.html: sections, self-containment, escaping, DEMO marking, determinism."""

from __future__ import annotations

import base64
import re

import pytest

from audit.render import render_html, view

from .factories import hostile_strings, make_findings

SECTION_IDS = ("cover", "summary", "matrix", "exceptions", "completeness", "sample", "population", "verify")


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(make_findings(40))


@pytest.mark.parametrize("section_id", SECTION_IDS)
def test_every_section_present(html, section_id):
    assert f'<section id="{section_id}"' in html


def test_no_sample_section_without_sample():
    assert 'id="sample"' not in render_html(make_findings(5, sample=False))


def test_self_contained(html):
    # Only <a href> may point outside (run pages on GitHub); nothing is ever loaded.
    assert not re.search(
        r"""(?:src|srcset|data|poster|action)\s*=\s*["']?\s*(?:https?:|//|file:)""", html, re.IGNORECASE
    )
    assert not re.search(r"<link\b", html, re.IGNORECASE)
    assert not re.search(r"<script\b", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html
    for match in re.finditer(r"href=\"([^\"]*)\"", html):
        assert match.group(1).startswith("https://github.com/")


def test_charts_are_svg_images_with_alt_text(html):
    """Charts are `<img>` of an SVG data URI (tagged PDFs give an image its alt text)."""
    images = re.findall(r'<img class="chart" src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)">', html)
    assert len(images) == html.count("<img") == 4
    for data, alt in images:
        assert base64.b64decode(data).startswith(b"<svg ")
        assert "table" in alt or "matrix" in alt  # each points to its text equivalent
    for label in (
        "Verdicts per control, quarter by quarter",
        "Deployments per ISO week",
        "Verdicts per control",
        "Approval latency in minutes",
    ):
        assert any(f'aria-label="{label}"'.encode() in base64.b64decode(data) for data, _ in images)
    summary = html.split('<section id="summary"', 1)[1]
    assert summary.index("quarter by quarter") < summary.index("Deployments per ISO week"), "the trend opens it"


def test_population_has_every_deployment_and_verdict_symbols(html):
    findings = make_findings(40)
    body = html.split('<section id="population"', 1)[1].split("</section>", 1)[0]
    assert body.count("<tr>") == 1 + len(findings["deployments"])
    assert 'class="v v-pass">✓<' in body


def test_table_rows_in_any_chunk_size_make_the_same_bytes(html, monkeypatch):
    """The long tables' rows reach the page a chunk at a time; a last, partial chunk included."""
    monkeypatch.setattr(view, "ROWS_PER_CHUNK", 3)
    assert render_html(make_findings(40)) == html


def test_demo_marked_in_header_and_cover(html):
    header = html.split("<header", 1)[1].split("</header>", 1)[0]
    assert "DEMO — built-in demo organisation, not real evidence" in header
    assert 'class="demo-banner"' in html


def test_no_demo_marking_for_real_evidence():
    html = render_html(make_findings(5, demo=False))
    assert "DEMO" not in html


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"pass": 9, "fail": 0, "not_applicable": 1, "not_available": 0, "error": 0}, ["No exceptions noted"]),
        ({"pass": 7, "fail": 3, "not_applicable": 0, "not_available": 0, "error": 0}, ["Exceptions noted (3)"]),
        ({"pass": 8, "fail": 0, "not_applicable": 0, "not_available": 2, "error": 0}, ["Evidence not available (2)"]),
        (
            {"pass": 5, "fail": 1, "not_applicable": 0, "not_available": 2, "error": 1},
            ["Exceptions noted (1)", "Evidence not available (2)", "Not evaluated: errors (1)"],
        ),
    ],
)
def test_matrix_conclusion(counts, expected):
    findings = make_findings(3)
    findings["controls"][0]["counts"] = counts
    matrix = render_html(findings).split('<section id="matrix"', 1)[1].split("<tr>", 3)[2]
    conclusions = re.findall(r'class="conclusion[^"]*">[^ ]+ ([^<]+)<', matrix)
    assert conclusions == expected


def test_management_response_shown_beside_unchanged_verdict():
    findings = make_findings(3)
    deployment = findings["deployments"][0]
    deployment["controls"]["deploy.approved"] = {"verdict": "fail", "detail": "Run 1: rejected."}
    deployment["responses"] = {
        "deploy.approved": {
            "response": "Accepted by the CAB.",
            "author": "cl",
            "recorded_at": deployment["created_at"],
            "reference": "CHG-1",
        }
    }
    html = render_html(findings)
    row = html.split("Run 1: rejected.", 1)[1].split("</tr>", 1)[0]
    before = html.split("Run 1: rejected.", 1)[0].rsplit("<tr>", 1)[1]
    assert "Accepted by the CAB." in row and "CHG-1" in row
    assert "✗ Fail" in before


def test_hostile_text_is_escaped():
    findings = make_findings(12)
    strings = hostile_strings(9)
    for deployment, text in zip(findings["deployments"], strings, strict=False):
        deployment.update(pr_title=text, head_branch=text, actor=text)
        deployment["controls"]["change.reviewed"] = {"verdict": "fail", "detail": text}
    findings["deployments"][0]["html_url"] = "javascript:alert(1)"
    html = render_html(findings)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for raw in ("<script>", "<img src=", '<link rel="stylesheet"', "<style>@import", '<link rel="attachment"'):
        assert raw not in html
    assert "javascript:" not in html


def test_same_findings_same_html():
    assert render_html(make_findings(20)) == render_html(make_findings(20))


def test_empty_quarter_renders():
    findings = make_findings(0, sample=False)
    html = render_html(findings)
    assert '<section id="population"' in html and "0 deployments" in html


def test_period_shown_in_report_time_zone():
    findings = make_findings(3)
    findings["period"] = {
        "start": "2024-03-31T22:00:00+00:00",
        "end": "2024-06-30T22:00:00+00:00",
        "timezone": "Europe/Berlin",
    }
    html = render_html(findings)
    assert "from 2024-04-01 00:00:00 (inclusive) to 2024-07-01 00:00:00 (exclusive)" in html
    assert "time zone Europe/Berlin" in html
