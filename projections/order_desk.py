"""The order desk: one row per order to find it by anything a caller knows, and the timeline of every event and
scan that touched it.

Buyers are found without their data in the view: the nickname and the phone are kept only as keyed hashes
(HMAC-SHA256 with a key from the settings), so a search hashes what was typed and looks the hash up in an index;
nothing is ever decrypted to search. The list pages in SQL (LIMIT/OFFSET over indexed columns) and counts in SQL.
"""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterator
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Connection, Engine

from domain.errors import UnknownOrder
from domain.fulfilment import Package, Wave
from domain.history import SALES, HistoricOrder
from domain.limits import MAX_NAME
from domain.order import Order, components_of, imported_status
from domain.scanning import Device

from .backoffice import (BatchRows, Instant, InvalidFilter, aware, choice, day_range, fen, insert_rows, instant_bounds,
                         text_id, yuan)
from .orders_board import KINDS, STATUSES, board_exceptions
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

desk_orders = Table(
    "desk_order",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("shop", String(64), nullable=False),
    Column("platform_order_no", String(64), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("hold_reasons", String(500), nullable=False),
    Column("warehouse", String(32), nullable=False),
    Column("ordered_at", Instant(), nullable=False),
    Column("paid", BigInteger, nullable=False),  # fen: up to 100,000,000 yuan
    Column("discount", BigInteger, nullable=False),
    Column("platform_fee", BigInteger, nullable=False),
    Column("postage", BigInteger, nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),  # up to 500 lines × 10,000,000 units
    Column("skus", String(500), nullable=False),
    Column("progress", Text, nullable=False),  # JSON {sku: [units wanted, units picked]}
    Column("buyer_ref", String(16), nullable=False),
    Column("nickname_key", String(64), nullable=False, index=True),
    Column("phone_key", String(64), nullable=False, index=True),
    Column("package_id", String(36), nullable=False, index=True),
    Column("courier", String(32), nullable=False),
    Column("tracking_no", String(64), nullable=False, index=True),
    Column("notes", BigInteger, nullable=False),
    Column("updated_at", Instant(), nullable=False),
    Index("desk_order_recent", "ordered_at", "order_id"),
    Index("desk_order_status", "status", "ordered_at"),
    Index("desk_order_shop", "channel", "shop", "ordered_at"),
    Index("desk_order_warehouse", "warehouse", "ordered_at"),
    Index("desk_order_courier", "courier", "ordered_at"),
)

desk_skus = Table(
    "desk_order_sku",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("order_id", String(36), primary_key=True),
)

desk_timeline = Table(
    "desk_timeline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(36), nullable=False),
    Column("notification_id", BigInteger, nullable=False),
    Column("at", Instant(), nullable=False),
    Column("source", String(16), nullable=False),  # order, parcel, scan
    Column("event", String(40), nullable=False),
    Column("by", String(64), nullable=False),
    Column("detail", String(500), nullable=False),
    Index("desk_timeline_order", "order_id", "notification_id"),
)

desk_totes = Table(
    "desk_tote",
    metadata,
    Column("wave_id", String(36), primary_key=True),
    Column("tote", BigInteger, primary_key=True),
    Column("order_id", String(36), nullable=False),
)

# Never shown on the timeline: buyer personal data (remarks are free text buyers fill with it) and the envelope.
HIDDEN = {"buyer", "remark", "originator_id", "originator_version", "originator_topic", "timestamp", "by", "region"}
ORDER_STATUS = {Order.Held: "held", Order.Released: "released", Order.GoneToSuppliers: "dropship",
                Order.Reserved: "reserved",
                Order.StockShort: "awaiting_stock", Order.Waved: "waved", Order.Packed: "packed",
                Order.Shipped: "shipped", Order.Delivered: "delivered", Order.Cancelled: "cancelled",
                Order.Merged: "released", Order.Unmerged: "released", Order.MergedInto: "merged",
                Order.MergeUndone: "released"}
PACKAGE_EVENTS = [Package.Opened, Package.ItemVerified, Package.Closed, Package.Weighed, Package.WaybillAssigned,
                  Package.WaybillCancelled, Package.RouteUpdated, Package.LogisticsException, Package.LabelPrinted,
                  Package.PrintFailed, Package.ReprintRequested, Package.HandedOver, Package.WaybillHeld,
                  Package.PrintDataReceived, Package.LabelLaidOutFromPrintData, Package.PrintOutcomeUnknown,
                  Package.PrintOutcomeResolved]
PRINT_EVENTS = ("LabelPrinted", "PrintFailed", "ReprintRequested", "PrintOutcomeUnknown", "PrintOutcomeResolved",
                "LabelLaidOutFromPrintData")
JOB_EVENTS = ("WaybillAssigned", "WaybillCancelled", "LabelPrinted", "PrintFailed", "ReprintRequested",
              "ShipmentConfirmed", "WaybillHeld")
MAX_EXPORT = 100_000
HISTORY = "history"  # the status filter of past orders (their status is `history:<status>`)


class BuyerKeys:
    """Keyed hashes of what buyers are searched by: the same key folds the view and hashes each search."""

    def __init__(self, key: bytes):
        self.key = key

    def nickname(self, text: str) -> str:
        cleaned = (text or "").strip().casefold()
        return self._digest("nickname", cleaned) if cleaned and cleaned != "<sealed>" else ""

    def phone(self, text: str) -> str:
        digits = re.sub(r"\D", "", text or "")
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        return self._digest("phone", digits) if len(digits) >= 5 else ""

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self.key, f"{kind}:{value}".encode("utf-8"), hashlib.sha256).hexdigest()


def history_status(status: str) -> str:
    return f"{HISTORY}:{status}"


def _detail(e: Any) -> str:
    if isinstance(e, HistoricOrder.Recorded):
        lines = ", ".join(f"{line['sku']}×{line['quantity']}" for line in e.lines)
        refunded = f"; refunded {e.refunded_at.isoformat()}" if e.refunded_at else ""
        return f"past order {e.status}, ordered {e.ordered_at.isoformat()}{refunded}: {lines}"[:500]
    if isinstance(e, Order.NoteAdded):
        return e.text[:500]
    if isinstance(e, Order.Imported):
        lines = ", ".join(f"{line['sku']}×{line['quantity']}" for line in e.lines)
        held = f"; held: {'; '.join(e.hold_reasons)}" if e.hold_reasons else ""
        review = getattr(e, "review", None)
        if review:
            acted = ", ".join(f"{d['rule']} v{d['rule_version']} {d['outcome']}" for d in review["decisions"])
            held += f"; review rules v{review['rule_set_version']}{': ' + acted if acted else ''}"
        return f"{e.channel}/{e.shop}, paid {e.paid_amount}: {lines}{held}"[:500]
    if isinstance(e, Order.AddressChanged):
        return "address changed"
    if isinstance(e, Order.WarehouseChosen):
        seen = "; ".join(f"{w}: " + ", ".join(f"{s}×{n}" for s, n in skus.items()) for w, skus in e.available.items())
        return f"{e.warehouse} by routing rules v{e.rule_version}: {e.reason} (free: {seen})"[:500]
    shown = {k: v for k, v in vars(e).items() if k not in HIDDEN}
    return json.dumps(shown, ensure_ascii=False, default=str, sort_keys=True)[:500]


class OrderDeskProjection(Projection):
    name = "order_desk"
    metadata = metadata

    def __init__(self, keys: BuyerKeys):
        self.keys = keys
        self.topics = topics_of(
            [Order.Imported, *ORDER_STATUS, Order.ItemPicked, Order.Refunded, Order.ShipmentConfirmed,
             Order.AddressChanged, Order.NoteAdded, Order.BuyerRevealed, Order.LinesMapped, Order.ReturnReceived,
             Order.Reviewed, Order.SplitByStock, Order.SplitFrom, Order.WarehouseChosen, Order.InterceptRefused],
            PACKAGE_EVENTS, [Wave.Created], [Device.Scanned], [HistoricOrder.Recorded])
        self.parcels: dict[str, str] = {}  # package id → order id: never changes, so it may be kept

    def reset_memory(self) -> None:
        self.parcels = {}

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        orders = BatchRows(desk_orders, ("order_id",), dict)
        imported = created_in((e for _, e in events), Order.Imported)
        wanted = {text_id(e.originator_id) for _, e in events if isinstance(e, Order.Event)} - imported
        self._learn_parcels(conn, events)
        wanted.update(self.parcels[text_id(e.originator_id)] for _, e in events
                      if isinstance(e, Package.Event) and text_id(e.originator_id) in self.parcels)
        scans = [(n, e, self._scanned_orders(conn, e)) for n, e in events if isinstance(e, Device.Scanned)]
        orders.load(conn, [(i,) for i in wanted - imported])
        timeline, skus, totes = [], [], []
        for n, e in events:
            if isinstance(e, Order.Event):
                self._fold_order(orders, skus, e)
                timeline.append(self._entry(text_id(e.originator_id), n, e, "order"))
            elif isinstance(e, Package.Event):
                order_id = self.parcels.get(text_id(e.originator_id))
                row = orders.get((order_id,)) if order_id else None
                if row is None:
                    continue
                self._fold_package(row, e)
                timeline.append(self._entry(order_id, n, e, "parcel"))
            elif isinstance(e, HistoricOrder.Recorded):
                self._fold_past_order(orders, skus, e)
                timeline.append(self._entry(text_id(e.originator_id), n, e, "order"))
            elif isinstance(e, Wave.Created):
                totes.extend({"wave_id": text_id(e.originator_id), "tote": tote, "order_id": text_id(order)}
                             for tote, order in enumerate(e.order_ids, 1))
        for n, e, order_ids in scans:
            detail = f"{e.screen} {e.kind} {e.value} → {e.outcome} {e.key}"
            if e.message:
                detail += f": {e.message}"
            timeline.extend({"order_id": order_id, "notification_id": n, "at": e.timestamp, "source": "scan",
                             "event": f"scan:{e.screen}"[:40], "by": (e.staff or e.device)[:64],
                             "detail": f"{detail} ({e.device} #{e.sequence})"[:500]} for order_id in order_ids)
        for row in orders.rows.values():
            if not isinstance(row["progress"], str):
                row["progress"] = json.dumps(row["progress"], separators=(",", ":"))
        orders.write(conn)
        insert_rows(conn, desk_skus, skus)
        insert_rows(conn, desk_totes, totes)
        insert_rows(conn, desk_timeline, timeline)

    def _learn_parcels(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        for _, e in events:
            if isinstance(e, Package.Opened):
                self.parcels[text_id(e.originator_id)] = text_id(e.order_id)
        unknown = sorted({text_id(e.originator_id) for _, e in events if isinstance(e, Package.Event)}
                         - set(self.parcels))
        for start in range(0, len(unknown), 500):
            query = select(desk_orders.c.package_id, desk_orders.c.order_id).where(
                desk_orders.c.package_id.in_(unknown[start:start + 500]))
            self.parcels.update({r.package_id: r.order_id for r in conn.execute(query)})

    @staticmethod
    def _scanned_orders(conn: Connection, e: Any) -> list[str]:
        """The orders a recorded scan was about: the order on the screen, the order named, or the picked tote's."""
        context, params = e.context or {}, e.params or {}
        if context.get("order"):
            return [str(context["order"])[:36]]
        if params.get("order"):
            number = str(params["order"])[:64]
            found = conn.execute(select(desk_orders.c.order_id).where(desk_orders.c.platform_order_no == number))
            return [r.order_id for r in found][:10]
        if context.get("wave") and params.get("tote"):
            try:
                tote = int(params["tote"])
            except (TypeError, ValueError):
                return []
            found = conn.execute(select(desk_totes.c.order_id).where(desk_totes.c.wave_id == str(context["wave"]))
                                 .where(desk_totes.c.tote == tote)).first()
            return [found.order_id] if found else []
        return []

    @staticmethod
    def _entry(order_id: str, notification_id: int, e: Any, source: str) -> dict:
        return {"order_id": order_id, "notification_id": notification_id, "at": e.timestamp, "source": source,
                "event": type(e).__name__, "by": str(getattr(e, "by", "") or "")[:64], "detail": _detail(e)}

    @staticmethod
    def _fold_past_order(orders: BatchRows, skus: list[dict], e: Any) -> None:
        """A past order is listed as history (`history:<status>`), never among the orders to work on."""
        key = (text_id(e.originator_id),)
        named = list(dict.fromkeys(line["sku"] for line in e.lines))
        skus.extend({"sku": sku, "order_id": key[0]} for sku in named)
        paid = sum(fen(Decimal(line["unit_price"]) * line["quantity"]) for line in e.lines) if e.status in SALES else 0
        orders.row(key, channel=e.channel, shop=e.shop, platform_order_no=e.order_no, status=history_status(e.status),
                   hold_reasons="", warehouse="", ordered_at=_utc(e.ordered_at), paid=paid, discount=0,
                   platform_fee=0, postage=0, lines=len(e.lines), units=sum(line["quantity"] for line in e.lines),
                   skus=", ".join(named)[:500], progress={}, buyer_ref=e.buyer_ref[:16], nickname_key="",
                   phone_key="", package_id="", courier="", tracking_no="", notes=0, updated_at=e.timestamp)

    def _fold_order(self, orders: BatchRows, skus: list[dict], e: Any) -> None:
        key = (text_id(e.originator_id),)
        if isinstance(e, Order.Imported):
            progress: dict[str, list[int]] = {}
            named = _add_units(progress, e.lines)
            skus.extend({"sku": sku, "order_id": key[0]} for sku in named)
            orders.row(key, channel=e.channel, shop=e.shop, platform_order_no=e.platform_order_no,
                       status=imported_status(e.lines, e.hold_reasons), hold_reasons="; ".join(e.hold_reasons)[:500],
                       warehouse="", ordered_at=_utc(e.ordered_at), paid=fen(e.paid_amount), discount=fen(e.discount),
                       platform_fee=fen(e.platform_fee), postage=fen(e.postage), lines=len(e.lines),
                       units=sum(line["quantity"] for line in e.lines), skus=", ".join(named)[:500],
                       progress=progress, buyer_ref=e.buyer_ref[:16], nickname_key=self.keys.nickname(e.buyer.nickname),
                       phone_key=self.keys.phone(e.buyer.phone), package_id="", courier="", tracking_no="", notes=0,
                       updated_at=e.timestamp)
            return
        row = orders.get(key)
        if row is None:
            return
        if isinstance(row["progress"], str):
            row["progress"] = json.loads(row["progress"])
        row["updated_at"] = e.timestamp
        status = ORDER_STATUS.get(type(e))
        if status:
            row["status"] = status
        if isinstance(e, Order.Held):
            row["hold_reasons"] = "; ".join(e.reasons)[:500]
        elif isinstance(e, Order.Released):
            row["hold_reasons"] = ""
        elif isinstance(e, (Order.Reserved, Order.StockShort)):
            row["warehouse"] = e.warehouse
        elif isinstance(e, Order.ItemPicked):
            row["progress"].setdefault(e.sku, [0, 0])[1] += e.quantity
            if _fully_picked(row["progress"]):
                row["status"] = "picked"
        elif isinstance(e, Order.Shipped):
            row.update(courier=e.courier[:32], tracking_no=e.tracking_no[:64])
        elif isinstance(e, Order.AddressChanged):
            row["phone_key"] = self.keys.phone(e.buyer.phone)
        elif isinstance(e, Order.NoteAdded):
            row["notes"] += 1
        elif isinstance(e, Order.LinesMapped):
            known = set(row["progress"]) | set(row["skus"].split(", "))
            named = [sku for sku in _add_units(row["progress"], e.lines) if sku not in known]
            skus.extend({"sku": sku, "order_id": key[0]} for sku in named)
            row["skus"] = ", ".join(filter(None, [row["skus"], *named]))[:500]
        elif isinstance(e, (Order.Merged, Order.Unmerged, Order.SplitByStock)):
            sign = 1 if isinstance(e, Order.Merged) else -1
            for line in e.lines:
                for sku, each in components_of(line).items():
                    row["progress"].setdefault(sku, [0, 0])[0] += sign * line["quantity"] * each
        elif isinstance(e, Order.MergedInto):
            row["warehouse"] = ""
        elif isinstance(e, Order.Refunded):
            for line in e.lines:
                for sku, each in components_of(line).items():
                    row["progress"].setdefault(sku, [0, 0])[0] -= line["quantity"] * each
            if e.before_shipment:
                if not any(wanted > 0 for wanted, _ in row["progress"].values()):
                    row["status"] = "cancelled"
                elif row["status"] in ("reserved", "waved") and _fully_picked(row["progress"]):
                    row["status"] = "picked"

    @staticmethod
    def _fold_package(row: dict, e: Any) -> None:
        row["updated_at"] = e.timestamp
        if isinstance(e, Package.Opened):
            row["package_id"] = text_id(e.originator_id)
        elif isinstance(e, Package.WaybillAssigned):
            row.update(courier=e.courier[:32], tracking_no=e.tracking_no[:64])
        elif isinstance(e, Package.WaybillCancelled):
            row["tracking_no"] = ""


def _add_units(progress: dict[str, list[int]], lines: list[dict]) -> list[str]:
    """Add the units wanted per SKU (a kit line's components; none for a line not mapped yet) and return every SKU
    the lines name, their own and their components', for the SKU filter."""
    named: dict[str, None] = {}
    for line in lines:
        if line.get("sku"):
            named[line["sku"][:64]] = None
        for sku, each in components_of(line).items():
            progress.setdefault(sku, [0, 0])[0] += line["quantity"] * each
            named[sku[:64]] = None
    return list(named)


def _utc(moment: datetime) -> datetime:
    """Instants are stored and compared in UTC: SQLite keeps a datetime's wall time and drops its offset."""
    return aware(moment).astimezone(timezone.utc)


def _fully_picked(progress: dict[str, list[int]]) -> bool:
    return all(picked >= wanted for wanted, picked in progress.values() if wanted > 0)


# Queries: plain dicts for the UI, the API and the CLI.

SORTS = {"ordered_at": desk_orders.c.ordered_at, "paid": desk_orders.c.paid, "status": desk_orders.c.status,
         "order": desk_orders.c.platform_order_no, "updated_at": desk_orders.c.updated_at, "units": desk_orders.c.units}
SORT_CHOICES = tuple(f"{sign}{name}" for name in SORTS for sign in ("-", ""))
LIST_COLUMNS = ("order_id", "channel", "shop", "platform_order_no", "status", "hold_reasons", "warehouse",
                "ordered_at", "paid", "platform_fee", "postage", "lines", "units", "skus", "courier", "tracking_no",
                "notes", "updated_at")


@dataclass(frozen=True)
class OrderFilter:
    """What the list is narrowed to; every field is optional. `search` is an order number, a tracking number, a
    buyer nickname or a phone number."""

    status: str | None = None
    channel: str | None = None
    shop: str | None = None
    warehouse: str | None = None
    since: Any = None
    until: Any = None
    exception: str | None = None
    sku: str | None = None
    courier: str | None = None
    search: str | None = None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def _conditions(given: OrderFilter, keys: BuyerKeys) -> list:
    c = desk_orders.c
    where = []
    status = choice(given.status, (*STATUSES, HISTORY), "status")
    if status == HISTORY:
        where.append(c.status.startswith(f"{HISTORY}:"))
    elif status:
        where.append(c.status == status)
    for name in ("channel", "shop", "warehouse", "courier"):
        value = getattr(given, name)
        if value:
            where.append(c[name] == str(value).strip()[:64])
    start, end = instant_bounds(*day_range(given.since, given.until))
    if start:
        where.append(c.ordered_at >= start)
    if end:
        where.append(c.ordered_at < end)
    kind = choice(given.exception, KINDS, "exception kind")
    if kind:
        where.append(exists().where(and_(board_exceptions.c.order_id == c.order_id, board_exceptions.c.kind == kind,
                                         board_exceptions.c.open.is_(True))))
    if given.sku:
        where.append(c.order_id.in_(select(desk_skus.c.order_id).where(desk_skus.c.sku == given.sku.strip()[:64])))
    search = (given.search or "").strip()
    if search:
        if len(search) > MAX_NAME:
            raise InvalidFilter(f"a search is at most {MAX_NAME} characters")
        matches = [c.platform_order_no == search, c.tracking_no == search, c.nickname_key == keys.nickname(search)]
        phone = keys.phone(search)
        if phone:
            matches.append(c.phone_key == phone)
        where.append(or_(*matches))
    return where


def _sorted(sort: str | None) -> list:
    sort = choice(sort, SORT_CHOICES, "sort") or "-ordered_at"
    column = SORTS[sort.lstrip("-")]
    if sort.startswith("-"):
        return [column.desc(), desk_orders.c.order_id.desc()]
    return [column.asc(), desk_orders.c.order_id.asc()]


def _shown(row) -> dict:
    found = dict(row._mapping)
    for name in ("paid", "platform_fee", "postage"):
        if name in found:
            found[name] = yuan(found[name])
    for name in ("ordered_at", "updated_at"):
        if name in found:
            found[name] = aware(found[name])
    return found


def order_list(engine: Engine, given: OrderFilter, keys: BuyerKeys, sort: str | None = None, limit: int = 50,
               offset: int = 0) -> dict:
    """One page of the orders that match, in the order asked (newest first by default), and how many match."""
    where = _conditions(given, keys)
    columns = [desk_orders.c[name] for name in LIST_COLUMNS]
    query = select(*columns).where(*where).order_by(*_sorted(sort)).limit(limit).offset(offset)
    with engine.connect() as conn:
        rows = [_shown(r) for r in conn.execute(query)]
        total = conn.execute(select(func.count()).select_from(desk_orders).where(*where)).scalar_one()
    return {"items": rows, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + limit if offset + limit < total else None}


def every_order(engine: Engine, given: OrderFilter, keys: BuyerKeys, sort: str | None = None,
                most: int = MAX_EXPORT) -> Iterator[dict]:
    """Every order that matches (up to `most`), for an export; read from the database in chunks."""
    where = _conditions(given, keys)
    columns = [desk_orders.c[name] for name in LIST_COLUMNS]
    query = select(*columns).where(*where).order_by(*_sorted(sort)).limit(most)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for row in result:
            yield _shown(row)


def order_row(engine: Engine, order_id: UUID | str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(desk_orders).where(desk_orders.c.order_id == str(order_id))).first()
    if row is None:
        raise UnknownOrder(f"unknown order {str(order_id)[:64]}")
    found = _shown(row)
    for name in ("nickname_key", "phone_key", "progress"):
        found.pop(name)
    return found


def timeline(engine: Engine, order_id: UUID | str, limit: int = 1000) -> list[dict]:
    """Every event and scan that touched an order, oldest first, with who and when."""
    query = (select(desk_timeline.c.notification_id, desk_timeline.c.at, desk_timeline.c.source,
                    desk_timeline.c.event, desk_timeline.c.by, desk_timeline.c.detail)
             .where(desk_timeline.c.order_id == str(order_id))
             .order_by(desk_timeline.c.notification_id, desk_timeline.c.id).limit(limit))
    with engine.connect() as conn:
        return [dict(r._mapping, at=aware(r.at)) for r in conn.execute(query)]


def parcel_story(entries: list[dict]) -> dict:
    """From a timeline: the parcel's route updates, its label prints and the jobs sent for the order."""
    def data(entry: dict) -> dict:
        try:
            return json.loads(entry["detail"])
        except ValueError:
            return {}

    routes = [dict(data(e), recorded_at=e["at"]) for e in entries if e["event"] == "RouteUpdated"]
    prints = [dict(data(e), at=e["at"], by=e["by"], event=e["event"]) for e in entries
              if e["event"] in PRINT_EVENTS]
    jobs = [dict(data(e), at=e["at"], by=e["by"], event=e["event"]) for e in entries if e["event"] in JOB_EVENTS]
    return {"routes": routes, "prints": prints, "jobs": jobs}
