"""Exporting any query's rows as CSV or XLSX."""

import csv
import io
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from projections.backoffice import InvalidFilter
from projections.reports import export

ROWS = [
    {"sku": "TEA-LJ-250", "name": "龙井茶 250g", "revenue": Decimal("102.00"), "units": 3, "breach": True,
     "at": datetime(2026, 11, 11, 12, 0, 3, tzinfo=timezone.utc), "flags": [{"rule": "x"}]},
    {"sku": "CUP-GL-01", "name": "=HYPERLINK(\"http://example.invalid\",\"click\")", "revenue": Decimal("-12.50"),
     "units": 1, "breach": False, "at": None, "flags": []},
]


def test_rows_export_to_a_csv_that_excel_opens_as_utf8_with_china_times():
    data = export(ROWS, "csv")

    assert data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["sku", "name", "revenue", "units", "breach", "at"]
    assert rows[1] == ["TEA-LJ-250", "龙井茶 250g", "102.00", "3", "yes", "2026-11-11 20:00:03"]
    assert rows[2][2:5] == ["-12.50", "1", "no"]


def test_rows_export_to_an_xlsx_sheet_with_numbers_kept_as_numbers():
    book = load_workbook(io.BytesIO(export(ROWS, "xlsx", columns=["sku", "revenue", "units", "at"])))
    sheet = book.active

    values = [[c.value for c in row] for row in sheet.iter_rows()]

    assert values[0] == ["sku", "revenue", "units", "at"]
    assert values[1] == ["TEA-LJ-250", 102, 3, datetime(2026, 11, 11, 20, 0, 3)]
    assert values[2][:3] == ["CUP-GL-01", -12.5, 1]


def test_text_that_looks_like_a_formula_is_written_as_text_in_both_formats():
    book = load_workbook(io.BytesIO(export(ROWS, "xlsx", columns=["name"])))
    name = book.active["A3"]
    rows = list(csv.reader(io.StringIO(export(ROWS, "csv", columns=["name"]).decode("utf-8-sig"))))

    assert name.data_type == "s" and name.value.startswith("=HYPERLINK")
    assert rows[2] == ["'=HYPERLINK(\"http://example.invalid\",\"click\")"]


def test_an_unknown_export_format_is_refused_by_name():
    with pytest.raises(InvalidFilter, match="pdf"):
        export(ROWS, "pdf")
