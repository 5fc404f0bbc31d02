"""Dropship (代发): lines of SKUs a supplier ships go to that supplier as a dropship order, are never reserved or
picked here, ship with the supplier's tracking number, and that number is what the channel is told."""

from decimal import Decimal
from uuid import UUID

import pytest

from domain.dropship import SupplierTokenRefused, supplier_portal_id
from domain.errors import InvalidOrderState, RowsRejected
from projections import order_desk, orders_board
from projections.dropship import dropship_listing, open_dropship_ids
from tests.builders import CUP, TEA, order, warehouse_with_catalogue

GIFT = "GIFT-BOX-01"


@pytest.fixture
def system(make_system):
    built = make_system()
    dropship_world(built.app)
    return built


def dropship_world(app) -> None:
    """WH1 with tea and cups in stock, and a gift box the supplier HZ-GIFT ships itself at 30.50 a unit."""
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 10})
    app.purchasing.register_supplier("HZ-GIFT", "杭州礼盒厂", 3, "S1")
    app.catalogue.register_sku(GIFT, "礼盒", [], 500, Decimal("0"), 0)
    app.catalogue.set_dropship(GIFT, "HZ-GIFT", "30.50", "S1")


def open_for(system, supplier="HZ-GIFT"):
    system.catch_up()
    return system.app.dropship.open_for(supplier, [UUID(i) for i in open_dropship_ids(system.engine, supplier)])


def test_an_order_of_supplier_shipped_skus_goes_to_the_supplier_and_reserves_nothing(system):
    app = system.app

    [result] = app.orders.import_orders([order("DS-1", (GIFT, 2))], warehouse="WH1")

    assert result["status"] == "dropship"
    [sheet] = open_for(system)
    assert sheet["platform_order_no"] == "DS-1"
    assert [(line["sku"], line["quantity"], line["supplier_price"]) for line in sheet["lines"]] == [
        (GIFT, 2, Decimal("30.50"))]
    assert sheet["receiver"]["name"] == "王小明" and sheet["receiver"]["region"] == "浙江省 杭州市 西湖区"
    assert app.orders.order(result["order_id"]).quantities() == {}


def test_the_suppliers_tracking_number_ships_the_order_and_is_what_the_channel_confirms(system):
    app = system.app
    [result] = app.orders.import_orders([order("DS-2", (GIFT, 1))], warehouse="WH1")
    [sheet] = open_for(system)

    app.dropship.mark_sent([sheet["dropship_id"]], "export", "S1")
    app.dropship.record_shipment(sheet["dropship_id"], "ZTO", "ZT7788", "supplier:HZ-GIFT")
    app.channels.record_shipment_confirmed(result["order_id"], "evt-1")

    placed = app.orders.order(result["order_id"])
    assert (placed.status, placed.courier, placed.tracking_no) == ("shipped", "ZTO", "ZT7788")
    assert placed.confirmed_on_channel
    assert app.dropship.dropship_order(sheet["dropship_id"]).status == "confirmed"
    assert open_for(system) == []
    system.catch_up()
    [row] = dropship_listing(system.engine, "HZ-GIFT").page(10)
    assert (row["status"], row["tracking_no"]) == ("confirmed", "ZT7788")


def test_a_mixed_order_reserves_only_its_warehouse_lines_and_the_supplier_ships_the_rest(system):
    app = system.app

    [result] = app.orders.import_orders([order("DS-3", (TEA, 1), (GIFT, 3))], warehouse="WH1")

    placed = app.orders.order(result["order_id"])
    assert placed.status == "reserved"
    assert placed.quantities() == {TEA: 1}
    [sheet] = open_for(system)
    assert [line["sku"] for line in sheet["lines"]] == [GIFT]
    app.dropship.record_shipment(sheet["dropship_id"], "YTO", "YT123", "supplier:HZ-GIFT")
    assert app.orders.order(result["order_id"]).status == "reserved"  # our parcel is still to go


def test_a_shipped_dropship_order_cannot_ship_again_and_a_cancelled_order_cannot_ship(system):
    app = system.app
    app.orders.import_orders([order("DS-4", (GIFT, 1)), order("DS-5", (GIFT, 1))], warehouse="WH1")
    first, second = open_for(system)
    app.dropship.record_shipment(first["dropship_id"], "ZTO", "ZT1", "supplier:HZ-GIFT")
    app.orders.cancel_order(second["order_id"], "buyer changed mind", "S1")

    with pytest.raises(InvalidOrderState):
        app.dropship.record_shipment(first["dropship_id"], "ZTO", "ZT2", "supplier:HZ-GIFT")
    with pytest.raises(InvalidOrderState):
        app.dropship.record_shipment(second["dropship_id"], "ZTO", "ZT3", "supplier:HZ-GIFT")
    assert app.orders.order(first["order_id"]).tracking_no == "ZT1"
    assert open_for(system) == []
    system.catch_up()
    assert [r["platform_order_no"] for r in dropship_listing(system.engine, "HZ-GIFT", "cancelled").page(5)] == ["DS-5"]


def test_a_tracking_file_with_a_bad_row_records_nothing_and_names_the_row(system):
    app = system.app
    app.orders.import_orders([order("DS-6", (GIFT, 1)), order("DS-7", (GIFT, 1))], warehouse="WH1")
    system.catch_up()
    ids = [UUID(i) for i in open_dropship_ids(system.engine, "HZ-GIFT")]

    with pytest.raises(RowsRejected) as refused:
        app.dropship.record_shipments("HZ-GIFT", {2: {"platform_order_no": "DS-6", "courier": "ZTO",
                                                      "tracking_no": "ZT6"},
                                                  3: {"platform_order_no": "NOPE", "courier": "ZTO",
                                                      "tracking_no": "ZT9"}}, "supplier:HZ-GIFT", ids)
    assert list(refused.value.errors) == [3]
    assert len(open_for(system)) == 2

    with pytest.raises(RowsRejected) as disagreeing:
        app.dropship.record_shipments("HZ-GIFT", {2: {"platform_order_no": "DS-6", "courier": "ZTO",
                                                      "tracking_no": "ZT6"},
                                                  3: {"platform_order_no": "DS-6", "courier": "ZTO",
                                                      "tracking_no": "ZT66"}}, "supplier:HZ-GIFT", ids)
    assert list(disagreeing.value.errors) == [3]
    # the sheet has a row per line: rows of one order giving the same number are one shipment
    recorded = app.dropship.record_shipments("HZ-GIFT", {2: {"platform_order_no": "DS-6", "courier": "ZTO",
                                                             "tracking_no": "ZT6"},
                                                         3: {"platform_order_no": "DS-6", "courier": "ZTO",
                                                             "tracking_no": "ZT6"}}, "supplier:HZ-GIFT", ids)
    assert recorded == 1
    assert [s["platform_order_no"] for s in open_for(system)] == ["DS-7"]
    again = app.dropship.record_shipments("HZ-GIFT", {2: {"platform_order_no": "DS-6", "channel": "taobao",
                                                          "shop": "flagship", "courier": "ZTO", "tracking_no": "ZT6"},
                                                      3: {"platform_order_no": "DS-7", "channel": "taobao",
                                                          "shop": "flagship", "courier": "ZTO", "tracking_no": "ZT7"}},
                                          "supplier:HZ-GIFT", ids)
    assert again == 1 and open_for(system) == []


def test_a_held_order_goes_to_the_supplier_only_once_released(system):
    app = system.app
    held = order("DS-8", (GIFT, 1), remark="请用礼品袋")
    app.orders.review_rules.change("R1", {}, True, "S1")  # hold orders with a buyer remark
    [result] = app.orders.import_orders([held], warehouse="WH1")
    assert result["status"] == "held" and open_for(system) == []

    app.orders.release_order(result["order_id"], "S1")

    assert app.orders.order(result["order_id"]).status == "dropship"
    assert [s["platform_order_no"] for s in open_for(system)] == ["DS-8"]
    by_status = {row["status"]: row["orders"] for row in orders_board.order_counts(system.engine)["by_status"]}
    assert by_status.get("dropship") == 1 and not by_status.get("released")
    assert order_desk.order_row(system.engine, result["order_id"])["status"] == "dropship"


def test_a_sku_taken_back_from_dropship_is_fulfilled_here_again(system):
    app = system.app
    app.catalogue.set_dropship(GIFT, "", "0", "S1")

    [result] = app.orders.import_orders([order("DS-9", (GIFT, 1))], warehouse="WH1")

    assert result["status"] == "awaiting_stock"
    assert open_for(system) == []


def test_a_supplier_page_token_admits_only_until_revoked_or_replaced(system):
    dropship = system.app.dropship
    first = dropship.issue_token("HZ-GIFT", "ADMIN")
    dropship.check_token("HZ-GIFT", first)

    second = dropship.issue_token("HZ-GIFT", "ADMIN")

    with pytest.raises(SupplierTokenRefused):
        dropship.check_token("HZ-GIFT", first)
    dropship.check_token("HZ-GIFT", second)
    dropship.revoke_token("HZ-GIFT", "ADMIN")
    with pytest.raises(SupplierTokenRefused):
        dropship.check_token("HZ-GIFT", second)
    with pytest.raises(SupplierTokenRefused):
        dropship.check_token("NO-SUCH", second)
    portal = system.app.store.repository.get(supplier_portal_id("HZ-GIFT"))
    assert second not in repr(portal.__dict__) and first not in repr(portal.__dict__)


def test_a_platform_sku_mapped_later_to_a_supplier_shipped_sku_goes_to_the_supplier(system):
    app = system.app
    waiting = order("DS-11", (TEA, 1))
    waiting.lines[0] = type(waiting.lines[0])(1, "p-gift-set", "", "礼盒套装", 2, Decimal("99.00"))
    [result] = app.orders.import_orders([waiting], warehouse="WH1")
    assert result["status"] == "held"

    mapped = app.channels.map_platform_sku("taobao", "flagship", "p-gift-set", {GIFT: 1}, "S1",
                                           waiting=[result["order_id"]], warehouse="WH1")

    assert mapped["released"] == 1
    placed = app.orders.order(result["order_id"])
    assert placed.status == "dropship" and placed.quantities() == {}
    [sheet] = open_for(system)
    assert [(line["sku"], line["quantity"], line["supplier_price"]) for line in sheet["lines"]] == [
        (GIFT, 2, Decimal("30.50"))]


def test_units_suppliers_ship_are_no_demand_for_purchasing(system):
    from projections import replenishment

    system.app.orders.import_orders([order("DS-12", (GIFT, 40), (TEA, 1))], warehouse="WH1")
    system.catch_up()

    rows = {row["sku"]: row for row in replenishment.replenishment(system.engine, lead_time_days=3)}

    assert (rows[GIFT]["units_sold"], rows[GIFT]["suggested"]) == (0, 0)
    assert rows[TEA]["units_sold"] == 1


def test_what_a_supplier_and_a_supervisor_did_is_found_under_their_names(system):
    from projections.actors import actor_listing

    app = system.app
    app.orders.import_orders([order("DS-13", (GIFT, 1))], warehouse="WH1")
    [sheet] = open_for(system)
    app.dropship.record_shipment(sheet["dropship_id"], "ZTO", "ZT13", "supplier:HZ-GIFT")
    app.costs.set_box_price("S", "1.00", "S1")
    system.catch_up()

    supplier = [row["event"] for row in actor_listing(system.engine, "supplier:HZ-GIFT").page(10)]
    supervisor = [row["event"] for row in actor_listing(system.engine, "S1").page(10)]

    assert "DropshipOrder.Shipped" in supplier and "Order.DropshipShipped" in supplier
    assert "PackagingPrices.PriceSet" in supervisor and "Sku.DropshipSet" in supervisor


def test_a_dropship_order_cancelled_has_no_waybill_to_give_back(system):
    from domain.courier_choice import standard_rules
    from workers.shipping import Shipping

    app = system.app
    [result] = app.orders.import_orders([order("DS-14", (GIFT, 1))], warehouse="WH1")
    app.orders.cancel_order(result["order_id"], "buyer asked", "S1")
    shipping = Shipping(app, system.engine, {}, None, standard_rules(), None)

    shipping.cancel_waybill(result["order_id"], "intercepted")

    assert app.orders.order(result["order_id"]).status == "cancelled"
