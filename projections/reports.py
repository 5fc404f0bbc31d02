"""Export any query's rows (a list of plain dicts) as CSV or XLSX for the back office.

Text that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) is written as
text: an order remark or a SKU title comes from outside and must never execute when the file is opened.
"""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, islice
from typing import Any, Iterable, Sequence
from uuid import UUID

from .backoffice import InvalidFilter, business_calendar

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_SHEET_TITLE = 31
DAY_FORMAT = "yyyy-mm-dd"
MOMENT_FORMAT = "yyyy-mm-dd h:mm:ss"


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
    """A value as a spreadsheet should hold it: numbers stay numbers, instants in business time, the rest text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal, float)):
        return value
    if isinstance(value, datetime):
        moment = value.astimezone(business_calendar.zone) if value.tzinfo else value
        return moment.replace(tzinfo=None)
    if isinstance(value, (date, UUID)):
        return value if isinstance(value, date) else str(value)
    text = ILLEGAL_CHARACTERS.sub("", str(value))
    return "'" + text if escape_formula and text.startswith(FORMULA_START) else text


def to_csv(rows: Iterable[dict], columns: Sequence[str] | None = None) -> bytes:
    """UTF-8 CSV with a byte-order mark, so Excel on a Chinese Windows opens it without garbling."""
    rows = list(rows) if columns is None else rows
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
    from rustpy_xlsxwriter import Format, write_worksheet

    rows = iter(rows)
    sample = list(islice(rows, 200))
    rows = chain(sample, rows)
    names = columns_of(sample, columns)
    widths = [min(max(max([len(str(name))] + [len(str(r.get(name) or "")) for r in sample]) + 2, 8), 60)
              for name in names]
    days = {name: Format().set_num_format(DAY_FORMAT) for name in names if _holds_days(sample, name)}
    # The writer keeps every string as text (formulas come only from its formula options), so an order remark
    # such as "=1+1" or "#N/A" is shown as typed. An empty export still gets its header row from one empty record.
    records = ({name: cell(row.get(name), escape_formula=False) for name in names} for row in (rows if sample else [{}]))
    out = io.BytesIO()
    write_worksheet(records, out, sheet_name=_sheet_title(sheet), bold_headers=True, column_widths=widths,
                    column_formats=days or None, datetime_format=MOMENT_FORMAT)
    return out.getvalue()


def _holds_days(sample: Sequence[dict], name: str) -> bool:
    """Whether a column holds days rather than instants, judged by its first value."""
    first = next((r.get(name) for r in sample if r.get(name) is not None), None)
    return isinstance(first, date) and not isinstance(first, datetime)


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
