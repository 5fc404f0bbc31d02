"""Lots (批次): stock per bin per lot with its expiry date, lots expiring soon, and which orders shipped each lot."""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, and_, func, or_, select
from sqlalchemy.engine import Connection, Engine

from domain.stock import Stock

from .backoffice import BatchRows, Instant, Listing, aware, text_id
from .order_desk import desk_orders
from .tracking import Projection, topics_of

metadata = MetaData()

lot_stock = Table(
    "lot_stock",
    metadata,
    Column("warehouse", String(32), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("bin", String(32), primary_key=True),
    Column("lot", String(20), primary_key=True),
    Column("expiry", String(10), nullable=False, index=True),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
)

lot_expiry = Table(
    "lot_expiry",
    metadata,
    Column("warehouse", String(32), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("lot", String(20), primary_key=True),
    Column("expiry", String(10), nullable=False),
)

lot_shipment = Table(
    "lot_shipment",
    metadata,
    Column("warehouse", String(32), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("lot", String(20), primary_key=True),
    Column("order_id", String(36), primary_key=True),
    Column("shipped", BigInteger, nullable=False),
    Column("returned", BigInteger, nullable=False),
    Column("shipped_at", Instant(), nullable=False),
)


class LotsProjection(Projection):
    name = "lots"
    metadata = metadata
    topics = topics_of([Stock.LotsBooked])

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        stock = BatchRows(lot_stock, ("warehouse", "sku", "bin", "lot"), lambda: {"on_hand": 0, "reserved": 0})
        expiry = BatchRows(lot_expiry, ("warehouse", "sku", "lot"), dict)
        shipments = BatchRows(lot_shipment, ("warehouse", "sku", "lot", "order_id"),
                              lambda: {"shipped": 0, "returned": 0})
        booked = [e for _, e in events]
        stock.load(conn, {(e.warehouse, e.sku, bin, lot) for e in booked
                          for bin, lot, _ in e.placed} | {(e.warehouse, e.sku, bin, lot) for e in booked
                                                          for _, bin, lot, _ in e.held})
        expiry.load(conn, {(e.warehouse, e.sku, lot) for e in booked for _, lot, _ in e.placed})
        shipments.load(conn, {(e.warehouse, e.sku, lot, order) for e in booked for order, lot, _ in e.shipped})
        for e in booked:
            for lot, day in e.expiry.items():
                expiry.row((e.warehouse, e.sku, lot))["expiry"] = day
            for bin, lot, n in e.placed:
                row = stock.row((e.warehouse, e.sku, bin, lot), expiry=expiry.rows[(e.warehouse, e.sku, lot)]["expiry"])
                row["on_hand"] += n
            for _, bin, lot, n in e.held:
                stock.row((e.warehouse, e.sku, bin, lot))["reserved"] += n
            for order, lot, n in e.shipped:
                row = shipments.row((e.warehouse, e.sku, lot, text_id(order)), shipped_at=e.timestamp)
                if n > 0:
                    row.update(shipped=row["shipped"] + n, shipped_at=e.timestamp)
                else:
                    row["returned"] -= n
        for rows in (expiry, stock, shipments):
            rows.write(conn)


def lot_stock_listing(engine: Engine, warehouse: str | None = None, sku: str | None = None,
                      lot: str | None = None) -> Listing:
    """Stock per bin per lot, first expiring first."""
    query = select(lot_stock.c.warehouse, lot_stock.c.sku, lot_stock.c.lot, lot_stock.c.expiry, lot_stock.c.bin,
                   lot_stock.c.on_hand, lot_stock.c.reserved,
                   (lot_stock.c.on_hand - lot_stock.c.reserved).label("available")).where(
        or_(lot_stock.c.on_hand != 0, lot_stock.c.reserved != 0))
    for column, value in ((lot_stock.c.warehouse, warehouse), (lot_stock.c.sku, sku), (lot_stock.c.lot, lot)):
        if value:
            query = query.where(column == value)
    return Listing(engine, query.order_by(lot_stock.c.expiry, lot_stock.c.sku, lot_stock.c.lot, lot_stock.c.bin))


def expiring(engine: Engine, today: date, within_days: int, warehouse: str | None = None) -> Listing:
    """Lots on hand expiring within the days from today (or expired already), first expiring first, with their
    units, bins and days left (negative once expired)."""
    last = (today + timedelta(days=within_days)).isoformat()
    query = (select(lot_stock.c.warehouse, lot_stock.c.sku, lot_stock.c.lot, lot_stock.c.expiry,
                    func.sum(lot_stock.c.on_hand).label("on_hand"), func.sum(lot_stock.c.reserved).label("reserved"),
                    func.count().label("bins"))
             .where(lot_stock.c.on_hand > 0, lot_stock.c.expiry <= last)
             .group_by(lot_stock.c.warehouse, lot_stock.c.sku, lot_stock.c.lot, lot_stock.c.expiry)
             .order_by(lot_stock.c.expiry, lot_stock.c.sku, lot_stock.c.lot, lot_stock.c.warehouse))
    if warehouse:
        query = query.where(lot_stock.c.warehouse == warehouse)

    def shown(row: dict) -> dict:
        left = (date.fromisoformat(row["expiry"]) - today).days
        return {**row, "days_left": left, "expired": left < 0}

    return Listing(engine, query, shown)


def expiring_count(engine: Engine, today: date, within_days: int) -> int:
    return expiring(engine, today, within_days).count()


def recall(engine: Engine, sku: str, lot: str) -> dict:
    """Where a lot went: the orders that shipped it (newest first, with their number and status from the order
    desk) and the units of it still in stock, per bin."""
    with engine.connect() as conn:
        found = conn.execute(
            select(lot_shipment, desk_orders.c.channel, desk_orders.c.shop, desk_orders.c.platform_order_no,
                   desk_orders.c.status, desk_orders.c.tracking_no)
            .select_from(lot_shipment.outerjoin(desk_orders, desk_orders.c.order_id == lot_shipment.c.order_id))
            .where(and_(lot_shipment.c.sku == sku, lot_shipment.c.lot == lot))
            .order_by(lot_shipment.c.shipped_at.desc(), lot_shipment.c.order_id)).all()
        expiry = conn.execute(select(lot_expiry.c.expiry).where(lot_expiry.c.sku == sku, lot_expiry.c.lot == lot)
                              ).scalar()
    orders = [{**dict(r._mapping), "shipped_at": aware(r.shipped_at),
               "platform_order_no": r.platform_order_no or "", "status": r.status or ""} for r in found]
    remaining = lot_stock_listing(engine, sku=sku, lot=lot).page(10_000)
    return {"sku": sku, "lot": lot, "expiry": expiry or "", "orders": orders, "stock": remaining,
            "shipped": sum(o["shipped"] - o["returned"] for o in orders),
            "on_hand": sum(r["on_hand"] for r in remaining)}


def lots_of_order(engine: Engine, order_id) -> list[dict]:
    """The lots an order shipped (and how many of each came back)."""
    with engine.connect() as conn:
        found = conn.execute(select(lot_shipment.c.sku, lot_shipment.c.lot, lot_expiry.c.expiry, lot_shipment.c.shipped,
                                    lot_shipment.c.returned)
                             .select_from(lot_shipment.outerjoin(lot_expiry, and_(
                                 lot_expiry.c.warehouse == lot_shipment.c.warehouse,
                                 lot_expiry.c.sku == lot_shipment.c.sku, lot_expiry.c.lot == lot_shipment.c.lot)))
                             .where(lot_shipment.c.order_id == str(order_id))
                             .order_by(lot_shipment.c.sku, lot_shipment.c.lot)).all()
    return [dict(r._mapping) for r in found]
