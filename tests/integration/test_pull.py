"""Pulling a shop over HTTP from its simulator: changes after import reach the order."""

from datetime import timedelta

import pytest

from adapters.marketplaces.simulators.base import masked_detail
from domain.order import Order
from tests.integration.test_channel_jobs import demo_warehouse
from tests.marketplaces import clients
from workers.pull import pull_shop


@pytest.mark.parametrize("channel", ["taobao", "jd", "pinduoduo", "douyin", "kuaishou"])
def test_an_address_changed_and_a_refund_requested_after_import_reach_the_orders(make_system, simulators, channel):
    sim = simulators.simulators[channel]
    now = sim.clock()
    moved, refunded, _ = [o.order_no for o in sim.seed(3, now - timedelta(hours=1), now - timedelta(minutes=5))]
    system = make_system()
    demo_warehouse(system.app)
    client = clients(simulators)[(channel, "main")]
    pull_shop(system.app, client, channel, "main", "WH1")

    order = sim.orders[moved]
    order.city, order.detail, order.modified = "宁波市", "中山东路 1 号", now.replace(microsecond=0)
    sim.change_order(refunded, status="refund_requested", at=now)
    second = pull_shop(system.app, client, channel, "main", "WH1", now=now + timedelta(seconds=10))

    assert (second["updated"], second["intercepted"]) == (1, 1)
    changed = system.app.orders.find_order(channel, "main", moved)
    # the platforms hand out the street address masked; the new one arrives masked too
    assert changed.region["city"] == "宁波市" and changed.buyer.address.endswith(masked_detail("中山东路 1 号"))
    assert isinstance(list(system.app.store.events.get(changed.id))[-1], Order.AddressChanged)
    cancelled = system.app.orders.find_order(channel, "main", refunded)
    assert cancelled.status == "cancelled"
    assert all(v["reserved"] == 0 for sku in cancelled.quantities()
               for v in system.app.inventory.stock_levels("WH1", sku).values())
