"""The rendering stage: one findings dict → findings.json, population.csv, population.xlsx,
report.html, report.pdf.

Rendering never computes a verdict: every output is a pure function of the findings dict
the evaluate stage produced (its shape is the model in audit/documents.py; benchmarks/synthetic.py builds one).
The PDF is written unsigned; the signing stage signs it afterwards.

    write_report(findings, Path("output/2024Q2"))
"""

from __future__ import annotations

from pathlib import Path

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
    findings: dict, output_dir: Path, *, population_pdf_limit: int = 500, table_pdf_limit: int = 25
) -> dict[str, Path]:
    """Write findings.json, population.csv, population.xlsx, report.html and report.pdf into `output_dir`.

    Returns file name → path. The PDF shows at most `population_pdf_limit` population rows
    and `table_pdf_limit` rows of each other long list (exceptions per control, windows…);
    report.html and the CSV/JSON (also attached inside the PDF) hold everything.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "findings.json": write_findings_json(findings, output_dir / "findings.json"),
        "population.csv": output_dir / "population.csv",
    }
    findings_json = paths["findings.json"].read_bytes()
    population_csv = population_csv_bytes(findings)
    paths["population.csv"].write_bytes(population_csv)
    population_xlsx = population_xlsx_bytes(findings)
    paths["population.xlsx"] = output_dir / "population.xlsx"
    paths["population.xlsx"].write_bytes(population_xlsx)
    html_path = output_dir / "report.html"
    with html_path.open("w", encoding="utf-8", newline="\n") as html_file:
        for chunk in iter_html(findings):
            html_file.write(chunk)
    paths["report.html"] = html_path
    pdf_path = output_dir / "report.pdf"
    pdf_path.write_bytes(
        render_pdf(
            findings,
            population_pdf_limit=population_pdf_limit,
            table_pdf_limit=table_pdf_limit,
            population_csv=population_csv,
            findings_json=findings_json,
            population_xlsx=population_xlsx,
        )
    )
    paths["report.pdf"] = pdf_path
    return paths
