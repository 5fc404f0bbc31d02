"""Scanner commands on the in-memory store: numbered scans applied once, each screen's flow, its refusals."""

from datetime import datetime, timedelta, timezone

import pytest

from domain.errors import InvalidInput
from domain.scanning import Device, Scan, StaleSequence
from domain.staff import NotAllowed, Staff
from projections.scanning import floor_statistics, pending_count_adjustments, pick_exceptions, recorded_scans
from scanner_ui.ports import FloorPorts
from tests.builders import CUP, CUP_EAN, PAN_EAN, TEA, TEA_EAN, order, warehouse_with_catalogue

PIN = "73914682"


class Floor:
    """One warehouse floor: the system, its ports, and numbered scans per device."""

    def __init__(self, system):
        self.system = system
        self.app = system.app
        self.labels = []
        self.ports = FloorPorts(system, lambda order_id, by: self.labels.append(order_id) or "fake",
                                count_approval_threshold=2)
        self.numbers: dict[str, int] = {}

    def scan(self, staff: str, screen: str, value: str, kind: str = "scan", device: str = ""):
        device = device or f"pda-{staff}"
        self.numbers[device] = self.numbers.get(device, 0) + 1
        return self.app.floor.scan(Scan(device, self.numbers[device], staff, screen, value, kind), self.ports)

    def scans(self, staff: str, screen: str, *values: str) -> list:
        return [self.scan(staff, screen, v) for v in values]


@pytest.fixture
def floor(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 2, (TEA, "B-02-01"): 3, (CUP, "A-01-02"): 10})
    for badge, role in (("P1", "picker"), ("R1", "receiver"), ("S1", "supervisor"), ("K1", "packer")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return Floor(system)


def wave_of(floor, *orders) -> str:
    ids = [r["order_id"] for r in floor.app.orders.import_orders(list(orders), warehouse="WH1")]
    floor.app.fulfilment.create_wave("WH1", "W1", ids, "S1")
    return "W1"


def test_a_resent_scan_is_applied_once_and_answered_as_the_first_time(floor):
    floor.scans("R1", "receive", TEA_EAN)
    first = floor.scan("R1", "receive", "5")

    again = floor.app.floor.scan(Scan("pda-R1", first.sequence, "R1", "receive", "5"), floor.ports)

    assert (again.outcome, again.key, again.params, again.duplicate) == ("ok", "received", first.params, True)
    assert floor.app.inventory.stock_levels("WH1", TEA)["RCV-01"]["on_hand"] == 5


def test_a_number_used_for_another_scan_is_refused_as_stale_and_changes_nothing(floor):
    floor.scans("R1", "receive", TEA_EAN, "5")

    with pytest.raises(StaleSequence) as stale:
        floor.app.floor.scan(Scan("pda-R1", 2, "R1", "receive", "7"), floor.ports)

    assert stale.value.next_sequence == 3
    assert floor.app.inventory.stock_levels("WH1", TEA)["RCV-01"]["on_hand"] == 5


def test_a_wrong_bin_and_a_wrong_item_are_refused_with_what_was_expected_and_the_pick_goes_on(floor):
    wave = wave_of(floor, order("T1", (CUP, 2)))
    floor.scan("P1", "pick", wave, kind="action")

    wrong_bin = floor.scan("P1", "pick", "B-02-01")
    floor.scan("P1", "pick", "A-01-02")
    wrong_item = floor.scan("P1", "pick", TEA_EAN)
    asked = floor.scan("P1", "pick", CUP_EAN)
    picked = floor.scan("P1", "pick", "2")

    assert (wrong_bin.outcome, wrong_bin.key, wrong_bin.params) == ("refused", "wrong_bin", {"expected": "A-01-02"})
    assert (wrong_item.outcome, wrong_item.key, wrong_item.params) == ("refused", "wrong_item", {"expected": CUP})
    assert (asked.key, picked.key, picked.params["quantity"]) == ("enter_quantity", "picked", 2)
    assert floor.app.inventory.stock_levels("WH1", CUP)["PACK-01"] == {"on_hand": 2, "reserved": 2}


def test_a_short_bin_sends_the_picker_to_the_next_bin_holding_the_sku(floor):
    wave = wave_of(floor, order("T1", (TEA, 2)))
    floor.scans("P1", "pick", wave, "A-01-01")

    sent_on = floor.scan("P1", "pick", "short", kind="action")
    refused_old_bin = floor.scan("P1", "pick", "A-01-01")
    floor.scans("P1", "pick", "B-02-01", TEA_EAN, "2")

    assert (sent_on.key, sent_on.params["next_bin"]) == ("try_bin", "B-02-01")
    assert refused_old_bin.params == {"expected": "B-02-01"}
    assert floor.app.inventory.stock_levels("WH1", TEA) == {"A-01-01": {"on_hand": 2, "reserved": 0},
                                                 "B-02-01": {"on_hand": 1, "reserved": 0},
                                                 "PACK-01": {"on_hand": 2, "reserved": 2}}


def test_with_no_other_bin_the_line_goes_short_and_the_supervisor_sees_it(floor):
    wave = wave_of(floor, order("T1", (TEA, 2)))
    floor.scans("P1", "pick", wave, "A-01-01")

    floor.scan("P1", "pick", "short", kind="action")
    asked = floor.scan("P1", "pick", "short", kind="action")
    held_yet = floor.app.orders.find_order("taobao", "flagship", "T1").status
    short = floor.scan("P1", "pick", "short", kind="action")

    assert (asked.key, held_yet) == ("confirm_short", "waved")
    assert (short.key, short.params.get("missing")) == ("line_short", 2)
    assert floor.app.orders.find_order("taobao", "flagship", "T1").status == "held"
    floor.system.catch_up()
    assert [(e["key"], e["staff"]) for e in pick_exceptions(floor.system.engine)] == [
        ("line_short", "P1"), ("try_bin", "P1")]


def test_a_count_difference_above_the_threshold_waits_for_a_supervisor_before_it_is_booked(floor):
    floor.scans("R1", "count", "B-02-01", TEA_EAN)
    small = floor.scan("R1", "count", "2")
    floor.scan("R1", "count", TEA_EAN)
    large = floor.scan("R1", "count", "9")
    floor.system.catch_up()
    [pending] = pending_count_adjustments(floor.system.engine, "WH1")

    approved = floor.scan("S1", "supervisor", f"approve:{pending['request_id']}", kind="override")

    assert (small.key, small.params["difference"]) == ("count_adjusted", -1)
    assert (large.key, large.params["difference"]) == ("count_pending", 7)
    assert approved.key == "count_approved"
    assert floor.app.inventory.stock_levels("WH1", TEA)["B-02-01"]["on_hand"] == 9
    floor.system.catch_up()
    assert pending_count_adjustments(floor.system.engine, "WH1") == []


def test_a_pin_is_kept_only_as_a_salted_hash_and_a_wrong_pin_is_refused_and_recorded(floor):
    registered = [e for e in floor.app.store.events.get(Staff.create_id("P1"))][0]

    with pytest.raises(NotAllowed):
        floor.app.floor.login("pda-7", "P1", "00000000")
    member = floor.app.floor.login("pda-7", "P1", PIN)

    assert PIN not in repr(vars(registered)) and registered.pin_hash.startswith("scrypt$")
    assert member["role"] == "picker"
    attempts = [(e.kind, e.outcome, e.value) for e in list(floor.app.store.events.get(Device.create_id("pda-7")))[1:]]
    assert attempts == [("login", "refused", "P1"), ("login", "ok", "P1")]


def test_a_screen_outside_the_role_is_refused_and_the_attempt_recorded(floor):
    refused = floor.scan("P1", "receive", TEA_EAN)

    assert (refused.outcome, refused.key) == ("refused", "not_allowed")
    assert floor.app.inventory.stock_levels("WH1", TEA)["A-01-01"]["on_hand"] == 2
    floor.system.catch_up()
    assert recorded_scans(floor.system.engine, staff="P1")[0]["key"] == "not_allowed"


def test_an_overlong_scan_is_refused_and_recorded_cut_to_the_limit(floor):
    refused = floor.scan("R1", "receive", "9" * 500)

    assert (refused.outcome, refused.key) == ("refused", "unexpected_input")
    floor.system.catch_up()
    assert recorded_scans(floor.system.engine, staff="R1")[0]["value"] == "9" * 63 + "…"


def test_an_unknown_device_or_screen_is_refused_before_anything_is_recorded(floor):
    for bad in (Scan("pda 1", 1, "R1", "receive", TEA_EAN), Scan("pda-1", 1, "R1", "office", TEA_EAN),
                Scan("pda-1", 0, "R1", "receive", TEA_EAN)):
        with pytest.raises(InvalidInput):
            floor.app.floor.scan(bad, floor.ports)

    assert floor.app.floor.next_sequence("pda-1") == 1


def test_returned_items_are_restocked_or_scrapped_by_grade(floor):
    [result] = floor.app.orders.import_orders([order("T9", (CUP, 2))], warehouse="WH1")
    app, order_id = floor.app, result["order_id"]
    app.fulfilment.create_wave("WH1", "W9", [order_id], "S1")
    app.fulfilment.pick(app.screens.wave_numbered("WH1", "W9").id, 0, "A-01-02", CUP_EAN, 2, "P1")
    for _ in range(2):
        app.fulfilment.verify_item(order_id, CUP_EAN, "K1")
    app.fulfilment.close_package(order_id, "K1")
    app.fulfilment.weigh(order_id, 400, "K1")
    app.fulfilment.assign_waybill(order_id, "LOCAL", "CK77", "HZ")
    app.fulfilment.hand_over(order_id, "K1")

    refused = floor.scans("R1", "returns", "CK77", PAN_EAN)[1]
    graded = floor.scans("R1", "returns", CUP_EAN, "1", CUP_EAN, "2")

    assert (refused.key, refused.params) == ("wrong_item", {"expected": CUP})
    assert [g.key for g in graded] == ["grade_prompt", "restocked", "grade_prompt", "scrapped"]
    assert app.inventory.stock_levels("WH1", CUP)["RET-01"]["on_hand"] == 1


def test_items_of_a_merged_parcel_come_back_to_the_order_that_shipped_each(floor):
    app = floor.app
    [lead, merged] = app.orders.import_orders([order("T7", (TEA, 1)), order("T8", (CUP, 1))], warehouse="WH1")
    app.orders.merge_orders(lead["order_id"], [merged["order_id"]], "S1")
    wave = app.fulfilment.create_wave("WH1", "W7", [lead["order_id"]], "S1")
    for index, line in enumerate(app.fulfilment.wave(wave).lines):
        app.fulfilment.pick(wave, index, line["bin"], {TEA: TEA_EAN, CUP: CUP_EAN}[line["sku"]], 1, "P1")
    for barcode in (TEA_EAN, CUP_EAN):
        app.fulfilment.verify_item(lead["order_id"], barcode, "K1")
    app.fulfilment.close_package(lead["order_id"], "K1")
    app.fulfilment.weigh(lead["order_id"], 600, "K1")
    app.fulfilment.assign_waybill(lead["order_id"], "LOCAL", "CK78", "HZ")
    app.fulfilment.hand_over(lead["order_id"], "K1")

    answers = floor.scans("R1", "returns", "CK78", CUP_EAN, "1", TEA_EAN, "2", CUP_EAN)

    assert [a.key for a in answers] == ["return_order", "grade_prompt", "restocked", "grade_prompt", "scrapped",
                                        "return_complete"]
    assert app.orders.order(merged["order_id"]).returned == {CUP: 1}
    assert app.orders.order(lead["order_id"]).returned == {TEA: 1}


def test_picks_per_hour_and_mis_scan_rate_are_computed_from_the_recorded_scans(floor):
    wave = wave_of(floor, order("T1", (CUP, 1)), order("T2", (TEA, 1)))
    floor.scans("P1", "pick", wave, "X-99", "A-01-01", TEA_EAN, "A-01-02", CUP_EAN)
    floor.system.catch_up()

    [picker] = [s for s in floor_statistics(floor.system.engine, datetime.now(timezone.utc) - timedelta(hours=1))
                if s["staff"] == "P1"]

    assert (picker["picks"], picker["units"], picker["scans"], picker["misscans"]) == (2, 2, 6, 1)
    assert (picker["picks_per_hour"], picker["misscan_rate"]) == (2.0, round(1 / 6, 3))
