"""The floor's work: returns after shipping and after delivery (capped by what shipped, linked to a case, put away to
be sold again), held orders released onto free stock, codes typed by hand, and every kind of work counted."""

from datetime import datetime, timedelta, timezone

import pytest

from domain.order import Order, ReturnExceedsShipment
from domain.scanning import Scan
from projections.scanning import productivity, recorded_scans
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, shipped, warehouse_with_catalogue

from tests.unit.test_scanner_flows import PIN, Floor


@pytest.fixture
def floor(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 2, (TEA, "A-01-01"): 1})
    for badge, role in (("P1", "picker"), ("R1", "receiver"), ("S1", "supervisor"), ("K1", "packer")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return Floor(system)


def test_a_delivered_order_takes_back_what_it_shipped_and_not_one_unit_more(floor):
    app = floor.app
    order_id = shipped(app, "T-DLV", CUP, CUP_EAN, 2, "CK81", delivered=True)
    assert app.orders.get_order(order_id)["status"] == "delivered"

    answers = floor.scans("R1", "returns", "CK81", CUP_EAN, "1", CUP_EAN, "2", CUP_EAN)

    assert [a.key for a in answers] == ["return_order", "grade_prompt", "restocked", "grade_prompt", "scrapped",
                                        "return_complete"]
    assert answers[-1].params == {"order": "T-DLV", "sku": CUP, "shipped": "2", "returned": "2", "left": "0"}
    assert app.inventory.stock_levels("WH1", CUP)["RET-01"] == {"on_hand": 1, "reserved": 0}


def test_four_units_of_a_two_unit_line_are_refused_with_the_range(floor):
    app = floor.app
    order_id = shipped(app, "T-FOUR", CUP, CUP_EAN, 2, "CK82")

    with pytest.raises(ReturnExceedsShipment) as refused:
        app.fulfilment.receive_return(order_id, CUP_EAN, 4, True, "R1")
    app.fulfilment.receive_return(order_id, CUP_EAN, 1, True, "R1")
    with pytest.raises(ReturnExceedsShipment) as again:
        app.fulfilment.receive_return(order_id, CUP_EAN, 2, True, "R1")

    assert "a return takes 1 to 2, not 4" in str(refused.value)
    assert again.value.params["left"] == "1" and "1 came back already" in str(again.value)
    assert app.inventory.stock_levels("WH1", CUP)["RET-01"]["on_hand"] == 1


def test_a_return_is_recorded_on_the_order_with_its_after_sales_case(floor):
    app = floor.app
    order_id = shipped(app, "T-CASE", TEA, TEA_EAN, 1, "CK83")
    floor.ports.after_sales_case = lambda order: "AS-2026-0042" if order == order_id else ""

    first = floor.scan("R1", "returns", "T-CASE")
    floor.scans("R1", "returns", TEA_EAN, "2")

    assert first.params["case"] == "AS-2026-0042"
    [returned] = [e for e in app.store.events.get(order_id) if isinstance(e, Order.ReturnReceived)]
    assert (returned.sku, returned.quantity, returned.resaleable, returned.case) == (TEA, 1, False, "AS-2026-0042")


def test_resaleable_returns_are_put_away_from_the_returns_bin_and_can_be_reserved_again(floor):
    app = floor.app
    shipped(app, "T-BACK", CUP, CUP_EAN, 2, "CK84", delivered=True)
    floor.scans("R1", "returns", "CK84", CUP_EAN, "1", CUP_EAN, "1")
    [waiting] = app.orders.import_orders([order("T-NEXT", (CUP, 2))], warehouse="WH1")
    assert waiting["status"] == "awaiting_stock"

    answers = floor.scans("R1", "putaway", CUP_EAN, "B-02-01")
    app.orders.reserve_order(waiting["order_id"], "WH1", "S1")

    assert [(a.key, a.params.get("bin")) for a in answers] == [("scan_target_bin", "RET-01"), ("put_away", "B-02-01")]
    assert app.inventory.stock_levels("WH1", CUP)["B-02-01"] == {"on_hand": 2, "reserved": 2}
    assert app.orders.get_order(waiting["order_id"])["status"] == "reserved"


def test_a_short_picked_order_is_released_only_onto_free_stock_and_picked_again_in_a_new_wave(floor):
    app = floor.app
    app.inventory.receive("WH1", TEA, 2, "R1")
    app.inventory.put_away("WH1", TEA, "A-01-01", 2, "R1")
    placed = app.orders.import_orders([order("T-SHORT", (TEA, 2)), order("T-OTHER", (TEA, 1))], warehouse="WH1")
    short_id = placed[0]["order_id"]
    app.fulfilment.create_wave("WH1", "W-S", [short_id], "S1")
    floor.scans("P1", "pick", "W-S", "A-01-01", TEA_EAN, "1")
    floor.scan("P1", "pick", "short", kind="action")
    floor.scan("P1", "pick", "short", kind="action")
    floor.system.catch_up()
    supervisor_sees = app.orders.get_order(short_id)
    [late] = app.orders.import_orders([order("T-LATE", (TEA, 1))], warehouse="WH1")

    refused = floor.scan("S1", "supervisor", f"release:{short_id}", kind="override")
    app.inventory.receive("WH1", TEA, 1, "R1")
    app.inventory.put_away("WH1", TEA, "B-02-01", 1, "R1")
    rewaved = floor.scan("S1", "supervisor", f"rewave:{short_id}", kind="override")
    picked = floor.scans("P1", "pick", rewaved.params["wave"], "B-02-01", TEA_EAN)

    assert (supervisor_sees["status"], supervisor_sees["hold_reasons"]) == ("held", [f"short pick: {TEA}×1"])
    assert late["status"] == "reserved"
    assert (refused.outcome, refused.key, refused.params["short"]) == ("refused", "release_short", f"{TEA} 1 / 0")
    assert (rewaved.outcome, rewaved.key) == ("ok", "order_rewaved")
    assert [p.key for p in picked] == ["wave_opened", "bin_confirmed", "picked"]
    assert app.orders.get_order(short_id)["status"] == "picked"
    levels = app.inventory.stock_levels("WH1", TEA)
    assert all(level["reserved"] <= level["on_hand"] for level in levels.values()), levels
    assert levels["PACK-01"] == {"on_hand": 2, "reserved": 2}


def test_every_kind_of_floor_work_counts_per_badge_per_hour_and_per_day(floor):
    app = floor.app
    shipped(app, "T-WORK", CUP, CUP_EAN, 1, "CK85")
    floor.scans("R1", "receive", TEA_EAN, "5")
    floor.scans("R1", "putaway", TEA_EAN, "B-02-01")
    floor.scans("R1", "returns", "CK85", CUP_EAN, "1")
    floor.scans("R1", "count", "A-01-01", TEA_EAN, "1")
    floor.system.catch_up()

    work = productivity(floor.system.engine, datetime.now(timezone.utc) - timedelta(hours=1))

    mine = {(d["kind"], d["tasks"], d["units"]) for d in work["days"] if d["staff"] == "R1"}
    assert mine == {("receive", 1, 5), ("putaway", 1, 5), ("returns", 1, 1), ("count", 1, 1)}
    assert {h["kind"] for h in work["hours"] if h["staff"] == "R1"} == {"receive", "putaway", "returns", "count"}
    assert all(d["units_per_hour"] == d["units"] for d in work["days"])


def test_a_code_typed_by_hand_is_refused_where_keyed_entry_is_off_and_counted_where_it_is_on(floor):
    app = floor.app
    app.orders.import_orders([order("T-KEY", (TEA, 1))], warehouse="WH1")
    floor.ports.keyed_screens = ("receive",)

    def entered(staff, screen, value, entry):
        floor.numbers[staff] = floor.numbers.get(staff, 0) + 1
        return app.floor.scan(Scan(staff, floor.numbers[staff], staff, screen, value, entry=entry), floor.ports)

    typed_bin = entered("S1", "count", "A-01-01", "keyed")
    scanned_bin = entered("S1", "count", "A-01-01", "scanned")
    scanned_item = entered("S1", "count", TEA_EAN, "scanned")
    typed_count = entered("S1", "count", "1", "keyed")
    typed_item = entered("R1", "receive", TEA_EAN, "keyed")
    floor.system.catch_up()

    assert (typed_bin.outcome, typed_bin.key, typed_bin.params) == ("refused", "keyed_entry_off", {"screen": "count"})
    assert [a.key for a in (scanned_bin, scanned_item, typed_count, typed_item)] == [
        "count_bin", "enter_count", "count_matches", "enter_received_quantity"]
    work = productivity(floor.system.engine, datetime.now(timezone.utc) - timedelta(hours=1))
    assert {(d["staff"], d["tasks"]) for d in work["days"] if d["kind"] == "keyed"} == {("S1", 2), ("R1", 1)}
    typed = [(r["staff"], r["value"]) for r in recorded_scans(floor.system.engine) if r["entry"] == "keyed"]
    assert sorted(typed) == [("R1", TEA_EAN), ("S1", "1"), ("S1", "A-01-01")]
