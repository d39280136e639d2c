"""report.pdf: sections, DEMO on every page, attachments, metadata, safety, determinism, caps.

Everything reads one package rendered from hostile findings (see conftest.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import audit.render as render_module
import audit.render.drawing as drawing
import audit.render.pdf as pdf_module
from audit.render import render_html, render_pdf, write_report
from audit.render.drawing import PdfProcessFailed
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


def test_files_beside_the_pdf_are_the_sequential_bytes(package, hostile_findings):
    """population.xlsx and report.html are written while the PDF process draws: the same bytes
    as written alone (report.pdf, drawn in that process: test_same_findings_same_bytes)."""
    assert package["report.html"].read_text("utf-8") == render_html(hostile_findings)
    assert package["population.xlsx"].read_bytes() == population_xlsx_bytes(hostile_findings)


def test_a_failure_beside_the_pdf_fails_the_render_and_stops_the_pdf_process(hostile_findings, tmp_path, monkeypatch):
    def broken(findings):
        raise RuntimeError("the spreadsheet writer broke")

    monkeypatch.setattr(render_module, "population_xlsx_bytes", broken)
    with pytest.raises(RuntimeError, match="the spreadsheet writer broke"):
        write_report(hostile_findings, tmp_path)
    assert not (tmp_path / "report.pdf").exists()
    assert not (tmp_path / "report.pdf.partial").exists()
    assert multiprocessing.active_children() == []


def test_the_pdf_process_failure_fails_the_render(hostile_findings, tmp_path, monkeypatch):
    """An error in the PDF process (forked after the patch, so it inherits it) is raised here."""

    def broken(*args, **kwargs):
        raise ValueError("the drawing broke")

    monkeypatch.setattr(pdf_module, "write", broken)
    with pytest.raises(ValueError, match="the drawing broke"):
        write_report(hostile_findings, tmp_path)
    assert not (tmp_path / "report.pdf").exists()
    assert not (tmp_path / "report.pdf.partial").exists()
    assert (tmp_path / "report.html").exists()  # what was written beside it is kept


def test_a_pdf_failing_half_written_leaves_no_file(hostile_findings, tmp_path, monkeypatch):
    """The PDF process fails after it began writing the PDF (embedding an attachment): the
    render fails with its error and the half-written file is removed."""

    def broken(self, document, pdf):
        raise OSError("the disk is full")

    monkeypatch.setattr(pdf_module._EmbeddedPieceByPiece, "__call__", broken)
    with pytest.raises(OSError, match="the disk is full"):
        write_report(hostile_findings, tmp_path)
    assert not (tmp_path / "report.pdf").exists()
    assert not (tmp_path / "report.pdf.partial").exists()


def test_the_pdf_process_runs_without_the_cycle_collector(hostile_findings, tmp_path, monkeypatch):
    """A layout's boxes live until the PDF is written: the PDF process does not walk them
    again and again (and the render's own process is left as it was)."""
    import gc

    def telling(*args, **kwargs):
        raise ValueError(f"collector on: {gc.isenabled()}")

    monkeypatch.setattr(pdf_module, "write", telling)
    with pytest.raises(ValueError, match="collector on: False"):
        write_report(hostile_findings, tmp_path)
    assert gc.isenabled()


def test_an_unpicklable_error_in_the_pdf_process_is_named(hostile_findings, tmp_path, monkeypatch):
    class Unpicklable(Exception):
        def __reduce__(self):
            raise TypeError("no pickling")

    def broken(*args, **kwargs):
        raise Unpicklable("the font cache is corrupt")

    monkeypatch.setattr(pdf_module, "write", broken)
    with pytest.raises(RuntimeError, match="Unpicklable: the font cache is corrupt"):
        write_report(hostile_findings, tmp_path)


def test_a_killed_pdf_process_fails_the_render(hostile_findings, tmp_path, monkeypatch):
    """Killed (the kernel's out-of-memory killer, say), it sends nothing: the render says so."""

    def killed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(pdf_module, "lay_out_html", killed)
    with pytest.raises(PdfProcessFailed, match="exit code -9"):
        write_report(hostile_findings, tmp_path)
    assert not (tmp_path / "report.pdf").exists()


def test_handing_the_html_over_never_waits_for_the_pdf_process(hostile_findings, tmp_path, monkeypatch):
    """The PDF process may still be importing WeasyPrint when the HTML is ready: handing over
    more than a pipe holds must not wait for it (it gives up after 30 s, failing the test)."""
    handed_over = multiprocessing.get_context("fork").Event()
    real_draw = drawing._draw

    def importing_until_handed_over(connection):
        if not handed_over.wait(30):
            os._exit(3)
        real_draw(connection)

    monkeypatch.setattr(drawing, "_draw", importing_until_handed_over)
    with drawing.pdf_drawer() as drawer:
        html_text = "<!--" + "x" * 2_000_000 + "--><p>Every exception.</p>"
        drawer.lay_out(html_text, hostile_findings["generated_at"], tmp_path / "drawn.pdf")
        for name in drawing.ATTACHMENTS:
            (tmp_path / name).write_bytes(b"{}")
            drawer.attachment_written(name, tmp_path / name)
        handed_over.set()
        drawer.finish()
        assert (tmp_path / "drawn.pdf").read_bytes().startswith(b"%PDF-")
    assert list(Path(tempfile.gettempdir()).glob(Path(drawer._html_path).name)) == []


def test_the_render_process_never_imports_weasyprint(hostile_findings, tmp_path):
    """The PDF is laid out and drawn in the PDF process alone; this one only holds the findings."""
    (tmp_path / "findings.json").write_text(json.dumps(hostile_findings), encoding="utf-8")
    script = (
        "import json, sys; from pathlib import Path; from audit.render import write_report; "
        "out = Path(sys.argv[1]); findings = json.loads((out / 'findings.json').read_text('utf-8')); "
        "write_report(findings, out / 'package'); print(sorted(m for m in sys.modules if m.startswith('weasyprint')))"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "package" / "report.pdf").read_bytes().startswith(b"%PDF-")


def test_streams_are_compressed_at_our_zlib_level():
    """pydyf always asks zlib for level 9; the report swaps in level 1 while it writes. If a
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
    assert compressed == zlib.compress(content, STREAM_COMPRESSION_LEVEL) != zlib.compress(content, 9)


def test_pages_are_compressed_as_drawn_with_the_same_bytes(hostile_findings, monkeypatch):
    """Each page's drawing operators are compressed once the next page is added, not held
    until the PDF is written; the PDF is the same as pydyf writes it alone."""
    import pydyf

    laid_out = pdf_module.lay_out(hostile_findings, population_pdf_limit=POPULATION_LIMIT)
    attachments = {"population_csv": b"csv", "findings_json": b"{}", "population_xlsx": b"xlsx"}
    original_write = pydyf.PDF.write
    held: list[int] = []

    def counting(pdf, *args, **kwargs):
        pages = [pdf.objects[int(page["Contents"].split()[0])] for page in pdf.objects if _is_page(page)]
        held.append(sum(1 for stream in pages if stream.compress))  # still a list of operators
        held.append(len(pages))
        return original_write(pdf, *args, **kwargs)

    monkeypatch.setattr(pydyf.PDF, "write", counting)
    drawn = pdf_module.write(laid_out, **attachments)
    still_operators, pages = held
    assert pages == len(laid_out.document.pages) > 2 and still_operators == 1  # the last page only

    held.clear()
    monkeypatch.setattr(pdf_module, "_pages_compressed_as_drawn", lambda: contextlib.nullcontext())
    assert pdf_module.write(laid_out, **attachments) == drawn
    assert held == [pages, pages]


def _is_page(pdf_object) -> bool:
    return isinstance(pdf_object, dict) and pdf_object.get("Type") == "/Page"


def test_page_references_are_built_once_per_page_count_with_the_same_bytes(hostile_findings, monkeypatch):
    """The tagging asks pydyf for one page's reference per structure element; pydyf rebuilt
    the tuple of every page's at each call. While the report writes, it is built again only
    when a page was added, and the PDF's bytes are the same as with pydyf's own property."""
    import pydyf

    laid_out = pdf_module.lay_out(hostile_findings, population_pdf_limit=POPULATION_LIMIT)
    attachments = {"population_csv": b"csv", "findings_json": b"{}", "population_xlsx": b"xlsx"}
    original = pydyf.PDF.page_references
    built: list[int] = []

    def counted(pdf):
        built.append(len(pdf.pages["Kids"]))
        return original.__get__(pdf)

    monkeypatch.setattr(pdf_module, "_PAGE_REFERENCES", property(counted))
    cached = pdf_module.write(laid_out, **attachments)
    assert pydyf.PDF.page_references is original  # put back
    pages = len(laid_out.document.pages)
    assert built and len(built) == len(set(built)) <= pages  # built, and once per page count at most

    monkeypatch.setattr(pdf_module, "_page_references_cached", lambda: contextlib.nullcontext())
    assert pdf_module.write(laid_out, **attachments) == cached


def test_each_stream_is_serialised_once_with_the_same_bytes(hostile_findings, monkeypatch):
    """pydyf serialises every stream twice for PDF/A's file identifier; while the report
    writes, the first bytes are kept for the second time, and the PDF is the same."""
    import pydyf

    laid_out = pdf_module.lay_out(hostile_findings, population_pdf_limit=POPULATION_LIMIT)
    attachments = {"population_csv": b"csv", "findings_json": b"{}", "population_xlsx": b"xlsx"}
    original, original_write = pydyf.Stream.data, pydyf.PDF.write
    serialised: dict[int, int] = {}

    def counted(stream):
        if stream.compress:  # an attachment or a page already compressed is joined again, not kept
            serialised[id(stream)] = serialised.get(id(stream), 0) + 1
        return original.__get__(stream)

    monkeypatch.setattr(pdf_module, "_STREAM_DATA", property(counted))
    kept = pdf_module.write(laid_out, **attachments)
    assert pydyf.Stream.data is original and pydyf.PDF.write is original_write  # put back
    assert len(serialised) > 3 and set(serialised.values()) == {1}  # every stream pydyf compresses, once

    monkeypatch.setattr(pdf_module, "_streams_serialised_once", lambda: contextlib.nullcontext())
    assert pdf_module.write(laid_out, **attachments) == kept


def test_attachments_embedded_piece_by_piece_are_the_bytes_weasyprint_embeds(hostile_findings, monkeypatch):
    """Each attachment is read and compressed a piece at a time into the stream WeasyPrint
    made for it (its placeholder replaced): the PDF is byte for byte the one WeasyPrint
    writes when it reads every attachment whole; pieces and bytes give the same PDF. The
    attachments already written are embedded first, whatever their order in the PDF."""
    laid_out = pdf_module.lay_out(hostile_findings, population_pdf_limit=POPULATION_LIMIT)
    contents = {
        "population_csv": b"run_id,verdict\n" * 50_000,
        "findings_json": os.urandom(300_000) + b"{}" * 400_000,
        "population_xlsx": os.urandom(70_000),
    }

    embedded: list[str] = []

    class Pieces:
        def __init__(self, name: str, data: bytes, *, written: bool) -> None:
            self.name, self.data, self.read, self.written = name, data, 0, written

        def ready(self) -> bool:
            return self.written

        def chunks(self):
            embedded.append(self.name)
            for start in range(0, len(self.data), 65_536):
                self.read += 1
                yield self.data[start : start + 65_536]

    # population.csv still being written: the two written already are embedded first.
    pieces = {name: Pieces(name, data, written=name != "population_csv") for name, data in contents.items()}
    by_pieces = pdf_module.write(laid_out, **pieces)
    assert all(piece.read > 1 for piece in pieces.values())
    assert embedded == ["population_xlsx", "findings_json", "population_csv"]
    assert pdf_module.write(laid_out, **contents) == by_pieces

    class WholeByWeasyPrint(pdf_module._EmbeddedPieceByPiece):
        def attachment(self, name):
            return io.BytesIO(contents[name.replace(".", "_")])

        def __call__(self, document, pdf):
            for stream in pdf.objects:  # population.xlsx, a zip archive, is stored as it is
                if getattr(stream, "extra", {}).get("Subtype", "").endswith("spreadsheetml.sheet"):
                    stream.compress = False

    monkeypatch.setattr(pdf_module, "_EmbeddedPieceByPiece", WholeByWeasyPrint)
    assert pdf_module.write(laid_out, **contents) == by_pieces


def test_the_spreadsheet_is_embedded_as_it_is_and_the_others_compressed(hostile_findings):
    """population.xlsx is a zip archive: the PDF stores it unfiltered; the others are deflated.
    Each extracts to exactly its bytes (pikepdf)."""
    import pikepdf

    laid_out = pdf_module.lay_out(hostile_findings, population_pdf_limit=POPULATION_LIMIT)
    contents = {"population_csv": b"a,b\n" * 1000, "findings_json": b"{}" * 1000, "population_xlsx": os.urandom(5000)}
    with pikepdf.open(io.BytesIO(pdf_module.write(laid_out, **contents))) as document:
        filters = {}
        for name, attached in document.attachments.items():
            stream = attached.obj.EF.F
            filters[name] = str(stream.get("/Filter")) if "/Filter" in stream else None
            assert stream.read_bytes() == contents[name.replace(".", "_")]
    assert filters == {"population.csv": "/FlateDecode", "population.xlsx": None, "findings.json": "/FlateDecode"}


def test_the_findings_check_waits_for_the_pdf_html_and_comes_before_any_file(hostile_findings, tmp_path):
    """The render checks the findings' model once the PDF process has the PDF's HTML (its
    layout does not wait for the check) and before it writes a file: a failed check leaves
    the output directory empty."""
    from audit.render import start_report

    calls: list[str] = []

    class Drawer:
        def lay_out(self, html_text, generated_at, destination):
            calls.append("lay_out")

        def attachment_written(self, name, path):
            calls.append(name)

        def finish(self):
            calls.append("finish")

    def malformed(findings):
        calls.append("check")
        raise ValueError("a malformed document")

    with pytest.raises(ValueError, match="a malformed document"):
        start_report(hostile_findings, tmp_path, drawer=Drawer(), check=malformed)
    assert calls == ["lay_out", "check"]
    assert list(tmp_path.iterdir()) == []


def test_the_findings_are_freed_before_the_pdf_is_finished(hostile_findings, tmp_path):
    """`start_report` keeps nothing of the findings: a caller that lets go of them (the
    render, audit/pipeline.py) frees them while the PDF process finishes."""
    import weakref

    from audit.render import PARTIAL_PDF, start_report

    class Findings(dict):
        pass

    findings = Findings(hostile_findings)
    freed = weakref.ref(findings)
    with drawing.pdf_drawer() as drawer:
        pending = start_report(findings, tmp_path, population_pdf_limit=POPULATION_LIMIT, drawer=drawer)
        del findings
        assert freed() is None
        written = pending.finish()
    assert sorted(written) == sorted([*render_module.WRITERS, "report.pdf"])
    assert written["report.pdf"].read_bytes().startswith(b"%PDF-")
    assert not (tmp_path / PARTIAL_PDF).exists()


def test_without_fork_the_pdf_is_drawn_here_with_the_same_bytes(package, hostile_findings, tmp_path, monkeypatch):
    """Where fork is unavailable, the PDF is laid out and drawn in this process: same bytes."""
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    written = write_report(hostile_findings, tmp_path, population_pdf_limit=POPULATION_LIMIT)
    assert multiprocessing.active_children() == []
    for name, path in written.items():
        assert path.read_bytes() == package[name].read_bytes(), name


def test_files_are_written_with_the_cycle_collector_off_and_left_as_found(hostile_findings, tmp_path, monkeypatch):
    """The collector walks every object alive at each full collection, and a file's own
    long-lived objects pile up while it is written (XlsxWriter's hyperlinks): it is off while
    the files are written, the findings frozen, what a writer left in reference cycles is
    collected before the next one, and both are as they were afterwards."""
    import gc
    import weakref

    seen: list[tuple[bool, int, bool]] = []
    left: list[weakref.ref] = []

    class Cycle:
        pass

    def recording(findings, path):
        seen.append((gc.isenabled(), gc.get_freeze_count(), any(ref() is not None for ref in left)))
        cycle = Cycle()
        cycle.itself = cycle  # what a writer leaves in a reference cycle (XlsxWriter's workbook)
        left.append(weakref.ref(cycle))
        path.write_bytes(b"x")

    class Drawer:
        def lay_out(self, html_text, generated_at, destination):
            self.destination = destination

        def attachment_written(self, name, path):
            pass

        def finish(self):
            self.destination.write_bytes(b"%PDF-")

    monkeypatch.setattr(render_module, "WRITERS", dict.fromkeys(render_module.WRITERS, recording))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    write_report(hostile_findings, tmp_path, drawer=Drawer())
    assert len(seen) == 4 and all(not enabled and frozen > 0 and not kept for enabled, frozen, kept in seen)
    assert gc.isenabled() and gc.get_freeze_count() == 0
