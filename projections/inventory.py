"""Inventory: on hand, reserved and available per SKU × warehouse × bin, and the movement ledger with the
running balances after each movement, per bin and per SKU × warehouse (stock at an instant is one lookup)."""

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    and_,
    select,
)
from sqlalchemy.engine import Connection, Engine

from domain.catalogue import Sku
from domain.errors import InvalidInput, UnknownSku
from domain.stock import Stock
from domain.warehouse import Warehouse

from .backoffice import Instant, Listing, aware, insert_rows, insert_tuples, text_id, update_rows
from .tracking import Projection, topics_of

metadata = MetaData()

stock_bins = Table(
    "inventory_bin",
    metadata,
    Column("warehouse", String(32), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("bin", String(32), primary_key=True),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
)

# How many movements each bin's ledger holds (a row for every row of inventory_bin): the next one's sequence.
bin_movements = Table(
    "inventory_bin_movements",
    metadata,
    Column("warehouse", String(32), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("bin", String(32), primary_key=True),
    Column("movements", BigInteger, nullable=False),
)

stock_streams = Table(
    "inventory_stream",
    metadata,
    Column("stock_id", String(36), primary_key=True),
    Column("warehouse", String(32), nullable=False),
    Column("sku", String(64), nullable=False),
)

# One row per stock event and bin whose figure it changed; `sequence` numbers a bin's movements 1, 2, 3, …
movements = Table(
    "inventory_movement",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", BigInteger, nullable=False, index=True),
    Column("event_id", String(48), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("event", String(32), nullable=False),
    Column("warehouse", String(32), nullable=False),
    Column("sku", String(64), nullable=False, index=True),
    Column("bin", String(32), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("on_hand_before", BigInteger, nullable=False),
    Column("on_hand_after", BigInteger, nullable=False),
    Column("reserved_before", BigInteger, nullable=False),
    Column("reserved_after", BigInteger, nullable=False),
    Column("order_id", String(36), nullable=False, default=""),
    Column("reason", String(200), nullable=False, default=""),
    Column("by", Text, nullable=False),
    Column("at", Instant(), nullable=False),
    Index("inventory_movement_bin_at", "warehouse", "sku", "bin", "at", "sequence"),
    Index("inventory_movement_bin_sequence", "warehouse", "sku", "bin", "sequence", unique=True),
)

# One row per event of a SKU's stock in a warehouse (its version numbers them 1, 2, 3, …), with the totals.
stock_ledger = Table(
    "inventory_stock_ledger",
    metadata,
    Column("warehouse", String(32), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("notification_id", BigInteger, nullable=False),
    Column("event", String(32), nullable=False),
    Column("on_hand_before", BigInteger, nullable=False),
    Column("on_hand_after", BigInteger, nullable=False),
    Column("reserved_before", BigInteger, nullable=False),
    Column("reserved_after", BigInteger, nullable=False),
    Column("by", Text, nullable=False),
    Column("at", Instant(), nullable=False),
    Index("inventory_stock_ledger_at", "warehouse", "sku", "at", "version"),
)

warehouses = Table(
    "inventory_warehouse",
    metadata,
    Column("warehouse_id", String(36), primary_key=True),
    Column("code", String(32), nullable=False),
)

locations = Table(
    "inventory_location",
    metadata,
    Column("warehouse", String(32), primary_key=True),
    Column("bin", String(32), primary_key=True),
    Column("area", String(16), nullable=False),
)

catalogue = Table(
    "inventory_sku",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("safety_stock", BigInteger, nullable=False),
    Column("unit_cost", Numeric(14, 4), nullable=False),
    Column("unit_weight_g", BigInteger, nullable=False),
)


_BIN_CHANGES = {
    Stock.Received: lambda e: [(e.bin, e.quantity, 0)],
    Stock.Returned: lambda e: [(e.bin, e.quantity, 0)],
    Stock.PutAway: lambda e: [(e.from_bin, -e.quantity, 0), (e.to_bin, e.quantity, 0)],
    Stock.Moved: lambda e: [(e.from_bin, -e.quantity, 0), (e.to_bin, e.quantity, 0)],
    Stock.Reserved: lambda e: [(b, 0, q) for b, q in e.allocation.items()],
    Stock.Released: lambda e: [(b, 0, -q) for b, q in e.allocation.items()],
    Stock.Picked: lambda e: [(b, 0, -n) for b, n in e.taken.items()]
    + [(e.from_bin, -e.quantity, 0), (e.to_bin, e.quantity, e.quantity)],
    Stock.Adjusted: lambda e: [(e.bin, e.difference, 0)] + [(e.bin, 0, -n) for n in e.dropped.values()],
    Stock.Shipped: lambda e: [(e.bin, -e.quantity, -e.quantity)],
    Stock.Scrapped: lambda e: [(e.bin, -e.quantity, 0)],
    Stock.TransferredOut: lambda e: [(b, -q, 0) for b, q in e.taken.items()],
    Stock.TransferredIn: lambda e: [(e.bin, e.quantity, 0)],
}


def sku_details(e: Any) -> dict:
    """What the inventory view keeps of a SKU, from its registration or latest revision."""
    return {"name": e.name, "safety_stock": e.safety_stock, "unit_cost": e.unit_cost, "unit_weight_g": e.unit_weight_g}


def _no_change(_e: Any) -> list:
    return []


def _changes_of(kind: type):
    """How an event class changes bins (subclasses change them as their base does)."""
    found = _BIN_CHANGES.get(kind)
    if found is None:
        found = next((_BIN_CHANGES[base] for base in kind.__mro__ if base in _BIN_CHANGES), _no_change)
        _BIN_CHANGES[kind] = found
    return found


def bin_changes(e: Any) -> list[tuple[str, int, int]]:
    """(bin, change of on hand, change of reserved) for one stock event."""
    return _changes_of(type(e))(e)


MOVEMENT_COLUMNS = ("notification_id", "event_id", "version", "event", "warehouse", "sku", "bin", "sequence",
                    "on_hand_before", "on_hand_after", "reserved_before", "reserved_after", "order_id", "reason",
                    "by", "at")
LEDGER_COLUMNS = ("warehouse", "sku", "version", "notification_id", "event", "on_hand_before", "on_hand_after",
                  "reserved_before", "reserved_after", "by", "at")


class InventoryProjection(Projection):
    name = "inventory"
    metadata = metadata
    topics = topics_of(
        [Sku.Registered, Sku.Revised, Warehouse.Opened, Warehouse.LocationAdded],
        [Stock.Opened, Stock.Received, Stock.PutAway, Stock.Moved, Stock.Reserved, Stock.Released, Stock.Picked,
         Stock.Adjusted, Stock.Shipped, Stock.Returned, Stock.Scrapped, Stock.TransferredOut, Stock.TransferredIn],
        [Stock.LotsBooked],  # moves no bin figure, but takes its version in the stock's ledger (lots.py folds it)
    )

    def __init__(self):
        self.streams: dict[str, tuple[str, str]] = {}
        self.warehouses: dict[str, str] = {}

    def reset_memory(self) -> None:
        self.streams = {}
        self.warehouses = {}

    def _warehouse_code(self, conn, warehouse_id) -> str:
        key = str(warehouse_id)
        if key not in self.warehouses:
            self.warehouses[key] = conn.execute(
                select(warehouses.c.code).where(warehouses.c.warehouse_id == key)).scalar_one()
        return self.warehouses[key]

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        new_streams, ledger, totals_ledger, bins = [], [], [], []
        skus: dict[str, dict] = {}
        revised: dict[str, dict] = {}
        rows: dict[tuple[str, str, str], list[int]] = {}
        existing: set[tuple[str, str, str]] = set()
        self._load_rows(conn, events, rows, existing)
        totals: dict[tuple[str, str], list[int]] = {}
        for (warehouse, sku, _), (on_hand, reserved, _) in rows.items():
            total = totals.setdefault((warehouse, sku), [0, 0])
            total[0] += on_hand
            total[1] += reserved
        streams = self.streams
        for notification_id, e in events:
            kind = type(e)
            changes_of = _BIN_CHANGES.get(kind)
            if changes_of is None:
                if isinstance(e, Sku.Registered):
                    skus[e.code] = {"code": e.code, **sku_details(e)}
                    continue
                if isinstance(e, Sku.Revised):
                    revised[e.code] = skus[e.code] = {"code": e.code, **sku_details(e)}
                    continue
                if isinstance(e, Warehouse.Opened):
                    self.warehouses[text_id(e.originator_id)] = e.code
                    insert_rows(conn, warehouses, [{"warehouse_id": text_id(e.originator_id), "code": e.code}])
                    continue
                if isinstance(e, Warehouse.LocationAdded):
                    bins.append({"warehouse": self._warehouse_code(conn, e.originator_id), "bin": e.bin,
                                 "area": e.area})
                    continue
                changes_of = _changes_of(kind)
            stream = text_id(e.originator_id)
            if isinstance(e, Stock.Opened):
                streams[stream] = (e.warehouse, e.sku)
                new_streams.append({"stock_id": stream, "warehouse": e.warehouse, "sku": e.sku})
            warehouse, sku = streams[stream]
            total = totals.get((warehouse, sku))
            if total is None:
                total = totals[(warehouse, sku)] = [0, 0]
            on_hand_total, reserved_total = total
            changed: dict[str, list[int]] = {}
            for bin, d_on_hand, d_reserved in changes_of(e):
                row = rows.get((warehouse, sku, bin))
                if row is None:
                    row = rows[(warehouse, sku, bin)] = [0, 0, 0]
                if bin not in changed:
                    changed[bin] = row[:2]
                row[0] += d_on_hand
                row[1] += d_reserved
                total[0] += d_on_hand
                total[1] += d_reserved
            by, at, version, event = getattr(e, "by", ""), e.timestamp, e.originator_version, kind.__name__
            if changed:
                event_id = f"{stream}:{version}"
                order_id = getattr(e, "order_id", "")
                order_id = text_id(order_id) if order_id else ""
                reason = (getattr(e, "reason", "") or getattr(e, "reference", "") or "")[:200]
                for bin, before in changed.items():
                    row = rows[(warehouse, sku, bin)]
                    if row[0] == before[0] and row[1] == before[1]:
                        continue
                    row[2] += 1
                    ledger.append((notification_id, event_id, version, event, warehouse, sku, bin, row[2],
                                   before[0], row[0], before[1], row[1], order_id, reason, by, at))
            totals_ledger.append((warehouse, sku, version, notification_id, event, on_hand_total, total[0],
                                  reserved_total, total[1], by, at))
        registered = {e.code for _, e in events if isinstance(e, Sku.Registered)}
        insert_rows(conn, catalogue, [row for code, row in skus.items() if code in registered])
        update_rows(conn, catalogue, ("code",), [row for code, row in revised.items() if code not in registered])
        if bins:
            insert_rows(conn, locations, bins)
        if new_streams:
            insert_rows(conn, stock_streams, new_streams)
        self._write_rows(conn, rows, existing)
        insert_tuples(conn, movements, MOVEMENT_COLUMNS, ledger)
        insert_tuples(conn, stock_ledger, LEDGER_COLUMNS, totals_ledger)

    def _load_rows(self, conn, events, rows, existing) -> None:
        wanted, unknown = set(), set()
        for _, e in events:
            if isinstance(e, Stock.Opened):
                self.streams[text_id(e.originator_id)] = (e.warehouse, e.sku)
            elif not isinstance(e, (Sku.Registered, Sku.Revised, Warehouse.Opened, Warehouse.LocationAdded)):
                stream = text_id(e.originator_id)
                if stream in self.streams:
                    wanted.add(self.streams[stream])
                else:
                    unknown.add(stream)
        for chunk in _chunks(sorted(unknown)):
            for found in conn.execute(select(stock_streams).where(stock_streams.c.stock_id.in_(chunk))):
                self.streams[found.stock_id] = (found.warehouse, found.sku)
                wanted.add((found.warehouse, found.sku))
        by_warehouse: dict[str, list[str]] = {}
        for warehouse, sku in wanted:
            by_warehouse.setdefault(warehouse, []).append(sku)
        for warehouse, skus in by_warehouse.items():
            for chunk in _chunks(sorted(skus)):
                query = (select(stock_bins, bin_movements.c.movements)
                         .join(bin_movements, and_(bin_movements.c.warehouse == stock_bins.c.warehouse,
                                                   bin_movements.c.sku == stock_bins.c.sku,
                                                   bin_movements.c.bin == stock_bins.c.bin))
                         .where(stock_bins.c.warehouse == warehouse, stock_bins.c.sku.in_(chunk)))
                for r in conn.execute(query):
                    rows[(r.warehouse, r.sku, r.bin)] = [r.on_hand, r.reserved, r.movements]
                    existing.add((r.warehouse, r.sku, r.bin))

    @staticmethod
    def _write_rows(conn, rows, existing) -> None:
        updates = [(v[0], v[1], v[2], k) for k, v in rows.items() if k in existing]
        inserts = [(v[0], v[1], v[2], k) for k, v in rows.items() if k not in existing]
        if updates:
            update_rows(conn, stock_bins, ("warehouse", "sku", "bin"),
                        [{"on_hand": o, "reserved": r, "warehouse": w, "sku": s, "bin": b}
                         for o, r, _, (w, s, b) in updates])
            update_rows(conn, bin_movements, ("warehouse", "sku", "bin"),
                        [{"movements": m, "warehouse": w, "sku": s, "bin": b} for _, _, m, (w, s, b) in updates])
        insert_tuples(conn, stock_bins, ("warehouse", "sku", "bin", "on_hand", "reserved"),
                      [(w, s, b, o, r) for o, r, _, (w, s, b) in inserts])
        insert_tuples(conn, bin_movements, ("warehouse", "sku", "bin", "movements"),
                      [(w, s, b, m) for _, _, m, (w, s, b) in inserts])


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start:start + size]


# Queries: plain dicts for the UI, the API and the CLI.


def warehouse_codes(engine: Engine) -> list[str]:
    """Every warehouse's code, in order."""
    with engine.connect() as conn:
        return list(conn.execute(select(warehouses.c.code).order_by(warehouses.c.code)).scalars())


def stock_by_bin(engine: Engine, warehouse: str | None = None, sku: str | None = None) -> list[dict]:
    return list(stock_by_bin_listing(engine, warehouse, sku))


def stock_by_bin_listing(engine: Engine, warehouse: str | None = None, sku: str | None = None,
                         bin: str | None = None) -> Listing:
    """Stock per bin that holds or owes something, by warehouse, SKU and bin, read a page at a time."""
    query = select(stock_bins).where(stock_bins.c.on_hand + stock_bins.c.reserved != 0)
    if warehouse:
        query = query.where(stock_bins.c.warehouse == warehouse)
    if sku:
        query = query.where(stock_bins.c.sku == sku)
    if bin:
        query = query.where(stock_bins.c.bin == bin)
    query = query.order_by(stock_bins.c.warehouse, stock_bins.c.sku, stock_bins.c.bin)
    return Listing(engine, query, lambda r: {"warehouse": r["warehouse"], "sku": r["sku"], "bin": r["bin"],
                                             "on_hand": r["on_hand"], "reserved": r["reserved"],
                                             "available": r["on_hand"] - r["reserved"]},
                   sort_keys={"available": stock_bins.c.on_hand - stock_bins.c.reserved})


def movement_ledger(engine: Engine, sku: str | None = None, bin: str | None = None,
                    until: datetime | None = None, limit: int = 500, newest_first: bool = False) -> list[dict]:
    """Movements in the order they happened, or the newest first (so a capped list always shows the latest)."""
    return movement_listing(engine, sku, bin, until, newest_first).page(limit)


def movement_listing(engine: Engine, sku: str | None = None, bin: str | None = None,
                     until: datetime | None = None, newest_first: bool = False) -> Listing:
    """The movement ledger, read a page at a time."""
    order = (movements.c.notification_id.desc(), movements.c.id.desc()) if newest_first else (
        movements.c.notification_id, movements.c.id)
    query = select(movements).order_by(*order)
    if sku:
        query = query.where(movements.c.sku == sku)
    if bin:
        query = query.where(movements.c.bin == bin)
    if until:
        query = query.where(movements.c.at <= until.astimezone(timezone.utc))
    return Listing(engine, query)


def stock_at(engine: Engine, warehouse: str, sku: str, at: datetime, bin: str | None = None, limit: int = 50,
             offset: int = 0) -> dict:
    """Stock of a SKU (in one bin, or the whole warehouse) as it stood at an instant, read from the ledger, with
    one page of the events behind the figure: pages count back from the newest event at or before the instant
    (offset 0 ends with it); a page lists its events in the order they happened."""
    if at.tzinfo is None:
        raise InvalidInput("a point in time needs a time zone (or is read as local time by the caller)")
    ledger = stock_ledger if bin is None else movements
    position = ledger.c.version if bin is None else movements.c.sequence
    where = [ledger.c.warehouse == warehouse, ledger.c.sku == sku]
    if bin is not None:
        where.append(movements.c.bin == bin)
    last = (select(position.label("position"), ledger.c.on_hand_after, ledger.c.reserved_after)
            .where(*where, ledger.c.at <= at.astimezone(timezone.utc))
            .order_by(ledger.c.at.desc(), position.desc()).limit(1))
    with engine.connect() as conn:
        if conn.execute(select(catalogue.c.code).where(catalogue.c.code == sku)).first() is None:
            raise UnknownSku(f"unknown SKU {sku!r}", key="refusal:unknown_sku", sku=sku)
        figure = conn.execute(last).first()
        total = figure.position if figure else 0
        newest, oldest = total - offset, max(total - offset - limit + 1, 1)
        page = conn.execute(select(ledger).where(*where, position.between(oldest, newest))
                            .order_by(position)).all() if newest >= 1 else []
    return {
        "warehouse": warehouse, "sku": sku, "bin": bin, "at": at,
        "on_hand": figure.on_hand_after if figure else 0, "reserved": figure.reserved_after if figure else 0,
        "events": [{"notification_id": r.notification_id, "version": r.version, "at": aware(r.at),
                    "event": f"Stock.{r.event}", "by": r.by,
                    "before": {"on_hand": r.on_hand_before, "reserved": r.reserved_before},
                    "after": {"on_hand": r.on_hand_after, "reserved": r.reserved_after}} for r in page],
        "events_total": total, "limit": limit, "offset": offset,
        "next_offset": offset + limit if oldest > 1 else None,
    }


def sellable(engine: Engine) -> dict[str, int]:
    """Units per SKU free to sell: on hand less reserved in storage bins, over all warehouses."""
    query = (select(stock_bins.c.sku, stock_bins.c.on_hand, stock_bins.c.reserved)
             .join(locations, and_(locations.c.warehouse == stock_bins.c.warehouse, locations.c.bin == stock_bins.c.bin))
             .where(locations.c.area == "storage"))
    free: dict[str, int] = {}
    with engine.connect() as conn:
        for r in conn.execute(query):
            free[r.sku] = free.get(r.sku, 0) + r.on_hand - r.reserved
    return free


def low_stock(engine: Engine, warehouse: str) -> list[dict]:
    """SKUs whose available stock is at or below their safety stock."""
    with engine.connect() as conn:
        skus = {r.code: r for r in conn.execute(select(catalogue))}
        available: dict[str, int] = {code: 0 for code in skus}
        for r in conn.execute(select(stock_bins).where(stock_bins.c.warehouse == warehouse)):
            available[r.sku] = available.get(r.sku, 0) + r.on_hand - r.reserved
    return [
        {"sku": code, "name": skus[code].name, "available": n, "safety_stock": skus[code].safety_stock}
        for code, n in sorted(available.items())
        if code in skus and n <= skus[code].safety_stock
    ]
