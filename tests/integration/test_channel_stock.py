"""Channel stock on the real RabbitMQ: each listing shows its share of sellable stock, kits included; only changes
are pushed, a burst is coalesced, and a sold-out SKU shows 0 everywhere within seconds."""

import threading
import time
from decimal import Decimal

import pytest

from projections.channel_stock import channel_stock
from tests.builders import CUP, TEA, order, warehouse_with_catalogue
from tests.integration.test_channel_jobs import ship_everything
from tests.marketplaces import clients
from tests.waiting import FAST_RETRIES, until

pytestmark = pytest.mark.rabbitmq


def test_listings_follow_sellable_stock_and_show_zero_when_it_runs_out(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, simulators):
    taobao, pdd = simulators.simulators["taobao"], simulators.simulators["pinduoduo"]
    system = make_system(sqlite_url, broker_url=rabbitmq_url, queue_prefix=queue_prefix)
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 40, (CUP, "A-01-02"): 30})
    app.channels.map_listing("taobao", "main", "4200101", {TEA: 1}, item_id="600101", share=Decimal("0.5"), buffer=2)
    app.channels.map_listing("pinduoduo", "main", "4200201", {TEA: 1, CUP: 2}, item_id="600202", maximum=12)
    system.start_jobs(shops=clients(simulators), in_process_worker=True, retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    until(lambda: taobao.stock.get("4200101") == 18 and pdd.stock.get("4200201") == 12,
          explain=lambda: f"{taobao.stock_updates} {pdd.stock_updates} {channel_stock(system.engine)}")
    pushes_before = len(taobao.stock_updates)
    app.orders.import_orders([order(f"B{n}", (TEA, 1)) for n in range(10)], warehouse="WH1")
    for n in range(10):
        app.orders.import_orders([order(f"C{n}", (TEA, 1))], warehouse="WH1")
    until(lambda: taobao.stock.get("4200101") == 8)
    burst_pushes = len(taobao.stock_updates) - pushes_before

    app.inventory.count("WH1", TEA, "A-01-01", 20, "damaged in the flood", "eve")
    until(lambda: taobao.stock.get("4200101") == 0 and pdd.stock.get("4200201") == 0, 10)
    time.sleep(0.5)

    assert burst_pushes < 20
    assert [u["quantity"] for u in taobao.stock_updates][-1] == 0
    system.catch_up()
    assert {r["platform_sku"]: (r["published"], r["should_show"]) for r in channel_stock(system.engine)} == {
        "4200101": (0, 0), "4200201": (0, 0)}
    pushed_once = [u["quantity"] for u in pdd.stock_updates]
    assert len(pushed_once) == len(set(pushed_once))


def test_a_flash_sale_on_three_channels_never_sells_more_than_the_fifty_units_in_stock(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, simulators):
    sims = {channel: simulators.simulators[channel] for channel in ("taobao", "jd", "pinduoduo")}
    system = make_system(sqlite_url, broker_url=rabbitmq_url, queue_prefix=queue_prefix)
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 50})
    listing = {channel: "4200101" for channel in sims}  # the tea each platform lists
    for channel, platform_sku in listing.items():
        app.channels.map_listing(channel, "main", platform_sku, {TEA: 1}, item_id="600101")
    system.start_jobs(shops=clients(simulators), in_process_worker=True, retries=FAST_RETRIES)
    system.start_followers(interval=0.05)
    until(lambda: all(sim.stock.get(listing[channel]) == 50 for channel, sim in sims.items()))

    placed: list[tuple[str, str]] = []

    def shoppers(channel: str) -> None:
        """Buyers on one platform take whatever it shows, a few orders at a time, until it shows nothing."""
        sim, n = sims[channel], 0
        for _ in range(40):
            shown = sim.stock.get(listing[channel], 0)
            if shown <= 0:
                return
            burst = [order(f"{channel}-{n + k}", (TEA, 1 + k % 2), channel=channel, shop="main")
                     for k in range(min(3, shown))]
            n += len(burst)
            app.orders.import_orders(burst, warehouse="WH1")
            placed.extend((channel, o.platform_order_no) for o in burst)
            time.sleep(0.01)

    crowd = [threading.Thread(target=shoppers, args=(channel,)) for channel in sims]
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join()
    until(lambda: all(sim.stock.get(listing[channel]) == 0 for channel, sim in sims.items()), 15,
          explain=lambda: {channel: sim.stock_updates[-3:] for channel, sim in sims.items()})

    pushed = [u["quantity"] for sim in sims.values() for u in sim.stock_updates]
    assert min(pushed) >= 0
    orders = [app.orders.find_order(channel, "main", number) for channel, number in placed]
    reserved = [o.id for o in orders if o.status == "reserved"]
    assert len(orders) > len(reserved)  # more was ordered than there was: the rest waits for stock
    ship_everything(app, reserved)
    shipped = sum(q for o in map(app.orders.order, reserved) for q in o.quantities().values())
    assert shipped <= 50
    assert all(level["on_hand"] >= 0 for level in app.inventory.stock_levels("WH1", TEA).values())
    assert sum(level["on_hand"] for level in app.inventory.stock_levels("WH1", TEA).values()) == 50 - shipped
