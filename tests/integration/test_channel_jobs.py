"""Marketplace jobs on the real RabbitMQ: pulls that miss nothing, confirmations exactly once, broker outages."""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest

from tests.marketplaces import clients
from domain.order import Order
from workers.pull import pull_shop
from tests.waiting import FAST_RETRIES, until

pytestmark = pytest.mark.rabbitmq

SKUS = ["TEA-LJ-250", "TEA-LJ-500", "CUP-GL-350", "SOCK-WM-L", "SOCK-WM-M", "PEN-GEL-05", "NOTE-A5-DOT", "BAG-CV-01"]


def demo_warehouse(app):
    app.catalogue.register_skus({n: {"code": code, "name": code} for n, code in enumerate(SKUS)})
    app.inventory.add_locations({1: ("WH1", "RCV-01", "R", "receiving", 0), 2: ("WH1", "A-01-01", "A", "storage", 10),
                       3: ("WH1", "PACK-01", "P", "packing", 0)})
    app.inventory.load_opening_stock({n: ("WH1", code, "A-01-01", 100_000) for n, code in enumerate(SKUS)}, "opening")


def imported(app, kind=Order.Imported):
    found = {}
    for n in app.store.recorder.select_notifications(1, 10**7, topics=[f"domain.order:Order.{kind.__name__}"]):
        e = app.store.mapper.to_domain_event(n)
        key = (e.channel, e.platform_order_no) if kind is Order.Imported else e.originator_id
        found[key] = found.get(key, 0) + 1
    return found


def ship_everything(app, order_ids):
    wave = app.fulfilment.create_wave("WH1", f"W{uuid.uuid4().hex[:6]}", order_ids, "sup")
    for index, line in enumerate(app.fulfilment.wave(wave).lines):
        app.fulfilment.pick(wave, index, line["bin"], line["sku"], line["quantity"], "bob")
    for n, order_id in enumerate(order_ids):
        for sku, quantity in app.orders.order(order_id).quantities().items():
            for _ in range(quantity):
                app.fulfilment.verify_item(order_id, sku, "carl")
        app.fulfilment.close_package(order_id, "carl")
        app.fulfilment.weigh(order_id, 500, "carl")
        app.fulfilment.assign_waybill(order_id, "SF", f"SF{1500000000000 + n}", "755")
        app.fulfilment.hand_over(order_id, "dock")


def test_pulls_through_rabbitmq_import_every_platform_order_exactly_once(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, simulators):
    now = simulators.simulators["taobao"].clock()
    for sim in simulators.simulators.values():
        sim.seed(260, now - timedelta(hours=20), now - timedelta(minutes=1), seed=3)
    system = make_system(sqlite_url, broker_url=rabbitmq_url, queue_prefix=queue_prefix)
    demo_warehouse(system.app)
    system.start_jobs(shops=clients(simulators), in_process_worker=True, retries=FAST_RETRIES)

    for channel, shop in system.jobs.shops:
        system.jobs.pull_orders.send(channel, shop)
    until(lambda: all(system.app.channels.pulled_until(c, s) for c, s in system.jobs.shops), 60)
    checkpoints = {shop: system.app.channels.pulled_until(*shop) for shop in system.jobs.shops}
    for channel, sim in simulators.simulators.items():
        # One order indexed late, inside the overlap window, and one new.
        sim.add_order(modified=checkpoints[(channel, "main")] - timedelta(minutes=3))
        sim.add_order()
    time.sleep(5.5)
    for channel, shop in system.jobs.shops:
        system.jobs.pull_orders.send(channel, shop)
    until(lambda: all(system.app.channels.pulled_until(*shop) > checkpoints[shop] for shop in system.jobs.shops), 60)

    counts = imported(system.app)
    for channel, sim in simulators.simulators.items():
        assert {number for c, number in counts if c == channel} == set(sim.orders)
        assert sim.list_pages_served >= 6
    assert set(counts.values()) == {1}
    assert len(counts) == 5 * 262


def worker_process(sqlite_url, tmp_path, rabbitmq_url, queue_prefix, simulators):
    env = dict(os.environ, CANGKU_DATABASE_URL=sqlite_url, CANGKU_DATA_DIR=str(tmp_path),
               CANGKU_BROKER_URL=rabbitmq_url, CANGKU_QUEUE_PREFIX=queue_prefix, CANGKU_PULL_INTERVAL="3600",
               CANGKU_JOB_MIN_BACKOFF_MS="100", CANGKU_JOB_MAX_BACKOFF_MS="1000", CANGKU_JOB_MAX_RETRIES="60",
               CANGKU_SHOPS=",".join(f"{channel}:main" for channel in simulators.simulators))
    for channel, sim in simulators.simulators.items():
        key = f"CANGKU_SHOP_{channel.upper()}_MAIN"
        env.update({f"{key}_APP_KEY": sim.credentials.app_key, f"{key}_APP_SECRET": sim.credentials.app_secret,
                    f"{key}_ACCESS_TOKEN": sim.credentials.access_token, f"{key}_URL": sim.url,
                    f"{key}_SIGN_SECRET": sim.credentials.sign_secret})
    log = open(tmp_path / "worker.log", "a")
    return subprocess.Popen([sys.executable, "-m", "cangku", "worker", "--threads", "2"], env=env,
                            stdout=log, stderr=log, start_new_session=True)


def test_a_worker_killed_mid_run_and_restarted_confirms_every_shipment_exactly_once(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, simulators, tmp_path):
    now = simulators.simulators["taobao"].clock()
    for sim in simulators.simulators.values():
        sim.seed(12, now - timedelta(hours=2), now - timedelta(minutes=1), seed=5)
    system = make_system(sqlite_url)
    demo_warehouse(system.app)
    for (channel, shop), client in clients(simulators).items():
        pull_shop(system.app, client, channel, shop, "WH1")
    orders = [system.app.orders.find_order(c, "main", n).id for c, s in simulators.simulators.items() for n in s.orders]
    ship_everything(system.app, orders)
    confirmed = lambda: sum(len(s.shipments) for s in simulators.simulators.values())  # noqa: E731

    first = worker_process(sqlite_url, tmp_path, rabbitmq_url, queue_prefix, simulators)
    until(lambda: confirmed() >= 5, 60)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert confirmed() < len(orders)
    second = worker_process(sqlite_url, tmp_path, rabbitmq_url, queue_prefix, simulators)
    try:
        until(lambda: len(imported(system.app, Order.ShipmentConfirmed)) == len(orders), 90,
              explain=lambda: (tmp_path / "worker.log").read_text()[-3000:])
    finally:
        os.killpg(second.pid, signal.SIGKILL)
        second.wait()

    for sim in simulators.simulators.values():
        numbers = [s["order_no"] for s in sim.shipments]
        assert sorted(numbers) == sorted(sim.orders)
    assert set(imported(system.app, Order.ShipmentConfirmed).values()) == {1}


def rabbitmq(action):
    subprocess.run(["rabbitmqctl", "-q", action], check=True, timeout=60, capture_output=True)


def test_shipments_made_while_rabbitmq_is_down_are_confirmed_once_it_is_back(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, simulators):
    now = simulators.simulators["taobao"].clock()
    for sim in simulators.simulators.values():
        sim.seed(3, now - timedelta(hours=2), now - timedelta(minutes=1), seed=9)
    system = make_system(sqlite_url, broker_url=rabbitmq_url, queue_prefix=queue_prefix)
    demo_warehouse(system.app)
    for (channel, shop), client in clients(simulators).items():
        pull_shop(system.app, client, channel, shop, "WH1")
    orders = [system.app.orders.find_order(c, "main", n).id for c, s in simulators.simulators.items() for n in s.orders]
    system.start_jobs(shops=clients(simulators), in_process_worker=True, retries=FAST_RETRIES)
    system.start_followers(interval=0.1)

    rabbitmq("stop_app")
    try:
        ship_everything(system.app, orders)
        time.sleep(2)
        assert sum(len(s.shipments) for s in simulators.simulators.values()) == 0
    finally:
        rabbitmq("start_app")
    until(lambda: len(imported(system.app, Order.ShipmentConfirmed)) == len(orders), 120)

    for sim in simulators.simulators.values():
        assert sorted(s["order_no"] for s in sim.shipments) == sorted(sim.orders)


def test_a_message_that_keeps_failing_is_dead_lettered_listed_and_sent_again_on_request(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, simulators):
    from workers.dead_letters import dead_letters, retry_dead_letter

    now = simulators.simulators["jd"].clock()
    simulators.simulators["jd"].seed(1, now - timedelta(hours=1), now - timedelta(minutes=1), seed=2)
    system = make_system(sqlite_url, broker_url=rabbitmq_url, queue_prefix=queue_prefix)
    demo_warehouse(system.app)
    jd = clients(simulators)[("jd", "main")]
    pull_shop(system.app, jd, "jd", "main", "WH1")
    [number] = simulators.simulators["jd"].orders
    order_id = system.app.orders.find_order("jd", "main", number).id
    system.start_jobs(shops={}, in_process_worker=True, retries={"max_retries": 1, "min_backoff": 10,
                                                                "max_backoff": 20})
    system.start_followers(interval=0.05)

    ship_everything(system.app, [order_id])
    until(lambda: dead_letters(system.broker), 30)
    [dead] = dead_letters(system.broker)
    system.jobs.shops[("jd", "main")] = jd
    assert retry_dead_letter(system.broker, dead["message_id"])
    until(lambda: system.app.orders.order(order_id).confirmed_on_channel, 30)

    assert (dead["actor"], dead["args"][0]) == ("confirm_shipment_job", str(order_id))
    assert "no client configured" in dead["error"][0]
    assert dead_letters(system.broker) == []
    assert [s["order_no"] for s in simulators.simulators["jd"].shipments] == [number]
