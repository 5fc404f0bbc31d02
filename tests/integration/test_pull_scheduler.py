"""The pull scheduler: through a RabbitMQ outage (a proxy between the app and the broker, cut and restored), and
one pull per shop queued or running at a time."""

import logging
import time
from urllib.parse import urlsplit

import pytest

from tests.integration.test_channel_jobs import demo_warehouse
from tests.marketplaces import clients
from tests.tcp_proxy import TcpProxy
from tests.waiting import FAST_RETRIES, until
from workers.scheduler import Scheduler

OUTAGE = 3.0


@pytest.fixture
def rabbitmq_proxy(rabbitmq_url):
    parts = urlsplit(rabbitmq_url)
    proxy = TcpProxy((parts.hostname, parts.port or 5672))
    yield proxy, rabbitmq_url.replace(parts.netloc, f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}")
    proxy.close()


def outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "workers.scheduler"]


@pytest.mark.rabbitmq
def test_pulls_stop_while_rabbitmq_is_unreachable_and_resume_when_it_is_back(
        make_system, sqlite_url, rabbitmq_proxy, queue_prefix, simulators, caplog):
    proxy, broker_url = rabbitmq_proxy
    caplog.set_level(logging.WARNING, logger="workers.scheduler")
    system = make_system(sqlite_url, broker_url=broker_url, queue_prefix=queue_prefix, pull_interval="0.2")
    demo_warehouse(system.app)
    system.start_jobs(shops=clients(simulators), in_process_worker=True, retries=FAST_RETRIES)
    system.start_scheduler()
    shops = list(system.jobs.shops)
    until(lambda: all(system.app.channels.pulled_until(*shop) for shop in shops), 60)

    proxy.cut()
    time.sleep(OUTAGE)
    during = {shop: system.app.channels.pulled_until(*shop) for shop in shops}
    time.sleep(1.0)
    still = {shop: system.app.channels.pulled_until(*shop) for shop in shops}
    lines_during = outage_lines(caplog)
    proxy.restore()
    until(lambda: all(system.app.channels.pulled_until(*shop) > still[shop] for shop in shops), 60)

    assert during == still
    assert len(lines_during) == 1 and "jobs cannot be sent" in lines_during[0]
    assert [thread.name for thread in system._threads if thread.is_alive()].count("pull-scheduler") == 1
    lines = outage_lines(caplog)
    assert len(lines) == 2 and "jobs are sent again" in lines[1]


def test_a_shop_s_pull_is_not_queued_again_while_one_is_queued_or_running(make_system, simulators):
    system = make_system("memory:", pull_interval="3600")
    demo_warehouse(system.app)
    system.start_jobs(shops=clients(simulators), in_process_worker=False, retries=FAST_RETRIES)
    scheduler = Scheduler(system.jobs, system.job_markers, 3600, system._stop)
    queue = system.broker.queues[system.jobs.pull_orders.queue_name]

    sent = [scheduler.tick() for _ in range(3)]
    queued = queue.qsize()
    from workers.broker import start_worker

    system.worker = start_worker(system.broker, 2)
    system.broker.join(system.jobs.pull_orders.queue_name)
    system.worker.join()
    again = scheduler.tick()

    assert sent == [5, 0, 0] and queued == 5
    assert all(system.app.channels.pulled_until(*shop) for shop in system.jobs.shops)
    assert again == 5


class BrokenSend:
    """An actor whose broker is down."""

    def __init__(self, actor):
        self.actor, self.down = actor, True

    def send_with_options(self, **options):
        if self.down:
            raise ConnectionError("connection refused")
        return self.actor.send_with_options(**options)


def test_a_tick_that_cannot_send_frees_its_markers_and_is_said_once(make_system, simulators, caplog):
    caplog.set_level(logging.WARNING, logger="workers.scheduler")
    system = make_system("memory:", pull_interval="3600")
    system.start_jobs(shops=clients(simulators), in_process_worker=False)
    scheduler = Scheduler(system.jobs, system.job_markers, 3600, system._stop)
    broken = system.jobs.pull_orders = BrokenSend(system.jobs.pull_orders)

    failed = [scheduler.tick() for _ in range(4)]
    broken.down = False
    resumed = scheduler.tick()

    assert failed == [0, 0, 0, 0] and resumed == 5
    assert len(outage_lines(caplog)) == 2
