"""Purchasing: suppliers with their lead times, and purchase orders with their lines, received and outstanding."""

from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Numeric, String, Table, Text, select
from sqlalchemy.engine import Connection, Engine

from domain.purchasing import PurchaseOrder, Supplier, UnknownPurchaseOrder

from .backoffice import BatchRows, Instant, Listing, aware, choice, text_id
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

STATUSES = ("draft", "approved", "closed")

suppliers_table = Table(
    "purchasing_supplier",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("contact", String(200), nullable=False, default=""),
    Column("lead_time_days", BigInteger, nullable=False),
)

orders_table = Table(
    "purchasing_order",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("supplier", String(64), nullable=False),
    Column("warehouse", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("units_ordered", BigInteger, nullable=False),
    Column("units_received", BigInteger, nullable=False),
    Column("drafted_at", Instant(), nullable=False),
    Column("updated_at", Instant(), nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("sent_via", String(8), nullable=False, default=""),
    Column("sent_at", Instant(), nullable=True),
)

lines_table = Table(
    "purchasing_order_line",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_cost", Numeric(14, 4), nullable=False),
    Column("received", BigInteger, nullable=False),
)


class PurchasingProjection(Projection):
    name = "purchasing"
    metadata = metadata
    topics = topics_of([Supplier.Registered, Supplier.LeadTimeChanged, Supplier.Revised],
                       [PurchaseOrder.Drafted, PurchaseOrder.Approved, PurchaseOrder.Received, PurchaseOrder.Closed,
                        PurchaseOrder.Sent])

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        suppliers = BatchRows(suppliers_table, ("code",), dict)
        orders = BatchRows(orders_table, ("order_id",), dict)
        lines = BatchRows(lines_table, ("order_id", "sku"), dict)
        new = {(key,) for key in created_in((e for _, e in events), PurchaseOrder.Drafted)}
        suppliers.load(conn, {(e.code,) for _, e in events
                              if isinstance(e, (Supplier.LeadTimeChanged, Supplier.Revised))})
        later = [e for _, e in events if isinstance(e, (PurchaseOrder.Approved, PurchaseOrder.Received,
                                                          PurchaseOrder.Closed, PurchaseOrder.Sent))]
        orders.load(conn, {(text_id(e.originator_id),) for e in later} - new)
        lines.load(conn, {(text_id(e.originator_id), e.sku) for e in later
                          if isinstance(e, PurchaseOrder.Received) and (text_id(e.originator_id),) not in new})
        for _, e in events:
            if isinstance(e, Supplier.Registered):
                suppliers.row((e.code,), name=e.name, contact="", lead_time_days=e.lead_time_days)
                continue
            if isinstance(e, Supplier.Revised):
                suppliers.rows[(e.code,)].update(name=e.name, contact=e.contact, lead_time_days=e.lead_time_days)
                continue
            if isinstance(e, Supplier.LeadTimeChanged):
                suppliers.rows[(e.code,)]["lead_time_days"] = e.lead_time_days
                continue
            key = text_id(e.originator_id)
            if isinstance(e, PurchaseOrder.Drafted):
                order = orders.row((key,), number=e.number, supplier=e.supplier, warehouse=e.warehouse,
                                   status="draft", lines=len(e.lines), units_received=0, drafted_at=e.timestamp,
                                   sent_via="", sent_at=None,
                                   units_ordered=sum(line["quantity"] for line in e.lines))
                for line in e.lines:
                    lines.row((key, line["sku"]), quantity=line["quantity"], unit_cost=line["unit_cost"], received=0)
            else:
                order = orders.rows[(key,)]
            if isinstance(e, PurchaseOrder.Approved):
                order["status"] = "approved"
            elif isinstance(e, PurchaseOrder.Received):
                order["units_received"] += e.quantity
                lines.rows[(key, e.sku)]["received"] += e.quantity
            elif isinstance(e, PurchaseOrder.Closed):
                order["status"] = "closed"
            elif isinstance(e, PurchaseOrder.Sent):
                order.update(sent_via=e.channel, sent_at=e.timestamp)
            order.update(updated_at=e.timestamp, updated_by=e.by)
        for rows in (suppliers, orders, lines):
            rows.write(conn)


def suppliers(engine: Engine) -> Listing:
    return Listing(engine, select(suppliers_table).order_by(suppliers_table.c.code))


def purchase_orders(engine: Engine, status: str | None = None, supplier: str | None = None) -> Listing:
    """Purchase orders, the newest drafted first."""
    status = choice(status, STATUSES, "status")
    query = select(orders_table).order_by(orders_table.c.drafted_at.desc(), orders_table.c.number)
    if status:
        query = query.where(orders_table.c.status == status)
    if supplier:
        query = query.where(orders_table.c.supplier == supplier)
    return Listing(engine, query, _shown)


def purchase_order(engine: Engine, number: str) -> dict:
    """One purchase order with its lines (ordered, received, outstanding)."""
    with engine.connect() as conn:
        row = conn.execute(select(orders_table).where(orders_table.c.number == number)).first()
        if row is None:
            raise UnknownPurchaseOrder(f"unknown purchase order {str(number)[:64]!r}")
        found = conn.execute(select(lines_table).where(lines_table.c.order_id == row.order_id)
                             .order_by(lines_table.c.sku)).all()
    return {**_shown(dict(row._mapping)), "items": [
        {"sku": r.sku, "quantity": r.quantity, "unit_cost": r.unit_cost, "received": r.received,
         "outstanding": max(r.quantity - r.received, 0), "over": max(r.received - r.quantity, 0)} for r in found]}


def _shown(row: dict) -> dict:
    shown = dict(row)
    del shown["order_id"]
    return {**shown, "drafted_at": aware(shown["drafted_at"]), "updated_at": aware(shown["updated_at"]),
            "sent_at": aware(shown["sent_at"])}
