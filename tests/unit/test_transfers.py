"""Transfers between warehouses (调拨): shipped from the source's storage bins into transit, received at the
destination by scan with more or fewer than shipped recorded, and the units in transit seen now and at an instant."""

import copy
from datetime import datetime, timezone

import pytest

from domain.errors import InsufficientStock, InvalidInput
from domain.scanning import Scan
from domain.transfer import InvalidTransferState, TransferExists
from projections import transfers as view
from projections.inventory import stock_by_bin
from projections.invariants import check_log
from scanner_ui.ports import FloorPorts
from tests.builders import BINS, CUP, TEA, TEA_EAN, warehouse_with_catalogue


@pytest.fixture
def system(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 4, (TEA, "A-01-02"): 6, (CUP, "B-02-01"): 3})
    system.app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        system.app.inventory.add_location("WH2", bin, zone, area, sequence)
    system.app.staff.register_staff("R2", "Receiver in Beijing", "receiver", "73914682", "admin")
    return system


def test_shipping_takes_the_units_out_of_the_source_bins_in_pick_order_and_puts_them_in_transit(system):
    app = system.app
    app.transfers.draft("TR-1", "WH1", "WH2", {TEA: 7, CUP: 3}, "S1")

    shipped = app.transfers.ship("TR-1", "S1")

    assert shipped["status"] == "shipped" and shipped["in_transit"] == {TEA: 7, CUP: 3}
    assert app.inventory.stock_levels("WH1", TEA) == {"A-01-02": {"on_hand": 3, "reserved": 0}}
    assert app.inventory.stock_levels("WH1", CUP) == {}
    system.catch_up()
    assert [(r["number"], r["sku"], r["in_transit"]) for r in view.in_transit(system.engine)] == [
        ("TR-1", CUP, 3), ("TR-1", TEA, 7)]
    assert {(r["bin"], r["on_hand"]) for r in stock_by_bin(system.engine, "WH1", TEA)} == {("A-01-02", 3)}


def test_a_transfer_that_cannot_be_filled_ships_nothing(system):
    app = system.app
    app.transfers.draft("TR-2", "WH1", "WH2", {TEA: 5, CUP: 4}, "S1")

    with pytest.raises(InsufficientStock):
        app.transfers.ship("TR-2", "S1")

    assert app.transfers.transfer("TR-2")["status"] == "draft"
    assert app.inventory.stock_levels("WH1", TEA)["A-01-01"]["on_hand"] == 4


def test_receiving_by_scan_at_the_destination_books_the_units_there_and_ends_their_transit(system):
    app = system.app
    app.transfers.draft("TR-3", "WH1", "WH2", {TEA: 5}, "S1")
    app.transfers.ship("TR-3", "S1")
    ports = FloorPorts(system, lambda order_id, by: "fake", count_approval_threshold=2)
    ports.warehouse = "WH2"

    answers = [app.floor.scan(Scan("pda-2", n, "R2", "receive", value), ports)
               for n, value in enumerate(("TR-3", TEA_EAN, "3"), 1)]

    assert [a.key for a in answers] == ["transfer_set", "enter_received_quantity", "received"]
    assert app.inventory.stock_levels("WH2", TEA) == {"RCV-01": {"on_hand": 3, "reserved": 0}}
    assert app.transfers.transfer("TR-3")["in_transit"] == {TEA: 2}
    system.catch_up()
    assert view.transfer(system.engine, "TR-3")["items"][0]["in_transit"] == 2


def test_closing_records_units_never_received_as_under_and_extra_units_as_over(system):
    app = system.app
    app.transfers.draft("TR-4", "WH1", "WH2", {TEA: 5, CUP: 2}, "S1")
    app.transfers.ship("TR-4", "S1")
    app.transfers.receive("TR-4", TEA, 4, "R2")
    over = app.transfers.receive("TR-4", CUP, 3, "R2")

    closed = app.transfers.close("TR-4", "S1")

    assert over["over"] == 1
    assert closed == {"under": {TEA: 1}, "over": {CUP: 1}}
    system.catch_up()
    assert view.in_transit(system.engine) == []
    items = {i["sku"]: i for i in view.transfer(system.engine, "TR-4")["items"]}
    assert (items[TEA]["under"], items[CUP]["over"]) == (1, 1)
    audit = check_log(app.store, system.fresh("inventory"))
    assert audit.passed, [str(f) for f in audit.failures]


def test_units_in_transit_are_answered_as_of_an_instant(system):
    app = system.app
    app.transfers.draft("TR-5", "WH1", "WH2", {TEA: 4}, "S1")
    app.transfers.ship("TR-5", "S1")
    system.catch_up()
    between = datetime.now(timezone.utc)
    app.transfers.receive("TR-5", TEA, 4, "R2")
    system.catch_up()

    assert [r["in_transit"] for r in view.in_transit(system.engine, TEA, at=between)] == [4]
    assert view.in_transit(system.engine, TEA) == []


def test_refusals_change_nothing(system):
    app = system.app
    app.transfers.draft("TR-6", "WH1", "WH2", {TEA: 1}, "S1")

    with pytest.raises(TransferExists):
        app.transfers.draft("TR-6", "WH1", "WH2", {TEA: 1}, "S1")
    with pytest.raises(InvalidInput):
        app.transfers.draft("TR-7", "WH1", "WH1", {TEA: 1}, "S1")
    with pytest.raises(InvalidTransferState):
        app.transfers.receive("TR-6", TEA, 1, "R2")
    app.transfers.ship("TR-6", "S1")
    with pytest.raises(InvalidInput, match="received in warehouse WH2"):
        app.transfers.receive("TR-6", TEA, 1, "R2", warehouse="WH1")

    assert app.inventory.stock_levels("WH2", TEA) == {}


def test_units_scanned_out_bin_by_bin_are_in_transit_at_once_and_done_ships_the_transfer_short(system):
    app = system.app
    app.staff.register_staff("R1", "Receiver in Hangzhou", "receiver", "73914682", "admin")
    app.transfers.draft("TR-8", "WH1", "WH2", {TEA: 8}, "S1")
    ports = FloorPorts(system, lambda order_id, by: "fake", count_approval_threshold=2)
    elsewhere = copy.copy(ports)
    elsewhere.warehouse = "WH2"

    refused = app.floor.scan(Scan("pda-2", 1, "R2", "dispatch", "TR-8"), elsewhere)
    answers = [app.floor.scan(Scan("pda-1", n, "R1", "dispatch", value), ports)
               for n, value in enumerate(("TR-8", "A-01-01", TEA_EAN, "4", "A-01-02", TEA_EAN, "3"), 1)]
    midway = app.transfers.transfer("TR-8")
    done = app.floor.scan(Scan("pda-1", 8, "R1", "dispatch", "done", "action"), ports)

    assert (refused.outcome, refused.key) == ("refused", "transfer_in_other_warehouse")
    assert [a.key for a in answers] == ["transfer_set", "bin_set", "enter_sent_quantity", "sent_on_transfer",
                                        "bin_set", "enter_sent_quantity", "sent_on_transfer"]
    assert (midway["status"], midway["in_transit"]) == ("shipping", {TEA: 7})
    assert done.key == "transfer_shipped" and app.transfers.transfer("TR-8")["status"] == "shipped"
    assert app.inventory.stock_levels("WH1", TEA) == {"A-01-02": {"on_hand": 3, "reserved": 0}}
    system.catch_up()
    assert [(r["number"], r["in_transit"]) for r in view.in_transit(system.engine)] == [("TR-8", 7)]


def test_more_units_than_the_transfer_asks_for_are_refused_and_stay_in_the_bin(system):
    app = system.app
    app.transfers.draft("TR-9", "WH1", "WH2", {TEA: 2}, "S1")

    with pytest.raises(InvalidInput):
        app.transfers.send("TR-9", TEA, "A-01-02", 3, "R1")

    assert app.inventory.stock_levels("WH1", TEA)["A-01-02"]["on_hand"] == 6
    assert app.transfers.transfer("TR-9")["status"] == "draft"


def test_the_audit_check_names_a_transfer_whose_arrival_never_reached_the_destinations_bins(system):
    from domain.transfer import transfer_id

    app = system.app
    app.transfers.draft("TR-10", "WH1", "WH2", {TEA: 2}, "S1")
    app.transfers.ship("TR-10", "S1")
    app.transfers.receive("TR-10", TEA, 1, "R2")
    before = check_log(app.store, system.fresh("inventory"))
    broken = app.store.repository.get(transfer_id("TR-10"))
    broken.receive(TEA, 1, "RCV-01", "R2")  # the transfer alone, as a faulty command would save it
    app.store.save(broken)

    after = check_log(app.store, system.fresh("inventory"))

    assert before.passed and before.checked["transfers_match_stock"] == 1
    assert [(f.check, f.problem) for f in after.failures] == [
        ("transfers_match_stock", f"says 2 {TEA} arrived but the destination's bins took in 1")]


def test_a_lot_tracked_sku_is_refused_on_a_transfer_by_name(system):
    app = system.app
    app.catalogue.edit_sku(CUP, "S1", lot_tracked=True, shelf_life_days=365)

    with pytest.raises(InvalidInput, match=f"{CUP} is lot tracked"):
        app.transfers.draft("TR-11", "WH1", "WH2", {CUP: 1}, "S1")

    assert not app.transfers.is_transfer("TR-11")
