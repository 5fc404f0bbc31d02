"""Platform SKU mapping: an order line whose 商家编码 matches no SKU waits; mapping its platform SKU to a SKU or a
kit (组合装) releases and reserves the order, and a kit line is reserved, picked and packed as its components."""

from decimal import Decimal

import pytest

from domain.errors import InvalidInput, InvalidOrderState, UnknownSku
from domain.order import Buyer, OrderLine
from domain.services import NewOrder
from projections.orders_board import order_counts
from tests.builders import CUP, PAN, TEA, warehouse_with_catalogue

HANGZHOU = {"province": "浙江省", "city": "杭州市", "district": "西湖区"}
GIFT_BOX = "5012345678"  # Taobao's SKU id of the "tea + two cups" gift box


def platform_order(number: str, *lines: tuple[str, str, int], channel: str = "taobao") -> NewOrder:
    """An order of (platform SKU id, merchant code, quantity) lines at 20 yuan a unit."""
    return NewOrder(channel, "flagship", number,
                    [OrderLine(n, platform_sku, outer, f"title {platform_sku}", quantity, Decimal("20.00"),
                               item_id=f"item-{platform_sku}")
                     for n, (platform_sku, outer, quantity) in enumerate(lines, start=1)],
                    Buyer("buyer_wang", "王小明", "13812345678", "文三路 90 号"), HANGZHOU, Decimal("20.00"))


@pytest.fixture
def system(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 10, (PAN, "B-02-01"): 1})
    return system


@pytest.fixture
def app(system):
    return system.app


def test_a_line_whose_merchant_code_matches_no_sku_holds_the_order_and_says_which(app):
    [result] = app.orders.import_orders([platform_order("T1", (GIFT_BOX, "BOX-TEA", 1), ("p-cup", CUP, 1))],
                                        warehouse="WH1")

    order = app.orders.get_order(result["order_id"])
    assert order["status"] == "held"
    assert order["hold_reasons"] == ["unknown SKU BOX-TEA"]
    with pytest.raises(InvalidOrderState, match="BOX-TEA"):
        app.orders.release_order(result["order_id"], "cs")


def test_a_line_without_merchant_code_is_held_not_refused(app):
    [result] = app.orders.import_orders([platform_order("T2", (GIFT_BOX, "", 1))], warehouse="WH1")

    assert app.orders.get_order(result["order_id"])["hold_reasons"] == [f"unknown SKU {GIFT_BOX}"]


def test_mapping_a_platform_sku_to_a_kit_releases_and_reserves_the_waiting_order_as_components(app):
    [result] = app.orders.import_orders([platform_order("T3", (GIFT_BOX, "BOX-TEA", 2))], warehouse="WH1")

    mapped = app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1, CUP: 2}, "cs",
                                           waiting=[result["order_id"]], warehouse="WH1")

    assert (mapped["released"], mapped["reserved"]) == (1, 1)
    order = app.orders.order(result["order_id"])
    assert order.status == "reserved" and order.hold_reasons == []
    assert order.quantities() == {TEA: 2, CUP: 4}
    assert app.inventory.stock_of("WH1", CUP).reserved_for(order.id) == {"A-01-02": 4}
    assert app.orders.get_order(order.id)["lines"][0]["sku"] == "BOX-TEA"


def test_the_next_order_of_a_mapped_platform_sku_is_reserved_at_import(app):
    app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1, CUP: 2}, "cs")

    [result] = app.orders.import_orders([platform_order("T4", (GIFT_BOX, "BOX-TEA", 1))], warehouse="WH1")

    assert result["status"] == "reserved"
    assert app.orders.order(result["order_id"]).quantities() == {TEA: 1, CUP: 2}


def test_a_mapping_is_per_shop_and_channel(app):
    app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1}, "cs")

    [result] = app.orders.import_orders([platform_order("J5", (GIFT_BOX, "BOX-TEA", 1), channel="jd")],
                                        warehouse="WH1")

    assert result["status"] == "held"


def test_a_platform_sku_mapped_to_one_sku_shows_that_sku_on_the_line(app):
    app.channels.map_platform_sku("taobao", "flagship", "777", {PAN: 1}, "cs")

    [result] = app.orders.import_orders([platform_order("T6", ("777", "OLD-PAN-CODE", 1))], warehouse="WH1")

    assert app.orders.get_order(result["order_id"])["lines"][0]["sku"] == PAN
    assert result["status"] == "reserved"


def test_a_kit_line_is_waved_picked_and_packed_as_its_components(app):
    app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1, CUP: 2}, "cs")
    [result] = app.orders.import_orders([platform_order("T7", (GIFT_BOX, "BOX-TEA", 3))], warehouse="WH1")
    order_id = result["order_id"]

    wave_id = app.fulfilment.create_wave("WH1", "W7", [order_id], "sup")
    wave = app.fulfilment.wave(wave_id)
    assert sorted((line["sku"], line["quantity"]) for line in wave.lines) == [(CUP, 6), (TEA, 3)]
    for index, line in enumerate(wave.lines):
        app.fulfilment.pick(wave_id, index, line["bin"], line["sku"], line["quantity"], "bob")
    for sku, units in ((TEA, 3), (CUP, 6)):
        for _ in range(units):
            app.fulfilment.verify_item(order_id, sku, "carl")
    app.fulfilment.close_package(order_id, "carl")

    assert app.orders.order(order_id).status == "packed"


def test_refunding_a_kit_line_before_shipping_releases_its_components(app):
    app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1, CUP: 2}, "cs")
    [result] = app.orders.import_orders([platform_order("T8", (GIFT_BOX, "BOX-TEA", 1), ("p-pan", PAN, 1))],
                                        warehouse="WH1")

    app.orders.refund_order(result["order_id"], "cs", "changed mind", line_nos=[1])

    assert app.inventory.stock_of("WH1", CUP).reserved_for(result["order_id"]) == {}
    assert app.inventory.stock_of("WH1", TEA).reserved_for(result["order_id"]) == {}
    assert app.orders.order(result["order_id"]).quantities() == {PAN: 1}


def test_an_order_waiting_for_two_platform_skus_stays_held_until_both_are_mapped(app):
    [result] = app.orders.import_orders([platform_order("T9", (GIFT_BOX, "BOX-TEA", 1), ("888", "MUG", 1))],
                                        warehouse="WH1")
    waiting = [result["order_id"]]

    first = app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1}, "cs", waiting=waiting,
                                          warehouse="WH1")
    held = app.orders.get_order(result["order_id"])
    second = app.channels.map_platform_sku("taobao", "flagship", "888", {CUP: 1}, "cs", waiting=waiting,
                                           warehouse="WH1")

    assert first["released"] == 0 and held["status"] == "held" and held["hold_reasons"] == ["unknown SKU MUG"]
    assert second["reserved"] == 1 and app.orders.get_order(result["order_id"])["status"] == "reserved"


def test_an_order_held_for_another_reason_stays_held_after_mapping(app):
    new = platform_order("T10", (GIFT_BOX, "BOX-TEA", 1))
    new = NewOrder(new.channel, new.shop, new.platform_order_no, new.lines, new.buyer, {}, new.paid_amount)
    [result] = app.orders.import_orders([new], warehouse="WH1")

    app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1}, "cs", waiting=[result["order_id"]],
                                  warehouse="WH1")

    order = app.orders.get_order(result["order_id"])
    assert order["status"] == "held" and order["hold_reasons"] == ["incomplete address"]


def test_remapping_changes_what_later_orders_reserve(app):
    app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1}, "cs")

    again = app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1, CUP: 1}, "cs")
    [result] = app.orders.import_orders([platform_order("T11", (GIFT_BOX, "BOX-TEA", 1))], warehouse="WH1")

    assert again["changed"] is True
    assert app.channels.listing("taobao", "flagship", GIFT_BOX)["components"] == {TEA: 1, CUP: 1}
    assert app.orders.order(result["order_id"]).quantities() == {TEA: 1, CUP: 1}


@pytest.mark.parametrize("components, error", [
    ({}, InvalidInput), ({TEA: 0}, InvalidInput), ({TEA: 1.5}, InvalidInput), ({"NO-SUCH": 1}, UnknownSku),
    ({f"S{n}": 1 for n in range(21)}, InvalidInput),
])
def test_a_bad_mapping_is_refused_and_changes_nothing(app, components, error):
    with pytest.raises(error):
        app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, components, "cs")

    with pytest.raises(InvalidInput):
        app.channels.listing("taobao", "flagship", GIFT_BOX)


def test_the_orders_board_follows_a_kit_order_mapped_late_through_picking_and_a_refunded_line(system, app):
    [kit] = app.orders.import_orders([platform_order("T12", (GIFT_BOX, "BOX-TEA", 1), ("p-pan", PAN, 1))],
                                     warehouse="WH1")
    system.catch_up()
    app.channels.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1, CUP: 2}, "cs", waiting=[kit["order_id"]],
                                  warehouse="WH1")
    wave_id = app.fulfilment.create_wave("WH1", "W12", [kit["order_id"]], "sup")
    for index, line in enumerate(app.fulfilment.wave(wave_id).lines):
        if line["sku"] != PAN:
            app.fulfilment.pick(wave_id, index, line["bin"], line["sku"], line["quantity"], "bob")
    app.orders.refund_order(kit["order_id"], "cs", "pan out of stock", line_nos=[2])
    system.catch_up()

    counts = {row["status"]: row["orders"] for row in order_counts(system.engine)["by_status"]}
    assert counts == {"picked": 1}
    assert all(runner.status().stuck_at is None for runner in system.runners.values())
