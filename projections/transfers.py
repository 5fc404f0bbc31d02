"""Transfers between warehouses (调拨): each with its lines shipped and received, and the units in transit, now or as
of any instant (every change of the units in transit is a row, so a sum up to an instant answers it)."""

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, func, select
from sqlalchemy.engine import Connection, Engine

from domain.errors import InvalidInput
from domain.transfer import Transfer, UnknownTransfer

from .backoffice import BatchRows, Instant, Listing, choice, insert_rows, text_id
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

STATUSES = ("draft", "shipping", "shipped", "receiving", "closed", "cancelled")

transfers_table = Table(
    "transfer_order",
    metadata,
    Column("transfer_id", String(36), primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("from_warehouse", String(32), nullable=False),
    Column("to_warehouse", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("units_shipped", BigInteger, nullable=False),
    Column("units_received", BigInteger, nullable=False),
    Column("drafted_at", Instant(), nullable=False),
    Column("updated_at", Instant(), nullable=False),
    Column("updated_by", Text, nullable=False),
)

lines_table = Table(
    "transfer_line",
    metadata,
    Column("transfer_id", String(36), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    Column("shipped", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False),
)

# One row per change of the units in transit: + when shipped, − when received or written off at close.
transit_table = Table(
    "transfer_transit",
    metadata,
    Column("notification_id", BigInteger, primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("number", String(64), nullable=False),
    Column("from_warehouse", String(32), nullable=False),
    Column("to_warehouse", String(32), nullable=False),
    Column("change", BigInteger, nullable=False),
    Column("at", Instant(), nullable=False, index=True),
)


class TransfersProjection(Projection):
    name = "transfers"
    metadata = metadata
    topics = topics_of([Transfer.Drafted, Transfer.Shipped, Transfer.ItemsSent, Transfer.ShippingFinished,
                        Transfer.Received, Transfer.Closed, Transfer.Cancelled])

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        orders = BatchRows(transfers_table, ("transfer_id",), dict)
        lines = BatchRows(lines_table, ("transfer_id", "sku"), dict)
        new = created_in((e for _, e in events), Transfer.Drafted)
        later = {text_id(e.originator_id) for _, e in events} - new
        orders.load(conn, {(key,) for key in later})
        lines.load_by(conn, "transfer_id", later)
        transit = []
        for n, e in events:
            key = text_id(e.originator_id)
            if isinstance(e, Transfer.Drafted):
                order = orders.row((key,), number=e.number, from_warehouse=e.from_warehouse,
                                   to_warehouse=e.to_warehouse, status="draft", units=sum(e.lines.values()),
                                   units_shipped=0, units_received=0, drafted_at=e.timestamp)
                for sku, quantity in e.lines.items():
                    lines.row((key, sku), quantity=quantity, shipped=0, received=0)
            else:
                order = orders.rows[(key,)]
            changes: dict[str, int] = {}
            if isinstance(e, Transfer.Shipped):
                order["status"] = "shipped"
                for sku, quantity in e.shipped.items():
                    lines.rows[(key, sku)]["shipped"] = quantity
                    order["units_shipped"] += quantity
                    changes[sku] = quantity
            elif isinstance(e, Transfer.ItemsSent):
                order["status"] = "shipping"
                quantity = sum(e.bins.values())
                lines.rows[(key, e.sku)]["shipped"] += quantity
                order["units_shipped"] += quantity
                changes[e.sku] = quantity
            elif isinstance(e, Transfer.ShippingFinished):
                order["status"] = "shipped"
            elif isinstance(e, Transfer.Received):
                order["status"] = "receiving"
                line = lines.rows[(key, e.sku)]
                changes[e.sku] = -min(e.quantity, max(line["shipped"] - line["received"], 0))
                line["received"] += e.quantity
                order["units_received"] += e.quantity
            elif isinstance(e, Transfer.Closed):
                order["status"] = "closed"
                changes = {sku: -n for sku, n in e.under.items()}
            elif isinstance(e, Transfer.Cancelled):
                order["status"] = "cancelled"
            transit += [{"notification_id": n, "sku": sku, "number": order["number"], "change": change,
                         "from_warehouse": order["from_warehouse"], "to_warehouse": order["to_warehouse"],
                         "at": e.timestamp} for sku, change in changes.items() if change]
            order.update(updated_at=e.timestamp, updated_by=e.by)
        orders.write(conn)
        lines.write(conn)
        insert_rows(conn, transit_table, transit)


def transfers(engine: Engine, status: str | None = None, warehouse: str | None = None) -> Listing:
    """Transfers, the newest drafted first (those from or to a warehouse when one is named)."""
    status = choice(status, STATUSES, "status")
    t = transfers_table
    query = select(t).order_by(t.c.drafted_at.desc(), t.c.number)
    if status:
        query = query.where(t.c.status == status)
    if warehouse:
        query = query.where((t.c.from_warehouse == warehouse) | (t.c.to_warehouse == warehouse))
    return Listing(engine, query)


def transfer(engine: Engine, number: str) -> dict:
    """One transfer with its lines: asked for, shipped, received, in transit, over or under."""
    with engine.connect() as conn:
        row = conn.execute(select(transfers_table).where(transfers_table.c.number == number)).first()
        if row is None:
            raise UnknownTransfer(f"unknown transfer {str(number)[:64]!r}")
        found = conn.execute(select(lines_table).where(lines_table.c.transfer_id == row.transfer_id)
                             .order_by(lines_table.c.sku)).all()
    moving = row.status in ("shipping", "shipped", "receiving")
    items = [{"sku": r.sku, "quantity": r.quantity, "shipped": r.shipped, "received": r.received,
              "in_transit": max(r.shipped - r.received, 0) if moving else 0,
              "over": max(r.received - r.shipped, 0),
              "under": max(r.shipped - r.received, 0) if row.status == "closed" else 0} for r in found]
    return {**dict(row._mapping), "items": items}


def in_transit(engine: Engine, sku: str | None = None, warehouse: str | None = None,
               at: datetime | None = None) -> list[dict]:
    """Units in transit per transfer and SKU, now or as they stood at an instant (those going to or coming from a
    warehouse when one is named)."""
    t = transit_table
    units = func.sum(t.c.change).label("in_transit")
    query = (select(t.c.number, t.c.sku, t.c.from_warehouse, t.c.to_warehouse, units)
             .group_by(t.c.number, t.c.sku, t.c.from_warehouse, t.c.to_warehouse)
             .having(func.sum(t.c.change) > 0).order_by(t.c.number, t.c.sku))
    if sku:
        query = query.where(t.c.sku == sku)
    if warehouse:
        query = query.where((t.c.from_warehouse == warehouse) | (t.c.to_warehouse == warehouse))
    if at is not None:
        if at.tzinfo is None:
            raise InvalidInput("a point in time needs a time zone")
        query = query.where(t.c.at <= at.astimezone(timezone.utc))  # SQLite compares instants as UTC text
    with engine.connect() as conn:
        return [{**dict(r._mapping), "in_transit": int(r.in_transit)} for r in conn.execute(query)]
