"""Unmapped platform SKUs: order lines whose platform SKU matched no listing and whose 商家编码 matched no SKU, per
channel, shop and platform SKU, with how many orders wait for a person to map it.

A line leaves the list when it is mapped, refunded, or its order is cancelled.
"""

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.engine import Connection, Engine

from domain.listing import platform_key
from domain.order import Order, unmapped

from .backoffice import Instant, Listing, aware, text_id
from .tracking import Projection, topics_of

metadata = MetaData()

waiting_lines = Table(
    "unmapped_sku_line",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("line_no", BigInteger, primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("shop", String(64), nullable=False),
    Column("platform_sku", String(64), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("outer_id", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("platform_order_no", String(64), nullable=False),
    Column("seen_at", Instant(), nullable=False),
    Index("unmapped_sku_key", "channel", "shop", "platform_sku"),
)


class UnmappedSkusProjection(Projection):
    name = "unmapped_skus"
    metadata = metadata
    topics = topics_of([Order.Imported, Order.LinesMapped, Order.Refunded, Order.Cancelled])

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        added: dict[tuple[str, int], dict] = {}
        gone: set[tuple[str, int]] = set()
        cancelled: set[str] = set()
        for _, e in events:
            order_id = text_id(e.originator_id)
            if isinstance(e, Order.Imported):
                for line in e.lines:
                    if unmapped(line):
                        added[(order_id, line["line_no"])] = {
                            "order_id": order_id, "line_no": line["line_no"], "channel": e.channel, "shop": e.shop,
                            "platform_sku": platform_key(line["platform_sku"], line.get("item_id", ""), line["sku"]),
                            "item_id": line.get("item_id", ""), "outer_id": line["sku"], "title": line["title"],
                            "platform_order_no": e.platform_order_no, "seen_at": e.timestamp}
            elif isinstance(e, Order.Cancelled):
                cancelled.add(order_id)
                for key in [k for k in added if k[0] == order_id]:
                    del added[key]
            else:
                for line in e.lines:
                    gone.add((order_id, line["line_no"]))
                    added.pop((order_id, line["line_no"]), None)
        gone = sorted(gone)
        for start in range(0, len(gone), 500):
            conn.execute(delete(waiting_lines).where(
                tuple_(waiting_lines.c.order_id, waiting_lines.c.line_no).in_(gone[start:start + 500])))
        cancelled = sorted(cancelled)
        for start in range(0, len(cancelled), 500):
            conn.execute(delete(waiting_lines).where(waiting_lines.c.order_id.in_(cancelled[start:start + 500])))
        if added:
            conn.execute(insert(waiting_lines), list(added.values()))


def unmapped_skus(engine: Engine, channel: str | None = None, shop: str | None = None) -> Listing:
    """Platform SKUs orders wait for, the most waiting orders first, read a page at a time."""
    c = waiting_lines.c
    orders = func.count(func.distinct(c.order_id))
    query = (select(c.channel, c.shop, c.platform_sku, func.max(c.item_id).label("item_id"),
                    func.max(c.outer_id).label("outer_id"), func.max(c.title).label("title"),
                    orders.label("orders"), func.min(c.seen_at).label("first_seen"),
                    func.max(c.seen_at).label("last_seen"))
             .group_by(c.channel, c.shop, c.platform_sku)
             .order_by(orders.desc(), c.channel, c.shop, c.platform_sku))
    if channel:
        query = query.where(c.channel == channel)
    if shop:
        query = query.where(c.shop == shop)
    return Listing(engine, query, _shown)


def _shown(row: dict) -> dict:
    return dict(row, orders=int(row["orders"]), first_seen=aware(row["first_seen"]), last_seen=aware(row["last_seen"]))


def waiting_orders(engine: Engine, channel: str, shop: str, platform_sku: str) -> list[str]:
    """Ids of the orders waiting for one platform SKU."""
    c = waiting_lines.c
    query = (select(c.order_id).distinct()
             .where(and_(c.channel == channel, c.shop == shop, c.platform_sku == platform_sku))
             .order_by(c.order_id))
    with engine.connect() as conn:
        return [r.order_id for r in conn.execute(query)]


def waiting_by_merchant_code(engine: Engine) -> dict[str, list[str]]:
    """The orders waiting per 商家编码 (merchant code) of their unmapped lines: a code that becomes a SKU frees them."""
    c = waiting_lines.c
    query = select(c.outer_id, c.order_id).distinct().where(c.outer_id != "").order_by(c.outer_id, c.order_id)
    waiting: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            waiting.setdefault(row.outer_id, []).append(row.order_id)
    return waiting
