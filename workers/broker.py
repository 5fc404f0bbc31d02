"""The message broker: RabbitMQ through Dramatiq when a URL is set, an in-process broker and worker otherwise."""

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage


def make_broker(url: str = "") -> dramatiq.Broker:
    """A RabbitMQ broker with publisher confirms for `url`, else an in-process stub broker."""
    if url:
        if "heartbeat=" not in url:
            url += ("&" if "?" in url else "?") + "heartbeat=60"
        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    broker.add_middleware(CurrentMessage())
    return broker


def start_worker(broker: dramatiq.Broker, threads: int = 4) -> dramatiq.Worker:
    """Consume the broker's queues in this process (the in-process mode, and `cangku worker`)."""
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=200)
    worker.start()
    return worker


def attempt() -> int:
    """Which attempt of the current message this is (1 for the first)."""
    message = CurrentMessage.get_current_message()
    return (message.options.get("retries", 0) + 1) if message else 1
