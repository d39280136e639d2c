"""population.xlsx: the population and each control's exceptions as a spreadsheet (XlsxWriter).

Auditors work in spreadsheets. One sheet holds the population (the columns of
population.csv), then one sheet per control lists its exceptions (fail, not available,
error) with the verdict's detail and any management response. Every sheet has a frozen
header row and filters; run ids link to the run on GitHub.

Cells from GitHub are text, never formulas: the workbook is opened with XlsxWriter's
conversions off (`strings_to_formulas`, `strings_to_urls`, `strings_to_numbers`), so a
branch named `=HYPERLINK(…)` is written as the string it is. XlsxWriter takes a string
that starts with `<r>` and ends with `</r>` for rich-text XML and copies it unescaped: such a
cell is written as rich text of the same characters instead, so its text is escaped too.

Excel caps hyperlinks at 65,530 per sheet and 2,079 characters per link (XlsxWriter drops
a link beyond either with a warning): past the cap, and for a longer link, the run id is
plain text; the population.csv and findings.json beside the workbook carry every run's link.

Written in XlsxWriter's `constant_memory` mode: each row goes to disk as it is written, in
about 40 % less time than openpyxl's write-only mode took; the data rows are written here as
the XML XlsxWriter writes (`_Sheet`), in half its time again.
The file is reproducible: XlsxWriter dates every zip entry 31 January 1980, and the
document properties carry `generated_at`.
"""

from __future__ import annotations

import functools
import io
import math
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.format import Format
from xlsxwriter.url import Url
from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from audit.render.tables import POPULATION_COLUMNS, control_ids
from audit.render.view import EXCEPTION_VERDICTS, safe_url

EXCEPTION_COLUMNS = ("repository", "run_id", "environment", "created_at", "verdict", "detail", "management_response")

MAX_LINKS_PER_SHEET = 65_530
"""Excel's limit of hyperlinks in one worksheet."""

MAX_LINK_LENGTH = 2_079
"""Excel's limit on a hyperlink's length (in UTF-16 code units)."""

_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


class _Sheet:
    """One worksheet written row by row: a bold frozen header, the run id linked to its run
    while Excel's link limits allow, a filter over every row written.

    XlsxWriter makes the workbook (its parts, styles, relationships, the header row); the
    data rows are written here as the same XML XlsxWriter's `constant_memory` mode writes,
    straight into the worksheet's row file. XlsxWriter spends about 14 µs on a cell (argument
    checks, a cell tuple, the row buffered and written back out attribute by attribute): at
    10,000 deployments the workbook has 540,000 cells and took 7.6 s of CPU, the longest
    task of the render's own process. tests/render/test_workbook.py checks the bytes are the
    ones XlsxWriter writes cell by cell (`write_string`, `write_number`, `write_url`); a row
    holding a value XlsxWriter treats specially (a string shaped like rich-text XML, one
    longer than a cell holds, any type but text and numbers) is written by
    XlsxWriter itself."""

    def __init__(
        self,
        workbook: xlsxwriter.Workbook,
        title: str,
        columns: tuple | list,
        widths: dict[str, int],
        *,
        link_column: int,
        formats: dict[str, Format],
        urls: dict[str, Url],
    ) -> None:
        self.sheet: Worksheet = workbook.add_worksheet(title)
        self.columns = len(columns)
        self.link_column = link_column
        self.link_format = formats["link"]
        self.rows = 0
        self.links = _LinksByRow(link_column, urls)
        for column, name in enumerate(columns):
            self.sheet.set_column(column, column, widths.get(name, 14))
        self.sheet.freeze_panes(1, 0)
        self.sheet.write_row(0, 0, columns, formats["header"])
        self.sheet._write_single_row(1)  # the header goes out; the rows after it are written here
        self.sheet.hyperlinks = self.links
        self.cell_names = [xl_col_to_name(column) for column in range(self.columns)]
        self.link_style = f' s="{self.link_format._get_xf_index()}"'

    def append(self, values: list, html_url: str | None) -> None:
        """One row: None and "" are empty cells, strings stay strings, numbers numbers, a
        list or tuple is its items joined by `;`; the run id is linked to `html_url` while
        Excel's limits leave room."""
        self.rows += 1
        row, sheet = self.rows, self.sheet
        if sheet._check_dimensions(row, 0):
            return  # past Excel's last row, dropped as XlsxWriter drops it
        sheet.previous_row = row
        linked = self._linkable(html_url)
        number = row + 1
        cells = []
        for column, value in enumerate(values):
            kind = value.__class__
            if kind is list or kind is tuple:
                value, kind = ";".join(map(str, value)), str
            if kind is str:
                if not value:
                    continue
                body = _string_cell(value)
            elif kind is int or (kind is float and math.isfinite(value)):
                body = f"><v>{value:.16G}</v></c>"
            elif value is None:
                continue
            else:
                body = None
            if body is None:
                self._append_by_xlsxwriter(row, values, html_url if linked else None)
                return
            style = self.link_style if linked and column == self.link_column else ""
            cells.append(f'<c r="{self.cell_names[column]}{number}"{style}{body}')
        sheet.fh.write(f'<row r="{number}">{"".join(cells)}</row>')
        if linked:
            self.links[row] = html_url

    def _append_by_xlsxwriter(self, row: int, values: list, html_url: str | None) -> None:
        """The row written by XlsxWriter's own methods, for the values it treats specially."""
        sheet = self.sheet
        for column, value in enumerate(values):
            if isinstance(value, list | tuple):
                value = ";".join(map(str, value))
            if value is None or value == "":
                continue
            if isinstance(value, str) and value.startswith("<r>") and value.endswith("</r>"):
                # XlsxWriter copies such a string into the sheet as ready-made rich-text XML,
                # unescaped (a branch named so could add cells, formulas included); written as
                # three plain runs of the same text, it is escaped like any other.
                sheet.write_rich_string(row, column, value[:1], value[1:2], value[2:])
            else:
                style = self.link_format if html_url is not None and column == self.link_column else None
                sheet.write(row, column, value, style)
        sheet._write_single_row(row + 1)
        if html_url is not None:
            self.links[row] = html_url

    def _linkable(self, html_url: str | None) -> bool:
        """Whether Excel's limits leave room for this link (per sheet, and its length in UTF-16)."""
        return (
            html_url is not None
            and len(self.links) < MAX_LINKS_PER_SHEET
            and len(html_url.encode("utf-16-le")) <= 2 * MAX_LINK_LENGTH
        )

    def finish(self) -> None:
        self.sheet.autofilter(0, 0, self.rows, self.columns - 1)


_XML = XMLwriter()
"""XlsxWriter's escaping, for the cells written here."""


@functools.lru_cache(maxsize=16_384)
def _string_cell(value: str) -> str | None:
    """The end of a string cell's XML after its reference, as XlsxWriter's `constant_memory`
    mode writes it (control characters as `_xHHHH_`, whitespace kept, `&<>` escaped); None
    for a string XlsxWriter treats specially. Cached: repositories, environments, verdicts
    and details repeat from row to row."""
    if len(value) > _XML_STRING_MAX // 2:
        return None  # XlsxWriter truncates it to what a cell holds
    text = _XML._escape_control_characters(value)
    if text.startswith("<r>") and text.endswith("</r>"):
        return None
    preserve = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    return f' t="inlineStr"><is><t{preserve}>{_XML._escape_data(text)}</t></is></c>'


_XML_STRING_MAX = 32_767
"""Excel's longest cell string (XlsxWriter's `xls_strmax`)."""


class _LinksByRow(dict):
    """A sheet's hyperlinks as XlsxWriter reads them when it closes the sheet (row → {column:
    Url}), kept as row → link until then.

    XlsxWriter keeps a parsed `Url` of nine attributes for every link until the sheet is
    closed: at 50,000 deployments 320,000 of them held about 190 MB. Here a link costs one
    dictionary entry (the link is the findings' own string), and its `Url` is made when
    XlsxWriter writes the `<hyperlink>` element, once per run for every sheet (`urls`, which
    the sheets share: a run with exceptions under several controls is linked from each sheet;
    XlsxWriter only reads a `Url`)."""

    def __init__(self, column: int, urls: dict[str, Url]) -> None:
        super().__init__()
        self.column = column
        self.urls = urls
        self._made: tuple[int, dict[int, Url]] | None = None

    def __getitem__(self, row: int) -> dict[int, Url]:
        if self._made is None or self._made[0] != row:  # XlsxWriter reads each row twice
            link = dict.__getitem__(self, row)
            url = self.urls.get(link)
            if url is None:
                url = self.urls[link] = Url(link)
            self._made = (row, {self.column: url})
        return self._made[1]


def _sheet_title(index: int, control_id: str) -> str:
    # Excel sheet names: at most 31 characters, none of []:*?/\
    return f"C{index} {control_id}"[:31]


ZIP_COMPRESSION_LEVEL = 1
"""zlib's fastest level for the workbook's parts (XlsxWriter zips them at zlib's default, 6).
At 10,000 deployments its 51 MB of sheet XML took 0.6 s to compress at level 6 and 0.2 s at
level 1, for a file of 4.9 MB instead of 4.0 MB; the spreadsheet is the longest task of the
render's own process."""


@contextmanager
def _zipped_at_level(level: int) -> Iterator[None]:
    """XlsxWriter zips the workbook at `level` for the duration of the block.

    XlsxWriter has no setting for it, so the `ZipFile` its workbook module uses is given
    `compresslevel`, and put back afterwards. tests/render/test_workbook.py checks the
    parts are compressed at this level: if an XlsxWriter release zips another way, it fails."""
    original = xlsxwriter.workbook.ZipFile
    xlsxwriter.workbook.ZipFile = functools.partial(zipfile.ZipFile, compresslevel=level)
    try:
        yield
    finally:
        xlsxwriter.workbook.ZipFile = original


def population_xlsx_bytes(findings: dict) -> bytes:
    """population.xlsx as bytes (also attached inside the PDF)."""
    buffer = io.BytesIO()
    # closing removes its temporary files, even on an error
    with _zipped_at_level(ZIP_COMPRESSION_LEVEL), xlsxwriter.Workbook(buffer, _OPTIONS) as workbook:
        _write_sheets(workbook, findings)
        stamp = datetime.fromisoformat(findings["generated_at"]).astimezone(UTC).replace(tzinfo=None)
        workbook.set_properties(
            {
                "author": findings["generator"]["name"],
                "title": f"SOC 2 change-management population {findings['quarter']}",
                "created": stamp,
            }
        )
    return buffer.getvalue()


def _write_sheets(workbook: xlsxwriter.Workbook, findings: dict) -> None:
    """The population sheet, then one sheet of exceptions per control."""
    formats = {
        "header": workbook.add_format({"bold": True}),
        "link": workbook.add_format({"font_color": "#1F4E8C", "underline": 1}),
    }
    ids = control_ids(findings)
    columns = [*POPULATION_COLUMNS, *ids]
    urls: dict[str, Url] = {}
    population = _Sheet(
        workbook,
        "Population",
        columns,
        {"repository": 28, "head_sha": 42, "created_at": 26, "head_branch": 18},
        link_column=columns.index("run_id"),
        formats=formats,
        urls=urls,
    )
    for deployment in findings["deployments"]:
        controls = deployment.get("controls", {})
        population.append(
            [deployment.get(name) for name in POPULATION_COLUMNS]
            + [controls.get(control_id, {}).get("verdict") for control_id in ids],
            safe_url(deployment.get("html_url")),
        )
    population.finish()

    for index, control_id in enumerate(ids, start=1):
        sheet = _Sheet(
            workbook,
            _sheet_title(index, control_id),
            EXCEPTION_COLUMNS,
            {"repository": 28, "created_at": 26, "detail": 100, "management_response": 60},
            link_column=EXCEPTION_COLUMNS.index("run_id"),
            formats=formats,
            urls=urls,
        )
        for deployment in findings["deployments"]:
            result = deployment.get("controls", {}).get(control_id, {})
            if result.get("verdict") not in EXCEPTION_VERDICTS:
                continue
            response = (deployment.get("responses") or {}).get(control_id) or {}
            sheet.append(
                [
                    deployment["repository"],
                    deployment["run_id"],
                    deployment["environment"],
                    deployment.get("created_at"),
                    result["verdict"],
                    result.get("detail"),
                    response.get("response"),
                ],
                safe_url(deployment.get("html_url")),
            )
        sheet.finish()
