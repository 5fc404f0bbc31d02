"""Oversell forensics: why a channel sold stock we did not have.

For an order that went short (Order.StockShort), per SKU it lacked: what its channel's listing showed at the sale
(the last push before the order arrived), when free stock fell below that figure and what took it, whether a push
followed before the sale, and the timeline in log order of the reservations, releases, other stock movements,
channel pushes and platform sales in between. The audit chain (an index of the log by originator) finds the
order's and the listings' events; the window between the last push and the shortage is read from the log.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic
from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from domain import ids
from domain.errors import InvalidInput, UnknownOrder
from domain.listing import Listing
from domain.order import Order, components_of
from domain.stock import Stock

from .audit import chain_table
from .backoffice import aware, business_calendar, text_id
from .channel_stock import listings
from .inventory import stock_ledger
from .invariants import STOCK_TOPICS
from .orders_board import board_orders

MAX_WINDOW = 50_000  # notifications read between the last push and the shortage
STOCK_KINDS = {Stock.Reserved: "reserved", Stock.Released: "released", Stock.Received: "received",
               Stock.Picked: "picked", Stock.Shipped: "shipped", Stock.Adjusted: "counted", Stock.Scrapped: "scrapped",
               Stock.Returned: "returned", Stock.Moved: "moved", Stock.PutAway: "put away",
               Stock.TransferredOut: "transferred out", Stock.TransferredIn: "transferred in"}


class NotShort(InvalidInput):
    """The order never went short of stock: there is no oversell to explain."""

    code = "not_short"


@dataclass
class Moment:
    """One line of the timeline."""

    notification_id: int
    at: datetime
    kind: str  # push, sale, reserved, released, received, picked, shipped, counted, ..., short
    detail: str
    free_after: int | None = None  # on hand − reserved of the SKU in the warehouse, after a stock event


@dataclass
class Oversell:
    """One SKU an order could not get: what the channel showed, the gap that let the sale through, the timeline."""

    order: str
    sku: str
    warehouse: str
    wanted: int
    missing: int
    channel: str
    shown: int | None = None
    push: Moment | None = None
    free_at_sale: int = 0
    stale_from: Moment | None = None
    next_push: Moment | None = None
    sale: Moment | None = None
    short: Moment | None = None
    gap: str = ""
    timeline: list[Moment] = field(default_factory=list)


def _chain_rows(engine: Engine, originators: list[str]) -> list:
    with engine.connect() as conn:
        return conn.execute(select(chain_table).where(chain_table.c.originator_id.in_(originators))
                            .order_by(chain_table.c.notification_id)).all()


def _free_before(engine: Engine, warehouse: str, sku: str, position: int) -> int:
    with engine.connect() as conn:
        row = conn.execute(select(stock_ledger.c.on_hand_after, stock_ledger.c.reserved_after)
                           .where(and_(stock_ledger.c.warehouse == warehouse, stock_ledger.c.sku == sku,
                                       stock_ledger.c.notification_id <= position))
                           .order_by(stock_ledger.c.version.desc()).limit(1)).first()
    return row.on_hand_after - row.reserved_after if row else 0


def _listings_of(engine: Engine, sku: str) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(listings)).all()
    return {r.listing_id: {"channel": r.channel, "shop": r.shop, "platform_sku": r.platform_sku}
            for r in rows if sku in json.loads(r.components)}


def oversells(app, engine: Engine, order_id: UUID) -> list[Oversell]:
    """Each SKU the order went short of, with the gap that let the channel sell it and the timeline around it.
    The engine's inventory, channel stock and audit views are read; bring them up to date first."""
    try:
        order = app.repository.get(order_id)
    except AggregateNotFoundError:
        raise UnknownOrder(f"unknown order {order_id}") from None
    events = _chain_rows(engine, [text_id(order_id)])
    short_topic = get_topic(Order.StockShort)
    short_rows = [r for r in events if r.topic == short_topic]
    if not short_rows or not events:
        raise NotShort(f"order {order.platform_order_no} never went short of stock (or the audit view has not "
                       "reached it yet)")
    short_row, imported_at = short_rows[0], events[0].notification_id
    [short] = [e for e in app.events.get(order_id, gt=short_row.originator_version - 1,
                                         lte=short_row.originator_version)]
    wanted = order.quantities()
    found = []
    for sku, missing in sorted(short.missing.items()):
        found.append(_explain(app, engine, order, sku, missing, wanted.get(sku, missing), short.warehouse,
                              imported_at, short_row.notification_id))
    return found


def _explain(app, engine, order, sku, missing, wanted, warehouse, sale_at, short_at) -> Oversell:
    label = f"{order.channel}/{order.shop}"
    found = Oversell(f"{order.channel}/{order.shop}/{order.platform_order_no}", sku, warehouse, wanted, missing, label)
    mapped = _listings_of(engine, sku)
    ours = [lid for lid, l in mapped.items() if (l["channel"], l["shop"]) == (order.channel, order.shop)]
    published = get_topic(Listing.Published)
    pushes = [r for r in _chain_rows(engine, list(mapped)) if r.topic == published]
    before = [r for r in pushes if r.originator_id in ours and r.notification_id < sale_at]
    start = before[-1].notification_id if before else sale_at
    found.timeline = _timeline(app, engine, warehouse, sku, mapped, start, short_at)
    by_number = {m.notification_id: m for m in found.timeline}
    found.sale, found.short = by_number.get(sale_at), by_number.get(short_at)
    found.free_at_sale = _free_before(engine, warehouse, sku, sale_at - 1)
    if not before:
        found.gap = (f"{label} was never told a figure for {sku} before this sale: the platform showed stock "
                     "Cangku did not publish")
        return found
    found.push = by_number[before[-1].notification_id]
    [pushed] = app.events.get(UUID(before[-1].originator_id), gt=before[-1].originator_version - 1,
                              lte=before[-1].originator_version)
    found.shown = pushed.quantity
    if found.shown < wanted:
        found.gap = (f"{label} was told to show {found.shown} but sold {wanted}: the platform did not hold the sale "
                     "to the figure shown")
        return found
    found.stale_from = next((m for m in found.timeline if m.free_after is not None
                             and m.notification_id < sale_at and m.free_after < found.shown), None)
    if found.stale_from is None:
        found.gap = (f"{label} showed {found.shown} and {found.free_at_sale} were free at the sale; the stock went "
                     "between the sale and its reservation")
        return found
    found.next_push = next((m for m in found.timeline if m.kind == "push" and m.detail.startswith(label + " ")
                            and found.stale_from.notification_id < m.notification_id < sale_at), None)
    seconds = (found.sale.at - found.stale_from.at).total_seconds() if found.sale else 0
    found.gap = (f"{label} showed {found.shown} from push #{found.push.notification_id}; free stock fell to "
                 f"{found.stale_from.free_after} at #{found.stale_from.notification_id} ({found.stale_from.kind}: "
                 f"{found.stale_from.detail}) and "
                 + ("no push followed" if found.next_push is None else
                    f"the push at #{found.next_push.notification_id} came too late")
                 + f" before the sale at #{sale_at}: the listing over-showed by {found.shown - found.free_at_sale} "
                 f"for {seconds:.1f} s")
    return found


def _timeline(app, engine, warehouse, sku, mapped, start, end) -> list[Moment]:
    stream = ids.stock_id(warehouse, sku)
    imported, short, published = get_topic(Order.Imported), get_topic(Order.StockShort), get_topic(Listing.Published)
    topics = (*STOCK_TOPICS, imported, short, published)
    with engine.connect() as conn:
        free = {r.notification_id: r.on_hand_after - r.reserved_after for r in conn.execute(
            select(stock_ledger.c.notification_id, stock_ledger.c.on_hand_after, stock_ledger.c.reserved_after)
            .where(and_(stock_ledger.c.warehouse == warehouse, stock_ledger.c.sku == sku,
                        stock_ledger.c.notification_id.between(start, end))))}
    moments, names, position = [], {}, start
    while position <= end and position - start < MAX_WINDOW:
        page = app.recorder.select_notifications(position, 1000, stop=end, topics=topics)
        if not page:
            break
        for n in page:
            moment = _moment(app.mapper.to_domain_event(n), n.id, stream, sku, mapped, free, names)
            if moment:
                moments.append(moment)
        position = page[-1].id + 1
    return moments


def _units(e: Any) -> int:
    if isinstance(e, (Stock.Reserved, Stock.Released)):
        return sum(e.allocation.values())
    if isinstance(e, Stock.Adjusted):
        return e.difference
    return e.quantity


def _moment(e: Any, n: int, stream: UUID, sku: str, mapped: dict, free: dict, names: dict) -> Moment | None:
    at = aware(e.timestamp)
    if isinstance(e, Order.Imported):
        names[e.originator_id] = f"{e.channel}/{e.shop}/{e.platform_order_no}"
        units = sum(line["quantity"] * components_of(line).get(sku, 0) for line in e.lines)
        if units:
            ordered = (aware(e.ordered_at).astimezone(business_calendar.zone).isoformat(timespec="seconds")
                       if e.ordered_at else "-")
            return Moment(n, at, "sale", f"order {names[e.originator_id]}: {units} units (ordered {ordered})")
    elif isinstance(e, Stock.Event) and e.originator_id == stream and type(e) in STOCK_KINDS:
        order = getattr(e, "order_id", None)
        detail = f"{_units(e)} units" + (f" for order {names.get(order, order)}" if order else "")
        return Moment(n, at, STOCK_KINDS[type(e)], detail, free.get(n))
    elif isinstance(e, Listing.Published) and text_id(e.originator_id) in mapped:
        listing = mapped[text_id(e.originator_id)]
        before = "" if e.shown_before is None else f" (was {e.shown_before})"
        return Moment(n, at, "push", f"{listing['channel']}/{listing['shop']} {listing['platform_sku']} told to show "
                                     f"{e.quantity}{before}")
    elif isinstance(e, Order.StockShort) and sku in e.missing:
        return Moment(n, at, "short", f"order {names.get(e.originator_id, e.originator_id)} short of "
                                      f"{e.missing[sku]} units")
    return None


def short_orders(engine: Engine, channel: str, shop: str | None = None, sku: str | None = None,
                 limit: int = 20) -> list[dict]:
    """Orders of a channel (and shop) waiting for stock, newest first, that want the SKU when one is given."""
    query = select(board_orders).where(board_orders.c.status == "awaiting_stock").where(board_orders.c.channel == channel)
    if shop:
        query = query.where(board_orders.c.shop == shop)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(board_orders.c.updated_at.desc())).all()
    chosen = [r for r in rows if not sku or sku in json.loads(r.units)]
    return [{"order_id": UUID(r.order_id), "platform_order_no": r.platform_order_no, "shop": r.shop} for r in chosen[:limit]]
