"""report.pdf: sections, DEMO on every page, attachments, metadata, safety, determinism, caps.

Everything reads one package rendered from hostile findings (see conftest.py).
"""

from __future__ import annotations

import os
import re

import pytest

import audit.render as render_module
from audit.render import render_html, render_pdf, write_report
from audit.render.workbook import population_xlsx_bytes

from .conftest import POPULATION_LIMIT, poppler

SECTION_HEADINGS = (
    "Executive summary",
    "Control matrix",
    "Exceptions",
    "Completeness and methodology",
    "Auditor sample",
    "Population",
    "Verifying this package",
)


@pytest.mark.parametrize("heading", SECTION_HEADINGS)
def test_section_in_pdf_text(pdf_pages, heading):
    assert any(re.search(rf"^\s*{heading}\s*$", page, re.MULTILINE) for page in pdf_pages)


def test_cover_states_period_and_generator(pdf_pages):
    cover = pdf_pages[0]
    assert "2024-04-01 00:00:00 (inclusive)" in cover
    assert "2024-07-01 00:00:00 (exclusive)" in cover
    assert "soc2-audit 0.1.0" in cover and "2024-07-01T06:10:00+00:00" in cover


def test_demo_on_every_page(pdf_pages):
    assert len(pdf_pages) > 3
    for number, page in enumerate(pdf_pages, start=1):
        assert "DEMO" in page, f"page {number} lacks the DEMO marking"
        assert f"page {number} of {len(pdf_pages)}" in page


def test_attachments_are_exactly_ours_with_the_same_bytes(package, tmp_path):
    listing = poppler("pdfdetach", "-list", str(package["report.pdf"]))
    assert listing.splitlines() == [
        "3 embedded files",
        "1: findings.json",
        "2: population.csv",
        "3: population.xlsx",
    ]
    poppler("pdfdetach", "-saveall", "-o", str(tmp_path), str(package["report.pdf"]))
    for name in ("findings.json", "population.csv", "population.xlsx"):
        assert (tmp_path / name).read_bytes() == package[name].read_bytes()


def test_metadata(package):
    info = poppler("pdfinfo", "-isodates", str(package["report.pdf"]))
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    assert fields["Title"].strip() == "SOC 2 change-management evidence — 2024Q2"
    assert fields["Author"].strip() == "soc2-audit"
    assert "2024Q2" in fields["Subject"] and "SOC 2" in fields["Keywords"]
    assert fields["CreationDate"].strip() == "2024-07-01T06:10:00Z"
    assert fields["ModDate"].strip() == "2024-07-01T06:10:00Z"
    assert fields["Page size"].strip().endswith("(A4)")


def test_declares_pdf_a_3a(package):
    xmp = poppler("pdfinfo", "-meta", str(package["report.pdf"]))
    assert re.search(r'pdfaid:part[=>"\']+3', xmp)
    assert re.search(r'pdfaid:conformance[=>"\']+A', xmp)


def test_hostile_text_fetched_nothing(package, fetch_recorder):
    _, hits = fetch_recorder
    assert hits == []


def test_hostile_text_escaped_in_html(package):
    html = package["report.html"].read_text("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for raw in ("<script", "<link", "<style>@import"):
        assert raw not in html
    assert re.findall(r"<img [^>]*>", html) == re.findall(r'<img class="chart" src="data:image/svg\+xml;[^>]*>', html)
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?://127|file:)""", html)


def test_hostile_text_shown_as_text_in_pdf(pdf_pages):
    assert any("<script>alert(1)</script>" in page for page in pdf_pages)


def test_population_capped_with_pointer(pdf_pages, hostile_findings):
    text = "\n".join(pdf_pages)
    total = len(hostile_findings["deployments"])
    assert f"The PDF shows the first {POPULATION_LIMIT} of {total}." in re.sub(r"\s+", " ", text)
    population = re.split(r"\n\s*Population\s*\n", text.rsplit("Verifying this package", 1)[0])[-1]
    shown = [d for d in hostile_findings["deployments"] if str(d["run_id"]) in population]
    assert len(shown) == POPULATION_LIMIT


def test_html_carries_the_whole_population(package, hostile_findings):
    html = package["report.html"].read_text("utf-8")
    body = html.split('<section id="population"', 1)[1]
    assert all(str(d["run_id"]) in body for d in hostile_findings["deployments"])


def test_same_findings_same_bytes(package, hostile_findings):
    again = render_pdf(hostile_findings, population_pdf_limit=POPULATION_LIMIT)
    assert again == package["report.pdf"].read_bytes()


def test_source_date_epoch_restored(hostile_findings, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1")
    render_pdf(hostile_findings, population_pdf_limit=1)
    assert os.environ["SOURCE_DATE_EPOCH"] == "1"


def test_fetcher_refuses_everything_but_data_uris(fetch_recorder):
    """The second line of defence: even markup that escaped escaping fetches nothing."""
    import weasyprint

    from audit.render.pdf import DataOnlyFetcher

    port, hits = fetch_recorder
    before = len(hits)
    fetcher = DataOnlyFetcher()
    raw = (
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/y">'
        f"<style>@import url(http://127.0.0.1:{port}/z);</style>"
        f'<link rel="attachment" href="file:///etc/hostname">'
        f'<img src="http://127.0.0.1:{port}/x"><img src="data:image/svg+xml,%3Csvg/%3E">'
    )
    pdf = weasyprint.HTML(string=raw, url_fetcher=fetcher).write_pdf()
    assert len(hits) == before
    assert sorted(fetcher.refused) == sorted(
        [
            f"http://127.0.0.1:{port}/y",
            f"http://127.0.0.1:{port}/z",
            "file:///etc/hostname",
            f"http://127.0.0.1:{port}/x",
        ]
    )
    assert b"/EmbeddedFiles" not in pdf


def test_forked_worker_writes_the_sequential_bytes(package, hostile_findings):
    """population.xlsx and report.html come from write_report's forked worker: the same bytes
    as written in this process (report.pdf: test_same_findings_same_bytes)."""
    assert package["report.html"].read_text("utf-8") == render_html(hostile_findings)
    assert package["population.xlsx"].read_bytes() == population_xlsx_bytes(hostile_findings)


def test_forked_worker_failure_fails_the_render(hostile_findings, tmp_path, monkeypatch):
    def broken(findings):
        raise RuntimeError("the spreadsheet writer broke")

    monkeypatch.setattr(render_module, "population_xlsx_bytes", broken)
    with pytest.raises(RuntimeError, match="the spreadsheet writer broke"):
        write_report(hostile_findings, tmp_path)
    assert not (tmp_path / "report.pdf").exists()


def test_streams_are_compressed_at_zlib_level_6():
    """pydyf always asks zlib for level 9; the report swaps in level 6 while it writes. If a
    pydyf release stops going through `zlib.compressobj`, the swap no longer reaches it."""
    import zlib

    import pydyf

    from audit.render.pdf import STREAM_COMPRESSION_LEVEL, _stream_compression

    content = b"0 0 m 10 10 l S " * 2000
    with _stream_compression(STREAM_COMPRESSION_LEVEL) as swapped:
        data = pydyf.Stream([content], compress=True).data
    assert swapped.used == 1 and pydyf.zlib is zlib
    compressed = data.split(b"stream\n", 1)[1].rsplit(b"\nendstream", 1)[0]
    assert zlib.decompress(compressed) == content
    assert compressed == zlib.compress(content, STREAM_COMPRESSION_LEVEL)


def test_without_fork_the_worker_files_are_written_first(hostile_findings, tmp_path, monkeypatch):
    """Where fork is unavailable, the worker's files are written in this process before the
    PDF, with the same bytes, and their futures are already done."""
    import multiprocessing

    from audit.render import WRITERS, _beside

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with _beside(hostile_findings, tmp_path) as written:
        assert list(written) == list(WRITERS) and all(future.done() for future in written.values())
    assert (tmp_path / "report.html").read_text("utf-8") == render_html(hostile_findings)
    assert (tmp_path / "population.xlsx").read_bytes() == population_xlsx_bytes(hostile_findings)
