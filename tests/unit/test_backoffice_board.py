"""Orders board: counts by status, channel and shop, and the exception queue."""

from datetime import datetime, timezone
from uuid import UUID, uuid5

import pytest
from eventsourcing.domain import Aggregate, event

from projections.backoffice import InvalidDate, InvalidFilter
from projections.orders_board import (ExceptionCleared, ExceptionRaised, OrdersBoardProjection, exception_queue,
                                      order_counts)
from projections.tracking import ProjectionRunner, topics_of
from tests.builders import CUP, TEA, warehouse_with_catalogue
from tests.unit.test_backoffice_finance import NUMBERS, busy_day, priced_order, ship


@pytest.fixture
def system(make_system):
    return make_system("memory:")


def queue(system, **filters):
    system.catch_up()
    return {(e["kind"], e["platform_order_no"]): e["detail"] for e in exception_queue(system.engine, **filters)}


def test_orders_are_counted_by_status_channel_and_shop(system):
    busy_day(system)
    system.catch_up()

    counts = order_counts(system.engine)

    assert [(r["status"], r["orders"]) for r in counts["by_status"]] == [
        ("held", 1), ("awaiting_stock", 1), ("shipped", 4), ("cancelled", 1)]
    assert [(r["channel"], r["orders"]) for r in counts["by_channel"]] == [("jd", 1), ("taobao", 6)]
    assert [(r["shop"], r["orders"]) for r in counts["by_shop"]] == [("jd-store", 1), ("flagship", 6)]
    assert order_counts(system.engine, channel="jd")["by_status"] == [{"status": "shipped", "orders": 1}]
    assert order_counts(system.engine, since="2026-11-12")["by_status"] == []


def test_held_and_short_orders_wait_in_the_queue_with_their_reasons(system):
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 5})

    system.app.orders.import_orders([priced_order("H1", (CUP, 1, "12.00"), region={}),
                              priced_order("S1", (CUP, 9, "12.00"))], warehouse="WH1")

    assert queue(system) == {("held", "H1"): "incomplete address", ("awaiting_stock", "S1"): f"short of {CUP}×4"}


def test_a_short_picked_order_waits_in_the_queue_with_the_missing_units(system):
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 1, (TEA, "A-01-02"): 1})
    [picked] = app.orders.import_orders([priced_order("P1", (TEA, 2, "45.00"))], warehouse="WH1")
    wave_id = app.fulfilment.create_wave("WH1", "W1", [picked["order_id"]], "sup")
    app.fulfilment.pick(wave_id, 0, app.fulfilment.wave(wave_id).lines[0]["bin"], TEA, 1, "bob")

    app.fulfilment.short_pick(wave_id, 1, "bob")

    assert queue(system) == {("short_pick", "P1"): f"short pick: {TEA}×1"}
    assert order_counts(system.engine)["by_status"] == [{"status": "held", "orders": 1}]


def test_an_exception_leaves_the_queue_when_the_order_moves_on(system):
    app = system.app
    warehouse_with_catalogue(app, {(CUP, "A-01-02"): 5})
    [held] = app.orders.import_orders([priced_order("H2", (CUP, 1, "12.00"), region={})], warehouse="WH1")
    assert ("held", "H2") in queue(system)

    app.orders.release_order(held["order_id"], "sup")
    app.orders.reserve_order(held["order_id"], "WH1", "sup")

    assert queue(system) == {}
    [cleared] = exception_queue(system.engine, include_cleared=True)
    assert (cleared["kind"], cleared["open"], cleared["cleared_at"] is not None) == ("held", False, True)
    assert order_counts(system.engine)["by_status"] == [{"status": "reserved", "orders": 1}]


def test_a_refund_while_the_order_is_picked_is_queued_as_intercepted(system):
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 5, (CUP, "A-01-02"): 5})
    [on_floor, not_yet] = app.orders.import_orders([priced_order("R1", (TEA, 1, "45.00"), (CUP, 1, "12.00")),
                                             priced_order("R2", (CUP, 1, "12.00"))], warehouse="WH1")
    wave_id = app.fulfilment.create_wave("WH1", "W1", [on_floor["order_id"]], "sup")
    for index, line in enumerate(app.fulfilment.wave(wave_id).lines):
        app.fulfilment.pick(wave_id, index, line["bin"], line["sku"], line["quantity"], "bob")

    app.orders.refund_order(on_floor["order_id"], "cs", "buyer changed mind")
    app.orders.refund_order(not_yet["order_id"], "cs", "buyer changed mind")

    assert queue(system) == {("intercepted", "R1"): f"refunded while picked ({TEA}×1, {CUP}×1): take the units "
                                                    "back; order cancelled"}
    statuses = {r["status"]: r["orders"] for r in order_counts(system.engine)["by_status"]}
    assert statuses == {"cancelled": 2}


def test_a_refund_that_cannot_reach_a_merged_parcel_on_the_floor_waits_to_be_intercepted_by_hand(system):
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 5, (CUP, "A-01-02"): 5})
    [lead, merged] = app.orders.import_orders([priced_order("ML", (TEA, 1, "45.00")),
                                               priced_order("MM", (CUP, 1, "12.00"))], warehouse="WH1")
    app.orders.merge_orders(lead["order_id"], [merged["order_id"]], "sup")
    wave_id = app.fulfilment.create_wave("WH1", "W1", [lead["order_id"]], "sup")

    applied = [app.orders.intercept_order(merged["order_id"], "pull:taobao", "channel status refund_requested")
               for _ in range(2)]

    assert applied == [False, False]
    assert queue(system) == {("intercept_by_hand", "MM"): (
        "channel status refund_requested not applied: the order travels in the parcel of order ML, already on the "
        "floor; take its units out of that parcel by hand (order ML is waved; cannot undo the merge (its parcel is "
        "already on the floor) (needs released or awaiting_stock or reserved))")}
    refusals = [e for e in app.store.events.get(UUID(str(merged["order_id"])))
                if type(e).__name__ == "InterceptRefused"]
    assert [(e.parcel_order_no, e.by) for e in refusals] == [("ML", "pull:taobao")]
    assert app.orders.get_order(merged["order_id"])["status"] == "merged"

    for index, line in enumerate(app.fulfilment.wave(wave_id).lines):
        app.fulfilment.pick(wave_id, index, line["bin"], line["sku"], line["quantity"], "bob")
    for sku in (TEA, CUP):
        app.fulfilment.verify_item(lead["order_id"], sku, "carl")
    app.fulfilment.close_package(lead["order_id"], "carl")
    app.fulfilment.weigh(lead["order_id"], 900, "carl")
    app.fulfilment.assign_waybill(lead["order_id"], "SF", "SF14W1", "755")
    app.fulfilment.hand_over(lead["order_id"], "dock")

    assert queue(system) == {}
    [cleared] = exception_queue(system.engine, kind="intercept_by_hand", include_cleared=True)
    assert (cleared["platform_order_no"], cleared["open"], cleared["times_raised"]) == ("MM", False, 1)


def test_a_refund_of_an_order_on_its_own_on_the_floor_is_still_intercepted_not_sent_by_hand(system):
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 5})
    [alone] = app.orders.import_orders([priced_order("MN", (TEA, 1, "45.00"))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W1", [alone["order_id"]], "sup")

    applied = app.orders.intercept_order(alone["order_id"], "pull:taobao", "channel status refund_requested")

    assert applied is True
    assert set(queue(system)) == {("intercepted", "MN")}
    assert app.orders.get_order(alone["order_id"])["status"] == "cancelled"


def test_a_failed_label_print_waits_in_the_queue_until_that_job_prints(system):
    app = system.app
    warehouse_with_catalogue(app, {(CUP, "A-01-02"): 5})
    [placed] = app.orders.import_orders([priced_order("L1", (CUP, 1, "12.00"))], warehouse="WH1")
    wave_id = app.fulfilment.create_wave("WH1", "W1", [placed["order_id"]], "sup")
    app.fulfilment.pick(wave_id, 0, "A-01-02", CUP, 1, "bob")
    app.fulfilment.verify_item(placed["order_id"], CUP, "carl")
    app.fulfilment.close_package(placed["order_id"], "carl")
    app.fulfilment.weigh(placed["order_id"], 300, "carl")
    app.fulfilment.assign_waybill(placed["order_id"], "SF", "SF1400000000009", "755")

    app.fulfilment.record_print_failure(placed["order_id"], "packing", "job-7", "printer offline", 1)
    system.catch_up()
    [failed] = exception_queue(system.engine)
    app.fulfilment.record_label_printed(placed["order_id"], "packing", "printer", job_id="job-7")

    assert (failed["kind"], failed["subject"]) == ("failed_job", "print:job-7")
    assert "printer offline" in failed["detail"] and "attempt 1" in failed["detail"]
    assert queue(system) == {}


def test_a_parcel_the_courier_reports_in_trouble_is_queued_with_its_order_until_delivered(system):
    app = system.app
    warehouse_with_catalogue(app, {(CUP, "A-01-02"): 5})
    [placed] = app.orders.import_orders([priced_order("D1", (CUP, 1, "12.00"))], warehouse="WH1")
    ship(app, placed["order_id"], "W1")
    at = datetime.now(timezone.utc)

    app.fulfilment.record_route(placed["order_id"], [{"key": "r1", "status": "returned", "at": at, "location": "杭州",
                                           "description": "收件人拒收"}])
    trouble = queue(system)
    app.fulfilment.record_route(placed["order_id"], [{"key": "r2", "status": "delivered", "at": at, "location": "杭州",
                                           "description": "已签收"}])

    assert trouble == {("logistics", "D1"): "courier reports returned"}
    assert queue(system) == {}
    assert order_counts(system.engine)["by_status"] == [{"status": "delivered", "orders": 1}]


class Parcel(Aggregate):
    """A courier's parcel as a later tracking feed might record it (test double of a future stream)."""

    @event("Registered")
    def __init__(self, tracking_no: str, order_id: str):
        self.tracking_no = tracking_no
        self.order_id = order_id

    @event("ExceptionReported")
    def report(self, note: str) -> None:
        pass

    @event("Delivered")
    def deliver(self) -> None:
        pass

    @staticmethod
    def create_id(tracking_no: str, **_) -> UUID:
        return uuid5(UUID(int=7), tracking_no)


class ParcelExceptions:
    topics = topics_of([Parcel.ExceptionReported, Parcel.Delivered])

    def read(self, e):
        if isinstance(e, Parcel.ExceptionReported):
            return [ExceptionRaised("logistics", str(e.originator_id), e.note)]
        return [ExceptionCleared("logistics", str(e.originator_id))]


def test_a_feed_puts_logistics_exceptions_from_its_own_events_on_the_queue(system):
    system.runners["orders_board"] = ProjectionRunner(system.app.store, system.engine,
                                                      OrdersBoardProjection(feeds=[ParcelExceptions()]))
    parcel = Parcel("SF1400000000001", "")
    parcel.report("parcel damaged at the Hangzhou hub")
    system.app.store.save(parcel)
    system.catch_up()
    [reported] = exception_queue(system.engine, kind="logistics")

    parcel.deliver()
    system.app.store.save(parcel)

    assert (reported["subject"], reported["detail"]) == (str(parcel.id), "parcel damaged at the Hangzhou hub")
    assert queue(system) == {}


def test_bad_filters_are_refused_by_name(system):
    busy_day(system)
    system.catch_up()

    with pytest.raises(InvalidFilter, match="not one of"):
        exception_queue(system.engine, kind="lost_in_space")
    with pytest.raises(InvalidDate):
        exception_queue(system.engine, since="yesterday")
    with pytest.raises(InvalidDate):
        order_counts(system.engine, until="2026-02-30")


def test_shipped_orders_leave_no_exception_behind(system):
    placed = busy_day(system)
    ship_later = priced_order("T106", (CUP, 1, "12.00"))
    [result] = system.app.orders.import_orders([ship_later], warehouse="WH1")
    ship(system.app, result["order_id"], "W9")

    assert set(queue(system)) == {("held", NUMBERS["T104"]), ("awaiting_stock", NUMBERS["T103"])}
    assert placed["T104"]
