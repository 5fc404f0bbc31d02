"""Dropship orders per supplier: created, sent, shipped with the supplier's tracking number, confirmed on the
channel (or cancelled with their order). No buyer data is kept here."""

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, MetaData, Numeric, String, Table, select
from sqlalchemy.engine import Connection, Engine

from domain.catalogue import Sku
from domain.dropship import STATUSES, DropshipOrder
from domain.order import Order

from .backoffice import BatchRows, Instant, Listing, aware, business_day, choice, text_id
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

dropship_orders = Table(
    "dropship_order",
    metadata,
    Column("dropship_id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False, index=True),
    Column("supplier", String(64), nullable=False, index=True),
    Column("channel", String(64), nullable=False),
    Column("shop", String(64), nullable=False),
    Column("platform_order_no", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("cancelled", Boolean, nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("created_at", Instant(), nullable=False),
    Column("created_on", String(10), nullable=False),
    Column("courier", String(64), nullable=False),
    Column("tracking_no", String(64), nullable=False),
    Column("shipped_on", String(10), nullable=True),
)

dropship_skus = Table(
    "dropship_sku",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("supplier", String(64), nullable=False, index=True),
    Column("supplier_price", Numeric(14, 4), nullable=False),
    Column("set_at", Instant(), nullable=False),
    Column("set_by", String(200), nullable=False),
)


class DropshipProjection(Projection):
    name = "dropship"
    metadata = metadata
    topics = topics_of([DropshipOrder.Created, DropshipOrder.Sent, DropshipOrder.Shipped, DropshipOrder.Confirmed,
                        Order.Cancelled, Sku.DropshipSet])

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        rows = BatchRows(dropship_orders, ("dropship_id",), dict)
        skus = BatchRows(dropship_skus, ("sku",), dict)
        routed = [e for _, e in events if isinstance(e, Sku.DropshipSet)]
        skus.load(conn, {(e.code,) for e in routed})
        for e in routed:
            skus.row((e.code,)).update(supplier=e.supplier, supplier_price=e.supplier_price, set_at=e.timestamp,
                                       set_by=e.by[:200])
        new = created_in((e for _, e in events), DropshipOrder.Created)
        rows.load(conn, {(text_id(e.originator_id),) for _, e in events
                         if not isinstance(e, (DropshipOrder.Created, Order.Cancelled, Sku.DropshipSet))}
                  - {(k,) for k in new})
        rows.load_by(conn, "order_id", {text_id(e.originator_id) for _, e in events if isinstance(e, Order.Cancelled)})
        for _, e in events:
            if isinstance(e, DropshipOrder.Created):
                rows.row((text_id(e.originator_id),), order_id=text_id(e.order_id), supplier=e.supplier,
                         channel=e.channel, shop=e.shop, platform_order_no=e.platform_order_no, status="created",
                         cancelled=False, lines=len(e.lines), units=sum(line["quantity"] for line in e.lines),
                         created_at=e.timestamp, created_on=business_day(e.timestamp, e.channel, e.shop),
                         courier="", tracking_no="", shipped_on=None)
            elif isinstance(e, Sku.DropshipSet):
                continue
            elif isinstance(e, Order.Cancelled):
                for row in rows.rows.values():
                    if row["order_id"] == text_id(e.originator_id) and row["status"] in ("created", "sent"):
                        row["cancelled"] = True
            else:
                row = rows.rows[(text_id(e.originator_id),)]
                if isinstance(e, DropshipOrder.Sent):
                    row["status"] = "sent"
                elif isinstance(e, DropshipOrder.Shipped):
                    row.update(status="shipped", courier=e.courier, tracking_no=e.tracking_no,
                               shipped_on=business_day(e.timestamp, row["channel"], row["shop"]))
                elif isinstance(e, DropshipOrder.Confirmed):
                    row["status"] = "confirmed"
        rows.write(conn)
        skus.write(conn)


def dropship_listing(engine: Engine, supplier: str | None = None, status: str | None = None) -> Listing:
    """Dropship orders, oldest first; `status` one of created, sent, shipped, confirmed, or `open` (not shipped)."""
    status = choice(status, (*STATUSES, "open", "cancelled"), "status")
    table = dropship_orders
    query = select(table).order_by(table.c.created_at, table.c.platform_order_no)
    if supplier:
        query = query.where(table.c.supplier == supplier)
    if status == "open":
        query = query.where(table.c.status.in_(("created", "sent")), table.c.cancelled.is_(False))
    elif status == "cancelled":
        query = query.where(table.c.cancelled.is_(True))
    elif status:
        query = query.where(table.c.status == status, table.c.cancelled.is_(False))
    return Listing(engine, query, _shown)


def _shown(row: dict) -> dict:
    return {**row, "created_at": aware(row["created_at"])}


def open_dropship_ids(engine: Engine, supplier: str, limit: int = 500) -> list[str]:
    """The supplier's dropship orders not yet shipped nor cancelled, oldest first (at most `limit`)."""
    return [row["dropship_id"] for row in dropship_listing(engine, supplier, "open").page(limit)]


def routed_skus(engine: Engine, supplier: str | None = None) -> Listing:
    """The SKUs suppliers ship to buyers, with their supplier price (a SKU taken back is left out)."""
    query = select(dropship_skus).where(dropship_skus.c.supplier != "").order_by(dropship_skus.c.sku)
    if supplier:
        query = query.where(dropship_skus.c.supplier == supplier)
    return Listing(engine, query, lambda row: {**row, "set_at": aware(row["set_at"])})
