"""Files of SKUs, locations and opening stock, as CSV or XLSX: parsed row by row, imported all together or not at all.

A SKU file updates the SKUs it names that exist and registers the others; an empty cell leaves that detail as it
is (a new SKU takes zero, no barcode, not lot-tracked).
"""

import codecs
import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterator

from domain.errors import InvalidInput, RowsRejected

SKU_COLUMNS = ("code", "name", "barcodes", "unit_weight_g", "length_mm", "width_mm", "height_mm", "unit_cost",
               "safety_stock", "lot_tracked", "shelf_life_days")
SKU_WHOLE_NUMBERS = ("unit_weight_g", "length_mm", "width_mm", "height_mm", "safety_stock", "shelf_life_days")
LOCATION_COLUMNS = ("warehouse", "bin", "zone", "area", "pick_sequence")
STOCK_COLUMNS = ("warehouse", "sku", "bin", "quantity")
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
YES, NO = ("1", "yes", "y", "true", "是", "✔"), ("0", "no", "n", "false", "否", "")
READ_STEP = 1000
TITLE_ROWS = 10


class CellRefused(InvalidInput, ValueError):
    """A cell that does not read as its column's kind, with the words of why (refusals.po)."""


def is_xlsx(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(XLS_MAGIC):
        raise RowsRejected({1: InvalidInput("this is an .xls file (Excel 97-2003); save it as .xlsx or CSV",
                                            key="refusal:xls_file")})
    return head.startswith(XLSX_MAGIC)


def kind_of(path: Path) -> str:
    """What the file was read as: XLSX, or the text encoding of a CSV."""
    return "XLSX" if is_xlsx(path) else encoding_of(path).upper()


def encoding_of(path: Path) -> str:
    """The text encoding of a CSV file as spreadsheets save it: UTF-8 (with or without BOM), UTF-16 (Excel's
    "Unicode text", with a BOM, or told apart by its zero bytes) or else GB18030 (Chinese Excel's default, a
    superset of GBK and GB2312)."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head and head.count(0) > len(head) // 4:
        return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
    try:
        with open(path, encoding="utf-8") as f:
            for _ in f:
                pass
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def read_rows(path: Path, columns: tuple[str, ...], required: tuple[str, ...] | None = None,
              progress: Callable[[int], None] | None = None) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a CSV or XLSX file (the first sheet, whose header may follow a few title rows);
    a file without the required columns in its header is refused whole. `progress` is told the rows read."""
    return list(each_file_row(path, columns, required, progress))


def each_file_row(path: Path, columns: tuple[str, ...], required: tuple[str, ...] | None = None,
                  progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """`read_rows` one row at a time, for files too large to hold as dicts."""
    required = columns if required is None else required
    if is_xlsx(path):
        yield from _sheet_rows(path, columns, required, progress)
        return
    encoding = encoding_of(path)
    try:
        with open(path, newline="", encoding=encoding) as f:
            yield from _rows(csv.DictReader(f), columns, required, progress)
    except UnicodeDecodeError as error:
        raise RowsRejected({1: InvalidInput(f"the file is neither UTF-8, UTF-16 nor GB18030 text ({error.reason})",
                                            key="refusal:not_text", reason=error.reason)}) from None


def _rows(reader: csv.DictReader, columns, required, progress) -> Iterator[tuple[int, dict[str, str]]]:
    _check_header(reader.fieldnames or [], columns, required)
    count = 0
    for row in reader:
        yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k}
        count += 1
        _count(count, progress)
    _count_rest(count, progress)


def _check_header(names, columns, required) -> None:
    names = [str(n).strip() for n in names if n is not None]
    missing = [c for c in required if c not in names]
    if missing:
        lacking, expected = ", ".join(missing), ",".join(columns)
        raise RowsRejected({1: InvalidInput(f"header lacks column(s) {lacking}; expected {expected}",
                                            key="refusal:header_lacks", missing=lacking, expected=expected)})


def _count(count: int, progress) -> None:
    if progress is not None and count % READ_STEP == 0:
        progress(READ_STEP)


def _count_rest(count: int, progress) -> None:
    if progress is not None and count % READ_STEP:
        progress(count % READ_STEP)


def _sheet_rows(path: Path, columns, required, progress) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    with open(path, "rb") as file:  # a file object, so that openpyxl does not judge the file by its name
        try:
            book = load_workbook(file, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a damaged or foreign file
            raise RowsRejected({1: InvalidInput(f"the file cannot be read as XLSX ({type(error).__name__})",
                                                key="refusal:not_xlsx", kind=type(error).__name__)}) from None
        yield from _book_rows(book, columns, required, progress)


def _book_rows(book, columns, required, progress) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        header, count = None, 0
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), 1):
            texts = [cell_text(v) for v in values]
            if not any(texts):
                continue
            if header is None:
                # A title or a note may stand above the header: it is the first row naming the columns needed.
                names = [t.strip() for t in texts]
                if all(c in names for c in required):
                    header = names
                elif number >= TITLE_ROWS:
                    _check_header(names, columns, required)
                continue
            yield number, {name: text for name, text in zip(header, texts) if name}
            count += 1
            _count(count, progress)
        if header is None:
            _check_header([], columns, required)
        _count_rest(count, progress)
    finally:
        book.close()


def cell_text(value) -> str:
    """A spreadsheet cell as the text a CSV would hold: whole numbers without '.0' (a barcode typed as a number
    stays its digits), other numbers as written, dates as days."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def whole(value: str, column: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise CellRefused(f"{column} must be a whole number, got {value!r}", key="refusal:whole_number",
                          column=column, value=repr(value)) from None


def parse(rows, convert) -> dict[int, object]:
    parsed, errors = converted(rows, convert)
    if errors:
        raise RowsRejected(errors)
    return parsed


def converted(rows, convert) -> tuple[dict[int, object], dict[int, str]]:
    """The rows converted, and what is wrong with each row that could not be."""
    parsed, errors = {}, {}
    for number, row in rows:
        try:
            parsed[number] = convert(row)
        except (ValueError, InvalidOperation) as error:
            errors[number] = error if isinstance(error, CellRefused) else str(error) or "malformed row"
    return parsed, errors


def sku_row(row: dict) -> dict:
    """The details a row gives (an empty cell gives none)."""
    given = {name: row[name] for name in SKU_COLUMNS if row.get(name)}
    if "unit_cost" in given:
        try:
            given["unit_cost"] = Decimal(given["unit_cost"])
        except InvalidOperation:
            raise ValueError(f"unit_cost must be a number, got {row['unit_cost']!r}") from None
    for name in SKU_WHOLE_NUMBERS:
        if name in given:
            given[name] = whole(given[name], name)
    if "barcodes" in given:
        given["barcodes"] = [b.strip() for b in given["barcodes"].replace("；", ";").split(";") if b.strip()]
    if "lot_tracked" in row:
        flag = row["lot_tracked"].lower()
        if flag not in YES + NO:
            raise ValueError(f"lot_tracked must be yes or no (是/否), got {row['lot_tracked']!r}")
        if flag:
            given["lot_tracked"] = flag in YES
    given["code"] = row["code"]
    return given


def location_row(row: dict) -> tuple:
    return (row["warehouse"], row["bin"], row["zone"], row["area"], whole(row["pick_sequence"] or "0", "pick_sequence"))


def stock_row(row: dict) -> tuple:
    return (row["warehouse"], row["sku"], row["bin"], whole(row["quantity"], "quantity"))


def import_skus(app, path: Path, bar=None, by: str = "import") -> dict:
    """Register the file's new SKUs and update the existing ones; `bar` (a tqdm-like progress bar) is told the rows
    read, then the rows checked. Returns how many were registered, updated and left unchanged."""
    rows, rejected = converted(read_rows(path, SKU_COLUMNS, ("code",), _reading(bar)), sku_row)
    return app.catalogue.upsert_skus(rows, by, _progress(bar, rows), rejected)


def import_locations(app, path: Path) -> int:
    return app.inventory.add_locations(parse(read_rows(path, LOCATION_COLUMNS), location_row))


def import_stock(app, path: Path, by: str, bar=None) -> int:
    rows = parse(read_rows(path, STOCK_COLUMNS, progress=_reading(bar)), stock_row)
    return app.inventory.load_opening_stock(rows, by, _progress(bar, rows))


def _reading(bar):
    """Progress of reading the file: `bar` (a tqdm-like bar) counts the rows read."""
    if bar is None:
        return None
    bar.set_description("rows read")
    return bar.update


def _progress(bar, rows: dict):
    """Then progress of checking them, over all the rows read."""
    if bar is None:
        return None
    bar.reset(total=len(rows))
    bar.set_description("rows checked")
    return bar.update


def import_courier_bill(app, path: Path, courier: str, reference: str, by: str) -> dict:
    """A courier's bill, columns tracking_no and fee: its fees replace the estimates (all rows, or none)."""
    return app.costs.upload_courier_bill(courier, reference, dict(read_rows(path, ("tracking_no", "fee"))), by)
