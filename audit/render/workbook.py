"""population.xlsx: the population and each control's exceptions as a spreadsheet (openpyxl).

Auditors work in spreadsheets. One sheet holds the population (the columns of
population.csv), then one sheet per control lists its exceptions (fail, not available,
error) with the verdict's detail and any management response. Every sheet has a frozen
header row and filters; run ids link to the run on GitHub.

Cells from GitHub are text, never formulas: openpyxl would store a string starting with `=`
as a formula, so every string cell is typed as a string explicitly. The file is
reproducible: document properties and the zip entries' times are `generated_at`.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from audit.render.tables import POPULATION_COLUMNS, control_ids
from audit.render.view import EXCEPTION_VERDICTS, safe_url

EXCEPTION_COLUMNS = ("repository", "run_id", "environment", "created_at", "verdict", "detail", "management_response")
_HEADER_FONT = Font(bold=True)
_LINK_FONT = Font(color="1F4E8C", underline="single")


def _value(value: object) -> object:
    if isinstance(value, list | tuple):
        return ";".join(str(item) for item in value)
    return value


def _append(sheet, values: list, *, html_url: str | None = None, link_column: int | None = None) -> None:
    # The sheet's own row count, not `sheet.max_row`: openpyxl computes that over every cell
    # written so far, which made 10,000 rows take minutes.
    row = sheet.append_row = getattr(sheet, "append_row", 0) + 1
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column, value=_value(value))
        if isinstance(cell.value, str):
            cell.data_type = "s"  # text from GitHub is never a formula
    if link_column is not None and html_url:
        cell = sheet.cell(row=row, column=link_column)
        cell.hyperlink = html_url
        cell.font = _LINK_FONT


def _finish(sheet, columns: tuple | list, widths: dict[str, int]) -> None:
    for column, name in enumerate(columns, start=1):
        sheet.cell(row=1, column=column).font = _HEADER_FONT
        sheet.column_dimensions[get_column_letter(column)].width = widths.get(name, 14)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(sheet.max_row, 1)}"


def _sheet_title(index: int, control_id: str) -> str:
    # Excel sheet names: at most 31 characters, none of []:*?/\
    return f"C{index} {control_id}"[:31]


def population_xlsx_bytes(findings: dict) -> bytes:
    """population.xlsx as bytes (also attached inside the PDF)."""
    workbook = Workbook()
    population = workbook.active
    population.title = "Population"
    ids = control_ids(findings)
    columns = [*POPULATION_COLUMNS, *ids]
    _append(population, columns)
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
    _finish(population, columns, {"repository": 28, "head_sha": 42, "created_at": 26, "head_branch": 18})

    for index, control_id in enumerate(ids, start=1):
        sheet = workbook.create_sheet(_sheet_title(index, control_id))
        _append(sheet, list(EXCEPTION_COLUMNS))
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
        _finish(
            sheet, EXCEPTION_COLUMNS, {"repository": 28, "created_at": 26, "detail": 100, "management_response": 60}
        )

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
