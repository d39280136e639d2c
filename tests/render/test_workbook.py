"""population.xlsx: text from GitHub stays text, whatever its characters, and the workbook
keeps within Excel's hyperlink limits (past them a run id is plain text, never a dropped cell
or a warning)."""

from __future__ import annotations

import io
import warnings

from openpyxl import load_workbook

from audit.render import workbook
from audit.render.workbook import MAX_LINK_LENGTH, population_xlsx_bytes

from .factories import make_findings


def _run_cells(data: bytes) -> list:
    population = load_workbook(io.BytesIO(data))["Population"]
    return [row[1] for row in population.iter_rows(min_row=2)]


def test_a_branch_shaped_like_rich_text_xml_stays_its_text():
    """XlsxWriter copies a string wrapped in <r>…</r> into the sheet unescaped: this branch
    name would close its cell and add a formula cell after it."""
    findings = make_findings(2)
    branch = '<r><t>x</t></r></is></c><c r="Z2"><f>1+1</f></c><c r="Z3" t="inlineStr"><is><r><t>y</t></r>'
    findings["deployments"][0]["head_branch"] = branch
    population = load_workbook(io.BytesIO(population_xlsx_bytes(findings)))["Population"]
    cells = [cell for row in population.iter_rows() for cell in row if cell.value is not None]
    assert [cell.value for cell in cells if cell.value == branch] == [branch]
    assert all(cell.data_type != "f" for cell in cells)
    assert population.max_column == len(population[1])


def test_links_past_the_per_sheet_limit_are_plain_run_ids(monkeypatch):
    findings = make_findings(5)
    monkeypatch.setattr(workbook, "MAX_LINKS_PER_SHEET", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cells = _run_cells(population_xlsx_bytes(findings))
    assert [cell.value for cell in cells] == [d["run_id"] for d in findings["deployments"]]
    assert [cell.hyperlink.target if cell.hyperlink else None for cell in cells] == [
        d["html_url"] for d in findings["deployments"][:3]
    ] + [None, None]


def test_a_link_longer_than_excel_allows_is_plain_text():
    findings = make_findings(2)
    first, second = findings["deployments"]
    first["html_url"] = "https://github.com/" + "a" * MAX_LINK_LENGTH
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # XlsxWriter warns when it drops a link itself
        cells = _run_cells(population_xlsx_bytes(findings))
    assert [cell.value for cell in cells] == [first["run_id"], second["run_id"]]
    assert cells[0].hyperlink is None and cells[1].hyperlink.target == second["html_url"]


def test_each_cell_reads_back_as_the_value_it_is():
    """Each cell is written by the method of its type: numbers stay numbers, lists are joined
    by `;` (and a joined list shaped like rich-text XML stays its text), None and "" stay empty."""
    findings = make_findings(2)
    first = findings["deployments"][0]
    first["pr_approvers"] = ["<r>", "x</r>"]
    first["head_branch"] = ""
    first["pr_number"] = None
    population = load_workbook(io.BytesIO(population_xlsx_bytes(findings)))["Population"]
    header = [cell.value for cell in population[1]]
    row = dict(zip(header, (cell.value for cell in population[2]), strict=True))
    assert row["pr_approvers"] == "<r>;x</r>"
    assert row["head_branch"] is None and row["pr_number"] is None
    assert row["run_id"] == first["run_id"] and isinstance(row["run_id"], int)
    assert row["repository"] == first["repository"]
    second = dict(zip(header, (cell.value for cell in population[3]), strict=True))
    assert second["pr_number"] == findings["deployments"][1]["pr_number"]


def test_parts_are_zipped_at_our_level():
    """XlsxWriter zips at zlib's default level; the report swaps in level 1 while it writes.
    If an XlsxWriter release stops zipping through `zipfile.ZipFile`, the swap no longer
    reaches it and this fails."""
    import zipfile
    import zlib

    import xlsxwriter.workbook

    from audit.render.workbook import ZIP_COMPRESSION_LEVEL

    data = population_xlsx_bytes(make_findings(40))
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile  # put back
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        content = archive.read(info)

    def deflated(level: int) -> int:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        return len(compressor.compress(content) + compressor.flush())

    assert info.compress_size == deflated(ZIP_COMPRESSION_LEVEL) != deflated(6)
