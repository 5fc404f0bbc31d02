"""The scanner floor: every recorded scan, picks and mis-scans per person per hour, and the look-ups the scanner
screens need (orders by number, parcels by tracking number, open waves, reserved orders, held count differences)."""

import json
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from domain.fulfilment import Package, Wave
from domain.order import Order
from domain.scanning import CountAdjustment, Device

from .backoffice import BatchRows, Instant, aware, business_calendar, text_id
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

scans = Table(
    "scanning_scan",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", BigInteger, nullable=False, index=True),
    Column("at", Instant(), nullable=False),
    Column("device", String(40), nullable=False, index=True),
    Column("sequence", BigInteger, nullable=False),
    Column("staff", String(32), nullable=False, index=True),
    Column("screen", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(64), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("key", String(40), nullable=False),
    Column("detail", String(400), nullable=False),
)

hourly = Table(
    "scanning_hourly",
    metadata,
    Column("staff", String(32), primary_key=True),
    Column("hour", Instant(), primary_key=True),
    Column("scans", BigInteger, nullable=False),
    Column("misscans", BigInteger, nullable=False),
    Column("picks", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
)

work = Table(
    "scanning_work",
    metadata,
    Column("staff", String(32), primary_key=True),
    Column("hour", String(13), primary_key=True),  # business time, "YYYY-MM-DD HH"
    Column("kind", String(16), primary_key=True),
    Column("tasks", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
)

# The floor work a recorded scan finished: (kind of work, the parameter holding its units, if not one).
WORK = {
    "picked": ("pick", "quantity"), "verified": ("pack", None), "weighed": ("weigh", None),
    "handed_over": ("handover", None), "received": ("receive", "quantity"), "put_away": ("putaway", "quantity"),
    "count_matches": ("count", None), "count_adjusted": ("count", None), "count_pending": ("count", None),
    "restocked": ("returns", None), "scrapped": ("returns", None), "sent_on_transfer": ("dispatch", "quantity"),
}

KEYED = ("keyed", None)  # codes typed by hand instead of scanned, counted like work so a supervisor sees them

orders = Table(
    "scanning_order",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("package_id", String(36), nullable=False, index=True),
    Column("channel", String(64), nullable=False),
    Column("shop", String(64), nullable=False),
    Column("number", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("warehouse", String(32), nullable=False),
    Column("tracking_no", String(64), nullable=False, index=True),
)

waves = Table(
    "scanning_wave",
    metadata,
    Column("wave_id", String(36), primary_key=True),
    Column("warehouse", String(32), nullable=False),
    Column("number", String(40), nullable=False),
    Column("orders", BigInteger, nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("units_left", BigInteger, nullable=False),
    Column("created_at", Instant(), nullable=False),
)

count_requests = Table(
    "scanning_count_request",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("warehouse", String(32), nullable=False),
    Column("bin", String(32), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("counted", BigInteger, nullable=False),
    Column("on_hand", BigInteger, nullable=False),
    Column("difference", BigInteger, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("at", Instant(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", String(64), nullable=False),
)

ORDER_STATUS = {
    Order.Held: "held", Order.Released: "released", Order.Reserved: "reserved", Order.StockShort: "awaiting_stock",
    Order.Waved: "waved", Order.Packed: "packed", Order.Shipped: "shipped", Order.Cancelled: "cancelled",
}
EXCEPTION_KEYS = ("try_bin", "line_short")


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _utc_naive(at: datetime) -> datetime:
    """SQLite hands back naive UTC, PostgreSQL aware local time: compare both as naive UTC."""
    return at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at


class ScanningProjection(Projection):
    name = "scanning"
    metadata = metadata
    topics = topics_of(
        [Device.Scanned],
        [Order.Imported, *ORDER_STATUS],
        [Package.Opened, Package.WaybillAssigned],
        [Wave.Created, Wave.LinePicked, Wave.LineShort, Wave.OrderWithdrawn],
        [CountAdjustment.Requested, CountAdjustment.Approved, CountAdjustment.Rejected],
    )

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        scan_rows, tallies = [], {}
        others = [e for _, e in events if not isinstance(e, Device.Scanned)]
        for notification_id, e in events:
            if isinstance(e, Device.Scanned):
                scan_rows.append(self._scan_row(notification_id, e))
                self._tally(tallies, e)
        if scan_rows:
            conn.execute(insert(scans), scan_rows)
        self._write_tallies(conn, tallies)
        self._write_work(conn, [e for _, e in events if isinstance(e, Device.Scanned)])
        if others:
            self._apply_others(conn, others)

    @staticmethod
    def _scan_row(notification_id: int, e) -> dict:
        return {
            "notification_id": notification_id, "at": e.timestamp, "device": e.device[:40],
            "sequence": e.sequence, "staff": e.staff[:32], "screen": e.screen, "kind": e.kind, "value": e.value,
            "outcome": e.outcome, "key": e.key[:40],
            "detail": json.dumps({"entry": getattr(e, "entry", ""), "params": e.params, "message": e.message},
                                 ensure_ascii=False)[:400],
        }

    @staticmethod
    def _tally(tallies: dict, e) -> None:
        if e.kind not in ("scan", "action") or not e.staff:
            return
        row = tallies.setdefault((e.staff, _hour(e.timestamp)), [0, 0, 0, 0])
        if e.kind == "scan":
            row[0] += 1
            row[1] += e.outcome != "ok"
        if e.screen == "pick" and e.key == "picked":
            row[2] += 1
            row[3] += int(e.params.get("quantity", 0))

    @staticmethod
    def _write_tallies(conn: Connection, tallies: dict) -> None:
        if not tallies:
            return
        staff = {s for s, _ in tallies}
        hours = {h for _, h in tallies}
        existing = {
            (r.staff, _utc_naive(r.hour)): r
            for r in conn.execute(select(hourly).where(hourly.c.staff.in_(staff)).where(hourly.c.hour.in_(hours)))
        }
        inserts, updates = [], []
        for (member, hour), (n, bad, picks, units) in tallies.items():
            found = existing.get((member, _utc_naive(hour)))
            if found is None:
                inserts.append({"staff": member, "hour": hour, "scans": n, "misscans": bad, "picks": picks,
                                "units": units})
            else:
                updates.append({"s": member, "h": found.hour, "scans": found.scans + n,
                                "misscans": found.misscans + bad, "picks": found.picks + picks,
                                "units": found.units + units})
        if inserts:
            conn.execute(insert(hourly), inserts)
        if updates:
            conn.execute(update(hourly).where(hourly.c.staff == bindparam("s")).where(hourly.c.hour == bindparam("h")),
                         updates)

    @staticmethod
    def _write_work(conn: Connection, scanned: list) -> None:
        done = [(e, WORK[e.key]) for e in scanned if e.outcome == "ok" and e.key in WORK and e.staff]
        done += [(e, KEYED) for e in scanned if getattr(e, "entry", "") == "keyed" and e.staff]
        if not done:
            return
        rows = BatchRows(work, ("staff", "hour", "kind"), lambda: {"tasks": 0, "units": 0})
        keys = [(e.staff[:32], aware(e.timestamp).astimezone(business_calendar.zone).strftime("%Y-%m-%d %H"), kind)
                for e, (kind, _) in done]
        rows.load(conn, keys)
        for key, (e, (_, units)) in zip(keys, done):
            row = rows.row(key)
            row["tasks"] += 1
            row["units"] += int(e.params.get(units, 0)) if units else 1
        rows.write(conn)

    @staticmethod
    def _apply_others(conn: Connection, events: list) -> None:
        """Orders, waves and count requests a batch touches: read in a few queries, folded, written back."""
        order_rows = BatchRows(orders, ("order_id",), dict)
        wave_rows = BatchRows(waves, ("wave_id",), dict)
        requests = BatchRows(count_requests, ("request_id",), dict)
        opened = {text_id(e.originator_id): text_id(e.order_id) for e in events if isinstance(e, Package.Opened)}
        waybilled = {text_id(e.originator_id) for e in events if isinstance(e, Package.WaybillAssigned)} - set(opened)
        package_orders = dict(opened)
        for start in range(0, len(waybilled), 500):
            chunk = sorted(waybilled)[start:start + 500]
            found = conn.execute(select(orders.c.package_id, orders.c.order_id).where(orders.c.package_id.in_(chunk)))
            package_orders.update({r.package_id: r.order_id for r in found})
        imported = created_in(events, Order.Imported)
        order_rows.load(conn, {(key,) for key in [text_id(e.originator_id) for e in events if type(e) in ORDER_STATUS]
                               + list(package_orders.values()) if key not in imported})
        created = created_in(events, Wave.Created)
        wave_rows.load(conn, {(text_id(e.originator_id),) for e in events
                              if isinstance(e, (Wave.LinePicked, Wave.LineShort, Wave.OrderWithdrawn))
                              and text_id(e.originator_id) not in created})
        requested = created_in(events, CountAdjustment.Requested)
        requests.load(conn, {(text_id(e.originator_id),) for e in events
                             if isinstance(e, (CountAdjustment.Approved, CountAdjustment.Rejected))
                             and text_id(e.originator_id) not in requested})
        for e in events:
            key = text_id(e.originator_id)
            if isinstance(e, Order.Imported):
                order_rows.row((key,), package_id="", channel=e.channel, shop=e.shop, number=e.platform_order_no,
                               status="imported", warehouse="", tracking_no="")
                # Review is folded into the import: the status it ends with follows in the same batch.
            elif type(e) in ORDER_STATUS:
                row = order_rows.get((key,))
                if row is None:
                    continue
                row["status"] = ORDER_STATUS[type(e)]
                if isinstance(e, (Order.Reserved, Order.StockShort)):
                    row["warehouse"] = e.warehouse
                if isinstance(e, Order.Shipped):
                    row["tracking_no"] = e.tracking_no
            elif isinstance(e, (Package.Opened, Package.WaybillAssigned)):
                row = order_rows.get((package_orders.get(key, ""),))
                if row is None:
                    continue
                if isinstance(e, Package.Opened):
                    row["package_id"] = key
                elif row["package_id"] == key:
                    row["tracking_no"] = e.tracking_no
            elif isinstance(e, Wave.Created):
                units = sum(line["quantity"] for line in e.lines)
                wave_rows.row((key,), warehouse=e.warehouse, number=e.number, orders=len(e.order_ids),
                              lines=len(e.lines), units=units, units_left=units, created_at=e.timestamp)
            elif isinstance(e, (Wave.LinePicked, Wave.LineShort, Wave.OrderWithdrawn)):
                row = wave_rows.get((key,))
                if row is not None:
                    row["units_left"] -= (e.quantity if isinstance(e, Wave.LinePicked)
                                          else e.units if isinstance(e, Wave.OrderWithdrawn) else e.missing)
            elif isinstance(e, CountAdjustment.Requested):
                requests.row((key,), warehouse=e.warehouse, bin=e.bin, sku=e.sku, counted=e.counted,
                             on_hand=e.on_hand, difference=e.difference, requested_by=e.by, at=e.timestamp,
                             status="pending", decided_by="")
            elif isinstance(e, (CountAdjustment.Approved, CountAdjustment.Rejected)):
                row = requests.get((key,))
                if row is not None:
                    row["status"] = "approved" if isinstance(e, CountAdjustment.Approved) else "rejected"
                    row["decided_by"] = e.by
        for rows in (order_rows, wave_rows, requests):
            rows.write(conn)


# Queries: plain dicts.


def orders_numbered(engine: Engine, number: str) -> list[UUID]:
    with engine.connect() as conn:
        return [UUID(r.order_id) for r in conn.execute(select(orders.c.order_id).where(orders.c.number == number))]


def order_with_parcel(engine: Engine, tracking_no: str) -> UUID | None:
    with engine.connect() as conn:
        found = conn.execute(select(orders.c.order_id).where(orders.c.tracking_no == tracking_no)).first()
    return UUID(found.order_id) if found else None


def reserved_orders(engine: Engine, warehouse: str) -> list[UUID]:
    query = select(orders.c.order_id).where(and_(orders.c.status == "reserved", orders.c.warehouse == warehouse))
    with engine.connect() as conn:
        return [UUID(r.order_id) for r in conn.execute(query.order_by(orders.c.number))]


def productivity(engine: Engine, since: datetime) -> dict[str, list[dict]]:
    """Floor work per badge and kind (pick, pack, weigh, handover, receive, putaway, count, returns): tasks and units
    per business hour and per business day since an instant."""
    start = aware(since).astimezone(business_calendar.zone).strftime("%Y-%m-%d %H")
    query = select(work).where(work.c.hour >= start).order_by(work.c.hour.desc(), work.c.staff, work.c.kind)
    with engine.connect() as conn:
        hours = [{"staff": r.staff, "hour": r.hour + ":00", "kind": r.kind, "tasks": r.tasks, "units": r.units}
                 for r in conn.execute(query)]
    days: dict[tuple, dict] = {}
    for h in hours:
        day = days.setdefault((h["hour"][:10], h["staff"], h["kind"]),
                              {"day": h["hour"][:10], "staff": h["staff"], "kind": h["kind"], "tasks": 0, "units": 0,
                               "hours": 0})
        day["tasks"] += h["tasks"]
        day["units"] += h["units"]
        day["hours"] += 1
    for day in days.values():
        day["units_per_hour"] = round(day["units"] / day["hours"], 1)
    return {"hours": hours, "days": sorted(days.values(), key=lambda d: (d["day"], d["staff"], d["kind"]),
                                           reverse=True)}


def held_orders(engine: Engine, warehouse: str) -> list[dict]:
    """Orders held on the floor of this warehouse (a short pick, or held after reserving), by number."""
    query = (select(orders.c.order_id, orders.c.number).where(and_(orders.c.status == "held",
                                                                  orders.c.warehouse == warehouse))
             .order_by(orders.c.number))
    with engine.connect() as conn:
        return [{"order_id": UUID(r.order_id), "number": r.number} for r in conn.execute(query)]


def open_waves(engine: Engine, warehouse: str) -> list[dict]:
    query = (select(waves).where(and_(waves.c.warehouse == warehouse, waves.c.units_left > 0))
             .order_by(waves.c.created_at, waves.c.number))
    with engine.connect() as conn:
        return [{"number": r.number, "orders": r.orders, "lines": r.lines, "units": r.units,
                 "units_left": r.units_left} for r in conn.execute(query)]


def pending_count_adjustments(engine: Engine, warehouse: str) -> list[dict]:
    query = (select(count_requests).where(and_(count_requests.c.warehouse == warehouse,
                                               count_requests.c.status == "pending"))
             .order_by(count_requests.c.at))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def recorded_scans(engine: Engine, staff: str | None = None, device: str | None = None,
                   limit: int = 200) -> list[dict]:
    """The most recent scans, newest first (an auditor's and a supervisor's view of the floor)."""
    query = select(scans).order_by(scans.c.notification_id.desc(), scans.c.id.desc()).limit(limit)
    if staff:
        query = query.where(scans.c.staff == staff)
    if device:
        query = query.where(scans.c.device == device)
    with engine.connect() as conn:
        return [_scan_dict(r) for r in conn.execute(query)]


def pick_exceptions(engine: Engine, limit: int = 50) -> list[dict]:
    """Short bins the pickers met: sent on to another bin, or the line marked short."""
    query = (select(scans).where(and_(scans.c.screen == "pick", scans.c.outcome == "ok",
                                      scans.c.key.in_(EXCEPTION_KEYS)))
             .order_by(scans.c.notification_id.desc()).limit(limit))
    with engine.connect() as conn:
        return [_scan_dict(r) for r in conn.execute(query)]


def _scan_dict(r) -> dict:
    row = dict(r._mapping)
    detail = json.loads(row.pop("detail") or "{}")
    return {**row, "params": detail.get("params", {}), "message": detail.get("message", ""),
            "entry": detail.get("entry", "")}


def floor_statistics(engine: Engine, since: datetime) -> list[dict]:
    """Per person since an instant: picks, units, active hours, picks per active hour, scans and mis-scan rate."""
    query = (select(hourly.c.staff, func.sum(hourly.c.picks).label("picks"), func.sum(hourly.c.units).label("units"),
                    func.sum(hourly.c.scans).label("scans"), func.sum(hourly.c.misscans).label("misscans"),
                    func.count().label("hours"))
             .where(hourly.c.hour >= _hour(since)).group_by(hourly.c.staff).order_by(hourly.c.staff))
    with engine.connect() as conn:
        rows = list(conn.execute(query))
    return [
        {"staff": r.staff, "picks": int(r.picks), "units": int(r.units), "scans": int(r.scans),
         "misscans": int(r.misscans), "hours": int(r.hours),
         "picks_per_hour": round(int(r.picks) / max(int(r.hours), 1), 1),
         "misscan_rate": round(int(r.misscans) / int(r.scans), 3) if int(r.scans) else 0.0}
        for r in rows
    ]


def hourly_statistics(engine: Engine, since: datetime) -> list[dict]:
    query = select(hourly).where(hourly.c.hour >= _hour(since)).order_by(hourly.c.hour.desc(), hourly.c.staff)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]

