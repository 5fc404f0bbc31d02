"""Past orders imported from a file: the reports read them at the time they happened, live work never sees them."""

from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from cangku.history_import import import_history
from domain.errors import InvalidOrderState, RowsRejected
from domain.ids import historic_order_id
from projections import order_desk
from projections.crm import customer
from projections.finance import daily_finance, sku_finance
from projections.inventory import stock_by_bin
from projections.orders_board import open_exception_counts, order_counts
from projections.replenishment import replenishment
from tests.builders import CUP, PAN, TEA, order, warehouse_with_catalogue
from tests.history_files import expected_figures, online_retail_file

OWN_HEADER = ("channel,shop,order_no,ordered_at,status,sku,quantity,unit_price,refunded_quantity,refunded_amount,"
              "refunded_at,buyer,title")


def monthly(days: list[dict], figure: str) -> dict[str, Decimal]:
    months = defaultdict(Decimal)
    for day in days:
        if day[figure]:
            months[day["day"][:7]] += day[figure]
    return dict(months)


def top_skus(engine, n: int = 10) -> list[tuple[str, int]]:
    net = [(row["sku"], row["units_ordered"] - row["units_refunded"]) for row in sku_finance(engine)]
    return sorted(net, key=lambda item: (-item[1], item[0]))[:n]


class HistoryMatchesTheFile:
    """Run against each store by overriding `database_url`."""

    lines = 3_000

    @pytest.fixture
    def database_url(self):
        return "memory:"

    @pytest.fixture
    def imported(self, make_system, database_url, tmp_path):
        system = make_system(database_url, business_timezone="Europe/London")
        path = online_retail_file(tmp_path / "Online Retail.csv", self.lines)
        counts = import_history(system.app, path, "online-retail", "web", "uk-shop")
        system.catch_up()
        return system, path, counts

    def test_monthly_revenue_refunds_and_top_skus_equal_a_count_of_the_file(self, imported):
        system, path, counts = imported
        expected = expected_figures(path)

        days = daily_finance(system.engine)

        assert counts["lines"] + counts["skipped"] == self.lines
        assert monthly(days, "revenue") == expected["revenue"]
        assert monthly(days, "refunds") == expected["refunds"]
        assert top_skus(system.engine) == expected["top"]
        by_sku = {row["sku"]: row for row in sku_finance(system.engine)}
        assert {sku: row["units_ordered"] for sku, row in by_sku.items() if row["units_ordered"]} == \
            dict(expected["sold"])


def write(path: Path, *rows: str) -> Path:
    path.write_text("\n".join((OWN_HEADER, *rows)) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def shop(make_system):
    system = make_system()
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 40})
    return system


class TestOnTheMemoryStore(HistoryMatchesTheFile):
    def test_history_is_never_live_work(self, imported):
        system, _, counts = imported
        keys = order_desk.BuyerKeys(b"k" * 32)

        board = order_counts(system.engine)
        listed = order_desk.order_list(system.engine, order_desk.OrderFilter(status="history"), keys, limit=5)

        assert board["by_status"] == []
        assert open_exception_counts(system.engine) == {}
        assert stock_by_bin(system.engine) == []
        assert listed["total"] == counts["recorded"]
        assert {row["status"] for row in listed["items"]} <= {"history:shipped", "history:credit_note"}
        working = order_desk.order_list(system.engine, order_desk.OrderFilter(status="released"), keys)
        assert working["total"] == 0


def test_each_status_lands_on_the_day_it_happened_not_the_day_imported(shop, tmp_path):
    path = write(
        tmp_path / "orders.csv",
        f"taobao,flagship,A1,2025-03-02T10:00:00+08:00,shipped,{TEA},2,50.00,,,,wang,",
        f"taobao,flagship,A2,2025-03-02T11:00:00+08:00,cancelled,{TEA},5,50.00,,,,wang,",
        f"taobao,flagship,A3,2025-03-03T09:00:00+08:00,refunded,{CUP},1,10.00,,,2025-03-09T12:00:00+08:00,li,",
        f"taobao,flagship,A4,2025-03-04T09:00:00+08:00,partially_refunded,{TEA},4,50.00,1,50.00,"
        f"2025-04-01T08:00:00+08:00,li,",
        f"taobao,flagship,A4,2025-03-04T09:00:00+08:00,partially_refunded,{PAN},1,99.00,0,,,li,",
    )

    counts = import_history(shop.app, path)
    shop.catch_up()

    assert counts == {"recorded": 4, "lines": 5, "already_recorded": 0, "orders": 4, "skipped": 0}
    days = {row["day"]: row for row in daily_finance(shop.engine)}
    assert days["2025-03-02"]["revenue"] == Decimal("100.00") and days["2025-03-02"]["orders"] == 1
    assert days["2025-03-03"]["revenue"] == Decimal("10.00")
    assert days["2025-03-09"]["refunds"] == Decimal("10.00")
    assert days["2025-04-01"]["refunds"] == Decimal("50.00")
    assert days["2025-03-04"]["revenue"] == Decimal("299.00")
    assert sum(row["revenue"] for row in days.values()) == Decimal("409.00")
    wang, li = customer(shop.engine, "wang"), customer(shop.engine, "li")
    assert (wang["orders"], wang["cancelled_orders"], wang["last_order_on"]) == (1, 1, "2025-03-02")
    assert li["orders"] == 2 and li["refunds"] == Decimal("60.00")


def test_velocity_counts_what_was_kept_never_cancelled_or_refunded_units(shop, tmp_path):
    path = write(
        tmp_path / "orders.csv",
        f"taobao,flagship,B1,2026-11-02T10:00:00+08:00,shipped,{TEA},6,50.00,,,,,",
        f"taobao,flagship,B2,2026-11-03T10:00:00+08:00,cancelled,{TEA},100,50.00,,,,,",
        f"taobao,flagship,B3,2026-11-04T10:00:00+08:00,partially_refunded,{TEA},10,50.00,4,200.00,,,",
    )

    import_history(shop.app, path)
    shop.catch_up()

    tea = replenishment(shop.engine, as_of="2026-11-27", window_days=28, sku=TEA)[0]
    assert tea["units_sold"] == 6 + 10 - 4
    assert tea["available"] == 40  # history moved no stock


def test_a_file_with_bad_rows_records_nothing_and_names_each(shop, tmp_path):
    path = write(
        tmp_path / "orders.csv",
        f"taobao,flagship,C1,2025-03-02T10:00:00+08:00,shipped,{TEA},2,50.00,,,,,",
        f"taobao,flagship,C2,2025-03-02T10:00:00+08:00,delivered-ish,{TEA},2,50.00,,,,,",
        f"taobao,flagship,C3,yesterday,shipped,{TEA},2,50.00,,,,,",
        f"taobao,flagship,C4,2025-03-02T10:00:00+08:00,shipped,{TEA},two,50.00,,,,,",
        f"taobao,flagship,C5,2025-03-02T10:00:00+08:00,shipped,{TEA},2,50.00,1,,,,",
    )

    with pytest.raises(RowsRejected) as refused:
        import_history(shop.app, path)

    assert set(refused.value.errors) == {3, 4, 5, 6}
    assert "status must be one of" in refused.value.errors[3]
    assert "ordered_at" in refused.value.errors[4]
    assert "quantity" in refused.value.errors[5]
    assert "has no refund" in refused.value.errors[6]
    shop.catch_up()
    assert order_desk.order_list(shop.engine, order_desk.OrderFilter(status="history"),
                                 order_desk.BuyerKeys(b"k" * 32))["total"] == 0


def test_importing_the_same_file_again_adds_nothing(shop, tmp_path):
    path = write(tmp_path / "orders.csv", f"jd,main,D1,2025-05-01T10:00:00+08:00,shipped,{TEA},3,20.00,,,,,")
    import_history(shop.app, path)

    again = import_history(shop.app, path)
    shop.catch_up()

    assert (again["recorded"], again["already_recorded"]) == (0, 1)
    assert sum(row["revenue"] for row in daily_finance(shop.engine)) == Decimal("60.00")


def test_a_past_order_is_refused_any_live_action_with_the_reason(shop, tmp_path):
    path = write(tmp_path / "orders.csv", f"jd,main,E1,2025-05-01T10:00:00+08:00,shipped,{TEA},3,20.00,,,,,")
    import_history(shop.app, path)

    with pytest.raises(InvalidOrderState, match="past order"):
        shop.app.orders.cancel_order(historic_order_id("jd", "main", "E1"), "oops", "sup")


def test_times_without_an_offset_are_the_shops_local_time(make_system, tmp_path):
    system = make_system(shop_timezones="web:us=America/Los_Angeles")
    path = tmp_path / "Online Retail.csv"
    path.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    "536365,85123A,WHITE HANGING HEART,6,12/1/2010 23:30,2.55,17850.0,United Kingdom\n",
                    encoding="utf-8")

    import_history(system.app, path, "online-retail", "web", "us")
    system.catch_up()

    [day] = daily_finance(system.engine)
    assert (day["day"], day["revenue"]) == ("2010-12-01", Decimal("15.30"))
    assert customer(system.engine, "17850")["spend"] == Decimal("15.30")
    ordered = datetime(2010, 12, 2, 7, 30, tzinfo=timezone.utc)
    assert system.app.store.repository.get(historic_order_id("web", "us", "536365")).ordered_at == ordered
    assert date.today().isoformat() != "2010-12-01"


def test_an_invoice_workbook_reads_as_its_csv_does(make_system, tmp_path):
    from openpyxl import Workbook

    system = make_system()
    book = Workbook()
    sheet = book.active
    sheet.append(["Online Retail"])
    sheet.append(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
                  "Country"])
    sheet.append([536365, "85123A", "WHITE HANGING HEART", 6, datetime(2010, 12, 1, 8, 26), 2.55, 17850.0, "UK"])
    sheet.append([536365, "71053", "WHITE METAL LANTERN", 6, datetime(2010, 12, 1, 8, 26), 3.39, 17850.0, "UK"])
    sheet.append(["C536379", "D", "Discount", -1, datetime(2010, 12, 2, 9, 41), 27.5, 14527.0, "UK"])
    book.save(tmp_path / "Online Retail.xlsx")

    counts = import_history(system.app, tmp_path / "Online Retail.xlsx", "online-retail")
    system.catch_up()

    assert (counts["recorded"], counts["lines"]) == (2, 3)
    days = {row["day"]: row for row in daily_finance(system.engine)}
    assert days["2010-12-01"]["revenue"] == Decimal("35.64")
    assert days["2010-12-02"]["refunds"] == Decimal("27.50")
    assert customer(system.engine, "17850")["orders"] == 1


def test_an_order_that_came_in_live_is_refused_from_the_history_file(shop, tmp_path):
    shop.app.orders.import_orders([order("T-77", (TEA, 1))], warehouse="WH1")
    path = write(tmp_path / "orders.csv",
                 f"jd,main,F1,2025-05-01T10:00:00+08:00,shipped,{TEA},3,20.00,,,,,",
                 f"taobao,flagship,T-77,2025-05-01T10:00:00+08:00,shipped,{TEA},1,20.00,,,,,")

    with pytest.raises(RowsRejected) as refused:
        import_history(shop.app, path)

    assert list(refused.value.errors) == [3]
    assert "already a live order" in refused.value.errors[3]


def test_a_window_with_more_credited_than_sold_shows_no_velocity_rather_than_a_negative_one(shop, tmp_path):
    path = write(tmp_path / "orders.csv",
                 f"web,main,G1,2026-10-01T10:00:00+08:00,shipped,{CUP},5,8.00,,,,,",
                 f"web,main,CG1,2026-11-20T10:00:00+08:00,credit_note,{CUP},5,8.00,,,,,")

    import_history(shop.app, path)
    shop.catch_up()

    cup = replenishment(shop.engine, as_of="2026-11-27", window_days=28, sku=CUP)[0]
    assert (cup["units_sold"], cup["velocity"]) == (0, Decimal("0.00"))


def test_statuses_may_be_written_as_chinese_marketplaces_export_them(shop, tmp_path):
    path = write(tmp_path / "订单.csv",
                 f"taobao,flagship,H1,2025-06-18T10:00:00+08:00,交易成功,{TEA},1,50.00,,,,,",
                 f"taobao,flagship,H2,2025-06-18T11:00:00+08:00,交易关闭,{TEA},1,50.00,,,,,",
                 f"taobao,flagship,H3,2025-06-18T12:00:00+08:00,部分退款,{TEA},2,50.00,1,50.00,,,")

    import_history(shop.app, path)
    shop.catch_up()

    listed = order_desk.order_list(shop.engine, order_desk.OrderFilter(status="history"),
                                   order_desk.BuyerKeys(b"k" * 32), sort="order")
    assert [row["status"] for row in listed["items"]] == ["history:shipped", "history:cancelled",
                                                          "history:partially_refunded"]


def test_an_import_stopped_half_way_finishes_when_run_again(make_system, tmp_path, monkeypatch):
    from domain.services import history

    system = make_system()
    path = online_retail_file(tmp_path / "Online Retail.csv", 400)
    monkeypatch.setattr(history, "LINES_PER_TRANSACTION", 100)
    real_save, saves = system.app.store.save, []

    def save_then_crash(*aggregates):
        saves.append(len(aggregates))
        if len(saves) == 2:
            raise ConnectionError("the database went away")
        return real_save(*aggregates)

    monkeypatch.setattr(system.app.store, "save", save_then_crash)
    with pytest.raises(ConnectionError):
        import_history(system.app, path, "online-retail")
    monkeypatch.setattr(system.app.store, "save", real_save)

    finished = import_history(system.app, path, "online-retail")
    system.catch_up()

    assert finished["already_recorded"] == saves[0] and finished["recorded"] > 0
    assert monthly(daily_finance(system.engine), "revenue") == expected_figures(path)["revenue"]
