"""Messages that kept failing: listed for the back office, and sent again on request."""

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker


def dead_letters(broker: dramatiq.Broker) -> list[dict]:
    """Every dead-lettered message: id, queue, actor, arguments, when it failed and why."""
    return [describe(message) for message in _dead(broker)]


def retry_dead_letter(broker: dramatiq.Broker, message_id: str) -> bool:
    """Send one dead-lettered message back to its queue with its retries reset; False when it is not there."""
    found = _take(broker, message_id)
    if found is None:
        return False
    options = {k: v for k, v in found.options.items() if k not in ("retries", "traceback", "dead_message")}
    broker.enqueue(found.copy(options=options))
    return True


def describe(message: dramatiq.Message) -> dict:
    return {
        "message_id": message.message_id,
        "queue": message.queue_name,
        "actor": message.actor_name,
        "args": list(message.args),
        "retries": message.options.get("retries", 0),
        "error": (message.options.get("traceback") or "").strip().splitlines()[-1:] or [""],
        "enqueued_at": message.message_timestamp,
    }


def _dead(broker) -> list[dramatiq.Message]:
    if isinstance(broker, RabbitmqBroker):
        return _rabbitmq_dead(broker, take=None)
    return [proxy._message for proxy in getattr(broker, "dead_letters", [])]


def _take(broker, message_id: str) -> dramatiq.Message | None:
    if isinstance(broker, RabbitmqBroker):
        taken = _rabbitmq_dead(broker, take=message_id)
        return taken[0] if taken else None
    for messages in getattr(broker, "dead_letters_by_queue", {}).values():
        for proxy in list(messages):
            if proxy.message_id == message_id:
                messages.remove(proxy)
                return proxy._message
    return None


def _rabbitmq_dead(broker: RabbitmqBroker, take: str | None) -> list[dramatiq.Message]:
    """Read the dead-letter queues without acknowledging (so closing the channel puts every message back),
    acknowledging only the message taken."""
    import pika

    parameters = broker.parameters[0] if isinstance(broker.parameters, list) else broker.parameters
    connection = pika.BlockingConnection(parameters)
    found = []
    try:
        channel = connection.channel()
        for queue in sorted(broker.get_declared_queues()):
            while True:
                method, _, body = channel.basic_get(f"{queue}.XQ")
                if method is None:
                    break
                message = dramatiq.Message.decode(body)
                if take is None:
                    found.append(message)
                elif message.message_id == take:
                    channel.basic_ack(method.delivery_tag)
                    found.append(message)
    finally:
        connection.close()
    return found
