"""The rendering stage: one findings dict → findings.json, population.csv, population.xlsx,
report.html, report.pdf.

Rendering never computes a verdict: every output is a pure function of the findings dict
the evaluate stage produced (its shape is the model in audit/documents.py; benchmarks/synthetic.py builds one).
The PDF is written unsigned; the signing stage signs it afterwards.

    write_report(findings, Path("output/2024Q2"))
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from audit.render import pdf
from audit.render.html import iter_html, render_html
from audit.render.pdf import render_pdf
from audit.render.tables import (
    population_csv_bytes,
    population_rows,
    write_findings_json,
    write_population_csv,
)
from audit.render.workbook import population_xlsx_bytes

__all__ = [
    "population_rows",
    "render_html",
    "render_pdf",
    "write_findings_json",
    "write_population_csv",
    "write_report",
]


def write_report(
    findings: dict, output_dir: Path, *, population_pdf_limit: int = 0, table_pdf_limit: int = 25
) -> dict[str, Path]:
    """Write findings.json, population.csv, population.xlsx, report.html and report.pdf into `output_dir`.

    Returns file name → path. The PDF shows at most `population_pdf_limit` population rows
    and `table_pdf_limit` rows of each other long list (exceptions in detail, windows…);
    report.html and the CSV/JSON/xlsx (also attached inside the PDF) hold everything.

    The PDF's layout and the spreadsheet and HTML are each several seconds for a large
    quarter and independent, so a forked worker writes population.xlsx and report.html while
    this process lays out and draws the PDF, which waits for population.xlsx only when it
    embeds it. The bytes are the same as written one after another.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: output_dir / name for name in ("findings.json", "population.csv", "population.xlsx", "report.html")}
    findings_json = write_findings_json(findings, paths["findings.json"]).read_bytes()
    population_csv = population_csv_bytes(findings)
    paths["population.csv"].write_bytes(population_csv)
    with _beside(findings, output_dir) as (xlsx_written, html_written):
        laid_out = pdf.lay_out(findings, population_pdf_limit=population_pdf_limit, table_pdf_limit=table_pdf_limit)
        report_pdf = pdf.write(
            laid_out,
            population_csv=population_csv,
            findings_json=findings_json,
            population_xlsx=_WhenWritten(paths["population.xlsx"], xlsx_written),
        )
        xlsx_written.result()  # re-raises the worker's error here
        html_written.result()
    paths["report.pdf"] = output_dir / "report.pdf"
    paths["report.pdf"].write_bytes(report_pdf)
    return paths


def _write_xlsx(findings: dict, output_dir: Path) -> None:
    (output_dir / "population.xlsx").write_bytes(population_xlsx_bytes(findings))


def _write_html(findings: dict, output_dir: Path) -> None:
    with (output_dir / "report.html").open("w", encoding="utf-8", newline="\n") as html_file:
        for chunk in iter_html(findings):
            html_file.write(chunk)


class _WhenWritten:
    """population.xlsx as the PDF's attachment while the worker may still be writing it:
    `read` waits for the worker, then reads the file."""

    def __init__(self, path: Path, written: Future) -> None:
        self.path, self.written = path, written

    def read(self) -> bytes:
        self.written.result()
        return self.path.read_bytes()


_FORKED_FINDINGS: dict | None = None
"""The findings a forked worker inherits (copy-on-write) instead of receiving them pickled."""


def _run_forked(work: Callable[[dict, Path], None], output_dir: Path) -> None:
    assert _FORKED_FINDINGS is not None
    work(_FORKED_FINDINGS, output_dir)


@contextmanager
def _beside(findings: dict, output_dir: Path) -> Iterator[tuple[Future, Future]]:
    """population.xlsx, then report.html, written by one forked worker while the block runs;
    yields their Futures.

    Fork, not spawn: the worker shares the findings with this process instead of unpickling
    a copy. Where fork is unavailable, both are written here first (same files, no overlap)."""
    global _FORKED_FINDINGS
    if "fork" not in multiprocessing.get_all_start_methods():
        done: list[Future] = []
        for work in (_write_xlsx, _write_html):
            work(findings, output_dir)
            done.append(Future())
            done[-1].set_result(None)
        yield done[0], done[1]
        return
    _FORKED_FINDINGS = findings
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            yield pool.submit(_run_forked, _write_xlsx, output_dir), pool.submit(_run_forked, _write_html, output_dir)
    finally:
        _FORKED_FINDINGS = None
