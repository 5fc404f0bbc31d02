"""SKU files as merchants keep them: XLSX or CSV, updating the SKUs they name, all rows or none."""

from decimal import Decimal

import pytest
from openpyxl import Workbook

from adapters.imports import import_skus, import_stock, kind_of
from domain.errors import RowsRejected
from tests.builders import TEA, TEA_EAN, warehouse_with_catalogue

HEADER = ["code", "name", "barcodes", "unit_weight_g", "length_mm", "width_mm", "height_mm", "unit_cost",
          "safety_stock", "lot_tracked", "shelf_life_days"]


class Bar:
    """What a progress bar is told, phase by phase."""

    def __init__(self):
        self.total, self.n, self.phases = None, 0, []

    def update(self, n):
        self.n += n

    def reset(self, total=None):
        self.phases.append(("read", self.n))
        self.total, self.n = total, 0

    def set_description(self, text):
        pass


def sheet(path, *rows):
    book = Workbook(write_only=True)
    page = book.create_sheet("商品")
    for row in rows:
        page.append(list(row))
    book.save(path)
    return path


@pytest.fixture
def system(make_system):
    built = make_system()
    warehouse_with_catalogue(built.app)
    return built


def test_an_xlsx_sheet_registers_new_skus_and_updates_existing_ones_with_its_numbers_read_as_written(system,
                                                                                                     tmp_path):
    path = sheet(tmp_path / "商品.xlsx", HEADER,
                 ["BOWL-01", "青瓷碗 中号", 6901234567809, 420, 150, 150, 70, 18.8, 6, "是", 0],
                 [TEA, None, None, None, None, None, None, 41, None, "yes", 540])

    counts = import_skus(system.app, path)

    assert kind_of(path) == "XLSX"
    assert counts == {"registered": 1, "updated": 1, "unchanged": 0}
    bowl = system.app.catalogue.get_sku("BOWL-01")
    assert (bowl["name"], bowl["barcodes"], bowl["unit_cost"], bowl["lot_tracked"], bowl["height_mm"]) == (
        "青瓷碗 中号", ["6901234567809"], Decimal("18.8"), True, 70)
    tea = system.app.catalogue.get_sku(TEA)
    assert (tea["name"], tea["barcodes"], tea["unit_cost"], tea["lot_tracked"], tea["shelf_life_days"]) == (
        "龙井茶 250g", [TEA_EAN], Decimal("41"), True, 540)


def test_a_sku_code_with_a_space_refuses_only_its_row_and_the_report_names_every_bad_row(system, tmp_path):
    path = tmp_path / "skus.csv"
    path.write_text("code,name,unit_cost\r\nBOWL-01,青瓷碗,18.8\r\nBOWL 02,青瓷碗 大,20\r\n"
                    f"{TEA},,abc\r\nBOWL-03,青瓷碗 小,9\r\n", encoding="gbk")
    before = system.app.store.recorder.max_notification_id()

    with pytest.raises(RowsRejected) as refused:
        import_skus(system.app, path)

    assert sorted(refused.value.errors) == [3, 4]
    assert "without spaces" in refused.value.errors[3]
    assert "unit_cost must be a number" in refused.value.errors[4]
    assert system.app.store.recorder.max_notification_id() == before
    assert not system.app.catalogue.sku_exists("BOWL-01")


def test_rows_of_a_sheet_are_reported_by_the_row_numbers_the_spreadsheet_shows(system, tmp_path):
    path = sheet(tmp_path / "skus.xlsx", ["说明: 商品主数据"], [], HEADER[:3],
                 ["BOWL-01", "青瓷碗", ""], ["BOWL-02", "", ""])

    with pytest.raises(RowsRejected) as refused:
        import_skus(system.app, path)

    assert list(refused.value.errors) == [5]


def test_an_old_excel_file_is_refused_by_name(system, tmp_path):
    path = tmp_path / "skus.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))

    with pytest.raises(RowsRejected) as refused:
        import_skus(system.app, path)

    assert ".xls file" in refused.value.errors[1]


def test_a_sheet_without_the_code_column_is_refused_whole(system, tmp_path):
    path = sheet(tmp_path / "skus.xlsx", ["名称", "成本"], ["碗", 3])

    with pytest.raises(RowsRejected) as refused:
        import_skus(system.app, path)

    assert "header lacks column(s) code" in refused.value.errors[1]


def test_a_large_sheet_shows_progress_over_the_rows_read_then_the_rows_checked(system, tmp_path):
    path = sheet(tmp_path / "stock.xlsx", ["warehouse", "sku", "bin", "quantity"],
                 *(["WH1", TEA, "A-01-01", 1] for _ in range(2_500)))
    bar = Bar()

    import_stock(system.app, path, "opening", bar)

    assert bar.phases == [("read", 2_500)]
    assert (bar.total, bar.n) == (2_500, 2_500)
    assert system.app.inventory.stock_levels("WH1", TEA)["A-01-01"]["on_hand"] == 2_500
