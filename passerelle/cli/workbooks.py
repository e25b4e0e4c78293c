"""Write tables as files sponsors open: Excel workbooks with real cells, and CSV for any Excel.

- **xlsx** (openpyxl): numbers are number cells and instants date cells, in Excel's built-in
  short date (and date-time) formats, which Excel shows in the reader's own locale: `03/03/2025`
  in a French Excel. The header row is bold and frozen, columns are as wide as their content, and
  a chart image may be placed on a sheet of its own. Excel keeps no time zone: instants are UTC.
- **CSV**: ISO dates (`2025-03-03T14:35:12Z`) and `,` by default; `excel_fr` writes what a French
  Excel opens as it is: `;` between cells, a UTF-8 byte-order mark, `03/03/2025 14:35:12`, `12,5`.

Instants are written to the second: the same in every format, so that an export imports again as
the same history. Text that would start a formula is written as text in both (`schemas.formulas`):
a string cell in a workbook, an apostrophe before it in CSV, which `passerelle import` removes.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from schemas.formulas import escape_csv_text, starts_formula

SHORT_DATE = "mm-dd-yy"  # Excel's built-in format 14: the short date of the reader's locale
SHORT_DATE_TIME = "m/d/yy h:mm"  # built-in format 22: the same with the time
PERCENT = "0.0%"
MAX_WIDTH = 60


@dataclass
class Sheet:
    """One table: a title, its headers and its rows of plain values."""

    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    formats: dict[int, str] = field(default_factory=dict)  # column index → Excel number format


def _utc(value: datetime) -> datetime:
    value = value.replace(microsecond=0)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _is_day(value: datetime) -> bool:
    return (value.hour, value.minute, value.second) == (0, 0, 0)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    return str(value)


def write_xlsx(path: Path, sheets: Sequence[Sheet], chart_png: bytes | None = None) -> None:
    """Write `sheets` to a workbook at `path`, with `chart_png` on a last sheet named Chart."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        ws = workbook.create_sheet(sheet.title[:31])
        ws.append(sheet.headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        widths = [len(h) for h in sheet.headers]
        for row in sheet.rows:
            values = [_utc(v) if isinstance(v, datetime) else v for v in row]
            ws.append(values)
            for index, value in enumerate(values):
                if isinstance(value, datetime):
                    ws.cell(ws.max_row, index + 1).number_format = (
                        SHORT_DATE if _is_day(value) else SHORT_DATE_TIME
                    )
                    width = 16
                elif isinstance(value, date):
                    ws.cell(ws.max_row, index + 1).number_format = SHORT_DATE
                    width = 10
                elif isinstance(value, str) and starts_formula(value):
                    # openpyxl makes a formula of any text that begins with `=`: text it stays.
                    ws.cell(ws.max_row, index + 1).data_type = "s"
                    width = len(value)
                else:
                    if index in sheet.formats and isinstance(value, int | float):
                        ws.cell(ws.max_row, index + 1).number_format = sheet.formats[index]
                    width = len(_text(value))
                widths[index] = max(widths[index], width)
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = min(width + 2, MAX_WIDTH)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
    if chart_png is not None:
        from openpyxl.drawing.image import Image

        ws = workbook.create_sheet("Chart")
        ws.add_image(Image(io.BytesIO(chart_png)), "A1")
    workbook.save(path)


def csv_text(sheet: Sheet, *, excel_fr: bool = False) -> str:
    """Return one table as CSV: ISO and `,`, or, for a French Excel, `;`, dd/mm/yyyy and `12,5`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if excel_fr else ",", lineterminator="\r\n" if excel_fr else "\n")
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow([_csv_cell(v, excel_fr) for v in row])
    return out.getvalue()


def _csv_cell(value: Any, excel_fr: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("oui" if value else "non") if excel_fr else ("true" if value else "false")
    if isinstance(value, datetime):
        at = _utc(value)
        if excel_fr:
            return at.strftime("%d/%m/%Y" if _is_day(at) else "%d/%m/%Y %H:%M:%S")
        return at.date().isoformat() if _is_day(at) else at.isoformat() + "Z"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y") if excel_fr else value.isoformat()
    if isinstance(value, float) and excel_fr:
        return f"{value:g}".replace(".", ",")
    if isinstance(value, str):
        return escape_csv_text(value)
    return str(value)


def write_csv(path: Path, sheet: Sheet, *, excel_fr: bool = False) -> None:
    """Write one table to `path` as CSV; with `excel_fr`, in UTF-8 with a byte-order mark."""
    path.write_text(
        csv_text(sheet, excel_fr=excel_fr), encoding="utf-8-sig" if excel_fr else "utf-8", newline=""
    )
