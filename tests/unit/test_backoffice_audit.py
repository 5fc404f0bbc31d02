"""The audit chain over the event log, and browsing the events behind an order, a SKU or a bin."""

import pytest
from sqlalchemy import select

from domain.errors import UnknownBin, UnknownOrder, UnknownSku
from projections.audit import chain_table, bin_events, order_events, sku_events, verify_chain
from projections.backoffice import InvalidDate
from tests.builders import PAN, TEA
from tests.unit.test_backoffice_finance import NUMBERS, busy_day


@pytest.fixture
def busy(make_system):
    system = make_system("memory:")
    placed = busy_day(system)
    system.catch_up()
    return system, placed


def test_an_untouched_log_verifies_end_to_end(busy):
    system, _ = busy

    verdict = verify_chain(system.app.store, system.engine)

    assert verdict.intact, verdict.describe()
    assert verdict.checked == system.app.store.recorder.max_notification_id() and verdict.unchained == 0


def test_events_recorded_after_the_chain_are_counted_as_not_yet_chained(busy):
    system, _ = busy
    system.app.inventory.receive("WH1", TEA, 3, "alice")

    verdict = verify_chain(system.app.store, system.engine)

    assert verdict.intact and verdict.unchained == 1


def test_an_order_s_events_include_its_parcel_and_its_stock_with_their_place_in_the_chain(busy):
    system, placed = busy

    shown = order_events(system.app.store, system.engine, f"taobao/flagship/{NUMBERS['T101']}")

    assert [e["event"] for e in shown] == [
        "Order.Imported", "Stock.Reserved", "Order.Reserved", "Order.Waved", "Stock.Picked", "Order.ItemPicked",
        "Package.Opened", "Package.ItemVerified", "Package.Closed", "Order.Packed", "Package.Weighed",
        "Package.WaybillAssigned", "Package.HandedOver", "Stock.Shipped", "Order.Shipped", "Order.ReturnReceived",
        "Stock.Returned",
        "Order.Refunded"]
    with system.engine.connect() as conn:
        chained = {r.notification_id: r.hash for r in conn.execute(select(chain_table))}
    assert all(chained[e["notification_id"]] == e["hash"] for e in shown)
    assert order_events(system.app.store, system.engine, placed["T101"]) == shown


def test_browsed_events_carry_no_buyer_personal_data(busy):
    system, placed = busy

    shown = repr(order_events(system.app.store, system.engine, placed["T100"]))

    for personal in ("王小明", "13812345678", "文三路", "buyer_wang"):
        assert personal not in shown


def test_a_sku_s_events_and_a_bin_s_events(busy):
    system, _ = busy

    pan = [e["event"] for e in sku_events(system.app.store, system.engine, PAN)]
    bin_b = bin_events(system.app.store, system.engine, "WH1", "B-02-01")

    assert pan[:3] == ["Sku.Registered", "BarcodeClaim.Claimed", "Stock.Opened"]
    assert pan.count("Stock.Shipped") == 1 and pan.count("Stock.Returned") == 1
    assert [e["event"] for e in bin_b] == ["Stock.Received", "Stock.Reserved", "Stock.Picked"]
    assert all(e["data"].get("bin", "B-02-01") == "B-02-01" for e in bin_b)


def test_unknown_orders_skus_bins_and_bad_days_are_refused_by_name(busy):
    system, placed = busy

    with pytest.raises(UnknownOrder):
        order_events(system.app.store, system.engine, "6f1c1a52-3c1e-4c0e-9a57-43a4b1f0c0de")
    with pytest.raises(UnknownOrder):
        order_events(system.app.store, system.engine, "taobao/flagship/nope")
    with pytest.raises(UnknownOrder):
        order_events(system.app.store, system.engine, "not an id")
    with pytest.raises(UnknownSku):
        sku_events(system.app.store, system.engine, "NOPE-1")
    with pytest.raises(UnknownBin):
        bin_events(system.app.store, system.engine, "WH1", "Z-99")
    with pytest.raises(InvalidDate):
        order_events(system.app.store, system.engine, placed["T100"], since="2026-11-99")
