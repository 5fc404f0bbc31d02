"""Replenishment: sales velocity per SKU, days of cover, safety-stock breaches and a suggested purchase quantity.

Velocity is units ordered per day over a trailing window (business days); units that orders wait for (awaiting
stock) count as demand already owed. Available stock is read from the inventory view when asked. A kit line
(组合装) is demand for its components; a line whose platform SKU is not mapped yet counts once it is mapped. An
order cancelled before shipping, and a line refunded before shipping, were no demand: their units leave the day
they were ordered.

    suggested = velocity × (lead time + review period) + safety stock + units owed − available, rounded up, ≥ 0
"""

import math
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.engine import Connection, Engine

from domain.catalogue import Sku
from domain.errors import UnknownSku
from domain.history import SALES, HistoricOrder
from domain.order import Order, components_of, dropship_supplier

from .backoffice import BatchRows, business_day, parse_day, positive_int, text_id, today, update_rows
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

skus_table = Table(
    "replenishment_sku",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("safety_stock", BigInteger, nullable=False),
)

demand_table = Table(
    "replenishment_demand",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("units", BigInteger, nullable=False),
)

order_demand_table = Table(
    "replenishment_order_demand",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("line_no", BigInteger, primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("day", String(10), nullable=False),
    Column("units", BigInteger, nullable=False),
)

owed_table = Table(
    "replenishment_owed",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("units", BigInteger, nullable=False),
)

# Events after which an order no longer waits for stock.
NOT_WAITING = (Order.Reserved, Order.Held, Order.Cancelled)


def ordered_day(e: Any) -> str:
    """The business day an order was placed: in its shop's zone when the event names the shop (a later mapping of
    its lines does not, and takes the business zone)."""
    return business_day(e.ordered_at, getattr(e, "channel", None), getattr(e, "shop", None))


class ReplenishmentProjection(Projection):
    name = "replenishment"
    metadata = metadata
    topics = topics_of([Sku.Registered, Sku.Revised, Order.Imported, Order.StockShort, Order.Refunded, Order.LinesMapped,
                        *NOT_WAITING, HistoricOrder.Recorded])

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        demand = BatchRows(demand_table, ("sku", "day"), lambda: {"units": 0})
        ordered = BatchRows(order_demand_table, ("order_id", "line_no", "sku"), dict)
        new_skus: dict[str, dict] = {}
        revised: dict[str, dict] = {}
        imported = created_in((e for _, e in events), Order.Imported)
        ordered.load_by(conn, "order_id", {text_id(e.originator_id) for _, e in events
                                           if isinstance(e, (Order.Cancelled, Order.Refunded))} - imported)
        by_order: dict[str, list[dict]] = {}
        for row in ordered.rows.values():
            by_order.setdefault(row["order_id"], []).append(row)
        keys = {(row["sku"], row["day"]) for row in ordered.rows.values()}
        for _, e in events:
            if isinstance(e, (Order.Imported, Order.LinesMapped)):
                day = ordered_day(e)
                keys.update((sku, day) for line in e.lines if not dropship_supplier(line)
                            for sku in components_of(line))
            elif isinstance(e, HistoricOrder.Recorded):
                keys.update((line["sku"], ordered_day(e)) for line in e.lines)
        demand.load(conn, keys)
        owed = self._owed(conn, events)
        before = dict(owed)
        for _, e in events:
            if isinstance(e, Sku.Registered):
                new_skus[e.code] = {"sku": e.code, "name": e.name, "safety_stock": e.safety_stock}
            elif isinstance(e, Sku.Revised):
                row = new_skus.get(e.code) or revised.setdefault(e.code, {"sku": e.code})
                row.update(name=e.name, safety_stock=e.safety_stock)
            elif isinstance(e, (Order.Imported, Order.LinesMapped)):
                day = ordered_day(e)
                for line in e.lines:
                    if dropship_supplier(line):
                        continue  # its supplier ships it: nothing of ours to buy
                    for sku, each in components_of(line).items():
                        units = line["quantity"] * each
                        demand.row((sku, day))["units"] += units
                        by_order.setdefault(text_id(e.originator_id), []).append(
                            ordered.row((text_id(e.originator_id), line["line_no"], sku), day=day, units=units))
            elif isinstance(e, HistoricOrder.Recorded):
                self._historic(demand, e)
            elif isinstance(e, Order.Cancelled):
                self._withdraw(demand, by_order.get(text_id(e.originator_id), []), None)
                self._forget(owed, text_id(e.originator_id))
            elif isinstance(e, Order.StockShort):
                self._forget(owed, text_id(e.originator_id))
                owed.update({(text_id(e.originator_id), sku): n for sku, n in e.missing.items()})
            elif isinstance(e, NOT_WAITING):
                self._forget(owed, text_id(e.originator_id))
            elif isinstance(e, Order.Refunded):
                if e.before_shipment:
                    self._withdraw(demand, by_order.get(text_id(e.originator_id), []),
                                   {line["line_no"] for line in e.lines})
                for line in e.lines:
                    for sku, each in components_of(line).items():
                        key = (text_id(e.originator_id), sku)
                        if key in owed:
                            owed[key] = max(owed[key] - line["quantity"] * each, 0)
        if new_skus:
            conn.execute(insert(skus_table), list(new_skus.values()))
        update_rows(conn, skus_table, ("sku",), list(revised.values()))
        demand.write(conn)
        ordered.write(conn)
        changed = [k for k in before if owed.get(k) != before[k]]
        if changed:
            conn.execute(delete(owed_table).where(tuple_(owed_table.c.order_id, owed_table.c.sku).in_(changed)))
        added = [{"order_id": o, "sku": s, "units": n} for (o, s), n in owed.items() if n and before.get((o, s)) != n]
        if added:
            conn.execute(insert(owed_table), added)

    @staticmethod
    def _owed(conn, events) -> dict[tuple[str, str], int]:
        orders = {text_id(e.originator_id) for _, e in events if isinstance(e, (Order.Refunded, *NOT_WAITING,
                                                                             Order.StockShort))}
        orders -= created_in((e for _, e in events), Order.Imported)
        owed = {}
        wanted = sorted(orders)
        for start in range(0, len(wanted), 500):
            query = select(owed_table).where(owed_table.c.order_id.in_(wanted[start:start + 500]))
            owed.update({(r.order_id, r.sku): r.units for r in conn.execute(query)})
        return owed

    @staticmethod
    def _historic(demand: BatchRows, e: Any) -> None:
        """A past sale is demand on the day ordered, less the units refunded; a cancelled order is none; a credit
        note takes its units back off its own day (the sale it cancels is in another order)."""
        day = ordered_day(e)
        for line in e.lines:
            if e.status in SALES:
                units = line["quantity"] - line["refunded_quantity"]
            elif e.status == "credit_note":
                units = -line["quantity"]
            else:
                continue
            demand.row((line["sku"], day))["units"] += units

    @staticmethod
    def _withdraw(demand: BatchRows, order_rows: list[dict], line_nos: set[int] | None) -> None:
        """Units of an order (or of some of its lines) that will not ship leave the day they were ordered."""
        for row in order_rows:
            if (line_nos is None or row["line_no"] in line_nos) and row["units"]:
                demand.row((row["sku"], row["day"]))["units"] -= row["units"]
                row["units"] = 0

    @staticmethod
    def _forget(owed: dict, order_id: str) -> None:
        for key in [k for k in owed if k[0] == order_id]:
            owed[key] = 0


def replenishment(engine: Engine, as_of=None, window_days: int = 28, lead_time_days: int = 7,
                  review_days: int = 7, warehouse: str | None = None, sku: str | None = None) -> list[dict]:
    """Per SKU: velocity, available, units owed, days of cover, breach and suggested purchase, neediest first.
    Retired SKUs are not bought again, so they are left out (read from the catalogue view)."""
    from .catalogue import catalogue_skus
    from .inventory import stock_bins

    window = positive_int(window_days, "window days")
    cover_days = positive_int(lead_time_days, "lead time days") + positive_int(review_days, "review days")
    last = parse_day(as_of, "as of") or today()
    first = (last - timedelta(days=window - 1)).isoformat()
    skus = (select(skus_table).order_by(skus_table.c.sku)
            .where(skus_table.c.sku.not_in(select(catalogue_skus.c.code).where(catalogue_skus.c.retired))))
    sold = (select(demand_table.c.sku, func.sum(demand_table.c.units).label("units"))
            .where(demand_table.c.day >= first, demand_table.c.day <= last.isoformat())
            .group_by(demand_table.c.sku))
    stock = (select(stock_bins.c.sku, func.sum(stock_bins.c.on_hand - stock_bins.c.reserved).label("available"))
             .group_by(stock_bins.c.sku))
    if warehouse:
        stock = stock.where(stock_bins.c.warehouse == warehouse)
    if sku is not None:
        skus = skus.where(skus_table.c.sku == sku)
    owed_units = select(owed_table.c.sku, func.sum(owed_table.c.units).label("units")).group_by(owed_table.c.sku)
    with engine.connect() as conn:
        catalogue = conn.execute(skus).all()
        units = {r.sku: int(r.units) for r in conn.execute(sold)}
        available = {r.sku: int(r.available) for r in conn.execute(stock)}
        owed = {r.sku: int(r.units) for r in conn.execute(owed_units)}
    if sku is not None and not catalogue:
        raise UnknownSku(f"unknown SKU {sku[:64]!r}", key="refusal:unknown_sku", sku=sku[:64])
    rows = []
    for item in catalogue:
        sold = max(units.get(item.sku, 0), 0)  # credit notes of past orders may outweigh a window's sales
        velocity = Decimal(sold) / window
        free, waiting = available.get(item.sku, 0), owed.get(item.sku, 0)
        net = free - waiting
        cover = (Decimal(max(net, 0)) / velocity).quantize(Decimal("0.1"), ROUND_HALF_UP) if velocity else None
        need = velocity * cover_days + item.safety_stock + waiting - free
        rows.append({
            "sku": item.sku, "name": item.name, "units_sold": sold,
            "velocity": velocity.quantize(Decimal("0.01"), ROUND_HALF_UP), "available": free, "owed": waiting,
            "days_of_cover": cover, "safety_stock": item.safety_stock, "breach": net <= item.safety_stock,
            "suggested": max(math.ceil(need), 0),
        })
    rows.sort(key=lambda r: (not r["breach"], r["days_of_cover"] is None,
                             r["days_of_cover"] if r["days_of_cover"] is not None else 0, r["sku"]))
    return rows
