"""Channel stock on the real RabbitMQ: each listing shows its share of sellable stock, kits included; only changes
are pushed, a burst is coalesced, and a sold-out SKU shows 0 everywhere within seconds."""

import time
from decimal import Decimal

import pytest

from projections.channel_stock import channel_stock
from tests.builders import CUP, TEA, order, warehouse_with_catalogue
from tests.marketplaces import clients
from tests.waiting import FAST_RETRIES, until

pytestmark = pytest.mark.rabbitmq


def test_listings_follow_sellable_stock_and_show_zero_when_it_runs_out(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, simulators):
    taobao, pdd = simulators.simulators["taobao"], simulators.simulators["pinduoduo"]
    system = make_system(sqlite_url, broker_url=rabbitmq_url, queue_prefix=queue_prefix)
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 40, (CUP, "A-01-02"): 30})
    app.map_listing("taobao", "main", "4200101", {TEA: 1}, item_id="600101", share=Decimal("0.5"), buffer=2)
    app.map_listing("pinduoduo", "main", "4200201", {TEA: 1, CUP: 2}, item_id="600202", maximum=12)
    system.start_jobs(shops=clients(simulators), in_process_worker=True, retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    until(lambda: taobao.stock.get("4200101") == 18 and pdd.stock.get("4200201") == 12,
          explain=lambda: f"{taobao.stock_updates} {pdd.stock_updates} {channel_stock(system.engine)}")
    pushes_before = len(taobao.stock_updates)
    app.import_orders([order(f"B{n}", (TEA, 1)) for n in range(10)], warehouse="WH1")
    for n in range(10):
        app.import_orders([order(f"C{n}", (TEA, 1))], warehouse="WH1")
    until(lambda: taobao.stock.get("4200101") == 8)
    burst_pushes = len(taobao.stock_updates) - pushes_before

    app.count("WH1", TEA, "A-01-01", 20, "damaged in the flood", "eve")
    until(lambda: taobao.stock.get("4200101") == 0 and pdd.stock.get("4200201") == 0, 10)
    time.sleep(0.5)

    assert burst_pushes < 20
    assert [u["quantity"] for u in taobao.stock_updates][-1] == 0
    system.catch_up()
    assert {r["platform_sku"]: (r["published"], r["should_show"]) for r in channel_stock(system.engine)} == {
        "4200101": (0, 0), "4200201": (0, 0)}
    pushed_once = [u["quantity"] for u in pdd.stock_updates]
    assert len(pushed_once) == len(set(pushed_once))
