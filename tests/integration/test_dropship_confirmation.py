"""A dropship order's tracking number reaches the marketplace through the same confirmation job as our own parcels:
pulled from the platform's simulator, shipped by the supplier, confirmed once on the platform with the supplier's
courier and tracking number."""

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from adapters.marketplaces.simulators import SIMULATORS
from adapters.marketplaces.simulators.base import OrderStatus, SimLine
from projections.dropship import open_dropship_ids
from tests.marketplaces import in_process
from tests.unit.test_dropship import GIFT, dropship_world
from tests.waiting import FAST_RETRIES, until
from workers.pull import pull_shop


def test_the_suppliers_tracking_number_is_confirmed_on_the_platform(make_system, sqlite_url):
    sim = SIMULATORS["taobao"](shop="main")
    placed = sim.add_order(status=OrderStatus.PAID, modified=sim.clock() - timedelta(minutes=5),
                           lines=[SimLine("6001", "7001", GIFT, "礼盒", 1, Decimal("49.00"))])
    client = in_process(sim)
    system = make_system(sqlite_url)
    dropship_world(system.app)
    pull_shop(system.app, client, "taobao", "main", "WH1")
    system.catch_up()
    [dropship_id] = open_dropship_ids(system.engine, "HZ-GIFT")
    system.start_jobs(shops={("taobao", "main"): client}, in_process_worker=True, retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    system.app.dropship.record_shipment(UUID(dropship_id), "ZTO", "ZT5550001", "supplier:HZ-GIFT")

    until(lambda: system.app.dropship.dropship_order(UUID(dropship_id)).status == "confirmed", 20,
          lambda: str(sim.shipments))
    assert [(s["order_no"], s["tracking_no"]) for s in sim.shipments] == [(placed.order_no, "ZT5550001")]
    assert sim.orders[placed.order_no].status == OrderStatus.SHIPPED
