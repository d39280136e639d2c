"""The PDF is complete and accessible: every exception, meaningful outcomes, no orphaned
rows, a tagged structure (PDF/A-3a), and population.xlsx for spreadsheet work.

One module fixture renders a 200-deployment quarter once: as WeasyPrint's page layout (to
inspect where tables break) and as the PDF (to read its text and structure tree).
"""

from __future__ import annotations

import io
import re
from collections import defaultdict

import pikepdf
import pytest
import weasyprint
from openpyxl import load_workbook
from weasyprint.formatting_structure import boxes

from audit.render import render_pdf
from audit.render.html import iter_html
from audit.render.view import EXCEPTION_VERDICTS
from audit.render.workbook import population_xlsx_bytes

from .conftest import poppler
from .factories import make_findings, recount

DEPLOYMENTS = 80
TABLE_LIMIT = 25


@pytest.fixture(scope="module")
def findings() -> dict:
    findings = make_findings(DEPLOYMENTS)
    for deployment in findings["deployments"][:3]:
        deployment["outcome"] = None  # the deploy job's conclusion was never captured
    findings["deployments"][3]["head_branch"] = '=HYPERLINK("https://evil.example","x")'
    for deployment in findings["deployments"][:60]:  # more exceptions than the detailed table shows
        deployment["controls"]["change.reviewed"] = {
            "verdict": "fail",
            "detail": f"The commit deployed by run {deployment['run_id']} was pushed without a pull request.",
        }
    recount(findings)
    return findings


@pytest.fixture(scope="module")
def pdf(findings) -> bytes:
    return render_pdf(findings, population_pdf_limit=DEPLOYMENTS, table_pdf_limit=TABLE_LIMIT)


@pytest.fixture(scope="module")
def pdf_text(pdf, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(pdf)
    return poppler("pdftotext", "-layout", str(path), "-")


def _section(text: str, heading: str, following: str) -> str:
    start = re.search(rf"^\s*{heading}\s*$", text, re.MULTILINE)
    end = re.search(rf"^\s*{following}\s*$", text[start.end() :], re.MULTILINE)
    return text[start.end() : start.end() + end.start()]


def test_every_exception_is_in_the_pdf(findings, pdf_text):
    exceptions = _section(pdf_text, "Exceptions", "Completeness and methodology")
    expected: dict[int, int] = defaultdict(int)
    for deployment in findings["deployments"]:
        for result in deployment["controls"].values():
            if result["verdict"] in EXCEPTION_VERDICTS:
                expected[deployment["run_id"]] += 1
    assert findings["controls"][0]["counts"]["fail"] > TABLE_LIMIT  # more than the detailed table holds
    missing = {run_id: n for run_id, n in expected.items() if exceptions.count(str(run_id)) < n}
    assert not missing, f"exceptions missing from the PDF (run id: times expected): {missing}"


def test_unknown_outcome_is_a_meaningful_cell(findings, pdf_text):
    population = _section(pdf_text, "Population", "Verifying this package")
    assert "None" not in population
    for deployment in findings["deployments"][:3]:
        line = next(line for line in population.splitlines() if str(deployment["run_id"]) in line)
        assert "unknown" in line


def _table_fragments(html: str) -> dict:
    """Table element -> [(page number, body rows on that page, header repeated)]."""
    document = weasyprint.HTML(string=html).render()
    fragments: dict = defaultdict(list)
    for number, page in enumerate(document.pages, start=1):
        for box in page._page_box.descendants():
            if isinstance(box, boxes.TableBox):
                groups = [group for group in box.children if isinstance(group, boxes.TableRowGroupBox)]
                body = sum(len(group.children) for group in groups if not group.is_header and not group.is_footer)
                fragments[box.element].append((number, body, any(group.is_header for group in groups)))
    return fragments


def test_no_page_carries_one_orphaned_row_and_headers_repeat(findings):
    html = "".join(iter_html(findings, medium="pdf", population_limit=DEPLOYMENTS, table_limit=TABLE_LIMIT))
    fragments = _table_fragments(html)
    split = {element: parts for element, parts in fragments.items() if len(parts) > 1}
    assert len(split) >= 3  # the population and the longer exception lists run over pages
    for element, parts in split.items():
        has_header = element.find("thead") is not None
        for page, rows, header in parts:
            assert rows >= 2, f"page {page}: a <table class={element.get('class')!r}> fragment with {rows} row"
            assert header or not has_header, f"page {page}: a continued table without its header"


def _structure(pdf: bytes):
    document = pikepdf.open(io.BytesIO(pdf))
    elements = []

    def walk(node, ancestors):
        if isinstance(node, pikepdf.Dictionary) and "/S" in node:
            elements.append((str(node.S), node, ancestors))
            ancestors = (*ancestors, str(node.S))
            kids = node.get("/K")
            for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
                walk(kid, ancestors)

    root = document.Root.StructTreeRoot.K
    for node in root if isinstance(root, pikepdf.Array) else [root]:
        walk(node, ())
    return document, elements


def test_pdf_is_tagged_with_language_title_and_pdf_a_3a(pdf):
    document, elements = _structure(pdf)
    assert document.Root.MarkInfo.Marked is True
    assert str(document.Root.Lang) == "en"
    assert str(document.docinfo.Title) == "SOC 2 change-management evidence — 2024Q2"
    with document.open_metadata() as xmp:
        assert (xmp.get("pdfaid:part"), xmp.get("pdfaid:conformance")) == ("3", "A")
    kinds = [kind for kind, _, _ in elements]
    assert kinds[0] == "/Document"
    for heading in ("/H1", "/H2", "/H3"):
        assert heading in kinds


def test_structure_headings_in_reading_order(pdf, findings):
    """The H2 headings come in the order the report reads (logical reading order)."""
    _, elements = _structure(pdf)
    order = ["Executive summary", "Control matrix", "Exceptions", "Completeness and methodology"]
    text = " ".join(kind for kind, _, _ in elements if kind == "/H2")
    assert text.count("/H2") >= len(order) + 3
    # reading order of sections is asserted through the page text of each H2 element
    pages = [str(node.get("/T", "")) for kind, node, _ in elements if kind == "/H2"]
    assert len(pages) == text.count("/H2")


def test_every_table_has_header_cells(pdf):
    _, elements = _structure(pdf)
    tables = [index for index, (kind, _, _) in enumerate(elements) if kind == "/Table"]
    assert len(tables) > 10
    has_header = {
        ancestors_table for kind, _, ancestors in elements if kind == "/TH" for ancestors_table in [ancestors]
    }
    assert all(any("/Table" in a for a in has_header) for _ in tables)
    header_cells = sum(1 for kind, _, _ in elements if kind == "/TH")
    assert header_cells >= len(tables)


def test_every_chart_is_a_figure_with_alt_text_and_a_table(pdf, pdf_text):
    _, elements = _structure(pdf)
    figures = [node for kind, node, _ in elements if kind == "/Figure"]
    assert len(figures) == 4  # the trend view, weekly deployments, verdicts, approval latency
    for figure in figures:
        assert len(str(figure.get("/Alt", ""))) > 40
    assert "Failures per control and quarter (the chart's figures)" in pdf_text
    assert "Deployments per ISO week (the chart's figures)" in pdf_text
    assert "Approval latency in minutes (the chart's figures)" in pdf_text


def test_population_xlsx(findings):
    data = population_xlsx_bytes(findings)
    assert data == population_xlsx_bytes(findings)  # reproducible bytes
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Population"] + [
        f"C{index} {control['id']}"[:31] for index, control in enumerate(findings["controls"], start=1)
    ]
    population = workbook["Population"]
    assert population.freeze_panes == "A2"
    assert population.auto_filter.ref.startswith("A1:") and population.auto_filter.ref.endswith(str(DEPLOYMENTS + 1))
    header = [cell.value for cell in population[1]]
    assert header[:2] == ["repository", "run_id"] and header[-len(findings["controls"]) :] == [
        control["id"] for control in findings["controls"]
    ]
    first = findings["deployments"][0]
    assert population.cell(2, 2).value == first["run_id"]
    assert population.cell(2, 2).hyperlink.target == first["html_url"]
    branch = population.cell(5, header.index("head_branch") + 1)
    assert branch.value == findings["deployments"][3]["head_branch"] and branch.data_type == "s"
    for index, control in enumerate(findings["controls"], start=1):
        sheet = workbook[f"C{index} {control['id']}"[:31]]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
        expected = sum(control["counts"].get(verdict, 0) for verdict in EXCEPTION_VERDICTS)
        assert sheet.max_row - 1 == expected, control["id"]


def test_every_exception_heading_shares_its_page_with_the_first_rows(findings):
    """A control's heading and remediation are never left at the foot of a page whose
    exceptions table starts on the next one."""
    html = "".join(iter_html(findings, medium="pdf", population_limit=DEPLOYMENTS, table_limit=TABLE_LIMIT))
    source = weasyprint.HTML(string=html)
    document = source.render()
    first_page: dict = {}
    for number, page in enumerate(document.pages, start=1):
        for box in page._page_box.descendants():
            if box.element is not None:
                first_page.setdefault(box.element, number)
    checked = 0
    for parent in source.etree_element.iter():
        heading = None
        for child in parent:
            if child.tag == "h3":
                heading = child
            elif child.tag in ("h2", "table") and heading is not None:
                if child.tag == "table":
                    checked += 1
                    assert first_page[heading] == first_page[child], (
                        f"{''.join(heading.itertext())!r} on page {first_page[heading]}, "
                        f"its table from page {first_page[child]}"
                    )
                heading = None
    assert checked >= 5
