"""The actors. Each parses its message, makes one call into the application or an adapter, and records the outcome.

Every actor is idempotent: it is keyed by the event that called for it, and checks whether its outcome is already
recorded before acting, so a redelivered or resent message changes nothing.
"""

import logging
import threading
from uuid import UUID

import dramatiq

from adapters.marketplaces import MarketplaceClient, OrderStatus, PlatformAuthError, PlatformInvalidParameter
from adapters.printing import printer_from_url, render
from domain.printing import Contact, Printer, PrinterUnavailable, deliver

from .broker import attempt
from .pull import pull_shop

log = logging.getLogger("cangku.jobs")

# Dramatiq's defaults wait up to 7 days between retries; RabbitMQ redelivers a message held past its
# 30-minute acknowledgement timeout, so backoff and time limits stay well below that.
RETRIES = {"max_retries": 8, "min_backoff": 500, "max_backoff": 60_000, "time_limit": 120_000}


class PrintedJobs:
    """The `delivered` record for `deliver`: a label job is printed when its LabelPrinted event exists."""

    def __init__(self, app, order_id: UUID, printer: str):
        self.app, self.order_id, self.printer = app, order_id, printer

    def __contains__(self, job_id: object) -> bool:
        return self.app.fulfilment.label_printed(self.order_id, str(job_id))

    def add(self, job_id: str) -> None:
        self.app.fulfilment.record_label_printed(self.order_id, self.printer, "printer", job_id=job_id)


class Jobs:
    """The actors, declared on one broker around one application (nothing is declared at import)."""

    def __init__(self, app, broker: dramatiq.Broker, *, warehouse: str, printers: dict[str, str],
                 shops: dict[tuple[str, str], MarketplaceClient] | None = None, sender: Contact | None = None,
                 retries: dict | None = None, queue_prefix: str = "cangku", shipping=None, views=None):
        self.app = app
        self.warehouse = warehouse
        self.printer_urls = {"packing": "dummy:", **printers}
        self.printers: dict[str, Printer] = {name: printer_from_url(url) for name, url in self.printer_urls.items()}
        self.shops = shops or {}
        self.sender = sender or Contact(f"Cangku {warehouse}", "", "")
        options = {**RETRIES, **(retries or {})}

        def actor(fn, queue):
            return dramatiq.Actor(fn, broker=broker, actor_name=fn.__name__, queue_name=f"{queue_prefix}-{queue}",
                                  priority=0, options=dict(options))

        self.shipping = shipping
        self.views = views
        self._publishing = threading.Lock()
        self.print_label = actor(self.print_label_job, "printing")
        self.request_waybill = actor(self.request_waybill_job, "couriers")
        self.cancel_waybill = actor(self.cancel_waybill_job, "couriers")
        self.track_parcels = actor(self.track_parcels_job, "couriers")
        self.push_channel_stock = actor(self.push_channel_stock_job, "channels")
        self.confirm_shipment = actor(self.confirm_shipment_job, "channels")
        self.pull_orders = actor(self.pull_orders_job, "channels")

    def print_label_job(self, order_id: str, job_id: str, station: str = "packing") -> None:
        """Print an order's waybill label once; a printer that is off is retried with backoff."""
        order = UUID(order_id)
        printer = self.printers[station]
        delivered = PrintedJobs(self.app, order, station)
        if job_id in delivered:
            return
        data = render(self.app.fulfilment.waybill_label(order, self.sender))
        try:
            deliver(job_id, printer, data, delivered)
        except PrinterUnavailable as error:
            self.app.fulfilment.record_print_failure(order, station, job_id, str(error), attempt())
            raise

    def confirm_shipment_job(self, order_id: str, event_id: str) -> None:
        """Tell the channel the order shipped (courier + tracking number), once."""
        order = self.app.orders.order(UUID(order_id))
        if order.confirmed_on_channel:
            return
        client = self.shops.get((order.channel, order.shop))
        if client is None:
            raise LookupError(f"no client configured for shop {order.channel}/{order.shop}")
        try:
            client.confirm_shipment(order.platform_order_no, order.courier, order.tracking_no)
        except PlatformInvalidParameter:
            # An earlier attempt may have reached the platform before this worker died: if the platform
            # already shows the order shipped, that attempt is the confirmation.
            if client.order_detail(order.platform_order_no).status != OrderStatus.SHIPPED:
                raise
        except PlatformAuthError as error:
            log.warning("shipment of %s refused by %s: %s", order.platform_order_no, order.channel, error)
            raise
        self.app.channels.record_shipment_confirmed(order.id, event_id)

    def request_waybill_job(self, order_id: str, event_id: str) -> None:
        """Choose the courier and get the waybill number for a weighed package."""
        self.shipping.request_waybill(UUID(order_id))

    def cancel_waybill_job(self, order_id: str, event_id: str) -> None:
        """Recycle the waybill of a package intercepted before hand-over."""
        self.shipping.cancel_waybill(UUID(order_id), f"intercepted ({event_id})")

    def track_parcels_job(self) -> None:
        """Poll routes of parcels in transit."""
        log.info("tracking: %s", self.shipping.track())

    def push_channel_stock_job(self, event_id: str = "") -> None:
        """Publish to each listing what it should show now; only listings whose figure changed are sent."""
        from projections.channel_stock import listings_to_push

        # One publication at a time: two threads comparing the same figures would both send the change.
        with self._publishing:
            for name in ("inventory", "channel_stock"):
                self.views.runners[name].catch_up()
            self._publish(listings_to_push(self.views.engine), event_id)

    def _publish(self, rows: list[dict], event_id: str) -> None:
        for row in rows:
            client = self.shops.get((row["channel"], row["shop"]))
            if client is None:
                continue
            client.update_stock(row["platform_sku"], row["should_show"], item_id=row["item_id"])
            self.app.channels.record_published(row["channel"], row["shop"], row["platform_sku"], row["should_show"], event_id)

    def pull_orders_job(self, channel: str, shop: str) -> None:
        """Pull one shop's changed orders from its checkpoint."""
        result = pull_shop(self.app, self.shops[(channel, shop)], channel, shop, self.warehouse)
        log.info("pulled %s/%s: %s", channel, shop, result)
