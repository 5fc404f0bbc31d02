"""The actors. Each parses its message, makes one call into the application or an adapter, and records the outcome.

Every actor is idempotent: it is keyed by the event that called for it, and checks whether its outcome is already
recorded before acting, so a redelivered or resent message changes nothing.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from uuid import UUID

import dramatiq

from adapters.marketplaces import (
    KeptByShop,
    MarketplaceClient,
    OrderStatus,
    PlatformAuthError,
    PlatformInvalidParameter,
    ShopAuthorisation,
)
from adapters.printing import lay_out, printer_from_url
from domain.errors import LabelNotPrintable
from domain.printing import Contact, Printer, PrinterUnavailable, PrintOutcomeUnknown, deliver

from .broker import attempt
from .pull import pull_shop

log = logging.getLogger("cangku.jobs")

# Dramatiq's defaults wait up to 7 days between retries; RabbitMQ redelivers a message held past its
# 30-minute acknowledgement timeout, so backoff and time limits stay well below that.
RETRIES = {"max_retries": 8, "min_backoff": 500, "max_backoff": 60_000, "time_limit": 120_000}


class PrintedJobs:
    """The `delivered` record for `deliver`: a print job is done when its printed event exists."""

    def __init__(self, printed: Callable[[str], bool], record: Callable[[str], object]):
        self.printed, self.record = printed, record

    def __contains__(self, job_id: object) -> bool:
        return self.printed(str(job_id))

    def add(self, job_id: str) -> None:
        self.record(job_id)


# Stations whose documents print by themselves from the floor flow, when a printer is set for them.
PICK_LISTS, PACKING_SLIPS = "picking", "packing_slips"


class Jobs:
    """The actors, declared on one broker around one application (nothing is declared at import)."""

    def __init__(self, app, broker: dramatiq.Broker, *, warehouse: str, printers: dict[str, str],
                 shops: dict[tuple[str, str], MarketplaceClient] | None = None, sender: Contact | None = None,
                 retries: dict | None = None, queue_prefix: str = "cangku", shipping=None, views=None,
                 label_sizes: dict[str, str] | None = None, label_font: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.app = app
        self.warehouse = warehouse
        self.printer_urls = {"packing": "dummy:", **printers}
        self.printers: dict[str, Printer] = {name: printer_from_url(url) for name, url in self.printer_urls.items()}
        self.configured_printers = set(printers)
        self.shops = shops or {}
        for (channel, shop), client in self.shops.items():
            if client.tokens is None:
                ShopAuthorisation(client, KeptByShop(app.channels, channel, shop))
        self.sender = sender or Contact(f"Cangku {warehouse}", "", "")
        self.label_sizes, self.label_font, self.clock = label_sizes or {}, label_font, clock
        options = {**RETRIES, **(retries or {})}

        def waits_for_merchant(retries: int, error: BaseException) -> bool:
            # a shop whose authorisation the platform refused waits for the merchant, not for another retry:
            # its messages go to the dead letters at once, with the reason, to be sent again once it is authorised
            return not isinstance(error, PlatformAuthError) and retries < options["max_retries"]

        def actor(fn, queue):
            refused = {"retry_when": waits_for_merchant} if queue == "channels" else {}
            return dramatiq.Actor(fn, broker=broker, actor_name=fn.__name__, queue_name=f"{queue_prefix}-{queue}",
                                  priority=0, options={**options, **refused})

        self.shipping = shipping
        self.views = views
        self._publishing = threading.Lock()
        self.print_label = actor(self.print_label_job, "printing")
        self.print_pick_list = actor(self.print_pick_list_job, "printing")
        self.print_packing_slip = actor(self.print_packing_slip_job, "printing")
        self.request_waybill = actor(self.request_waybill_job, "couriers")
        self.cancel_waybill = actor(self.cancel_waybill_job, "couriers")
        self.track_parcels = actor(self.track_parcels_job, "couriers")
        self.push_channel_stock = actor(self.push_channel_stock_job, "channels")
        self.confirm_shipment = actor(self.confirm_shipment_job, "channels")
        self.pull_orders = actor(self.pull_orders_job, "channels")

    def prints_at(self, station: str) -> bool:
        """Whether a printer is set for the station (the floor flow prints its documents only then)."""
        return station in self.configured_printers

    def print_label_job(self, order_id: str, job_id: str, station: str = "packing") -> None:
        """Print an order's waybill label once, confirmed by the printer; a failure is recorded and retried."""
        order, fulfilment = UUID(order_id), self.app.fulfilment
        if fulfilment.label_outcome_unknown(order, job_id):
            return  # it may have printed: a person checks the printer (confirms it, or asks for a reprint)
        self._print(
            station, job_id, lambda: fulfilment.waybill_label(order, self.sender, self.label_sizes, station, self.clock()),
            printed=lambda job: fulfilment.label_printed(order, job),
            record=lambda job, as_image: fulfilment.record_label_printed(order, station, "printer", job, as_image),
            failed=lambda reason: fulfilment.record_print_failure(order, station, job_id, reason, attempt()),
            unknown=lambda reason: fulfilment.record_print_outcome_unknown(order, station, job_id, reason))

    def print_pick_list_job(self, wave_id: str, job_id: str) -> None:
        """Print a wave's pick list once at the picking station's printer."""
        wave, fulfilment = UUID(wave_id), self.app.fulfilment
        self._print(
            PICK_LISTS, job_id, lambda: fulfilment.pick_list(wave),
            printed=lambda job: fulfilment.pick_list_printed(wave, job),
            record=lambda job, as_image: fulfilment.record_pick_list_printed(wave, PICK_LISTS, job, as_image),
            failed=lambda reason: fulfilment.record_pick_list_failure(wave, PICK_LISTS, job_id, reason, attempt()))

    def print_packing_slip_job(self, order_id: str, job_id: str) -> None:
        """Print the packing slip of a closed package once at the packing slip printer."""
        order, fulfilment = UUID(order_id), self.app.fulfilment
        self._print(
            PACKING_SLIPS, job_id, lambda: fulfilment.packing_slip(order),
            printed=lambda job: fulfilment.label_printed(order, job),
            record=lambda job, as_image: fulfilment.record_packing_slip_printed(order, PACKING_SLIPS, job, as_image),
            failed=lambda reason: fulfilment.record_print_failure(order, PACKING_SLIPS, job_id, reason, attempt()))

    def _print(self, station: str, job_id: str, document: Callable[[], object], *, printed: Callable[[str], bool],
               record: Callable[[str, tuple[str, ...]], object], failed: Callable[[str], object],
               unknown: Callable[[str], object] | None = None) -> None:
        """Lay out the document, print it once at the station and record it; a failure is noted and raised (retry).
        With `unknown`, a job that may have printed (its answer lost) is noted there and not sent again."""
        if printed(job_id):
            return
        try:
            laid_out = document()
        except LabelNotPrintable as error:
            # no retry can make it printable: the failure stays on the supervisor screen with why, nothing prints
            log.warning("label job %s not printed: %s", job_id, error)
            failed(str(error))
            return
        rendered = lay_out(laid_out, self.label_font)
        delivered = PrintedJobs(printed, lambda job: record(job, rendered.as_image))
        try:
            deliver(job_id, self.printers[station], rendered.data, delivered)
        except PrintOutcomeUnknown as error:
            if unknown is None:
                failed(str(error))
                raise
            log.warning("print job %s may have printed: %s", job_id, error)
            unknown(str(error))
        except PrinterUnavailable as error:
            failed(str(error))
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
