"""`cangku worker` on RabbitMQ and PostgreSQL, killed with SIGKILL in the middle of its pulls and confirmations, or
cut from RabbitMQ: after it is back every platform order is imported once and every shipment confirmed once."""

from datetime import timedelta

import pytest

from domain.order import Order
from tests.integration.test_channel_jobs import demo_warehouse, imported, ship_everything
from tests.integration.test_pull_scheduler import rabbitmq_proxy  # noqa: F401  (a fixture)
from tests.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.faults]

FIRST, LATER = 6, 3  # orders per shop before the fault, and placed while the worker is down or cut off


def worker_settings(simulators, broker_url: str, queue_prefix: str) -> dict:
    settings = {"broker_url": broker_url, "queue_prefix": queue_prefix, "pull_interval": "0.5",
                "shops": ",".join(f"{channel}:main" for channel in simulators.simulators)}
    for channel, sim in simulators.simulators.items():
        key = f"shop_{channel}_main"
        settings.update({f"{key}_app_key": sim.credentials.app_key, f"{key}_app_secret": sim.credentials.app_secret,
                         f"{key}_access_token": sim.credentials.access_token, f"{key}_url": sim.url,
                         f"{key}_sign_secret": sim.credentials.sign_secret})
    return settings


def platform_orders(simulators) -> set[tuple[str, str]]:
    return {(channel, number) for channel, sim in simulators.simulators.items() for number in sim.orders}


def shipments(simulators) -> list[tuple[str, str]]:
    return sorted((channel, s["order_no"]) for channel, sim in simulators.simulators.items() for s in sim.shipments)


def place_orders(simulators, per_shop: int) -> None:
    for sim in simulators.simulators.values():
        for _ in range(per_shop):
            sim.add_order()


def run_through_fault(app, simulators, worker, fault, restore) -> None:
    """Orders pulled, the fault, more orders, the worker back; then every order shipped, the fault again during the
    confirmations, and the worker back."""
    now = simulators.simulators["taobao"].clock()
    for sim in simulators.simulators.values():
        sim.seed(FIRST, now - timedelta(hours=1), now - timedelta(minutes=1), seed=11)
    worker.start()
    until(lambda: len(imported(app)) >= FIRST * 2, 60, worker.tail)
    fault()
    place_orders(simulators, LATER)
    restore()
    until(lambda: set(imported(app)) == platform_orders(simulators), 90, worker.tail)

    ship_everything(app, [app.orders.find_order(c, "main", n).id for c, n in sorted(platform_orders(simulators))])
    until(lambda: len(shipments(simulators)) >= 3, 60, worker.tail)
    fault()
    restore()
    until(lambda: len(imported(app, Order.ShipmentConfirmed)) == len(platform_orders(simulators)), 90, worker.tail)

    assert set(imported(app).values()) == {1}
    assert set(imported(app, Order.ShipmentConfirmed).values()) == {1}
    assert shipments(simulators) == sorted(platform_orders(simulators))


def test_a_worker_killed_mid_jobs_pulls_and_confirms_every_order_once_after_restart(
        make_system, postgres_url, rabbitmq_url, queue_prefix, simulators, cangku_process):
    system = make_system(postgres_url)
    demo_warehouse(system.app)
    worker = cangku_process("worker", **worker_settings(simulators, rabbitmq_url, queue_prefix))

    run_through_fault(system.app, simulators, worker, worker.kill, worker.start)

    assert worker.starts == 3


def test_a_worker_cut_from_rabbitmq_pulls_and_confirms_every_order_once_when_it_is_back(
        make_system, postgres_url, rabbitmq_proxy, queue_prefix, simulators, cangku_process):
    proxy, broker_url = rabbitmq_proxy
    system = make_system(postgres_url)
    demo_warehouse(system.app)
    worker = cangku_process("worker", **worker_settings(simulators, broker_url, queue_prefix))
    outages = []

    def cut():
        proxy.cut()
        outages.append(worker.output().count("jobs cannot be sent"))
        until(lambda: worker.output().count("jobs cannot be sent") > outages[-1], 30, worker.tail)

    def restore():
        proxy.restore()
        until(lambda: worker.output().count("jobs are sent again") == len(outages), 60, worker.tail)

    run_through_fault(system.app, simulators, worker, cut, restore)

    assert worker.starts == 1 and worker.process.poll() is None
