"""Tamper evidence: a hash chain over the event log, and browsing the events behind an order, SKU, bin or person.

    h_0 = 32 zero bytes
    h_n = sha256(h_{n-1} ‖ notification id (8 bytes, big-endian) ‖ originator id (16 bytes)
                 ‖ originator version (8 bytes, big-endian) ‖ topic length (4 bytes) ‖ topic (UTF-8) ‖ state bytes)

The chain is over the bytes as stored (sealed and compressed as they are), so it needs no key to check.
`verify_chain` recomputes it from the stored events and names the first event that was altered, deleted or
slipped in. Rebuilding the chain from the log would bless whatever is in the log now, so a rebuild is refused
while the chain and the log disagree.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import BigInteger, Column, MetaData, String, Table, select
from sqlalchemy.engine import Connection, Engine

from domain import ids
from domain.errors import InvalidInput, NotFound, UnknownBin, UnknownOrder, UnknownSku
from domain.stock import Stock

from .backoffice import as_uuid, business_calendar, business_day, day_range, positive_int, text_id
from .tracking import Projection, ProjectionRunner, projection_tracking

metadata = MetaData()

chain_table = Table(
    "audit_chain",
    metadata,
    Column("notification_id", BigInteger, primary_key=True, autoincrement=False),
    Column("originator_id", String(36), nullable=False, index=True),
    Column("originator_version", BigInteger, nullable=False),
    Column("topic", String(255), nullable=False),
    Column("hash", String(64), nullable=False),
)

GENESIS = bytes(32)
PAGE = 5000


class ChainBroken(InvalidInput):
    """The stored events no longer match the hash chain."""

    code = "chain_broken"


def link(previous: bytes, notification_id: int, originator_id, version: int, topic: str, state: bytes) -> bytes:
    """The next hash of the chain."""
    originator = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
    topic_bytes = topic.encode("utf-8")
    return hashlib.sha256(b"".join((
        previous, notification_id.to_bytes(8, "big"), originator.bytes, version.to_bytes(8, "big"),
        len(topic_bytes).to_bytes(4, "big"), topic_bytes, state,
    ))).digest()


class AuditChain(Projection):
    """Chains every stored event, in notification order; reads the stored bytes, not decoded events."""

    name = "audit"
    metadata = metadata
    topics = ()
    reads_stored = True

    def apply(self, conn: Connection, events: list[Any]) -> None:
        last = conn.execute(select(chain_table.c.hash).order_by(chain_table.c.notification_id.desc()).limit(1)).first()
        previous = bytes.fromhex(last.hash) if last else GENESIS
        rows = []
        # `link` inlined: per event only the hash itself, with each topic's length-and-name bytes made once.
        sha256, topics, join = hashlib.sha256, {}, b"".join
        for n in events:
            topic, originator = n.topic, n.originator_id
            topic_bytes = topics.get(topic)
            if topic_bytes is None:
                encoded = topic.encode("utf-8")
                topic_bytes = topics[topic] = len(encoded).to_bytes(4, "big") + encoded
            if not isinstance(originator, UUID):
                originator = UUID(str(originator))
            previous = sha256(join((previous, n.id.to_bytes(8, "big"), originator.bytes,
                                    n.originator_version.to_bytes(8, "big"), topic_bytes, n.state))).digest()
            rows.append((n.id, text_id(originator), n.originator_version, topic, previous.hex()))
        if not rows:
            return
        # Straight to the driver: SQLAlchemy's per-row parameter handling costs more than the hashing.
        if conn.dialect.name == "postgresql":
            columns = ", ".join(c.name for c in chain_table.c)
            with conn.connection.dbapi_connection.cursor() as cursor:
                with cursor.copy(f"COPY {chain_table.name} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            conn.exec_driver_sql(f"INSERT INTO {chain_table.name} VALUES (?, ?, ?, ?, ?)", rows)


class AuditChainRunner(ProjectionRunner):
    """Runs the chain over stored notifications (no decoding), and refuses to rebuild a chain the log broke."""

    def __init__(self, app, engine: Engine, projection: AuditChain | None = None, batch_size: int = 2000):
        super().__init__(app, engine, projection or AuditChain(), max(batch_size, PAGE))

    def _one_batch(self) -> tuple[int, int]:
        head = self.app.recorder.max_notification_id() or 0
        with self.engine.begin() as conn:
            start = conn.execute(select(projection_tracking.c.position)
                                 .where(projection_tracking.c.name == self.projection.name)).scalar_one()
            if start >= head:
                return 0, 0
            notifications = self.app.recorder.select_notifications(start + 1, self.batch_size, stop=head)
            end = notifications[-1].id if len(notifications) == self.batch_size else head
            self.projection.apply(conn, notifications)
            self.move(conn, start, end)
        return len(notifications), end - start

    def reset(self) -> None:
        verdict = verify_chain(self.app, self.engine) if self.position() else Verdict()
        if not verdict.intact:
            raise ChainBroken(f"the event log no longer matches the audit chain ({verdict.describe()}); "
                              "rebuilding would hide it")
        super().reset()


@dataclass
class Verdict:
    """What `verify_chain` found: the events checked, and the first problem if any."""

    checked: int = 0
    unchained: int = 0
    position: int = 0
    head_hash: str = ""
    problem: str = ""  # "altered", "missing" or "inserted"
    event: dict = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not self.problem

    def describe(self) -> str:
        if self.intact:
            return f"{self.checked} events match the chain up to notification {self.position}"
        e = self.event
        return (f"{self.problem} event: notification {e['notification_id']}, originator {e['originator_id']}, "
                f"version {e['originator_version']}, topic {e['topic']}")


def _stored(app, position: int) -> Iterator[Any]:
    start = 1
    while start <= position:
        page = app.recorder.select_notifications(start, PAGE, stop=position)
        if not page:
            return
        yield from page
        start = page[-1].id + 1


def _chained(engine: Engine) -> Iterator[Any]:
    after = -1
    while True:
        with engine.connect() as conn:
            page = conn.execute(select(chain_table).where(chain_table.c.notification_id > after)
                                .order_by(chain_table.c.notification_id).limit(PAGE)).all()
        if not page:
            return
        yield from page
        after = page[-1].notification_id


def _described(source) -> dict:
    return {"notification_id": getattr(source, "id", None) or source.notification_id,
            "originator_id": str(source.originator_id), "originator_version": source.originator_version,
            "topic": source.topic}


def verify_chain(app, engine: Engine) -> Verdict:
    """Recompute the chain from the stored events, end to end; the verdict names the first altered, missing or
    inserted event. Events recorded after the chain's position are counted as not yet chained."""
    metadata.create_all(engine)
    with engine.connect() as conn:
        found = conn.execute(select(projection_tracking.c.position)
                             .where(projection_tracking.c.name == AuditChain.name)).first()
    position = found.position if found else 0
    verdict = Verdict(position=position)
    previous = GENESIS
    stored, chained = _stored(app, position), _chained(engine)
    event, row = next(stored, None), next(chained, None)
    while event is not None or row is not None:
        if row is None or (event is not None and event.id < row.notification_id):
            verdict.problem, verdict.event = "inserted", _described(event)
            return verdict
        if event is None or row.notification_id < event.id:
            verdict.problem, verdict.event = "missing", _described(row)
            return verdict
        previous = link(previous, event.id, event.originator_id, event.originator_version, event.topic, event.state)
        if previous.hex() != row.hash:
            verdict.problem, verdict.event = "altered", _described(event)
            return verdict
        verdict.checked += 1
        verdict.head_hash = row.hash
        event, row = next(stored, None), next(chained, None)
    head = app.recorder.max_notification_id() or 0
    if head > position:
        verdict.unchained = len(app.recorder.select_notifications(position + 1, head - position, stop=head))
    return verdict


def hash_at(app, notification_id: int) -> str | None:
    """The chain's hash at a notification, recomputed from the stored events alone (the chain table is not read),
    to compare with a head kept outside the database; None when the log holds no such notification."""
    previous, last = GENESIS, 0
    for event in _stored(app, notification_id):
        previous = link(previous, event.id, event.originator_id, event.originator_version, event.topic, event.state)
        last = event.id
    return previous.hex() if last == notification_id else None


def verify_snapshots(app) -> tuple[int, list[dict]]:
    """Every stored snapshot against a replay of its stream's events up to the snapshot's version (snapshots are
    not chained, and loading trusts them). Returns how many were checked, and each one that differs."""
    from eventsourcing.utils import get_topic

    snapshotted = tuple(get_topic(cls) + "." for cls in getattr(app, "snapshotting_intervals", {}) or {})
    streams, start = set(), 1
    while snapshotted:
        page = app.recorder.select_notifications(start, PAGE)
        if not page:
            break
        streams.update(n.originator_id for n in page if n.topic.startswith(snapshotted))
        start = page[-1].id + 1
    checked, differing = 0, []
    for stream in sorted(streams, key=str):
        for snapshot in app.snapshots.get(stream):
            replayed = None
            for event in app.events.get(stream, lte=snapshot.originator_version):
                replayed = event.mutate(replayed)
            checked += 1
            if _state(snapshot.mutate(None)) != _state(replayed):
                differing.append({"originator_id": str(stream), "originator_version": snapshot.originator_version,
                                  "topic": snapshot.topic})
    return checked, differing


def _state(aggregate) -> dict:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"} if aggregate is not None else {}


# Browsing: the events behind an order, a SKU or a bin, each with its place in the chain.

# Buyer personal data never leaves the event store through these pages (remarks are free text buyers fill with
# it), nor do the hashes of PINs and API tokens.
HIDDEN_FIELDS = {"buyer", "remark", "pin_hash", "token_hash", "originator_id", "originator_version",
                 "originator_topic", "timestamp"}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def event_data(e) -> dict:
    """An event's fields as plain values, without buyer personal data or secrets' hashes."""
    return {k: _plain(v) for k, v in vars(e).items() if k not in HIDDEN_FIELDS}


def _browse(app, engine: Engine, streams: list[UUID], keep: Callable[[Any], bool], since, until,
            limit: int) -> list[dict]:
    first, last = day_range(since, until)
    limit = positive_int(limit, "limit")
    with engine.connect() as conn:
        chained = {(r.originator_id, r.originator_version): r for r in conn.execute(
            select(chain_table).where(chain_table.c.originator_id.in_([str(s) for s in streams])))}
    shown = []
    for stream in streams:
        for e in app.events.get(stream):
            day = business_day(e.timestamp)
            if (first and day < first) or (last and day > last) or not keep(e):
                continue
            link_row = chained.get((str(stream), e.originator_version))
            shown.append({
                "notification_id": link_row.notification_id if link_row else None,
                "hash": link_row.hash if link_row else "",
                "at": e.timestamp,
                "event": type(e).__qualname__,
                "originator_id": str(stream),
                "version": e.originator_version,
                "by": getattr(e, "by", ""),
                "data": event_data(e),
            })
    shown.sort(key=lambda r: (r["at"], r["originator_id"], r["version"]))
    return shown[:limit]


def order_id_of(order: str | UUID) -> UUID:
    """An order's id, given as its id or as channel/shop/platform order number."""
    if isinstance(order, str) and order.count("/") == 2:
        return ids.order_id(*(part.strip() for part in order.split("/")))
    return as_uuid(order, UnknownOrder(f"unknown order {str(order)[:64]}"))


def order_events(app, engine: Engine, order: str, since=None, until=None, limit: int = 500) -> list[dict]:
    """Events of an order (by id, or channel/shop/platform order number), its parcel and its stock."""
    order_id = order_id_of(order)
    try:
        found = app.repository.get(order_id)
    except AggregateNotFoundError:
        raise UnknownOrder(f"unknown order {str(order)[:64]}") from None
    streams = [order_id, ids.package_id(order_id)]
    if found.warehouse:
        streams += [ids.stock_id(found.warehouse, sku) for sku in sorted(found.skus())]

    def keep(e) -> bool:
        return not isinstance(e, Stock.Event) or getattr(e, "order_id", None) == order_id

    return _browse(app, engine, [s for s in streams if s in app.repository], keep, since, until, limit)


def _stock_streams(engine: Engine, **where: str) -> list[UUID]:
    from .inventory import movements

    query = select(movements.c.warehouse, movements.c.sku).distinct()
    for column, value in where.items():
        query = query.where(movements.c[column] == value)
    with engine.connect() as conn:
        return [ids.stock_id(r.warehouse, r.sku) for r in conn.execute(query.order_by(movements.c.warehouse,
                                                                                        movements.c.sku))]


def sku_events(app, engine: Engine, sku: str, since=None, until=None, limit: int = 500) -> list[dict]:
    """Events of a SKU: its registration and barcodes, and its stock in every warehouse (from the inventory view)."""
    try:
        registered = app.repository.get(ids.sku_id(sku))
    except (AggregateNotFoundError, TypeError):
        raise UnknownSku(f"unknown SKU {str(sku)[:64]!r}", key="refusal:unknown_sku", sku=str(sku)[:64]) from None
    streams = [ids.sku_id(sku), *(ids.barcode_id(b) for b in registered.barcodes), *_stock_streams(engine, sku=sku)]
    return _browse(app, engine, streams, lambda e: True, since, until, limit)


def bin_events(app, engine: Engine, warehouse: str, bin: str, since=None, until=None, limit: int = 500) -> list[dict]:
    """Stock events that moved units in or out of a bin, or changed what is reserved there."""
    from .inventory import bin_changes

    try:
        site = app.repository.get(ids.warehouse_id(warehouse))
    except (AggregateNotFoundError, TypeError):
        site = None
    if site is None or bin not in site.locations:
        raise UnknownBin(f"bin {str(bin)[:32]!r} does not exist in warehouse {warehouse}")

    def keep(e) -> bool:
        return any(changed == bin for changed, _, _ in bin_changes(e))

    streams = _stock_streams(engine, warehouse=warehouse, bin=bin)
    return _browse(app, engine, streams, keep, since, until, limit)


class UnknownStaff(NotFound):
    code = "unknown_staff"


def staff_events(app, engine: Engine, badge: str, since=None, until=None, limit: int = 500) -> list[dict]:
    """What a member of staff did: their own record, their logins and scans, and the stock they moved (found through
    the scanning and inventory views)."""
    from domain.scanning import device_id
    from domain.staff import staff_id

    from .scanning import scans

    member = staff_id(str(badge).strip())
    if not badge or member not in app.repository:
        raise UnknownStaff(f"unknown badge {str(badge)[:32]!r}")
    with engine.connect() as conn:
        devices = [r.device for r in conn.execute(select(scans.c.device).distinct()
                                                  .where(scans.c.staff == badge).order_by(scans.c.device))]

    def keep(e) -> bool:
        return e.originator_id == member or badge in (getattr(e, "staff", None), getattr(e, "by", None))

    streams = [member, *(device_id(d) for d in devices), *_stock_streams(engine, by=badge)]
    return _browse(app, engine, streams, keep, since, until, limit)


def chain_head(engine: Engine) -> dict:
    """The chain's latest link: publish it elsewhere to pin the chain itself."""
    metadata.create_all(engine)
    with engine.connect() as conn:
        row = conn.execute(select(chain_table).order_by(chain_table.c.notification_id.desc()).limit(1)).first()
    if row is None:
        return {"notification_id": 0, "hash": GENESIS.hex(), "at": datetime.now(business_calendar.zone)}
    return {"notification_id": row.notification_id, "hash": row.hash, "at": datetime.now(business_calendar.zone)}
