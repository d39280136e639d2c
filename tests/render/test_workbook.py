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


class _CellByCellSheet(workbook._Sheet):
    """The reference: every cell written by XlsxWriter's own methods, every link by
    `write_url`, as XlsxWriter documents them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from collections import defaultdict

        self.sheet.hyperlinks = defaultdict(dict)
        self.reference_links = 0

    def append(self, values: list, html_url: str | None) -> None:
        self.rows += 1
        row, sheet = self.rows, self.sheet
        linked = (
            html_url is not None
            and self.reference_links < workbook.MAX_LINKS_PER_SHEET
            and len(html_url.encode("utf-16-le")) <= 2 * MAX_LINK_LENGTH
        )
        for column, value in enumerate(values):
            if isinstance(value, list | tuple):
                value = ";".join(map(str, value))
            if value is None or value == "" or (linked and column == self.link_column):
                continue
            if isinstance(value, str) and value.startswith("<r>") and value.endswith("</r>"):
                sheet.write_rich_string(row, column, value[:1], value[1:2], value[2:])
            else:
                sheet.write(row, column, value)
        if linked:
            self.reference_links += 1
            run_id = values[self.link_column]
            sheet.write_url(row, self.link_column, html_url, self.link_format, str(run_id))
            sheet.write(row, self.link_column, run_id, self.link_format)


def test_rows_are_the_bytes_xlsxwriter_writes_cell_by_cell(monkeypatch):
    """The rows written straight into the sheet's XML (audit/render/workbook.py `_Sheet`) are
    byte for byte what XlsxWriter writes through `write_string`, `write_number` and
    `write_url`, awkward values included: escapes, control characters, surrounding
    whitespace, text shaped like rich-text XML or like an escape, strings longer than a cell
    holds, fractions and long integers, lists, links with anchors and past the per-sheet limit."""
    findings = make_findings(12)
    awkward = [
        "a & b <c> \"d\" 'e'",
        "bell\x07 and tab\t and nul\x00",
        "_x0041_ looks like an escape",
        "  leading and trailing  ",
        "\nnew line first",
        '<r><t>x</t></r></is></c><c r="Z2"><f>1+1</f></c>',
        "é ✓ 𝄞 \u2028",
        "x" * 40_000,
        '=HYPERLINK("https://example.com")',
    ]
    for deployment, text in zip(findings["deployments"], awkward, strict=False):
        deployment["head_branch"] = text
    deployments = findings["deployments"]
    deployments[2]["pr_number"] = 12.5
    deployments[3]["pr_approvers"] = ("alice", 7, None)
    deployments[4]["pr_number"] = 10**17
    deployments[5]["html_url"] = 'https://github.com/o/r/actions/runs/1#anchor&x="y"'
    deployments[6]["html_url"] = None
    monkeypatch.setattr(workbook, "MAX_LINKS_PER_SHEET", 9)
    written = population_xlsx_bytes(findings)
    monkeypatch.setattr(workbook, "_Sheet", _CellByCellSheet)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XlsxWriter warns as it truncates the long string
        reference = population_xlsx_bytes(findings)
    assert written == reference
