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

from audit.render.html import iter_html, render_html
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

    The PDF and the other four files each cost seconds for a large quarter and depend only
    on the findings, so a forked worker writes population.csv, population.xlsx and
    report.html, in that order, while this process lays out the PDF, writes findings.json
    (the halves come out about even that way) and draws the PDF, which waits for the
    worker's two attachments only when it embeds them. The bytes are the same as written
    one after another.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: output_dir / name for name in ("findings.json", *WRITERS)}
    with _beside(findings, output_dir) as written:
        from audit.render import pdf  # WeasyPrint takes a second to import: after the fork, beside the worker

        laid_out = pdf.lay_out(findings, population_pdf_limit=population_pdf_limit, table_pdf_limit=table_pdf_limit)
        findings_json = write_findings_json(findings, paths["findings.json"]).read_bytes()
        report_pdf = pdf.write(
            laid_out,
            population_csv=_WhenWritten(paths["population.csv"], written["population.csv"]),
            findings_json=findings_json,
            population_xlsx=_WhenWritten(paths["population.xlsx"], written["population.xlsx"]),
        )
        for future in written.values():
            future.result()  # re-raises the worker's error here
    paths["report.pdf"] = output_dir / "report.pdf"
    paths["report.pdf"].write_bytes(report_pdf)
    return paths


def __getattr__(name: str) -> object:
    """`render_pdf`, imported on first use: importing WeasyPrint takes a second, which
    `write_report` spends beside its worker instead."""
    if name == "render_pdf":
        from audit.render.pdf import render_pdf

        return render_pdf
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _write_csv(findings: dict, path: Path) -> None:
    path.write_bytes(population_csv_bytes(findings))


def _write_xlsx(findings: dict, path: Path) -> None:
    path.write_bytes(population_xlsx_bytes(findings))


def _write_html(findings: dict, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as html_file:
        for chunk in iter_html(findings):
            html_file.write(chunk)


WRITERS: dict[str, Callable[[dict, Path], None]] = {
    "population.csv": _write_csv,
    "population.xlsx": _write_xlsx,
    "report.html": _write_html,
}
"""The files the worker writes, in this order: the PDF's attachments first."""


class _WhenWritten:
    """A file the worker writes, as the PDF's attachment while the worker may still be
    writing it: `read` waits for the worker, then reads the file."""

    def __init__(self, path: Path, written: Future) -> None:
        self.path, self.written = path, written

    def read(self) -> bytes:
        self.written.result()
        return self.path.read_bytes()


_FORKED_FINDINGS: dict | None = None
"""The findings a forked worker inherits (copy-on-write) instead of receiving them pickled."""


def _run_forked(work: Callable[[dict, Path], None], path: Path) -> None:
    assert _FORKED_FINDINGS is not None
    work(_FORKED_FINDINGS, path)


@contextmanager
def _beside(findings: dict, output_dir: Path) -> Iterator[dict[str, Future]]:
    """Each of `WRITERS`, in order, run by one forked worker while the block runs; yields
    file name → its Future.

    Fork, not spawn: the worker shares the findings with this process instead of unpickling
    a copy. Where fork is unavailable, the files are written here first (same bytes, no overlap)."""
    global _FORKED_FINDINGS
    if "fork" not in multiprocessing.get_all_start_methods():
        done: dict[str, Future] = {}
        for name, work in WRITERS.items():
            work(findings, output_dir / name)
            done[name] = Future()
            done[name].set_result(None)
        yield done
        return
    _FORKED_FINDINGS = findings
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            yield {name: pool.submit(_run_forked, work, output_dir / name) for name, work in WRITERS.items()}
    finally:
        _FORKED_FINDINGS = None
