"""Courier jobs on the real RabbitMQ against the courier simulators: weigh → waybill → label → hand over →
tracking → delivered; an outage falls back to the next courier; an intercepted parcel's waybill is recycled."""

from datetime import timedelta

import pytest

from adapters.couriers.base import TRACKING_NUMBER_FORMATS
from adapters.couriers.simulators import run_all
from adapters.couriers.simulators.common import Fate, ManualClock
from domain.fulfilment import Package
from projections.parcels import logistics_exceptions
from tests.builders import TEA, TEA_EAN, order, warehouse_with_catalogue
from tests.integration.test_print_jobs import package_events
from tests.waiting import FAST_RETRIES, until

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def couriers():
    clock = ManualClock()
    sims = run_all(clock=clock, step=timedelta(hours=4))
    yield sims, clock
    sims.stop()


def weighed_order(app, number, province="浙江省", city="杭州市"):
    """A picked and packed order, weighed: what calls for a waybill."""
    new = order(number, (TEA, 1))
    new.region.update(province=province, city=city)
    [result] = app.orders.import_orders([new], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", f"W-{number}", [result["order_id"]], "sup")
    app.fulfilment.pick(wave, 0, "A-01-01", TEA_EAN, 1, "bob")
    app.fulfilment.verify_item(result["order_id"], TEA_EAN, "carl")
    app.fulfilment.close_package(result["order_id"], "carl")
    app.fulfilment.weigh(result["order_id"], 1200, "carl")
    return result["order_id"]


def started(make_system, sqlite_url, rabbitmq_url, queue_prefix, clients, tracker):
    system = make_system(sqlite_url, broker_url=rabbitmq_url, queue_prefix=queue_prefix)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10})
    system.start_jobs(shops={}, in_process_worker=True, retries=FAST_RETRIES, couriers=(clients, tracker))
    system.start_followers(interval=0.05)
    return system


@pytest.mark.parametrize("courier", ["SF", "ZTO", "YTO", "CAINIAO"])
def test_a_weighed_parcel_gets_its_waybill_label_and_tracking_until_delivered(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, couriers, courier):
    sims, clock = couriers
    # Cainiao is not a courier of its own: it issues e-waybills for one (here YTO), chosen by the rules as YTO.
    chosen = "YTO" if courier == "CAINIAO" else courier
    clients = {chosen: sims.clients()[courier]}
    system = started(make_system, sqlite_url, rabbitmq_url, queue_prefix, clients, sims.tracker())
    app = system.app

    order_id = weighed_order(app, f"C-{courier}")
    until(lambda: app.fulfilment.package(order_id).tracking_no)
    until(lambda: app.fulfilment.label_printed_count(order_id) == 1)
    app.fulfilment.hand_over(order_id, "dock")
    system.catch_up()
    clock.advance(days=3)
    system.jobs.track_parcels.send()
    until(lambda: app.orders.get_order(order_id)["status"] == "delivered")

    package = app.fulfilment.package(order_id)
    assert TRACKING_NUMBER_FORMATS[chosen].match(package.tracking_no)
    [assigned] = package_events(app, order_id, Package.WaybillAssigned)
    assert assigned.decision["courier"] == chosen and assigned.decision["reason"]
    routes = [e.status for e in package_events(app, order_id, Package.RouteUpdated)]
    assert routes[0] == "collected" and routes[-1] == "delivered"


def test_a_courier_outage_falls_back_to_the_second_choice_and_says_why(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, couriers):
    sims, _ = couriers
    sims.zto.outage("5xx")
    sims.sf.outage("busy")
    clients = sims.clients()
    system = started(make_system, sqlite_url, rabbitmq_url, queue_prefix, clients, sims.tracker())

    order_id = weighed_order(system.app, "C-OUT")
    until(lambda: system.app.fulfilment.package(order_id).tracking_no)

    [assigned] = package_events(system.app, order_id, Package.WaybillAssigned)
    assert assigned.courier not in ("ZTO", "SF")
    assert set(assigned.decision["passed_over"]) >= {"ZTO"} or "unavailable" in assigned.decision["reason"]


def test_an_intercepted_parcel_gives_its_waybill_back_and_a_returned_one_is_an_exception(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, couriers):
    sims, clock = couriers
    clients = {"SF": sims.clients()["SF"]}
    system = started(make_system, sqlite_url, rabbitmq_url, queue_prefix, clients, sims.tracker())
    app = system.app
    intercepted = weighed_order(app, "C-INT")
    returned = weighed_order(app, "C-RET")
    until(lambda: app.fulfilment.package(intercepted).tracking_no and app.fulfilment.package(returned).tracking_no)
    number = app.fulfilment.package(intercepted).tracking_no

    app.orders.refund_order(intercepted, "cs", "buyer cancelled")
    until(lambda: number in sims.sf.recycled)
    until(lambda: app.fulfilment.label_printed_count(returned) == 1)
    app.fulfilment.hand_over(returned, "dock")
    sims.sf.set_fate(app.fulfilment.package(returned).tracking_no, Fate.RETURNED)
    system.catch_up()
    clock.advance(days=4)
    system.jobs.track_parcels.send()
    until(lambda: app.fulfilment.package(returned).exception)

    assert app.orders.get_order(intercepted)["status"] == "cancelled"
    assert package_events(app, intercepted, Package.WaybillCancelled)
    system.catch_up()
    assert [p["tracking_no"] for p in logistics_exceptions(system.engine)] == [app.fulfilment.package(returned).tracking_no]
