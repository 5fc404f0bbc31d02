"""The outbox: follow the event log with a tracking position of its own and send what each event calls for.

A message is sent before the position moves past its event, in the position's transaction: a crash between the
two resends the message on restart, and the actors' idempotency absorbs the repeat. Nothing is lost.
"""

from typing import Any

from sqlalchemy import MetaData

from domain.fulfilment import Package, Wave
from domain.listing import Listing
from domain.order import Order
from domain.shop import Shop
from domain.stock import Stock
from projections.orders_board import exception_queue
from projections.tracking import Projection, topics_of

from .jobs import PACKING_SLIPS, PICK_LISTS


# Events that change what can be sold from storage bins (picking, shipping and returns do not).
SELLABLE_CHANGES = [Stock.Received, Stock.PutAway, Stock.Moved, Stock.Reserved, Stock.Released, Stock.Adjusted,
                    Stock.Scrapped, Stock.TransferredOut, Stock.TransferredIn]


class Dispatcher(Projection):
    name = "dispatcher"
    metadata = MetaData()
    topics = topics_of([Package.WaybillAssigned, Package.ReprintRequested, Package.Weighed, Order.Shipped,
                        Order.Cancelled, Order.Refunded, Listing.Mapped, Wave.Created, Package.Closed,
                        Shop.DecryptionAllowed], SELLABLE_CHANGES)

    def __init__(self, jobs):
        self.jobs = jobs

    def apply(self, conn, events: list[tuple[int, Any]]) -> None:
        # One push per batch however many stock events it holds: a burst is coalesced into one publication.
        stock_moved = [e for _, e in events if isinstance(e, (Listing.Mapped, *SELLABLE_CHANGES))]
        if stock_moved and self.jobs.views is not None:
            last = stock_moved[-1]
            self.jobs.push_channel_stock.send(f"{last.originator_id}:{last.originator_version}")
        for _, e in events:
            event_id = f"{e.originator_id}:{e.originator_version}"
            if isinstance(e, (Package.WaybillAssigned, Package.ReprintRequested)):
                order_id = self.jobs.app.store.repository.get(e.originator_id).order_id
                self.jobs.print_label.send(str(order_id), event_id)
            elif isinstance(e, Package.Weighed) and self.jobs.shipping:
                package = self.jobs.app.store.repository.get(e.originator_id)
                if not package.tracking_no:
                    self.jobs.request_waybill.send(str(package.order_id), event_id)
            elif isinstance(e, Shop.DecryptionAllowed) and self.jobs.shipping and self.jobs.views is not None:
                self._request_held_waybills(e, event_id)
            elif isinstance(e, Wave.Created) and self.jobs.prints_at(PICK_LISTS):
                self.jobs.print_pick_list.send(str(e.originator_id), event_id)
            elif isinstance(e, Package.Closed) and self.jobs.prints_at(PACKING_SLIPS):
                order_id = self.jobs.app.store.repository.get(e.originator_id).order_id
                self.jobs.print_packing_slip.send(str(order_id), event_id)
            elif isinstance(e, Order.Shipped):
                # A part split off by stock ships under its own number; the platform was told of the order's first
                # parcel when the order itself shipped.
                if getattr(self.jobs.app.store.repository.get(e.originator_id), "split_from", None) is None:
                    self.jobs.confirm_shipment.send(str(e.originator_id), event_id)
            elif isinstance(e, (Order.Cancelled, Order.Refunded)) and self.jobs.shipping:
                if getattr(e, "before_shipment", True):
                    self.jobs.cancel_waybill.send(str(e.originator_id), event_id)

    def _request_held_waybills(self, allowed: Any, event_id: str) -> None:
        """The merchant allowed decryption again: the shop's parcels whose waybill waited for it are asked for."""
        shop = self.jobs.app.store.repository.get(allowed.originator_id)
        for row in exception_queue(self.jobs.views.engine, "waybill_held", shop.channel):
            if row["shop"] == shop.shop:
                self.jobs.request_waybill.send(row["order_id"], event_id)
