"""CSV files of SKUs, locations and opening stock: parsed row by row, imported all together or not at all."""

import codecs
import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

from domain.errors import RowsRejected

SKU_COLUMNS = ("code", "name", "barcodes", "unit_weight_g", "unit_cost", "safety_stock")
LOCATION_COLUMNS = ("warehouse", "bin", "zone", "area", "pick_sequence")
STOCK_COLUMNS = ("warehouse", "sku", "bin", "quantity")


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


def read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; a file without the expected header is refused whole."""
    encoding = encoding_of(path)
    try:
        with open(path, newline="", encoding=encoding) as f:
            return _rows(csv.DictReader(f), columns)
    except UnicodeDecodeError as error:
        raise RowsRejected({1: f"the file is neither UTF-8, UTF-16 nor GB18030 text ({error.reason})"}) from None


def _rows(reader: csv.DictReader, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise RowsRejected({1: f"header lacks column(s) {', '.join(missing)}; expected {','.join(columns)}"})
    return [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]


def whole(value: str, column: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{column} must be a whole number, got {value!r}") from None


def parse(rows, convert) -> dict[int, object]:
    parsed, errors = {}, {}
    for number, row in rows:
        try:
            parsed[number] = convert(row)
        except (ValueError, InvalidOperation) as error:
            errors[number] = str(error) or "malformed row"
    if errors:
        raise RowsRejected(errors)
    return parsed


def sku_row(row: dict) -> dict:
    try:
        cost = Decimal(row["unit_cost"] or "0")
    except InvalidOperation:
        raise ValueError(f"unit_cost must be a number, got {row['unit_cost']!r}") from None
    return {
        "code": row["code"],
        "name": row["name"],
        "barcodes": [b.strip() for b in row["barcodes"].split(";") if b.strip()],
        "unit_weight_g": whole(row["unit_weight_g"] or "0", "unit_weight_g"),
        "unit_cost": cost,
        "safety_stock": whole(row["safety_stock"] or "0", "safety_stock"),
    }


def location_row(row: dict) -> tuple:
    return (row["warehouse"], row["bin"], row["zone"], row["area"], whole(row["pick_sequence"] or "0", "pick_sequence"))


def stock_row(row: dict) -> tuple:
    return (row["warehouse"], row["sku"], row["bin"], whole(row["quantity"], "quantity"))


def import_skus(app, path: Path, bar=None) -> int:
    """Register the file's SKUs; `bar` (a tqdm-like progress bar) is told the rows checked as they go."""
    rows = parse(read_rows(path, SKU_COLUMNS), sku_row)
    return app.catalogue.register_skus(rows, _progress(bar, rows))


def import_locations(app, path: Path) -> int:
    return app.inventory.add_locations(parse(read_rows(path, LOCATION_COLUMNS), location_row))


def import_stock(app, path: Path, by: str, bar=None) -> int:
    rows = parse(read_rows(path, STOCK_COLUMNS), stock_row)
    return app.inventory.load_opening_stock(rows, by, _progress(bar, rows))


def _progress(bar, rows: dict):
    if bar is None:
        return None
    bar.total = len(rows)
    bar.refresh()
    return bar.update
