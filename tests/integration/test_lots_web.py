"""The lot pages over HTTP on the SQLite file store: stock by lot, the expiry alert (also on the dashboard) and the
recall report with buyers masked."""

from datetime import date

import pytest

from scanner_ui import create_app
from tests.integration.test_backoffice_pages import signed_in, table_rows
from tests.unit.test_lots import MILK, MILK_GTIN, TODAY, gs1, stocked
from tests.builders import order, warehouse_with_catalogue

PIN = "2468"


@pytest.fixture
def system(make_system, sqlite_url):
    from decimal import Decimal

    built = make_system(sqlite_url, expiry_alert_days="20")
    app = built.app
    warehouse_with_catalogue(app)
    app.catalogue.edit_sku("TEA-LJ-250", "admin", barcodes=[])
    app.catalogue.register_sku(MILK, "纯牛奶 1L", [MILK_GTIN], 1030, Decimal("9.00"), 0, lot_tracked=True,
                               shelf_life_days=180)
    app.inventory.today = lambda: TODAY
    app.staff.register_staff("S1", "S1", "supervisor", PIN, "admin")
    stocked(app, ("SOON", "2026-12-20", "A-01-01", 5), ("LATE", "2027-06-30", "B-02-01", 5))
    [result] = app.orders.import_orders([order("M1", (MILK, 2))], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", "W1", [result["order_id"]], "S1")
    app.fulfilment.pick(wave, 0, "A-01-01", gs1("SOON", "261220"), 2, "P1")
    for _ in range(2):
        app.fulfilment.verify_item(result["order_id"], MILK_GTIN, "K1")
    app.fulfilment.close_package(result["order_id"], "K1")
    app.fulfilment.weigh(result["order_id"], 2100, "K1")
    app.fulfilment.assign_waybill(result["order_id"], "LOCAL", "SF100", "HZ")
    app.fulfilment.hand_over(result["order_id"], "K1")
    return built


@pytest.fixture
def supervisor(system):
    return signed_in(create_app(system, {"TESTING": True}), "S1")


def test_the_stock_by_lot_page_lists_each_lot_first_expiring_first(supervisor):
    page = supervisor.get("/office/lots?sku=" + MILK).get_data(as_text=True)

    assert [row[2:6] for row in table_rows(page, "lots")] == [["SOON", "2026-12-20", "A-01-01", "3"],
                                                              ["LATE", "2027-06-30", "B-02-01", "5"]]


def test_the_expiry_alert_lists_lots_within_the_set_days_and_the_dashboard_counts_them(supervisor):
    alert = supervisor.get("/office/lots/expiring").get_data(as_text=True)
    wider = supervisor.get("/office/lots/expiring?days=365").get_data(as_text=True)
    dashboard = supervisor.get("/office/").get_data(as_text=True)

    assert [(row[2], row[4]) for row in table_rows(alert, "expiring-lots")] == [("SOON", "17")]
    assert [row[2] for row in table_rows(wider, "expiring-lots")] == ["SOON", "LATE"]
    assert 'data-key="lots_expiring"' in dashboard and ">1</a>" in dashboard.split('data-key="lots_expiring"')[1][:120]


def test_the_recall_report_names_the_order_with_its_buyer_masked(supervisor):
    page = supervisor.get(f"/office/lots/recall?sku={MILK}&lot=SOON").get_data(as_text=True)

    orders = page.split('id="recall-orders"')[1].split("</table>")[0]
    assert "M1" in orders and "王** 138****5678" in orders and "138****5678" in orders
    assert "王小明" not in page and "13812345678" not in page
    assert [row[3] for row in table_rows(page, "recall-stock")] == ["2026-12-20"]


def test_a_recall_without_the_lot_is_refused_by_name(supervisor):
    answer = supervisor.get(f"/office/lots/recall?sku={MILK}")

    assert answer.status_code == 422 and "both the SKU and the lot" in answer.get_data(as_text=True)


def test_the_recall_and_expiry_commands_print_the_orders_and_lots(system):
    from click.testing import CliRunner

    from cangku.cli import main

    env = {"CANGKU_DATABASE_URL": system.settings.database.url, "CANGKU_DATA_DIR": str(system.settings.data_dir)}

    recalled = CliRunner().invoke(main, ["lots", "recall", "--sku", MILK, "--lot", "SOON"], env=env,
                                  catch_exceptions=False)
    expiring = CliRunner().invoke(main, ["lots", "expiring", "--days", "3650"], env=env, catch_exceptions=False)

    assert "2 units shipped, 3 still in stock" in recalled.output
    assert "taobao/flagship/M1" in recalled.output and "王** 138****5678" in recalled.output
    assert "王小明" not in recalled.output
    assert [line.split()[2] for line in expiring.output.splitlines()[1:3]] == ["SOON", "LATE"]


def test_the_api_lists_lots_alerts_on_expiry_and_answers_a_recall(system):
    client = create_app(system, {"TESTING": True}).test_client()
    headers = {"Authorization": f"Bearer {system.app.staff.issue_token('S1', 'tests', 'admin')}"}

    listed = client.get(f"/api/v1/lots?sku={MILK}", headers=headers)
    alert = client.get("/api/v1/lots/expiring?days=3650", headers=headers)
    recalled = client.get(f"/api/v1/lots/recall?sku={MILK}&lot=SOON", headers=headers)
    received = client.post("/api/v1/stock/receive", headers=headers, json={"sku": MILK, "quantity": 3, "lot": "B5"})

    assert [(r["lot"], r["bin"], r["on_hand"]) for r in listed.json["items"]] == [("SOON", "A-01-01", 3),
                                                                                  ("LATE", "B-02-01", 5)]
    assert [r["lot"] for r in alert.json["items"]] == ["SOON", "LATE"]
    [shipped] = recalled.json["orders"]
    assert (shipped["platform_order_no"], shipped["shipped"], shipped["buyer"]["phone"]) == ("M1", 2, "138****5678")
    assert received.status_code == 422 and received.json["error"]["code"] == "lot_required"


def test_the_order_page_names_the_lots_it_shipped_with_a_link_to_their_recall(system, supervisor):
    order_id = system.app.orders.find_order("taobao", "flagship", "M1").id

    page = supervisor.get(f"/office/orders/{order_id}").get_data(as_text=True)

    assert table_rows(page, "lots") == [[MILK, "SOON", "2026-12-20", "2", "0"]]
    assert f"/office/lots/recall?sku={MILK}&amp;lot=SOON" in page


def test_a_supervisor_scraps_the_free_units_of_a_lot_from_the_expiry_alert(system, supervisor):
    scrapped = supervisor.post("/office/lots/scrap", data={"warehouse": "WH1", "sku": MILK, "lot": "SOON",
                                                           "reason": "expired"})
    again = supervisor.post("/office/lots/scrap", data={"warehouse": "WH1", "sku": MILK, "lot": "SOON",
                                                        "reason": "expired"})
    page = supervisor.get(scrapped.headers["Location"]).get_data(as_text=True)

    assert scrapped.status_code == 303 and 'id="scrapped"' in page
    stock = system.app.inventory.stock_of("WH1", MILK)
    assert (stock.lots_in("A-01-01"), stock.on_hand.get("A-01-01", 0)) == ({}, 0)
    assert again.status_code == 409 and "no free MILK-1L of lot" in again.get_data(as_text=True)
