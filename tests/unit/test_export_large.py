"""A large export opens in a spreadsheet with every row, numbers as numbers and times in China time."""

import csv
import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from openpyxl import load_workbook

from projections.reports import export, to_xlsx

ORDERS = 3000
COLUMNS = ["ordered_on", "platform_order_no", "shop", "paid", "units", "shipped", "shipped_at", "remark"]
REMARKS = ["=1+1", "+86 138 0013 8000", "-5% off", "@SUM(A1:A9)", "#N/A", '=HYPERLINK("http://example.invalid")']


def finance_rows() -> list[dict]:
    first = datetime(2026, 11, 10, 16, 0, tzinfo=timezone.utc)
    return [
        {"ordered_on": f"2026-11-{11 + n % 3}", "platform_order_no": f"{900000000 + n}", "shop": "龙井茶旗舰店",
         "paid": Decimal(1990 + n).scaleb(-2), "units": n % 5 + 1, "shipped": n % 7 != 0,
         "shipped_at": first + timedelta(minutes=n) if n % 7 else None,
         "remark": "=1+1" if n % 500 == 0 else f"note {n}", "lines": [{"sku": "TEA-LJ-250"}]}
        for n in range(ORDERS)
    ]


def test_an_export_of_three_thousand_orders_holds_every_row_with_its_values():
    rows = finance_rows()

    sheet = load_workbook(io.BytesIO(export(rows, "xlsx", COLUMNS))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]

    assert values[0] == COLUMNS
    assert len(values) == ORDERS + 1
    assert values[1] == ["2026-11-11", "900000000", "龙井茶旗舰店", 19.9, 1, "no", None, "=1+1"]
    assert values[2] == ["2026-11-12", "900000001", "龙井茶旗舰店", 19.91, 2, "yes",
                         datetime(2026, 11, 11, 0, 1), "note 1"]
    assert values[ORDERS] == ["2026-11-13", "900002999", "龙井茶旗舰店", 49.89, 5, "yes",
                              datetime(2026, 11, 13, 1, 59), "note 2999"]
    assert [v[1] for v in values[1:]] == [r["platform_order_no"] for r in rows]
    assert [v[3] for v in values[1:]] == [float(r["paid"]) for r in rows]


def test_a_large_export_keeps_the_bold_header_and_formula_looking_text_as_text():
    sheet = load_workbook(io.BytesIO(export(finance_rows(), "xlsx", COLUMNS))).active

    header, remark = sheet["A1"], sheet["H2"]

    assert all(c.font.b for c in sheet[1])
    assert header.value == "ordered_on"
    assert remark.data_type == "s" and remark.value == "=1+1"
    assert sheet["G3"].number_format == "yyyy-mm-dd h:mm:ss"


def test_the_xlsx_and_the_csv_of_the_same_rows_hold_the_same_orders():
    rows = finance_rows()

    sheet = load_workbook(io.BytesIO(export(rows, "xlsx", COLUMNS))).active
    table = list(csv.reader(io.StringIO(export(rows, "csv", COLUMNS).decode("utf-8-sig"))))

    assert [c.value for c in sheet["B"]] == [r[1] for r in table]
    assert [str(Decimal(str(c.value)).quantize(Decimal("0.01"))) for c in sheet["D"][1:]] == [r[3] for r in table[1:]]


def test_remarks_that_look_like_formulas_or_errors_are_shown_as_typed():
    rows = [{"platform_order_no": f"90000000{n}", "remark": remark} for n, remark in enumerate(REMARKS)]

    sheet = load_workbook(io.BytesIO(export(rows, "xlsx", ["platform_order_no", "remark"]))).active

    remarks = sheet["B"][1:]
    assert [c.value for c in remarks] == REMARKS
    assert {c.data_type for c in remarks} == {"s"}


def test_order_numbers_stay_text_while_amounts_and_units_are_numbers():
    sheet = load_workbook(io.BytesIO(export(finance_rows(), "xlsx", COLUMNS))).active

    order_no, paid, units = sheet["B2"], sheet["D2"], sheet["E2"]

    assert order_no.data_type == "s" and order_no.value == "900000000"
    assert paid.data_type == "n" and paid.value == 19.9
    assert units.data_type == "n" and units.value == 1


def test_days_are_shown_as_days_and_instants_in_china_time_with_their_time():
    rows = [{"day": date(2026, 11, 11), "at": datetime(2026, 11, 11, 16, 0, 5, tzinfo=timezone.utc)}]

    sheet = load_workbook(io.BytesIO(export(rows, "xlsx", ["day", "at"]))).active

    day, at = sheet["A2"], sheet["B2"]
    assert day.value == datetime(2026, 11, 11) and day.number_format == "yyyy-mm-dd"
    assert at.value == datetime(2026, 11, 12, 0, 0, 5) and at.number_format == "yyyy-mm-dd h:mm:ss"


def test_an_export_with_no_rows_still_has_its_bold_header_on_a_sheet_with_a_chinese_title():
    sheet = load_workbook(io.BytesIO(to_xlsx([], COLUMNS, sheet="财务订单"))).active

    values = [[c.value for c in row] for row in sheet.iter_rows()]

    assert sheet.title == "财务订单"
    assert values == [COLUMNS]
    assert all(c.font.b for c in sheet[1])


def test_each_column_is_as_wide_as_its_header_or_longest_early_value_plus_two_and_at_least_eight():
    sheet = load_workbook(io.BytesIO(export(finance_rows(), "xlsx", COLUMNS))).active

    widths = {letter: int(sheet.column_dimensions[letter].width) for letter in "ABCG"}

    assert widths == {"A": 12, "B": 19, "C": 8, "G": 27}
