"""The rendering stage: one findings dict → findings.json, population.csv, population.xlsx,
report.html, report.pdf.

Rendering never computes a verdict: every output is a pure function of the findings dict
the evaluate stage produced (its shape is the model in audit/documents.py; benchmarks/synthetic.py builds one).
The PDF is written unsigned; the signing stage signs it afterwards.

    write_report(findings, Path("output/2024Q2"))
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from audit.collector import no_cycle_collection
from audit.render.drawing import ATTACHMENTS, PdfDrawer, pdf_drawer
from audit.render.html import iter_html, pdf_html, render_html
from audit.render.tables import (
    population_csv_bytes,
    population_rows,
    write_findings_json,
    write_population_csv,
)
from audit.render.workbook import population_xlsx_bytes

__all__ = [
    "pdf_drawer",
    "population_rows",
    "render_html",
    "render_pdf",
    "start_report",
    "write_findings_json",
    "write_population_csv",
    "write_report",
]


def write_report(
    findings: dict,
    output_dir: Path,
    *,
    population_pdf_limit: int = 0,
    table_pdf_limit: int = 25,
    drawer: PdfDrawer | None = None,
) -> dict[str, Path]:
    """Write findings.json, population.csv, population.xlsx, report.html and report.pdf into `output_dir`.

    Returns file name → path. The PDF shows at most `population_pdf_limit` population rows
    and `table_pdf_limit` rows of each other long list (exceptions in detail, windows…);
    report.html and the CSV/JSON/xlsx (also attached inside the PDF) hold everything.

    The PDF is laid out and drawn by a PDF process (`audit.render.drawing`; `drawer`, when
    the caller forked it before building the findings) while this process writes the other
    four files, the PDF's attachments first. The bytes are the same as written one after
    another. A caller that can let go of the findings before the PDF is done uses
    `start_report` instead.
    """
    with ExitStack() as stack:
        if drawer is None:
            drawer = stack.enter_context(pdf_drawer())
        return start_report(
            findings,
            output_dir,
            population_pdf_limit=population_pdf_limit,
            table_pdf_limit=table_pdf_limit,
            drawer=drawer,
        ).finish()


PARTIAL_PDF = "report.pdf.partial"
"""Where the PDF process writes the PDF; renamed report.pdf once every file is written."""


def start_report(
    findings: dict,
    output_dir: Path,
    *,
    population_pdf_limit: int = 0,
    table_pdf_limit: int = 25,
    drawer: PdfDrawer,
    check: Callable[[dict], None] | None = None,
) -> PendingPdf:
    """`write_report` up to the PDF: the PDF's HTML handed to `drawer`, the four other files
    written. Returns what waits for the PDF, which no longer needs the findings: a caller
    that does not keep them (`audit.pipeline`) frees them meanwhile, 400 MB at 50,000
    deployments.

    `check` (the findings' model check, `audit.documents.check_findings`) runs once the PDF
    process has the HTML, before any file is written: the PDF's layout, the render's longest
    task, does not wait for it (2 s at 50,000 deployments), and a failed check still leaves
    no file."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    with _out_of_the_collectors_sight():
        drawer.lay_out(
            pdf_html(findings, population_pdf_limit=population_pdf_limit, table_pdf_limit=table_pdf_limit),
            findings["generated_at"],
            output_dir / PARTIAL_PDF,
        )
        if check is not None:
            check(findings)
        for name, write in WRITERS.items():
            paths[name] = output_dir / name
            write(findings, paths[name])
            gc.collect()  # what the writer left in reference cycles (XlsxWriter's workbook) goes now
            if name in ATTACHMENTS:
                drawer.attachment_written(name, paths[name])
    return PendingPdf(drawer, output_dir, paths)


class PendingPdf:
    """The render once every file but report.pdf is written."""

    def __init__(self, drawer: PdfDrawer, output_dir: Path, paths: dict[str, Path]) -> None:
        self.drawer, self.output_dir, self.paths = drawer, output_dir, paths

    def finish(self) -> dict[str, Path]:
        """Wait for the PDF and name it report.pdf; file name → path of every file written."""
        self.drawer.finish()
        written = self.output_dir / "report.pdf"
        (self.output_dir / PARTIAL_PDF).replace(written)
        return {**self.paths, "report.pdf": written}


@contextmanager
def _out_of_the_collectors_sight() -> Iterator[None]:
    """Python's cycle collector off while the files are written, the findings frozen out of
    its sight.

    The files only read the findings and make no reference cycles worth collecting, yet each
    collection of the oldest generation walks every object alive, and the objects that live
    while a file is written pile up: XlsxWriter holds every hyperlink of a sheet until the
    sheet is closed (320,000 at 50,000 deployments). At 50,000 deployments population.xlsx
    took 55-57 s with the findings in the collector's sight, 51-52 s with them frozen out of
    it, and about half as long again as without the collector when only the findings were
    frozen (42.6 s of CPU against 27.9 s, measured in one process). Reference counting frees
    nearly everything; what a writer leaves in reference cycles (XlsxWriter's workbook and
    its 190 MB of hyperlinks at 50,000 deployments) is collected once it is done, while the
    findings stay frozen out of sight. The findings are handed back (`gc.unfreeze`) and
    collection resumes (if it was on) when the block ends, so a process that goes on (the
    tests) collects as usual."""
    gc.freeze()
    try:
        with no_cycle_collection():
            yield
    finally:
        gc.unfreeze()


def __getattr__(name: str) -> object:
    """`render_pdf`, imported on first use: importing WeasyPrint takes a second, which
    `write_report` leaves to its PDF process."""
    if name == "render_pdf":
        from audit.render.pdf import render_pdf

        return render_pdf
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _write_json(findings: dict, path: Path) -> None:
    write_findings_json(findings, path)


def _write_csv(findings: dict, path: Path) -> None:
    path.write_bytes(population_csv_bytes(findings))


def _write_xlsx(findings: dict, path: Path) -> None:
    path.write_bytes(population_xlsx_bytes(findings))


def _write_html(findings: dict, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as html_file:
        for chunk in iter_html(findings):
            html_file.write(chunk)


WRITERS: dict[str, Callable[[dict, Path], None]] = {
    "findings.json": _write_json,
    "population.csv": _write_csv,
    "population.xlsx": _write_xlsx,
    "report.html": _write_html,
}
"""The files written beside the PDF, in this order: the PDF's attachments first."""
