"""Review rules (审单) kept as data: each edit makes the set's next version, and each order's review is an event
naming the rule, its version and what it looked at."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest

from domain.errors import InvalidOrderState, UnknownSku
from domain.order import Buyer, buyer_ref
from domain.review import ReviewRuleRefused
from projections.invariants import check_log
from projections.order_desk import order_row, timeline
from projections.orders_board import order_counts
from tests.builders import CUP, CUP_EAN, PAN, TEA, TEA_EAN, order, warehouse_with_catalogue

NOW = datetime.now(timezone.utc)


@pytest.fixture
def system(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 3, (PAN, "B-02-01"): 1})
    return system


@pytest.fixture
def app(system):
    return system.app


def imported(app, new) -> dict:
    [result] = app.orders.import_orders([new], warehouse="WH1")
    return app.orders.get_order(result["order_id"])


def reviews(app, order_id) -> list:
    """The review decisions recorded on an order: on its import, then each later review (a presale's release)."""
    events = list(app.store.events.get(order_id))
    return [SimpleNamespace(**events[0].review)] + [e for e in events if type(e).__name__ == "Reviewed"]


def test_before_any_edit_the_rules_are_version_0_and_hold_large_amounts(app):
    listed = app.review.listed()

    assert listed["version"] == 0
    assert [r["kind"] for r in listed["rules"]] == ["remark", "amount", "address", "unknown_sku", "retired_sku"]
    held = imported(app, replace(order("A1", (TEA, 1)), paid_amount=Decimal("30000")))
    assert held["status"] == "held" and held["hold_reasons"] == ["amount above 20000"]


def test_each_edit_makes_the_next_version_and_an_order_reviewed_after_names_it(app):
    app.review.change("R2", {"above": "100"}, True, "S1")
    version = app.review.change("R1", {}, True, "S1")

    held = imported(app, replace(order("A2", (TEA, 6)), remark="请送到门卫"))

    assert version == 3 and app.review.listed()["version"] == 3
    assert held["hold_reasons"] == ["buyer remark", "amount above 100.00"]
    [review] = reviews(app, held["id"])
    assert review.rule_set_version == 3
    assert [(d["rule"], d["kind"], d["rule_version"], d["outcome"]) for d in review.decisions] == [
        ("R1", "remark", 3, "hold"), ("R2", "amount", 2, "hold")]
    assert review.decisions[0]["inputs"] == {"remark_length": 5}
    assert review.decisions[1]["inputs"] == {"paid_amount": "120.00", "above": "100.00"}


def test_an_order_no_rule_holds_is_released_and_the_review_says_which_version_let_it_through(app):
    released = imported(app, order("A3", (TEA, 1)))

    assert released["status"] == "reserved"
    [review] = reviews(app, released["id"])
    assert (review.rule_set_version, review.decisions) == (0, [])


def test_a_switched_off_rule_holds_nothing(app):
    app.review.change("R2", {"above": "10"}, False, "S1")

    assert imported(app, order("A4", (TEA, 2)))["status"] == "reserved"


def test_incomplete_address_holds(app):
    new = replace(order("A5", (TEA, 1)), region={"province": ""})

    held = imported(app, new)

    assert held["hold_reasons"] == ["incomplete address"]
    assert reviews(app, held["id"])[0].decisions[0]["inputs"] == {"has_province": False, "has_street": True}


def test_unknown_sku_holds_and_cannot_be_switched_off_or_removed(app):
    held = imported(app, order("A6", ("NO-SUCH", 1)))

    assert held["hold_reasons"] == ["unknown SKU NO-SUCH"]
    with pytest.raises(ReviewRuleRefused, match="cannot be switched off"):
        app.review.change("R4", {}, False, "S1")
    with pytest.raises(ReviewRuleRefused, match="cannot be removed"):
        app.review.remove("R4", "S1")
    assert app.review.listed()["version"] == 0


def test_a_retired_sku_holds_and_the_review_names_it(app):
    app.catalogue.retire_sku(PAN, "discontinued", "S1")

    held = imported(app, order("A9", (PAN, 1)))

    assert held["hold_reasons"] == [f"retired SKU {PAN}"]
    assert reviews(app, held["id"])[0].decisions == [
        {"rule": "R5", "kind": "retired_sku", "rule_version": 0, "outcome": "hold", "inputs": {"skus": [PAN]}}]


def test_a_flagged_buyer_is_held_with_the_note_and_only_in_that_shop(app):
    app.review.add("buyer", {"buyers": [buyer_ref("taobao", "flagship", "buyer_wang")], "note": "拒收过两次"}, "S1")

    held = imported(app, order("A7", (TEA, 1)))
    elsewhere = imported(app, order("A8", (TEA, 1), shop="outlet"))

    assert held["hold_reasons"] == ["buyer flagged: 拒收过两次"]
    assert elsewhere["status"] == "reserved"


def test_a_gift_is_a_zero_price_line_reserved_with_the_order_while_stock_lasts(app):
    app.review.add("gift", {"sku": CUP, "units": 2, "when_sku": TEA, "min_amount": "20"}, "S1")

    first = imported(app, order("G1", (TEA, 1)))
    second = imported(app, order("G2", (TEA, 1)))
    no_tea = imported(app, order("G3", (PAN, 1)))

    gift = first["lines"][-1]
    assert (gift["sku"], gift["quantity"], gift["unit_price"], gift["gift"]) == (CUP, 2, Decimal("0"), "R6")
    assert first["status"] == "reserved"
    assert app.inventory.stock_of("WH1", CUP).reserved_for(first["id"]) == {"A-01-02": 2}
    assert [line["sku"] for line in second["lines"]] == [TEA]  # one cup left: no gift of two
    assert reviews(app, second["id"])[0].decisions[0]["outcome"] == "no gift: out of stock"
    assert [line["sku"] for line in no_tea["lines"]] == [PAN]


def test_a_gift_outside_its_time_window_is_not_given(app):
    app.review.add("gift", {"sku": CUP, "units": 1, "starts": (NOW + timedelta(days=1)).isoformat()}, "S1")

    assert [line["sku"] for line in imported(app, order("G4", (TEA, 1)))["lines"]] == [TEA]


def test_a_gift_of_an_unknown_sku_or_a_bad_window_is_refused_and_changes_nothing(app):
    with pytest.raises(UnknownSku):
        app.review.add("gift", {"sku": "NOPE", "units": 1}, "S1")
    with pytest.raises(ReviewRuleRefused, match="ends: after starts"):
        app.review.add("gift", {"sku": CUP, "starts": "2026-12-12T00:00+08:00", "ends": "2026-12-11T00:00+08:00"},
                       "S1")
    with pytest.raises(ReviewRuleRefused, match="time zone"):
        app.review.add("presale", {"skus": TEA, "ship_from": "2026-12-12T00:00"}, "S1")

    assert app.review.listed()["version"] == 0


def test_a_presale_order_is_held_until_its_ship_from_date_then_released_and_reserved_by_an_event(app, system):
    ship_from = NOW + timedelta(days=3)
    app.review.add("presale", {"skus": [PAN], "ship_from": ship_from.isoformat()}, "S1")
    held = imported(app, order("P1", (PAN, 1)))

    early = app.orders.release_due_presales([held["id"]], "WH1", "review", now=NOW)
    due = app.orders.release_due_presales([held["id"]], "WH1", "review", now=ship_from)

    assert held["status"] == "held" and held["hold_reasons"][0].startswith("presale until ")
    assert early == {"released": 0, "reserved": 0} and due == {"released": 1, "reserved": 1}
    assert app.orders.get_order(held["id"])["status"] == "reserved"
    last = reviews(app, held["id"])[-1]
    assert last.decisions[0]["outcome"] == "ship-from date reached"


def test_the_periodic_release_finds_due_presales_through_the_order_desk(app, system):
    ship_from = NOW + timedelta(days=1)
    app.review.add("presale", {"skus": [PAN], "ship_from": ship_from.isoformat()}, "S1")
    held = imported(app, order("P2", (PAN, 1)))
    waiting = imported(app, order("P3", (TEA, 1)))

    before = system.release_due_presales(now=NOW)
    after = system.release_due_presales(now=ship_from)

    assert (before, after) == ({"released": 0, "reserved": 0}, {"released": 1, "reserved": 1})
    assert app.orders.get_order(held["id"])["status"] == "reserved"
    assert waiting["status"] == "reserved"


def test_registering_the_missing_sku_releases_and_reserves_the_waiting_order(app, system):
    held = imported(app, order("U1", ("MUG-NEW", 2)))
    app.catalogue.register_sku("MUG-NEW", "New mug")
    app.inventory.load_opening_stock({2: ("WH1", "MUG-NEW", "A-01-01", 5)}, "opening")

    done = system.release_orders_for_new_skus("S1")

    assert held["hold_reasons"] == ["unknown SKU MUG-NEW"]
    assert done == {"released": 1, "reserved": 1}
    assert app.orders.get_order(held["id"])["status"] == "reserved"
    assert app.inventory.stock_of("WH1", "MUG-NEW").reserved_for(held["id"]) == {"A-01-01": 2}


def merge_rule_on(app):
    return app.review.add("merge", {}, "S1")


def test_auto_merge_puts_the_buyer_s_second_order_in_the_first_one_s_parcel(app):
    rule = merge_rule_on(app)

    first = imported(app, order("M1", (TEA, 1)))
    second = imported(app, order("M2", (CUP, 2)))

    lead = app.orders.order(first["id"])
    assert app.orders.get_order(second["id"])["status"] == "merged"
    assert lead.status == "reserved" and lead.quantities() == {TEA: 1, CUP: 2}
    assert app.inventory.stock_of("WH1", CUP).reserved_for(lead.id) == {"A-01-02": 2}
    assert app.inventory.stock_of("WH1", CUP).reserved_for(second["id"]) == {}
    merged = [e for e in app.store.events.get(lead.id) if type(e).__name__ == "Merged"]
    assert (merged[0].rule["rule"], merged[0].rule["rule_version"], merged[0].rule["rule_set_version"]) == (rule, 2, 2)


def test_orders_of_another_address_or_shop_are_not_merged(app):
    merge_rule_on(app)

    imported(app, order("M3", (TEA, 1)))
    other_shop = imported(app, order("M4", (TEA, 1), shop="outlet"))
    moved = imported(app, replace(order("M5", (TEA, 1)), region={"province": "浙江省", "city": "宁波市",
                                                                  "district": "海曙区"}))

    assert other_shop["status"] == "reserved" and moved["status"] == "reserved"


def test_without_the_merge_rule_orders_stay_apart(app):
    imported(app, order("M6", (TEA, 1)))

    assert imported(app, order("M7", (TEA, 1)))["status"] == "reserved"


def test_a_merged_parcel_is_picked_packed_and_shipped_once_and_every_order_ships_with_it(app):
    merge_rule_on(app)
    first = imported(app, order("M8", (TEA, 1)))
    second = imported(app, order("M9", (CUP, 1)))
    wave = app.fulfilment.create_wave("WH1", "W-M8", [first["id"]], "S1")
    for index, line in enumerate(app.fulfilment.wave(wave).lines):
        app.fulfilment.pick(wave, index, line["bin"], {TEA: TEA_EAN, CUP: CUP_EAN}[line["sku"]], line["quantity"],
                            "P1")
    for barcode in (TEA_EAN, CUP_EAN):
        app.fulfilment.verify_item(first["id"], barcode, "K1")
    app.fulfilment.close_package(first["id"], "K1")
    app.fulfilment.weigh(first["id"], 600, "K1")
    app.fulfilment.assign_waybill(first["id"], "LOCAL", "SF100", "HZ")

    app.fulfilment.hand_over(first["id"], "K1")

    assert len(app.fulfilment.wave(wave).lines) == 2
    shipped = app.orders.get_order(second["id"])
    assert (shipped["status"], shipped["tracking_no"]) == ("shipped", "SF100")
    assert app.orders.order(second["id"]).shipped_units() == {CUP: 1}
    assert app.orders.order(first["id"]).shipped_units() == {TEA: 1}


def test_undoing_a_merge_splits_the_parcel_back_and_reserves_each_order_on_its_own(app):
    merge_rule_on(app)
    first = imported(app, order("MA", (TEA, 1)))
    second = imported(app, order("MB", (CUP, 2)))

    undone = app.orders.unmerge_order(first["id"], "S1")

    assert undone["orders"] == {"MB": "reserved"}
    assert app.orders.order(first["id"]).quantities() == {TEA: 1}
    assert app.inventory.stock_of("WH1", CUP).reserved_for(second["id"]) == {"A-01-02": 2}
    assert app.inventory.stock_of("WH1", CUP).reserved_for(first["id"]) == {}


def test_merging_by_hand_refuses_an_order_on_the_floor_or_another_buyer_and_changes_nothing(app):
    first = imported(app, order("MC", (TEA, 1)))
    other = imported(app, replace(order("MD", (TEA, 1)), buyer=Buyer("buyer_li", "李四", "13900000000", "文一路 1 号")))
    waved = imported(app, order("ME", (TEA, 1)))
    app.fulfilment.create_wave("WH1", "W-ME", [waved["id"]], "S1")

    with pytest.raises(InvalidOrderState, match="same shop, buyer and address"):
        app.orders.merge_orders(first["id"], [other["id"]], "S1")
    with pytest.raises(InvalidOrderState, match="waved"):
        app.orders.merge_orders(first["id"], [waved["id"]], "S1")

    assert app.orders.order(first["id"]).quantities() == {TEA: 1}
    assert app.orders.get_order(other["id"])["status"] == "reserved"


def test_refunding_an_order_of_a_merged_parcel_takes_the_parcel_apart_first(app):
    first = imported(app, order("MF", (TEA, 1)))
    second = imported(app, order("MG", (CUP, 1)))
    app.orders.merge_orders(first["id"], [second["id"]], "S1")

    app.orders.refund_order(second["id"], "pull:taobao", "channel status refunded")

    assert app.orders.get_order(second["id"])["status"] == "cancelled"
    lead = app.orders.order(first["id"])
    assert (lead.status, lead.quantities(), lead.merged_orders()) == ("reserved", {TEA: 1}, [])
    assert app.inventory.stock_of("WH1", CUP).reserved_for(second["id"]) == {}
    with pytest.raises(InvalidOrderState, match="MG is cancelled"):
        app.orders.merge_orders(first["id"], [second["id"]], "S1")


def test_a_merged_parcel_on_the_floor_cannot_be_taken_apart(app):
    first = imported(app, order("MJ", (TEA, 1)))
    second = imported(app, order("MK", (CUP, 1)))
    app.orders.merge_orders(first["id"], [second["id"]], "S1")
    app.fulfilment.create_wave("WH1", "W-MJ", [first["id"]], "S1")

    with pytest.raises(InvalidOrderState, match="already on the floor"):
        app.orders.cancel_order(second["id"], "buyer asked", "S1")
    with pytest.raises(InvalidOrderState, match="merged into order MJ"):
        app.orders.hold_order(second["id"], "call", "S1")

    assert app.orders.get_order(second["id"])["status"] == "merged"


def test_a_shipped_merged_parcel_passes_the_audit_and_the_views_show_each_order(app, system):

    merge_rule_on(app)
    first = imported(app, order("MH", (TEA, 1)))
    second = imported(app, order("MI", (CUP, 1)))
    wave = app.fulfilment.create_wave("WH1", "W-MH", [first["id"]], "S1")
    for index, line in enumerate(app.fulfilment.wave(wave).lines):
        app.fulfilment.pick(wave, index, line["bin"], {TEA: TEA_EAN, CUP: CUP_EAN}[line["sku"]], 1, "P1")
    for barcode in (TEA_EAN, CUP_EAN):
        app.fulfilment.verify_item(first["id"], barcode, "K1")
    app.fulfilment.close_package(first["id"], "K1")
    app.fulfilment.weigh(first["id"], 600, "K1")
    app.fulfilment.assign_waybill(first["id"], "LOCAL", "SF200", "HZ")
    app.fulfilment.hand_over(first["id"], "K1")
    system.catch_up()

    report = check_log(app.store, system.engine)

    assert report.failures == []
    assert order_row(system.engine, second["id"])["status"] == "shipped"
    assert order_row(system.engine, second["id"])["tracking_no"] == "SF200"
    assert {r["status"]: r["orders"] for r in order_counts(system.engine)["by_status"]} == {"shipped": 2}


def test_split_by_stock_sends_what_is_here_and_the_short_lines_wait_as_a_part(app, system):
    rule = app.review.add("split_stock", {}, "S1")

    [result] = app.orders.import_orders([order("S1", (TEA, 2), (PAN, 3))], warehouse="WH1")

    going = app.orders.order(result["order_id"])
    part = app.orders.order(result["part"]["order_id"])
    assert (going.status, going.quantities()) == ("reserved", {TEA: 2})
    assert (part.platform_order_no, part.status, part.quantities()) == ("S1-2", "awaiting_stock", {PAN: 3})
    assert part.paid_amount == 0 and [line["unit_price"] for line in part.lines.values()] == [Decimal("0")]
    split = [e for e in app.store.events.get(going.id) if type(e).__name__ == "SplitByStock"][0]
    assert split.rule["rule"] == rule and split.rule["inputs"] == {"missing": {PAN: 2}}
    assert [(line.sku_code, line.quantity) for line in app.fulfilment.packing_slip(going.id).lines] == [(TEA, 2)]
    system.catch_up()
    assert order_row(system.engine, part.id)["status"] == "awaiting_stock"


def test_without_the_split_rule_a_short_order_waits_whole(app):
    [result] = app.orders.import_orders([order("S2", (TEA, 2), (PAN, 3))], warehouse="WH1")

    assert result["status"] == "awaiting_stock" and "part" not in result


def test_an_order_waiting_for_stock_is_split_by_hand_and_one_all_short_is_refused(app):
    [partly] = app.orders.import_orders([order("S3", (TEA, 1), (PAN, 2))], warehouse="WH1")
    [all_short] = app.orders.import_orders([order("S4", (PAN, 9))], warehouse="WH1")

    done = app.orders.split_order(partly["order_id"], "S1")

    assert done["status"] == "reserved" and done["part"]["platform_order_no"] == "S3-2"
    with pytest.raises(InvalidOrderState, match="cannot be split"):
        app.orders.split_order(all_short["order_id"], "S1")
    assert app.orders.get_order(all_short["order_id"])["status"] == "awaiting_stock"


def test_split_by_warehouse_reserves_the_part_in_the_other_warehouse(app):
    app.inventory.open_warehouse("WH2", "Ningbo")
    app.inventory.add_location("WH2", "N-01", "N", "storage", 10)
    app.inventory.load_opening_stock({2: ("WH2", PAN, "N-01", 5)}, "opening")
    [waiting] = app.orders.import_orders([order("S5", (TEA, 1), (PAN, 3))], warehouse="WH1")

    done = app.orders.split_order(waiting["order_id"], "S1", warehouse="WH2")

    part = app.orders.order(done["part"]["order_id"])
    assert done["status"] == "reserved" and app.orders.order(waiting["order_id"]).warehouse == "WH1"
    assert (part.status, part.warehouse) == ("reserved", "WH2")
    assert app.inventory.stock_of("WH2", PAN).reserved_for(part.id) == {"N-01": 3}


def test_the_order_desk_timeline_says_which_rule_version_held_the_order(app, system):
    app.review.change("R2", {"above": "10"}, True, "S1")
    held = imported(app, order("TL1", (TEA, 1)))
    system.catch_up()

    [arrived] = [entry for entry in timeline(system.engine, held["id"]) if entry["event"] == "Imported"]

    assert arrived["detail"].endswith("; held: amount above 10.00; review rules v2: R2 v2 hold")


def test_with_merge_and_split_on_a_split_order_and_its_part_keep_their_own_parcels(app):
    merge_rule_on(app)
    app.review.add("split_stock", {}, "S1")

    [split] = app.orders.import_orders([order("MS1", (TEA, 1), (PAN, 5))], warehouse="WH1")
    [later] = app.orders.import_orders([order("MS2", (CUP, 1))], warehouse="WH1")
    [third] = app.orders.import_orders([order("MS3", (TEA, 1))], warehouse="WH1")

    assert split["part"]["status"] == "awaiting_stock"
    assert later["status"] == "reserved" and third["status"] == "merged"
    assert app.orders.order(later["order_id"]).quantities() == {CUP: 1, TEA: 1}
    assert app.orders.order(split["order_id"]).quantities() == {TEA: 1}
