"""Lot-tracked SKUs: received with lot and expiry, reserved first expiring first and never expired, picked by lot,
shipped with their lots; SKUs without lots behave as before."""

from datetime import date
from decimal import Decimal

import pytest

from projections.lots import expiring, lot_stock_listing, recall
from domain.errors import InsufficientStock, LotExpiryMismatch, LotRequired, WrongLotScanned
from tests.builders import TEA, TEA_EAN, order, warehouse_with_catalogue

MILK, MILK_GTIN = "MILK-1L", "6901234567892"
TODAY = date(2026, 12, 3)


def gs1(lot: str, expiry: str) -> str:
    return f"010{MILK_GTIN}\x1d10{lot}\x1d17{expiry}"


@pytest.fixture
def system(make_system):
    return make_system()


@pytest.fixture
def app(system):
    app = system.app
    warehouse_with_catalogue(app)
    app.catalogue.edit_sku(TEA, "admin", barcodes=[])
    app.catalogue.register_sku(MILK, "纯牛奶 1L", [MILK_GTIN], 1030, Decimal("9.00"), 0, lot_tracked=True,
                               shelf_life_days=180)
    app.inventory.today = lambda: TODAY
    return app


def stocked(app, *lots: tuple[str, str, str, int]) -> None:
    """Receive each (lot, expiry, bin, units) and put it away into its bin."""
    for lot, expiry, bin, units in lots:
        app.inventory.receive("WH1", MILK, units, "R1", lot=lot, expiry=expiry)
        app.inventory.put_away("WH1", MILK, bin, units, "R1", lot=lot)


def reserved_lots(app, order_id) -> dict:
    return app.inventory.stock_of("WH1", MILK).held_lots(order_id)


def test_a_lot_tracked_sku_is_not_received_without_its_lot_or_expiry(app):
    with pytest.raises(LotRequired, match="lot tracked"):
        app.inventory.receive("WH1", MILK, 10, "R1")
    with pytest.raises(LotRequired, match="expiry"):
        app.inventory.receive("WH1", MILK, 10, "R1", lot="L1")

    assert app.inventory.stock_levels("WH1", MILK) == {}


def test_the_expiry_is_counted_from_the_production_date_and_the_shelf_life(app):
    app.inventory.receive("WH1", MILK, 10, "R1", lot="L1", produced="2026-11-01")

    stock = app.inventory.stock_of("WH1", MILK)
    assert stock.lots_in("RCV-01") == {"L1": 10}
    assert stock.expiry_of("L1") == "2027-04-30"


def test_one_lot_keeps_one_expiry_date(app):
    app.inventory.receive("WH1", MILK, 10, "R1", lot="L1", expiry="2027-01-31")

    with pytest.raises(LotExpiryMismatch):
        app.inventory.receive("WH1", MILK, 5, "R1", lot="L1", expiry="2027-02-28")


def test_an_order_reserves_the_first_expiring_lot_even_when_it_lies_later_in_the_walk(app):
    stocked(app, ("LATE", "2027-06-30", "A-01-01", 10), ("SOON", "2027-01-31", "B-02-01", 3))

    [result] = app.orders.import_orders([order("M1", (MILK, 5))], warehouse="WH1")

    assert reserved_lots(app, result["order_id"]) == {"B-02-01": {"SOON": 3}, "A-01-01": {"LATE": 2}}


def test_an_expired_lot_is_never_reserved(app):
    stocked(app, ("OLD", "2026-12-02", "A-01-01", 10), ("NEW", "2027-03-31", "B-02-01", 2))

    [result] = app.orders.import_orders([order("M1", (MILK, 3))], warehouse="WH1")

    assert result["status"] == "awaiting_stock"
    with pytest.raises(InsufficientStock, match="short of MILK-1L×1"):
        app.orders.reserve_order(result["order_id"], "WH1", "S1")


def test_a_lot_expiring_today_is_still_reserved(app):
    stocked(app, ("TODAY", TODAY.isoformat(), "A-01-01", 2))

    [result] = app.orders.import_orders([order("M1", (MILK, 2))], warehouse="WH1")

    assert reserved_lots(app, result["order_id"]) == {"A-01-01": {"TODAY": 2}}


def picking(app, units: int = 2):
    stocked(app, ("SOON", "2027-01-31", "A-01-01", 5), ("LATE", "2027-06-30", "A-01-01", 5))
    [result] = app.orders.import_orders([order("M1", (MILK, units))], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", "W1", [result["order_id"]], "S1")
    return result["order_id"], wave


def test_a_picker_scanning_a_unit_of_another_lot_is_refused_and_told_which_lot_to_pick(app):
    order_id, wave = picking(app)

    with pytest.raises(WrongLotScanned, match="SOON") as refused:
        app.fulfilment.pick(wave, 0, "A-01-01", gs1("LATE", "270630"), 2, "P1")

    assert refused.value.params["expected"] == "SOON (2027-01-31)"
    assert app.inventory.stock_of("WH1", MILK).lots_in("A-01-01") == {"SOON": 5, "LATE": 5}


def shipped_lot(app):
    order_id, wave = picking(app)
    app.fulfilment.pick(wave, 0, "A-01-01", gs1("SOON", "270131"), 2, "P1")
    for _ in range(2):
        app.fulfilment.verify_item(order_id, MILK_GTIN, "K1")
    app.fulfilment.close_package(order_id, "K1")
    app.fulfilment.weigh(order_id, 2100, "K1")
    app.fulfilment.assign_waybill(order_id, "LOCAL", "SF100", "HZ")
    app.fulfilment.hand_over(order_id, "K1")
    return order_id


def test_the_pick_and_the_shipment_record_the_lot_the_order_took(app):
    order_id = shipped_lot(app)

    stock = app.inventory.stock_of("WH1", MILK)
    assert stock.shipped_lots(order_id) == {"SOON": 2}
    assert stock.lots_in("A-01-01") == {"SOON": 3, "LATE": 5}
    assert stock.lots_in("PACK-01") == {}
    assert stock.held_lots(order_id) == {}


def test_a_pick_scanned_by_its_plain_barcode_takes_the_order_s_lot(app):
    order_id, wave = picking(app)

    app.fulfilment.pick(wave, 0, "A-01-01", MILK_GTIN, 2, "P1")

    assert app.inventory.stock_of("WH1", MILK).held_lots(order_id) == {"PACK-01": {"SOON": 2}}


def test_a_cancelled_order_lets_go_of_its_lot(app):
    order_id, _ = picking(app)

    app.orders.cancel_order(order_id, "buyer asked", "S1")

    stock = app.inventory.stock_of("WH1", MILK)
    assert stock.held_lots(order_id) == {}
    assert stock.free_lots("A-01-01") == [("SOON", 5), ("LATE", 5)]


def test_a_sku_without_lots_is_received_and_reserved_as_before(app):
    app.inventory.receive("WH1", TEA, 4, "R1", lot="IGNORED", expiry="2020-01-01")
    app.inventory.put_away("WH1", TEA, "A-01-01", 4, "R1")

    [result] = app.orders.import_orders([order("T1", (TEA, 3))], warehouse="WH1")

    stock = app.inventory.stock_of("WH1", TEA)
    assert (stock.has_lots(), stock.reserved_for(result["order_id"])) == (False, {"A-01-01": 3})
    assert all(type(e).__name__ != "LotsBooked" for e in app.store.events.get(stock.id))


def test_a_unit_of_another_lot_expiring_the_same_day_stands_in_for_the_order_s_lot(app):
    stocked(app, ("SOON", "2027-01-31", "A-01-01", 5), ("TWIN", "2027-01-31", "A-01-01", 5))
    [result] = app.orders.import_orders([order("M1", (MILK, 2))], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", "W1", [result["order_id"]], "S1")

    app.fulfilment.pick(wave, 0, "A-01-01", gs1("TWIN", "270131"), 2, "P1")

    stock = app.inventory.stock_of("WH1", MILK)
    assert stock.held_lots(result["order_id"]) == {"PACK-01": {"TWIN": 2}}
    assert stock.free_lots("A-01-01") == [("SOON", 5), ("TWIN", 3)]


def test_the_recall_report_names_the_orders_that_shipped_a_lot_and_where_the_rest_lies(system, app):
    order_id = shipped_lot(app)

    report = recall(system.fresh("lots", "order_desk"), MILK, "SOON")

    assert [(o["platform_order_no"], o["shipped"], o["status"]) for o in report["orders"]] == [("M1", 2, "shipped")]
    assert [(r["bin"], r["on_hand"]) for r in report["stock"]] == [("A-01-01", 3)]
    assert (report["expiry"], report["shipped"], report["on_hand"]) == ("2027-01-31", 2, 3)


def test_the_lot_stock_view_shows_each_lot_per_bin_first_expiring_first(system, app):
    stocked(app, ("LATE", "2027-06-30", "A-01-01", 10), ("SOON", "2027-01-31", "B-02-01", 3))
    app.orders.import_orders([order("M1", (MILK, 1))], warehouse="WH1")

    rows = lot_stock_listing(system.fresh("lots")).page(10)

    assert [(r["lot"], r["bin"], r["on_hand"], r["reserved"]) for r in rows] == [
        ("SOON", "B-02-01", 3, 1), ("LATE", "A-01-01", 10, 0)]


def test_lots_expiring_within_the_alert_window_are_listed_with_their_days_left(system, app):
    stocked(app, ("OLD", "2026-12-01", "A-01-01", 4), ("SOON", "2026-12-20", "A-01-02", 3),
            ("LATE", "2027-06-30", "B-02-01", 5))

    rows = expiring(system.fresh("lots"), TODAY, 30).page(10)

    assert [(r["lot"], r["on_hand"], r["days_left"], r["expired"]) for r in rows] == [
        ("OLD", 4, -2, True), ("SOON", 3, 17, False)]


@pytest.fixture
def floor(system, app):
    from tests.unit.test_scanner_flows import PIN, Floor

    for badge, role in (("P1", "picker"), ("R1", "receiver")):
        app.staff.register_staff(badge, badge, role, PIN, "admin")
    return Floor(system)


def test_a_receiver_scanning_a_gs1_label_receives_its_lot_and_expiry(floor, app):
    asked = floor.scan("R1", "receive", gs1("B7", "270630"))
    received = floor.scan("R1", "receive", "6")

    assert (asked.key, asked.params) == ("enter_lot_quantity", {"sku": MILK, "lot": "B7", "expiry": "2027-06-30"})
    assert (received.outcome, received.params["lot"]) == ("ok", "B7")
    assert app.inventory.stock_of("WH1", MILK).lots_in("RCV-01") == {"B7": 6}


def test_a_receiver_scanning_the_plain_barcode_is_asked_for_the_lot_then_the_expiry(floor, app):
    keys = [floor.scan("R1", "receive", value).key for value in (MILK_GTIN, "B9", "2027-13-01", "270630", "4")]

    assert keys == ["enter_lot", "enter_expiry", "invalid_input", "enter_lot_quantity", "received"]
    stock = app.inventory.stock_of("WH1", MILK)
    assert (stock.lots_in("RCV-01"), stock.expiry_of("B9")) == ({"B9": 4}, "2027-06-30")


def test_a_label_with_a_production_date_gets_its_expiry_from_the_shelf_life(floor, app):
    asked = floor.scan("R1", "receive", f"010{MILK_GTIN}\x1d10B3\x1d11261101")

    assert asked.params["expiry"] == "2027-04-30"


def test_the_pick_screen_names_the_lot_and_refuses_a_later_one(floor, app, system):
    stocked(app, ("SOON", "2027-01-31", "A-01-01", 5), ("LATE", "2027-06-30", "A-01-01", 5))
    [result] = app.orders.import_orders([order("M1", (MILK, 1))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W1", [result["order_id"]], "S1")
    floor.scan("P1", "pick", "W1")
    floor.scan("P1", "pick", "A-01-01")

    shown = app.screens.pick_view("pda-P1", floor.ports)
    refused = floor.scan("P1", "pick", gs1("LATE", "270630"))
    picked = floor.scan("P1", "pick", gs1("SOON", "270131"))

    assert shown["lots"] == [{"lot": "SOON", "expiry": "2027-01-31", "units": 1}]
    assert (refused.outcome, refused.key, refused.params) == ("refused", "wrong_lot", {"expected": "SOON (2027-01-31)"})
    assert (picked.outcome, picked.key) == ("ok", "picked")


def test_a_gs1_label_scanned_on_the_put_away_screen_puts_away_its_own_lot(floor, app):
    app.inventory.receive("WH1", MILK, 4, "R1", lot="B1", expiry="2027-01-31")
    app.inventory.receive("WH1", MILK, 6, "R1", lot="B2", expiry="2027-03-31")

    asked = floor.scan("R1", "putaway", gs1("B2", "270331"))
    floor.scan("R1", "putaway", "A-01-02")

    assert asked.params["quantity"] == 6
    stock = app.inventory.stock_of("WH1", MILK)
    assert (stock.lots_in("A-01-02"), stock.lots_in("RCV-01")) == ({"B2": 6}, {"B1": 4})


def test_a_lot_received_against_a_purchase_order_books_the_order_and_the_lot_together(floor, app):
    app.purchasing.register_supplier("MILK-CO", "光明乳业", 3, "S1")
    app.purchasing.draft_order("PO-M1", "MILK-CO", "WH1", [{"sku": MILK, "quantity": 12, "unit_cost": "8.00"}], "S1")
    app.purchasing.approve("PO-M1", "S1")

    answers = [floor.scan("R1", "receive", v) for v in ("PO-M1", gs1("B8", "270531"), "12")]

    assert [a.key for a in answers] == ["reference_set", "enter_lot_quantity", "received"]
    assert app.purchasing.purchase_order("PO-M1")["lines"][MILK]["received"] == 12
    assert app.inventory.stock_of("WH1", MILK).lots_in("RCV-01") == {"B8": 12}


def test_a_copy_of_a_stock_with_lots_changes_apart_from_the_original(app):
    from copy import deepcopy

    stocked(app, ("SOON", "2027-01-31", "A-01-01", 5))
    [result] = app.orders.import_orders([order("M1", (MILK, 2))], warehouse="WH1")
    original = app.inventory.stock_of("WH1", MILK)

    copied = deepcopy(original)
    copied.release(result["order_id"], "test", "S1")
    copied.scrap("A-01-01", 5, "test", "S1")

    assert original.held_lots(result["order_id"]) == {"A-01-01": {"SOON": 2}}
    assert original.lots_in("A-01-01") == {"SOON": 5} and copied.lots_in("A-01-01") == {}


def test_a_picker_sent_to_another_bin_never_picks_an_expired_lot_there(app):
    from domain.errors import BinEmpty

    stocked(app, ("SOON", "2027-01-31", "A-01-01", 2), ("OLD", "2026-11-30", "B-02-01", 5))
    [result] = app.orders.import_orders([order("M1", (MILK, 2))], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", "W1", [result["order_id"]], "S1")

    with pytest.raises(BinEmpty, match="unexpired"):
        app.fulfilment.pick(wave, 0, "B-02-01", MILK_GTIN, 2, "P1")

    assert app.inventory.stock_of("WH1", MILK).lots_in("B-02-01") == {"OLD": 5}


def test_a_short_bin_sends_the_picker_to_a_bin_of_unexpired_lots_only(floor, app):
    stocked(app, ("SOON", "2027-01-31", "A-01-01", 1), ("OLD", "2026-11-30", "A-01-02", 5),
            ("LATE", "2027-06-30", "B-02-01", 5))
    [result] = app.orders.import_orders([order("M1", (MILK, 1))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W1", [result["order_id"]], "S1")
    floor.scan("P1", "pick", "W1")

    sent = floor.scan("P1", "pick", "short", kind="action")

    assert (sent.key, sent.params["next_bin"]) == ("try_bin", "B-02-01")


def test_a_defective_return_scraps_the_lot_that_came_back(app):
    order_id = shipped_lot(app)
    app.inventory.receive("WH1", MILK, 3, "R1", lot="AAA", expiry="2026-12-10")
    app.inventory.move("WH1", MILK, "RCV-01", "RET-01", 3, "R1", lot="AAA")

    app.fulfilment.receive_return(order_id, MILK_GTIN, 1, False, "R1")

    stock = app.inventory.stock_of("WH1", MILK)
    assert stock.lots_in("RET-01") == {"AAA": 3}
    assert stock.shipped_lots(order_id) == {"SOON": 1}
