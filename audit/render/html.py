"""report.html: the findings rendered through the jinja2 templates in `templates/`.

Autoescape is on for every template and undefined variables raise, so a value from GitHub
can never become markup and a template typo never renders as an empty cell. `None` means
unknown everywhere in the findings (a run that does not name its commit, a deleted
account), so every printed `None` reads "unknown", never the word None. The same
templates make the PDF's HTML (`medium="pdf"`), with long lists cut to a limit.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from functools import cache, partial
from pathlib import Path

import jinja2

from audit.errors import AuditError
from audit.render import view

TEMPLATE_DIRS = (Path(__file__).resolve().parents[1] / "templates", Path(__file__).resolve().parents[2] / "templates")
"""Where the report templates are: `audit/templates/` in an installed wheel (pyproject maps the
top-level `templates/` there), else `templates/` at the root of a source checkout."""

REPORT_TEMPLATE = "report.html.j2"


@cache
def environment() -> jinja2.Environment:
    """The jinja2 environment (autoescape everywhere, StrictUndefined)."""
    found = [directory for directory in TEMPLATE_DIRS if (directory / REPORT_TEMPLATE).is_file()]
    if not found:
        raise AuditError(f"report templates not found in {' or '.join(map(str, TEMPLATE_DIRS))}: reinstall soc2-audit")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(found[0]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_unknown_if_none,
    )


def _unknown_if_none(value: object) -> object:
    return "unknown" if value is None else value


def _context(
    findings: dict, *, medium: str, population_limit: int | None, table_limit: int | None, exception_limit: int | None
) -> dict:
    context = view.build_context(
        findings,
        medium=medium,
        population_limit=population_limit,
        table_limit=table_limit,
        exception_limit=exception_limit,
    )
    zone = view.report_zone(findings)
    context["when"] = partial(view.local_time, zone=zone)
    context["safe_url"] = view.safe_url
    context["run_link"] = view.run_link
    context["verdict_tag"] = view.verdict_tag
    context["outcome_cell"] = view.outcome_cell
    cells = view.RunCells(zone)
    context["population_rows"] = partial(
        view.population_table_rows,
        control_ids=[control["id"] for control in findings["controls"]],
        cells=cells,
        titles=medium != "pdf",  # the PDF never shows a tooltip
    )
    context["exception_rows"] = partial(view.exception_table_rows, cells=cells)
    context["svg_data_uri"] = _svg_data_uri
    return context


def _svg_data_uri(markup: object) -> str:
    """An inline SVG as a `data:` URI, so a chart is an `<img>` with alt text (tagged PDFs
    give an image a Figure with its alternative text; an inline `<svg>` gets none)."""
    return "data:image/svg+xml;base64," + base64.b64encode(str(markup).strip().encode("utf-8")).decode("ascii")


def iter_html(
    findings: dict,
    *,
    medium: str = "html",
    population_limit: int | None = None,
    table_limit: int | None = None,
    exception_limit: int | None = None,
) -> Iterator[str]:
    """The report as a stream of text chunks, so a large population never sits in one string."""
    template = environment().get_template(REPORT_TEMPLATE)
    context = _context(
        findings,
        medium=medium,
        population_limit=population_limit,
        table_limit=table_limit,
        exception_limit=exception_limit,
    )
    return template.generate(context)


def pdf_html(
    findings: dict,
    *,
    population_pdf_limit: int = 0,
    table_pdf_limit: int = 25,
    exception_pdf_limit: int = view.EXCEPTIONS_IN_DETAIL_PDF,
) -> str:
    """The PDF's HTML: the report with its long lists cut to their limits (WeasyPrint lays it
    out), each control's exceptions beyond `exception_pdf_limit` in brief."""
    return "".join(
        iter_html(
            findings,
            medium="pdf",
            population_limit=population_pdf_limit,
            table_limit=table_pdf_limit,
            exception_limit=min(exception_pdf_limit, table_pdf_limit),
        )
    )


def render_html(findings: dict) -> str:
    """report.html: the whole report, every deployment and every exception."""
    return "".join(iter_html(findings))
