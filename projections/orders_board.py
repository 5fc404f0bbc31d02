"""Orders board: orders counted by status, channel and shop, and the exception queue the back office works from.

The queue holds held orders with their reasons, orders awaiting stock, short picks, and orders a refund
intercepted while they were already on the warehouse floor, and orders a refund could not intercept because they share a
merged parcel already on the floor (to be taken out by hand). Other kinds (logistics exceptions, failed jobs) come
from `ExceptionFeed`s handed to the projection: each names the event topics it reads and turns an event into
raised or cleared exceptions.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Protocol

from eventsourcing.utils import get_topic
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.engine import Connection, Engine

from domain.fulfilment import Package, Wave
from domain.order import Order, components_of, imported_status

from .backoffice import BatchRows, Instant, Listing, aware, business_day, choice, day_range, instant_bounds, text_id
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

board_orders = Table(
    "board_order",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("channel", String(64), nullable=False, index=True),
    Column("shop", String(64), nullable=False),
    Column("platform_order_no", String(64), nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("hold_reasons", String(500), nullable=False),
    Column("warehouse", String(32), nullable=False),
    Column("ordered_on", String(10), nullable=False, index=True),
    Column("units", Text, nullable=False),  # JSON {sku: [units wanted, units picked]}
    Column("updated_at", Instant(), nullable=False),
)

board_packages = Table(
    "board_package",
    metadata,
    Column("package_id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False),
)

board_exceptions = Table(
    "board_exception",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("order_id", String(36), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("shop", String(64), nullable=False),
    Column("platform_order_no", String(64), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("open", Boolean, nullable=False, index=True),
    Column("times_raised", BigInteger, nullable=False),
    Column("raised_at", Instant(), nullable=False),
    Column("cleared_at", Instant(), nullable=True),
)

ORDER_KINDS = ("held", "awaiting_stock", "short_pick", "intercepted", "intercept_by_hand")
# Kinds that later feeds raise: a courier's tracking exception, a job that went to the dead-letter queue.
FEED_KINDS = ("logistics", "failed_job", "waybill_held")
KINDS = ORDER_KINDS + FEED_KINDS
STATUSES = ("held", "released", "dropship", "awaiting_stock", "reserved", "waved", "picked", "packed", "shipped",
            "delivered", "cancelled", "merged")
ON_THE_FLOOR = ("waved", "picked", "packed")


@dataclass(frozen=True)
class ExceptionRaised:
    """An exception about a subject; the order is named directly, or through its parcel (package id)."""

    kind: str
    subject: str
    detail: str
    order_id: str = ""
    package_id: str = ""


@dataclass(frozen=True)
class ExceptionCleared:
    kind: str
    subject: str


class ExceptionFeed(Protocol):
    """Turns events of other streams (couriers, jobs) into exceptions on the board."""

    topics: tuple[str, ...]

    def read(self, event: Any) -> Iterable[ExceptionRaised | ExceptionCleared]: ...


class PrintFailures:
    """A print job (label, packing slip, pick list) that failed stays on the queue until that job prints."""

    topics = topics_of([Package.PrintFailed, Package.LabelPrinted, Package.PackingSlipPrinted, Wave.PrintFailed,
                        Wave.PickListPrinted, Package.PrintOutcomeUnknown, Package.PrintOutcomeResolved])

    def read(self, event: Any) -> list[ExceptionRaised | ExceptionCleared]:
        subject = f"print:{event.job_id}"[:64]
        if isinstance(event, Package.PrintFailed):
            return [ExceptionRaised("failed_job", subject,
                                    f"printing on {event.printer} failed (attempt {event.attempt}): {event.reason}",
                                    package_id=text_id(event.originator_id))]
        if isinstance(event, Package.PrintOutcomeUnknown):
            return [ExceptionRaised("failed_job", subject,
                                    f"outcome unknown, check the printer {event.printer}: {event.reason}. If the label "
                                    f"came out, confirm it on the order; if not, ask for a reprint",
                                    package_id=text_id(event.originator_id))]
        if isinstance(event, Wave.PrintFailed):
            return [ExceptionRaised("failed_job", subject, f"pick list of wave {event.wave}: printing on "
                                    f"{event.printer} failed (attempt {event.attempt}): {event.reason}")]
        return [ExceptionCleared("failed_job", subject)]


class LogisticsExceptions:
    """A parcel the courier reports returned, in trouble or not moving, until the courier reports it delivered."""

    topics = topics_of([Package.LogisticsException, Package.RouteUpdated])

    def read(self, event: Any) -> list[ExceptionRaised | ExceptionCleared]:
        subject = str(event.originator_id)
        if isinstance(event, Package.LogisticsException):
            return [ExceptionRaised("logistics", subject, event.reason, package_id=subject)]
        return [ExceptionCleared("logistics", subject)] if event.status == "delivered" else []


class WaybillHolds:
    """A parcel whose waybill waits (the shop forbids decrypting its buyer and no courier takes the platform's protected
    receiver), until a waybill is assigned."""

    topics = topics_of([Package.WaybillHeld, Package.WaybillAssigned])

    def read(self, event: Any) -> list[ExceptionRaised | ExceptionCleared]:
        subject = str(event.originator_id)
        if isinstance(event, Package.WaybillHeld):
            return [ExceptionRaised("waybill_held", subject, event.reason, package_id=subject)]
        return [ExceptionCleared("waybill_held", subject)]


ORDER_EVENTS = [Order.Imported, Order.Held, Order.Released, Order.Reserved, Order.StockShort, Order.Waved,
                Order.ItemPicked, Order.Packed, Order.Shipped, Order.Delivered, Order.Cancelled, Order.Refunded,
                Order.LinesMapped, Order.Merged, Order.Unmerged, Order.MergedInto, Order.MergeUndone,
                Order.SplitByStock, Order.GoneToSuppliers, Order.InterceptRefused]


class OrdersBoardProjection(Projection):
    name = "orders_board"
    metadata = metadata

    def __init__(self, feeds: Iterable[ExceptionFeed] | None = None):
        self.feeds = list(feeds) if feeds is not None else [PrintFailures(), LogisticsExceptions(), WaybillHolds()]
        self.feed_by_topic = {topic: feed for feed in self.feeds for topic in feed.topics}
        self.topics = topics_of(ORDER_EVENTS, [Package.Opened]) + tuple(self.feed_by_topic)
        self.parcels: dict[str, str] = {}  # package id → order id: never changes, so it may be kept

    def reset_memory(self) -> None:
        self.parcels = {}

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        orders = BatchRows(board_orders, ("order_id",), dict)
        queue = BatchRows(board_exceptions, ("kind", "subject"), lambda: {
            "order_id": "", "channel": "", "shop": "", "platform_order_no": "", "detail": "", "open": True,
            "times_raised": 0, "cleared_at": None})
        new_parcels, feed_changes, order_ids = [], [], set()
        for _, e in events:
            if isinstance(e, Order.Event):
                order_ids.add(text_id(e.originator_id))
            elif isinstance(e, Package.Opened):
                self.parcels[text_id(e.originator_id)] = text_id(e.order_id)
                new_parcels.append({"package_id": text_id(e.originator_id), "order_id": text_id(e.order_id)})
            feed = self.feed_by_topic.get(get_topic(type(e)))
            if feed is not None:
                feed_changes.append((e, list(feed.read(e))))
        raised = [c for _, changes in feed_changes for c in changes if isinstance(c, ExceptionRaised)]
        self._load_parcels(conn, {c.package_id for c in raised if c.package_id})
        order_ids.update(c.order_id or self.parcels.get(c.package_id, "") for c in raised)
        order_ids.discard("")
        order_ids -= created_in((e for _, e in events), Order.Imported)
        orders.load(conn, [(i,) for i in order_ids])
        queue.load(conn, [(kind, i) for i in order_ids for kind in ORDER_KINDS])
        queue.load(conn, [(c.kind, c.subject) for _, changes in feed_changes for c in changes])
        feeds = iter(feed_changes)
        for _, e in events:
            if isinstance(e, Order.Event):
                self._fold(orders, queue, e)
            if self.feed_by_topic.get(get_topic(type(e))) is not None:
                event, changes = next(feeds)
                for change in changes:
                    self._change(queue, change, event.timestamp, orders)
        for row in orders.rows.values():
            if isinstance(row["units"], dict):
                row["units"] = json.dumps(row["units"], separators=(",", ":"))
        if new_parcels:
            conn.execute(board_packages.insert(), new_parcels)
        orders.write(conn)
        queue.write(conn)

    def _load_parcels(self, conn: Connection, package_ids: set[str]) -> None:
        unknown = sorted(package_ids - set(self.parcels))
        for start in range(0, len(unknown), 500):
            query = select(board_packages).where(board_packages.c.package_id.in_(unknown[start:start + 500]))
            self.parcels.update({r.package_id: r.order_id for r in conn.execute(query)})

    def _fold(self, orders: BatchRows, queue: BatchRows, e: Any) -> None:
        key = (text_id(e.originator_id),)
        if isinstance(e, Order.Imported):
            units: dict[str, list[int]] = {}
            self._add_units(units, e.lines)
            row = orders.row(key, channel=e.channel, shop=e.shop, platform_order_no=e.platform_order_no,
                             status=imported_status(e.lines, e.hold_reasons),
                             hold_reasons="; ".join(e.hold_reasons)[:500], warehouse="",
                             ordered_on=business_day(e.ordered_at, e.channel, e.shop), units=units,
                             updated_at=e.timestamp)
            if e.hold_reasons:
                self._raise(queue, row, key[0], "held", row["hold_reasons"], e.timestamp)
            return
        row = orders.rows[key]
        if isinstance(row["units"], str):
            row["units"] = json.loads(row["units"])
        row["updated_at"] = e.timestamp
        before = row["status"]
        if isinstance(e, Order.Held):
            reasons = "; ".join(e.reasons)[:500]
            row.update(status="held", hold_reasons=reasons)
            short = any(r.startswith("short pick") for r in e.reasons)
            self._raise(queue, row, key[0], "short_pick" if short else "held", reasons, e.timestamp)
            self._clear(queue, key[0], e.timestamp, "awaiting_stock")
        elif isinstance(e, Order.Released):
            row.update(status="released", hold_reasons="")
            self._clear(queue, key[0], e.timestamp, "held", "short_pick")
        elif isinstance(e, Order.GoneToSuppliers):
            row["status"] = "dropship"
        elif isinstance(e, Order.Reserved):
            row.update(status="reserved", warehouse=e.warehouse)
            self._clear(queue, key[0], e.timestamp, "awaiting_stock")
        elif isinstance(e, Order.StockShort):
            row.update(status="awaiting_stock", warehouse=e.warehouse)
            missing = ", ".join(f"{sku}×{n}" for sku, n in sorted(e.missing.items()))
            self._raise(queue, row, key[0], "awaiting_stock", f"short of {missing}", e.timestamp)
        elif isinstance(e, Order.LinesMapped):
            self._add_units(row["units"], e.lines)
        elif isinstance(e, (Order.Merged, Order.Unmerged)):
            # A merged parcel's lead order carries the other orders' units until the merge is undone.
            self._add_units(row["units"], e.lines, -1 if isinstance(e, Order.Unmerged) else 1)
            row["status"] = "released"
            self._clear(queue, key[0], e.timestamp, "awaiting_stock")
        elif isinstance(e, Order.SplitByStock):
            self._add_units(row["units"], e.lines, -1)  # they wait in a part of their own
        elif isinstance(e, Order.MergedInto):
            row.update(status="merged", warehouse="")
            self._clear(queue, key[0], e.timestamp, "awaiting_stock")
        elif isinstance(e, Order.MergeUndone):
            row["status"] = "released"
        elif isinstance(e, Order.Waved):
            row["status"] = "waved"
        elif isinstance(e, Order.ItemPicked):
            row["units"][e.sku][1] += e.quantity
            if self._fully_picked(row["units"]):
                row["status"] = "picked"
        elif isinstance(e, Order.Packed):
            row["status"] = "packed"
        elif isinstance(e, Order.Shipped):
            row["status"] = "shipped"
        elif isinstance(e, Order.Delivered):
            row["status"] = "delivered"
        elif isinstance(e, Order.Cancelled):
            row["status"] = "cancelled"
        elif isinstance(e, Order.Refunded):
            self._refunded(queue, row, key[0], e, before)
        elif isinstance(e, Order.InterceptRefused):
            self._raise(queue, row, key[0], "intercept_by_hand",
                        f"{e.reason} not applied: the order travels in the parcel of order {e.parcel_order_no}, "
                        f"already on the floor; take its units out of that parcel by hand ({e.refused})", e.timestamp)
        if isinstance(e, (Order.Cancelled, Order.Refunded, Order.Shipped)):
            self._clear(queue, key[0], e.timestamp, "intercept_by_hand")
        if row["status"] == "cancelled":
            self._clear(queue, key[0], e.timestamp, "held", "short_pick", "awaiting_stock")

    @staticmethod
    def _add_units(units: dict[str, list[int]], lines: list[dict], sign: int = 1) -> None:
        """Units wanted per SKU: a kit line's components, none for a line not mapped yet."""
        for line in lines:
            for sku, each in components_of(line).items():
                units.setdefault(sku, [0, 0])[0] += sign * line["quantity"] * each

    def _refunded(self, queue: BatchRows, row: dict, order_id: str, e: Any, before: str) -> None:
        for line in e.lines:
            for sku, each in components_of(line).items():
                row["units"][sku][0] -= line["quantity"] * each
        if not e.before_shipment:
            return
        if not any(wanted > 0 for wanted, _ in row["units"].values()):
            row["status"] = "cancelled"
        elif row["status"] in ("reserved", "waved") and self._fully_picked(row["units"]):
            row["status"] = "picked"
        if before in ON_THE_FLOOR:
            lines = ", ".join(f"{line['sku']}×{line['quantity']}" for line in e.lines)
            outcome = "order cancelled" if row["status"] == "cancelled" else "rest of the order goes on"
            self._raise(queue, row, order_id, "intercepted",
                        f"refunded while {before} ({lines}): take the units back; {outcome}", e.timestamp)

    @staticmethod
    def _fully_picked(units: dict[str, list[int]]) -> bool:
        return all(picked >= wanted for wanted, picked in units.values() if wanted > 0)

    @staticmethod
    def _raise(queue: BatchRows, order: dict, subject: str, kind: str, detail: str, at: datetime) -> None:
        found = queue.row((kind, subject), raised_at=at)
        found.update(order_id=order.get("order_id", subject), channel=order.get("channel", ""),
                     shop=order.get("shop", ""), platform_order_no=order.get("platform_order_no", ""),
                     detail=detail[:500], open=True, raised_at=at, cleared_at=None,
                     times_raised=found["times_raised"] + 1)

    @staticmethod
    def _clear(queue: BatchRows, subject: str, at: datetime, *kinds: str) -> None:
        for kind in kinds:
            found = queue.get((kind, subject))
            if found is not None and found["open"]:
                found.update(open=False, cleared_at=at)

    def _change(self, queue: BatchRows, change, at: datetime, orders: BatchRows) -> None:
        if isinstance(change, ExceptionCleared):
            self._clear(queue, change.subject, at, change.kind)
            return
        order_id = change.order_id or self.parcels.get(change.package_id, "")
        order = orders.get((order_id,)) if order_id else None
        self._raise(queue, dict(order or {}, order_id=order_id), change.subject, change.kind, change.detail, at)


# Queries: plain dicts for the UI, the API and the CLI.


def order_counts(engine: Engine, channel: str | None = None, since=None, until=None) -> dict[str, list[dict]]:
    """Orders per status, per channel and per shop (by the business day they were ordered)."""
    first, last = day_range(since, until)
    where = []
    if channel:
        where.append(board_orders.c.channel == channel)
    if first:
        where.append(board_orders.c.ordered_on >= first)
    if last:
        where.append(board_orders.c.ordered_on <= last)
    n = func.count().label("orders")
    groupings = {
        "by_status": [board_orders.c.status],
        "by_channel": [board_orders.c.channel],
        "by_shop": [board_orders.c.channel, board_orders.c.shop],
    }
    result = {}
    with engine.connect() as conn:
        for label, columns in groupings.items():
            query = select(*columns, n).where(*where).group_by(*columns).order_by(*columns)
            result[label] = [dict(r._mapping) for r in conn.execute(query)]
    order = {s: i for i, s in enumerate(STATUSES)}
    result["by_status"].sort(key=lambda r: order.get(r["status"], len(order)))
    return result


def open_exception_counts(engine: Engine) -> dict[str, int]:
    """Open exceptions per kind."""
    kind = board_exceptions.c.kind
    with engine.connect() as conn:
        return dict(conn.execute(select(kind, func.count()).where(board_exceptions.c.open.is_(True)).group_by(kind))
                    .all())


def exception_queue(engine: Engine, kind: str | None = None, channel: str | None = None,
                    include_cleared: bool = False, since=None, until=None, limit: int = 500) -> list[dict]:
    """Exceptions to work on, oldest first; cleared ones too when asked."""
    return exception_listing(engine, kind, channel, include_cleared, since, until).page(limit)


def exception_listing(engine: Engine, kind: str | None = None, channel: str | None = None,
                      include_cleared: bool = False, since=None, until=None) -> Listing:
    """The exception queue, oldest first, read a page at a time; the days are business days of when raised."""
    kind = choice(kind, KINDS, "exception kind")
    start, end = instant_bounds(*day_range(since, until))
    query = select(board_exceptions)
    if kind:
        query = query.where(board_exceptions.c.kind == kind)
    if channel:
        query = query.where(board_exceptions.c.channel == channel)
    if not include_cleared:
        query = query.where(board_exceptions.c.open.is_(True))
    if start:
        query = query.where(board_exceptions.c.raised_at >= start)
    if end:
        query = query.where(board_exceptions.c.raised_at < end)
    return Listing(engine, query.order_by(board_exceptions.c.raised_at, board_exceptions.c.subject),
                   lambda row: dict(row, raised_at=aware(row["raised_at"]), cleared_at=aware(row["cleared_at"])))
