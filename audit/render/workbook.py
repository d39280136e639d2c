"""population.xlsx: the population and each control's exceptions as a spreadsheet (openpyxl).

Auditors work in spreadsheets. One sheet holds the population (the columns of
population.csv), then one sheet per control lists its exceptions (fail, not available,
error) with the verdict's detail and any management response. Every sheet has a frozen
header row and filters; run ids link to the run on GitHub.

Cells from GitHub are text, never formulas: openpyxl would store a string starting with `=`
as a formula, so such a cell is typed as a string explicitly. The file is
reproducible: document properties and the zip entries' times are `generated_at`.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from audit.render.tables import POPULATION_COLUMNS, control_ids
from audit.render.view import EXCEPTION_VERDICTS, safe_url

EXCEPTION_COLUMNS = ("repository", "run_id", "environment", "created_at", "verdict", "detail", "management_response")
_HEADER_FONT = Font(bold=True)
_LINK_FONT = Font(color="1F4E8C", underline="single")


def _value(sheet, value: object) -> object:
    if isinstance(value, list | tuple):
        value = ";".join(str(item) for item in value)
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"  # text from GitHub is never a formula (openpyxl reads a leading = as one)
        return cell
    return value


def _start(sheet, columns: tuple | list, widths: dict[str, int]) -> None:
    """Column widths, the frozen header row and the header itself: a write-only sheet takes
    them before its first row."""
    for column, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = widths.get(name, 14)
    sheet.freeze_panes = "A2"
    header = []
    for name in columns:
        cell = WriteOnlyCell(sheet, name)
        cell.font = _HEADER_FONT
        header.append(cell)
    sheet.append(header)


def _append(sheet, values: list, *, html_url: str | None, link_column: int) -> None:
    row = [_value(sheet, value) for value in values]
    if html_url:
        cell = WriteOnlyCell(sheet, row[link_column - 1])
        cell.hyperlink = html_url
        cell.font = _LINK_FONT
        row[link_column - 1] = cell
    sheet.append(row)


def _finish(sheet, columns: tuple | list, rows: int) -> None:
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{rows + 1}"


def _sheet_title(index: int, control_id: str) -> str:
    # Excel sheet names: at most 31 characters, none of []:*?/\
    return f"C{index} {control_id}"[:31]


def population_xlsx_bytes(findings: dict) -> bytes:
    """population.xlsx as bytes (also attached inside the PDF).

    Written in openpyxl's write-only mode: rows stream to the file instead of living as
    cell objects (10,000 deployments: a few seconds instead of half a minute)."""
    workbook = Workbook(write_only=True)
    population = workbook.create_sheet("Population")
    ids = control_ids(findings)
    columns = [*POPULATION_COLUMNS, *ids]
    _start(population, columns, {"repository": 28, "head_sha": 42, "created_at": 26, "head_branch": 18})
    run_column = columns.index("run_id") + 1
    for deployment in findings["deployments"]:
        controls = deployment.get("controls", {})
        _append(
            population,
            [deployment.get(name) for name in POPULATION_COLUMNS]
            + [controls.get(control_id, {}).get("verdict") for control_id in ids],
            html_url=safe_url(deployment.get("html_url")),
            link_column=run_column,
        )
    _finish(population, columns, len(findings["deployments"]))

    for index, control_id in enumerate(ids, start=1):
        sheet = workbook.create_sheet(_sheet_title(index, control_id))
        _start(sheet, EXCEPTION_COLUMNS, {"repository": 28, "created_at": 26, "detail": 100, "management_response": 60})
        rows = 0
        for deployment in findings["deployments"]:
            result = deployment.get("controls", {}).get(control_id, {})
            if result.get("verdict") not in EXCEPTION_VERDICTS:
                continue
            response = (deployment.get("responses") or {}).get(control_id) or {}
            _append(
                sheet,
                [
                    deployment["repository"],
                    deployment["run_id"],
                    deployment["environment"],
                    deployment.get("created_at"),
                    result["verdict"],
                    result.get("detail"),
                    response.get("response"),
                ],
                html_url=safe_url(deployment.get("html_url")),
                link_column=2,
            )
            rows += 1
        _finish(sheet, EXCEPTION_COLUMNS, rows)

    stamp = datetime.fromisoformat(findings["generated_at"]).astimezone(UTC).replace(tzinfo=None)
    workbook.properties.creator = findings["generator"]["name"]
    workbook.properties.title = f"SOC 2 change-management population {findings['quarter']}"
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _pinned_zip_times(buffer.getvalue(), stamp)


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _pinned_zip_times(data: bytes, stamp: datetime) -> bytes:
    """The same zip with every entry dated `stamp`, and the document's modification time
    `stamp` (openpyxl dates both with the clock when it saves)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", content)
            pinned = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            pinned.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(pinned, content)
    return output.getvalue()
