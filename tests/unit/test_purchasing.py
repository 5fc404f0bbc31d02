"""Suppliers and purchase orders: drafted from replenishment suggestions, approved, received by scan with more or
fewer units than ordered, closed; each receipt moves the unit cost to the moving average that finance then uses."""

from decimal import Decimal

import pytest

from domain.errors import InvalidInput, SkuRetired
from domain.purchasing import InvalidPurchaseOrderState, UnknownSupplier
from projections import finance, replenishment
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, warehouse_with_catalogue
from tests.unit.test_product_master import ship


@pytest.fixture
def system(make_system):
    built = make_system()
    warehouse_with_catalogue(built.app, {(TEA, "A-01-01"): 10})
    built.app.purchasing.register_supplier("HZ-TEA", "杭州茶厂", 5, "S1")
    return built


def suggestions(system) -> list[dict]:
    system.catch_up()
    return replenishment.replenishment(system.engine, lead_time_days=system.app.purchasing.supplier("HZ-TEA")[
        "lead_time_days"])


def test_a_purchase_order_drafted_from_the_suggestions_orders_what_they_suggest_at_current_costs(system):
    wanted = {row["sku"]: row["suggested"] for row in suggestions(system) if row["suggested"]}

    drafted = system.app.purchasing.draft_from_suggestions("PO-1", "HZ-TEA", "WH1", suggestions(system), "S1")

    assert drafted["status"] == "draft"
    assert {sku: line["quantity"] for sku, line in drafted["lines"].items()} == wanted
    assert drafted["lines"][CUP]["unit_cost"] == Decimal("8.2000")


def test_receiving_by_scan_books_stock_and_records_over_and_under_receipt_at_close(system):
    app = system.app
    app.purchasing.draft_order("PO-1", "HZ-TEA", "WH1", [{"sku": TEA, "quantity": 10, "unit_cost": "40.00"},
                                                         {"sku": CUP, "quantity": 20}], "S1")
    app.purchasing.approve("PO-1", "S1")

    first = app.purchasing.receive("PO-1", TEA_EAN, 8, "R1")
    second = app.purchasing.receive("PO-1", TEA_EAN, 4, "R1")
    cups = app.purchasing.receive("PO-1", CUP_EAN, 15, "R1")
    short = app.purchasing.close("PO-1", "S1")

    assert (first["received"], first["over"]) == (8, 0)
    assert (second["received"], second["over"]) == (12, 2)
    assert cups["received"] == 15
    assert short == {CUP: 5}
    assert app.inventory.stock_levels("WH1", TEA)["RCV-01"]["on_hand"] == 12
    with pytest.raises(InvalidPurchaseOrderState):
        app.purchasing.receive("PO-1", TEA_EAN, 1, "R1")


def test_a_receipt_moves_the_unit_cost_to_the_moving_average_and_later_shipments_cost_that(system):
    app = system.app
    app.purchasing.draft_order("PO-1", "HZ-TEA", "WH1", [{"sku": TEA, "quantity": 10, "unit_cost": "41.50"}], "S1")
    app.purchasing.approve("PO-1", "S1")
    before = ship(system, "T1", TEA)

    app.purchasing.receive("PO-1", TEA_EAN, 10, "R1")
    after = ship(system, "T2", TEA)
    system.catch_up()

    # 9 on hand at 35.50 and 10 received at 41.50: (319.50 + 415.00) / 19 = 38.6579
    assert app.catalogue.get_sku(TEA)["unit_cost"] == Decimal("38.6579")
    assert finance.order_finance(system.engine, before)["cogs"] == Decimal("35.50")
    assert finance.order_finance(system.engine, after)["cogs"] == Decimal("38.66")


def test_a_draft_cannot_be_received_against_and_nothing_is_booked(system):
    app = system.app
    app.purchasing.draft_order("PO-1", "HZ-TEA", "WH1", [{"sku": TEA, "quantity": 10}], "S1")
    before = app.store.recorder.max_notification_id()

    with pytest.raises(InvalidPurchaseOrderState):
        app.purchasing.receive("PO-1", TEA_EAN, 1, "R1")

    assert app.store.recorder.max_notification_id() == before


def test_a_retired_sku_or_an_unknown_supplier_cannot_be_ordered(system):
    app = system.app
    app.catalogue.retire_sku(CUP, "停产", "S1")

    with pytest.raises(SkuRetired):
        app.purchasing.draft_order("PO-1", "HZ-TEA", "WH1", [{"sku": CUP, "quantity": 1}], "S1")
    with pytest.raises(UnknownSupplier):
        app.purchasing.draft_order("PO-2", "NOBODY", "WH1", [{"sku": TEA, "quantity": 1}], "S1")


def test_a_supplier_keeps_its_lead_time_until_changed(system):
    system.app.purchasing.change_lead_time("HZ-TEA", 12, "S1")

    assert system.app.purchasing.supplier("HZ-TEA") == {"code": "HZ-TEA", "name": "杭州茶厂", "contact": "",
                                                         "lead_time_days": 12}



def test_on_the_receive_screen_scanning_the_purchase_order_then_items_receives_against_it(system):
    from tests.unit.test_scanner_flows import PIN, Floor

    app = system.app
    app.staff.register_staff("R1", "R1", "receiver", PIN, "admin")
    app.purchasing.draft_order("PO-7", "HZ-TEA", "WH1", [{"sku": TEA, "quantity": 6, "unit_cost": "40.00"}], "S1")
    app.purchasing.approve("PO-7", "S1")
    floor = Floor(system)

    answers = floor.scans("R1", "receive", "PO-7", TEA_EAN, "4", CUP_EAN, "1")

    assert [a.outcome for a in answers[:3]] == ["ok"] * 3 and answers[2].key == "received"
    assert answers[4].outcome == "refused" and "not on purchase order PO-7" in answers[4].message
    assert app.purchasing.purchase_order("PO-7")["lines"][TEA]["received"] == 4
    assert app.inventory.stock_levels("WH1", TEA)["RCV-01"]["on_hand"] == 4
    assert "RCV-01" not in app.inventory.stock_levels("WH1", CUP)


def test_the_purchasing_view_shows_each_order_with_its_lines_received_and_outstanding(system):
    from projections import purchasing

    app = system.app
    app.purchasing.change_lead_time("HZ-TEA", 9, "S1")
    app.purchasing.draft_order("PO-1", "HZ-TEA", "WH1", [{"sku": TEA, "quantity": 10, "unit_cost": "40.00"},
                                                         {"sku": CUP, "quantity": 4}], "S1")
    app.purchasing.approve("PO-1", "S1")
    app.purchasing.receive("PO-1", TEA_EAN, 12, "R1")
    system.catch_up()

    shown = purchasing.purchase_order(system.engine, "PO-1")

    assert (shown["status"], shown["units_ordered"], shown["units_received"]) == ("approved", 14, 12)
    assert [(i["sku"], i["received"], i["outstanding"], i["over"]) for i in shown["items"]] == [
        (CUP, 0, 4, 0), (TEA, 12, 0, 2)]
    assert list(purchasing.suppliers(system.engine)) == [{"code": "HZ-TEA", "name": "杭州茶厂", "contact": "",
                                                          "lead_time_days": 9}]
    assert [o["number"] for o in purchasing.purchase_orders(system.engine, "approved")] == ["PO-1"]


def test_an_approved_order_is_sent_with_its_lines_and_the_view_shows_how_and_when(system):
    from projections import purchasing

    app = system.app
    app.purchasing.draft_order("PO-1", "HZ-TEA", "WH1", [{"sku": CUP, "quantity": 12, "unit_cost": "8.00"}], "S1")
    with pytest.raises(InvalidPurchaseOrderState, match="must be approved"):
        app.purchasing.send("PO-1", "csv", "S1")
    app.purchasing.approve("PO-1", "S1")

    sent = app.purchasing.send("PO-1", "xlsx", "S1")

    assert sent["supplier"]["name"] == "杭州茶厂"
    assert sent["lines"] == [{"sku": CUP, "name": "Glass tea cup", "barcode": CUP_EAN, "quantity": 12,
                              "unit_cost": Decimal("8.0000"), "amount": Decimal("96.0000")}]
    system.catch_up()
    shown = purchasing.purchase_order(system.engine, "PO-1")
    assert shown["sent_via"] == "xlsx" and shown["sent_at"] is not None


def test_a_supplier_s_name_contact_and_lead_time_are_edited_and_the_view_follows(system):
    from projections import purchasing

    revised = system.app.purchasing.revise_supplier("HZ-TEA", "杭州西湖茶厂", "王经理 0571-8888 1234", 9, "S1")

    system.catch_up()
    assert revised == {"code": "HZ-TEA", "name": "杭州西湖茶厂", "contact": "王经理 0571-8888 1234",
                       "lead_time_days": 9}
    assert list(purchasing.suppliers(system.engine).page(10)) == [
        {"code": "HZ-TEA", "name": "杭州西湖茶厂", "contact": "王经理 0571-8888 1234", "lead_time_days": 9}]
    with pytest.raises(InvalidInput):
        system.app.purchasing.revise_supplier("HZ-TEA", "", "", 9, "S1")
