"""Export any query's rows (a list of plain dicts) as CSV or XLSX for the back office.

Text that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) is written as
text: an order remark or a SKU title comes from outside and must never execute when the file is opened.
"""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence
from uuid import UUID

from .backoffice import BUSINESS_TIME, InvalidFilter

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_SHEET_TITLE = 31


def columns_of(rows: Sequence[dict], columns: Sequence[str] | None = None) -> list[str]:
    """The given columns, or every key in the order first seen; nested values (lists, dicts) are left out."""
    if columns is not None:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if not isinstance(value, (dict, list, tuple, set)):
                seen.setdefault(key, None)
    return list(seen)


def cell(value: Any, escape_formula: bool = True) -> Any:
    """A value as a spreadsheet should hold it: numbers stay numbers, instants in China time, the rest text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal, float)):
        return value
    if isinstance(value, datetime):
        moment = value.astimezone(BUSINESS_TIME) if value.tzinfo else value
        return moment.replace(tzinfo=None)
    if isinstance(value, (date, UUID)):
        return value if isinstance(value, date) else str(value)
    text = ILLEGAL_CHARACTERS.sub("", str(value))
    return "'" + text if escape_formula and text.startswith(FORMULA_START) else text


def to_csv(rows: Iterable[dict], columns: Sequence[str] | None = None) -> bytes:
    """UTF-8 CSV with a byte-order mark, so Excel on a Chinese Windows opens it without garbling."""
    rows = list(rows)
    names = columns_of(rows, columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        values = [cell(row.get(name)) for name in names]
        writer.writerow([v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in values])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: Iterable[dict], columns: Sequence[str] | None = None, sheet: str = "report") -> bytes:
    """An .xlsx workbook with one sheet: a bold header row, then one row per dict."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    rows = list(rows)
    names = columns_of(rows, columns)
    # Write-only: rows stream to the file as they are appended; nothing walks the sheet again.
    book = Workbook(write_only=True)
    table = book.create_sheet(_sheet_title(sheet))
    for index, name in enumerate(names, start=1):
        widest = max([len(str(name))] + [len(str(r.get(name) or "")) for r in rows[:200]])
        table.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 8), 60)
    bold = Font(bold=True)
    table.append([_text_cell(table, name, bold) for name in names])
    for row in rows:
        values = [cell(row.get(name), escape_formula=False) for name in names]
        for index, value in enumerate(values):
            # openpyxl would store text starting with "=" as a formula (and "#N/A" as an error) unless told
            # it is a string.
            if isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES):
                values[index] = _text_cell(table, value)
        table.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text_cell(table, value: str, font=None):
    """A cell that holds text as text, whatever it starts with."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import TYPE_STRING

    written = WriteOnlyCell(table, value=value)
    written.data_type = TYPE_STRING
    if font is not None:
        written.font = font
    return written


def _sheet_title(name: str) -> str:
    cleaned = "".join("_" if ch in '[]:*?/\\' else ch for ch in (name or "report")).strip() or "report"
    return cleaned[:MAX_SHEET_TITLE]


EXPORTERS = {"csv": to_csv, "xlsx": to_xlsx}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def export(rows: Iterable[dict], kind: str, columns: Sequence[str] | None = None) -> bytes:
    """Rows as `csv` or `xlsx` bytes; any other kind is refused by name."""
    if kind not in EXPORTERS:
        raise InvalidFilter(f"export format {str(kind)[:10]!r} is not one of {', '.join(EXPORTERS)}")
    return EXPORTERS[kind](rows, columns)
