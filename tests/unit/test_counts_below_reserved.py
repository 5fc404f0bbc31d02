"""A count below what a bin holds for orders: every order gets its units from other bins or goes back to waiting."""

import pytest

from domain.errors import CountBelowPicked, CountBelowReserved, InvalidOrderState
from domain.ids import stock_id
from projections.invariants import check_log
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, warehouse_with_catalogue


@pytest.fixture
def app(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 4, (CUP, "A-01-02"): 10})
    return system.app


def reserve(app, *orders) -> list:
    return [r["order_id"] for r in app.orders.import_orders(list(orders), warehouse="WH1")]


def reserved_by_order(app, sku: str) -> dict:
    return {order: dict(bins) for order, bins in app.store.peek(stock_id("WH1", sku)).reservations.items()}


def test_units_counted_gone_are_reserved_again_from_another_bin_and_the_order_stays_reserved(app):
    app.inventory.receive("WH1", TEA, 3, "R1", bin="RCV-01")
    app.inventory.put_away("WH1", TEA, "B-02-01", 3, "R1")
    [t1] = reserve(app, order("T1", (TEA, 3)))

    difference = app.counts.count("WH1", TEA, "A-01-01", 1, "cycle count", "eve")

    assert difference == -3
    assert reserved_by_order(app, TEA) == {str(t1): {"A-01-01": 1, "B-02-01": 2}}
    assert app.orders.order(t1).status == "reserved"
    wave = app.fulfilment.wave(app.fulfilment.create_wave("WH1", "W1", [t1], "S1"))
    assert sorted((line["bin"], line["quantity"]) for line in wave.lines) == [("A-01-01", 1), ("B-02-01", 2)]


def test_orders_whose_units_are_gone_everywhere_go_back_to_awaiting_stock_with_nothing_reserved(app):
    [t1, t2] = reserve(app, order("T1", (TEA, 2), (CUP, 1)), order("T2", (TEA, 2)))

    app.counts.count("WH1", TEA, "A-01-01", 0, "cycle count", "eve")

    assert [app.orders.order(o).status for o in (t1, t2)] == ["awaiting_stock", "awaiting_stock"]
    assert reserved_by_order(app, TEA) == {} and reserved_by_order(app, CUP) == {}
    events = [type(e).__qualname__ for e in app.store.events.get(t1)]
    assert events[-1] == "Order.StockShort"


def test_after_restocking_the_orders_are_reserved_and_waved_with_every_unit_on_the_pick_list(app):
    [t1, t2] = reserve(app, order("T1", (TEA, 2)), order("T2", (TEA, 2)))
    app.counts.count("WH1", TEA, "A-01-01", 0, "cycle count", "eve")
    app.inventory.receive("WH1", TEA, 4, "R1", bin="RCV-01")
    app.inventory.put_away("WH1", TEA, "A-01-01", 4, "R1")

    for order_id in (t1, t2):
        app.orders.reserve_order(order_id, "WH1", "S1")
    wave = app.fulfilment.wave(app.fulfilment.create_wave("WH1", "W1", [t1, t2], "S1"))

    assert sum(line["quantity"] for line in wave.lines) == 4
    assert [app.orders.order(o).status for o in (t1, t2)] == ["waved", "waved"]


def test_only_the_units_above_the_count_are_taken_from_the_latest_orders(app):
    [t1, t2] = reserve(app, order("T1", (TEA, 2)), order("T2", (TEA, 2)))

    app.counts.count("WH1", TEA, "A-01-01", 3, "cycle count", "eve")

    assert app.orders.order(t1).status == "reserved" and reserved_by_order(app, TEA)[str(t1)] == {"A-01-01": 2}
    assert app.orders.order(t2).status == "awaiting_stock" and str(t2) not in reserved_by_order(app, TEA)
    assert app.inventory.stock_levels("WH1", TEA)["A-01-01"] == {"on_hand": 3, "reserved": 2}


def test_a_waved_order_counted_short_leaves_its_wave_and_is_reserved_again_from_another_bin(app):
    [t1] = reserve(app, order("T1", (TEA, 2), (CUP, 1)))
    wave_id = app.fulfilment.create_wave("WH1", "W1", [t1], "S1")
    app.inventory.receive("WH1", TEA, 2, "R1", bin="RCV-01")
    app.inventory.put_away("WH1", TEA, "B-02-01", 2, "R1")

    app.counts.count("WH1", TEA, "A-01-01", 1, "cycle count", "eve")

    wave = app.fulfilment.wave(wave_id)
    assert wave.open_lines() == [] and all(line["withdrawn"] for line in wave.lines)
    assert app.orders.order(t1).status == "reserved"
    assert reserved_by_order(app, TEA)[str(t1)] == {"A-01-01": 1, "B-02-01": 1}
    new_wave = app.fulfilment.wave(app.fulfilment.create_wave("WH1", "W2", [t1], "S1"))
    assert sorted((line["sku"], line["bin"], line["quantity"]) for line in new_wave.lines) == [
        (CUP, "A-01-02", 1), (TEA, "A-01-01", 1), (TEA, "B-02-01", 1)]


def test_a_partly_picked_order_counted_short_has_the_bins_line_marked_short_and_is_held(app):
    [t1] = reserve(app, order("T1", (TEA, 2), (CUP, 1)))
    wave_id = app.fulfilment.create_wave("WH1", "W1", [t1], "S1")
    cup_line = next(i for i, line in enumerate(app.fulfilment.wave(wave_id).lines) if line["sku"] == CUP)
    app.fulfilment.pick(wave_id, cup_line, "A-01-02", CUP_EAN, 1, "P1")

    app.counts.count("WH1", TEA, "A-01-01", 0, "cycle count", "eve")

    order_now = app.orders.order(t1)
    assert order_now.status == "held" and order_now.hold_reasons == ["count short: TEA-LJ-250×2 in A-01-01"]
    assert app.fulfilment.wave(wave_id).open_lines() == []
    assert str(t1) not in reserved_by_order(app, TEA)


def test_a_count_under_units_already_picked_is_refused_and_changes_nothing(app):
    [t1] = reserve(app, order("T1", (TEA, 2)))
    wave_id = app.fulfilment.create_wave("WH1", "W1", [t1], "S1")
    app.fulfilment.pick(wave_id, 0, "A-01-01", TEA_EAN, 2, "P1")

    with pytest.raises(CountBelowPicked, match="T1"):
        app.counts.count("WH1", TEA, "PACK-01", 1, "cycle count", "eve")

    assert app.inventory.stock_levels("WH1", TEA)["PACK-01"] == {"on_hand": 2, "reserved": 2}


def test_a_large_difference_approved_by_a_supervisor_also_sends_the_orders_back(app):
    [t1] = reserve(app, order("T1", (TEA, 3)))
    request = app.inventory.request_count_adjustment("WH1", "A-01-01", TEA, 0, "cycle count", "eve")

    app.counts.approve_count_adjustment(request, "S1")

    assert app.orders.order(t1).status == "awaiting_stock" and reserved_by_order(app, TEA) == {}


def test_the_inventory_service_alone_refuses_a_count_that_would_leave_orders_holding_nothing(app):
    reserve(app, order("T1", (TEA, 3)))

    with pytest.raises(CountBelowReserved):
        app.inventory.count("WH1", TEA, "A-01-01", 1, "cycle count", "eve")

    assert app.inventory.stock_levels("WH1", TEA)["A-01-01"] == {"on_hand": 4, "reserved": 3}


def test_a_wave_of_an_order_holding_no_units_is_refused(app):
    [t1] = reserve(app, order("T1", (TEA, 2)))
    stock = app.store.repository.get(stock_id("WH1", TEA))
    stock.count("A-01-01", 0, "dropped the way counts did before", "eve")
    app.store.save(stock)

    with pytest.raises(InvalidOrderState, match="T1 holds no reserved units"):
        app.fulfilment.create_wave("WH1", "W1", [t1], "S1")

    assert app.orders.order(t1).status == "reserved"


def test_after_counts_that_send_orders_back_hold_them_or_top_them_up_the_audit_check_finds_nothing(make_system):
    system = make_system("memory:")
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 6, (TEA, "B-02-01"): 1, (CUP, "A-01-02"): 10})
    [waved, picking, reserved] = reserve(app, order("T1", (TEA, 2)), order("T2", (TEA, 2), (CUP, 1)),
                                         order("T3", (TEA, 2)))
    wave_id = app.fulfilment.create_wave("WH1", "W1", [waved, picking], "S1")
    cup_line = next(i for i, line in enumerate(app.fulfilment.wave(wave_id).lines) if line["sku"] == CUP)
    app.fulfilment.pick(wave_id, cup_line, "A-01-02", CUP_EAN, 1, "P1")

    app.counts.count("WH1", TEA, "A-01-01", 1, "cycle count", "eve")

    statuses = [app.orders.order(o).status for o in (waved, picking, reserved)]
    audit = check_log(app.store, system.fresh("inventory"))
    assert audit.passed, [str(f) for f in audit.failures]
    assert statuses == ["reserved", "held", "awaiting_stock"]
