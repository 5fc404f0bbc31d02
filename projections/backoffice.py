"""What the back-office views share: named filter errors, business days, money in fen, and a batch row cache."""

import copy
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from typing import Any, Callable, Iterable, Iterator
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Select, Table, func, select, tuple_
from sqlalchemy.types import TypeDecorator
from sqlalchemy.engine import Connection, Engine

from domain.errors import InvalidInput, NotFound

# The marketplaces' own time (their order and bill times), and the business day's default zone.
BUSINESS_TIME = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")
LOAD_CHUNK = 500
STREAM_CHUNK = 2000


class InvalidFilter(InvalidInput):
    """A report filter is malformed (a date, a number, a choice)."""

    code = "invalid_filter"


class InvalidDate(InvalidFilter):
    code = "invalid_date"


class UnknownCustomer(NotFound):
    code = "unknown_customer"


# Ids as text, shared by every view: the same order or stock id is turned into text by several views and events.
text_id: Callable[[Any], str] = lru_cache(maxsize=1 << 16)(str)


def aware(moment: datetime | None) -> datetime | None:
    """An instant read back from a view: SQLite hands back event timestamps as naive UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


class Instant(TypeDecorator):
    """A view's instant. SQLite keeps a datetime as text without its offset, so an aware one is stored in UTC, as
    `aware` reads it back (an instant a platform gave in +08:00 would otherwise read back eight hours late)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":  # PostgreSQL keeps the offset: its plain processor, so folds pay nothing more
            return self.impl_instance.bind_processor(dialect)
        return super().bind_processor(dialect)

    def process_bind_param(self, value, dialect):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(timezone.utc)
        return value


class BusinessCalendar:
    """Which calendar day an instant falls on for the business: in the configured zone, or in a shop's own zone when
    the shop has one. The composition root configures it once from the settings (CANGKU_BUSINESS_TIMEZONE,
    CANGKU_SHOP_TIMEZONES); every view, report, filter and export of the process reads days through it."""

    def __init__(self, zone: str = "Asia/Shanghai", shops: dict[tuple[str, str], str] | None = None):
        self.configure(zone, shops)

    def configure(self, zone: str, shops: dict[tuple[str, str], str] | None = None) -> None:
        self.zone = ZoneInfo(zone)
        self.shops = {key: ZoneInfo(name) for key, name in (shops or {}).items()}

    def zone_of(self, channel: str | None = None, shop: str | None = None) -> ZoneInfo:
        return self.shops.get((channel, shop), self.zone) if self.shops and channel else self.zone

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def local(self, moment: datetime) -> datetime:
        """An instant in the business zone (an instant without a zone is taken to be in it already)."""
        return moment.astimezone(self.zone) if moment.tzinfo else moment.replace(tzinfo=self.zone)


business_calendar = BusinessCalendar()


def business_day(moment: datetime, channel: str | None = None, shop: str | None = None) -> str:
    """The business calendar day of an instant, as YYYY-MM-DD: in the shop's zone when it has one."""
    return _day_in(moment, business_calendar.zone_of(channel, shop))


@lru_cache(maxsize=1 << 16)  # several views ask for the day of the same event
def _day_in(moment: datetime, zone: ZoneInfo) -> str:
    return aware(moment).astimezone(zone).date().isoformat()


def parse_day(value: str | date | None, label: str = "date") -> date | None:
    """A filter's day: a date, or text YYYY-MM-DD; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(business_calendar.zone).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidDate(f"{label} {str(value)[:40]!r} is not a day such as 2026-11-11") from None


def day_range(since=None, until=None) -> tuple[str | None, str | None]:
    """Inclusive first and last day of a filter as YYYY-MM-DD; refuses a range that ends before it starts."""
    first, last = parse_day(since, "since"), parse_day(until, "until")
    if first and last and last < first:
        raise InvalidDate(f"until {last} is before since {first}")
    return (first.isoformat() if first else None, last.isoformat() if last else None)


def today() -> date:
    return business_calendar.today()


def days_before(day: date, days: int) -> str:
    return (day - timedelta(days=days)).isoformat()


def instant_bounds(first: str | None, last: str | None) -> tuple[datetime | None, datetime | None]:
    """The instants (UTC) a range of business days spans: from the first day's midnight up to, not including, the
    midnight after the last. UTC because SQLite keeps instants as naive UTC text and compares them as text."""
    def midnight(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), business_calendar.zone).astimezone(timezone.utc)

    return (midnight(date.fromisoformat(first)) if first else None,
            midnight(date.fromisoformat(last) + timedelta(days=1)) if last else None)


def positive_int(value, label: str) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or str(value).strip().isdigit()) or int(value) <= 0:
        raise InvalidFilter(f"{label} must be a whole number greater than zero, not {str(value)[:20]!r}")
    return int(value)


def fen(amount) -> int:
    """Money as whole fen (分), rounded half up: sums stay exact on SQLite and PostgreSQL alike."""
    try:
        return int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(f"{str(amount)[:20]!r} is not an amount of money") from None


def yuan(amount_fen: int | None) -> Decimal:
    return (Decimal(amount_fen or 0) / 100).quantize(CENT)


def as_uuid(value, missing: Exception) -> UUID:
    """An id given as text or UUID; anything else is reported as the given not-found error."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value).strip())
    except ValueError:
        raise missing from None


def choice(value: str | None, allowed: Iterable[str], label: str) -> str | None:
    if value in (None, ""):
        return None
    allowed = tuple(allowed)
    if value not in allowed:
        raise InvalidFilter(f"{label} {str(value)[:40]!r} is not one of {', '.join(allowed)}")
    return value


class BatchRows:
    """Rows of one table that a batch touches: read in a few queries, changed in memory, written back in two.

    Only rows read or added in this batch are held, so two processes following the log never share stale rows.
    """

    def __init__(self, table: Table, key: tuple[str, ...], defaults: Callable[[], dict[str, Any]]):
        self.table = table
        self.key = key
        self.defaults = defaults
        self.rows: dict[tuple, dict[str, Any]] = {}
        self.existing: set[tuple] = set()

    def load(self, conn: Connection, keys: Iterable[tuple]) -> None:
        wanted = [k for k in set(keys) if k not in self.rows]
        columns = [self.table.c[name] for name in self.key]
        for start in range(0, len(wanted), LOAD_CHUNK):
            chunk = wanted[start:start + LOAD_CHUNK]
            if len(columns) == 1:
                where = columns[0].in_([k[0] for k in chunk])
            else:
                where = tuple_(*columns).in_(chunk)
            for row in conn.execute(select(self.table).where(where)):
                found = dict(row._mapping)
                key = tuple(found[name] for name in self.key)
                self.rows[key] = found
                self.existing.add(key)

    def load_by(self, conn: Connection, column: str, values: Iterable) -> None:
        """Read every row whose `column` is one of these values (all the lines of some orders, say)."""
        wanted = sorted(set(values))
        for start in range(0, len(wanted), LOAD_CHUNK):
            chunk = wanted[start:start + LOAD_CHUNK]
            for row in conn.execute(select(self.table).where(self.table.c[column].in_(chunk))):
                found = dict(row._mapping)
                key = tuple(found[name] for name in self.key)
                if key not in self.rows:
                    self.rows[key] = found
                    self.existing.add(key)

    def get(self, key: tuple) -> dict[str, Any] | None:
        return self.rows.get(key)

    def row(self, key: tuple, **initial) -> dict[str, Any]:
        """The row for a key, created with the table's defaults (and the given values) when new."""
        found = self.rows.get(key)
        if found is None:
            found = {**self.defaults(), **initial, **dict(zip(self.key, key))}
            self.rows[key] = found
        return found

    def write(self, conn: Connection) -> None:
        existing = self.existing
        inserts = [r for k, r in self.rows.items() if k not in existing]
        updates = [r for k, r in self.rows.items() if k in existing]
        if updates:
            update_rows(conn, self.table, self.key, updates)
        if inserts:
            insert_rows(conn, self.table, inserts)
        existing.update(self.rows)


# Rows go to the driver in one executemany per table: building a SQLAlchemy statement and its parameters per row
# costs more than the database's own work. Values pass through the column types' bind processors, so the stored
# values are the same as SQLAlchemy would store.

_plans: dict[tuple, tuple[str, Callable]] = {}


def _processors(conn: Connection, table: Table, names: tuple[str, ...]) -> list:
    dialect = conn.dialect
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]


def _row_values(names: tuple[str, ...], processors: list, defaults: dict[str, Any]) -> Callable[[dict], tuple]:
    if not defaults and not any(processors):
        if len(names) == 1:
            return lambda row, name=names[0]: (row[name],)
        return itemgetter(*names)
    plan = [(name, processor, defaults.get(name, _REQUIRED)) for name, processor in zip(names, processors)]

    def values(row: dict) -> tuple:
        out = []
        for name, processor, default in plan:
            value = row[name] if default is _REQUIRED else row.get(name, default)
            out.append(processor(value) if processor and value is not None else value)
        return tuple(out)

    return values


_REQUIRED = object()


def _quoted(conn: Connection, names) -> list[str]:
    quote = conn.dialect.identifier_preparer.quote
    return [quote(name) for name in names]


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def insert_rows(conn: Connection, table: Table, rows: list[dict]) -> None:
    """Insert dict rows as SQLAlchemy's `insert(table)` would: the first row's columns, plus scalar defaults."""
    if not rows:
        return
    first = rows[0]
    names = tuple(c.name for c in table.c
                  if c.name in first or (c.default is not None and c.default.is_scalar))
    key = ("insert", table, conn.dialect.name, names)
    plan = _plans.get(key)
    if plan is None:
        defaults = {name: table.c[name].default.arg for name in names if name not in first}
        sql = (f"INSERT INTO {_quoted(conn, [table.name])[0]} ({', '.join(_quoted(conn, names))}) "
               f"VALUES ({', '.join([_mark(conn)] * len(names))})")
        plan = _plans[key] = (sql, _row_values(names, _processors(conn, table, names), defaults))
    sql, values = plan
    conn.exec_driver_sql(sql, [values(row) for row in rows])


def insert_tuples(conn: Connection, table: Table, names: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows given as tuples of the named columns' values."""
    if not rows:
        return
    key = ("tuples", table, conn.dialect.name, names)
    plan = _plans.get(key)
    if plan is None:
        sql = (f"INSERT INTO {_quoted(conn, [table.name])[0]} ({', '.join(_quoted(conn, names))}) "
               f"VALUES ({', '.join([_mark(conn)] * len(names))})")
        processing = [(i, p) for i, p in enumerate(_processors(conn, table, names)) if p]
        plan = _plans[key] = (sql, processing)
    sql, processing = plan
    if processing:
        processed = []
        for values in rows:
            values = list(values)
            for i, processor in processing:
                if values[i] is not None:
                    values[i] = processor(values[i])
            processed.append(tuple(values))
        rows = processed
    conn.exec_driver_sql(sql, rows)


def update_rows(conn: Connection, table: Table, key: tuple[str, ...], rows: list[dict]) -> None:
    """Update dict rows by their key columns, setting the other columns of the first row."""
    if not rows:
        return
    names = tuple(name for name in rows[0] if name not in key and name in table.c)
    plan_key = ("update", table, conn.dialect.name, names, key)
    plan = _plans.get(plan_key)
    if plan is None:
        mark = _mark(conn)
        sql = (f"UPDATE {_quoted(conn, [table.name])[0]} SET "
               f"{', '.join(f'{name} = {mark}' for name in _quoted(conn, names))} "
               f"WHERE {' AND '.join(f'{name} = {mark}' for name in _quoted(conn, key))}")
        every = names + key
        plan = _plans[plan_key] = (sql, _row_values(every, _processors(conn, table, every), {}))
    sql, values = plan
    conn.exec_driver_sql(sql, [values(row) for row in rows])


class Listing:
    """The rows a report lists, read from its view a page at a time and never all at once: what a back-office table
    pages through and exports, and what the API pages.

    `shape` turns a chunk of stored rows into the rows shown (it may read more for them on the same connection);
    `keep`, when given, is a test only Python can make (a segment computed from the row), so counting and paging then
    walk the rows as a stream. `leading` rows (a few, already in memory) come before the query's. `sort_keys` names
    the SQL expressions of shown fields the query does not select by that name (a margin, an available figure), so
    the rows can be sorted by them too.
    """

    def __init__(self, engine: Engine, query: Select, shape: Callable[[dict], dict] | None = None,
                 keep: Callable[[dict], bool] | None = None, leading: Iterable[dict] = (),
                 shape_rows: Callable[[Connection, list[dict]], list[dict]] | None = None,
                 sort_keys: dict[str, Any] | None = None):
        self.engine = engine
        self.query = query
        self.shape_rows = shape_rows or ((lambda conn, rows: [shape(r) for r in rows]) if shape else None)
        self.keep = keep
        self.leading = list(leading)
        self.sort_keys = {c.name: c for c in query.selected_columns} | dict(sort_keys or {})

    def sorted_by(self, field: str, descending: bool = False) -> "Listing":
        """The same rows ordered in SQL by one field (empty values last), ties kept in the listing's own order and
        then by every selected column, so pages never overlap."""
        if field not in self.sort_keys:
            raise InvalidFilter(f"this table cannot be sorted by {field[:40]!r}")
        key = self.sort_keys[field]
        ties = [*self.query._order_by_clauses, *self.query.selected_columns]
        listed = copy.copy(self)
        listed.query = self.query.order_by(None).order_by((key.desc() if descending else key.asc()).nulls_last(), *ties)
        return listed

    def count(self) -> int:
        if self.keep is not None:
            return len(self.leading) + sum(1 for _ in self._stream())
        with self.engine.connect() as conn:
            return len(self.leading) + conn.execute(
                select(func.count()).select_from(self.query.order_by(None).subquery())).scalar_one()

    def page(self, limit: int, offset: int = 0) -> list[dict]:
        """`limit` rows after the first `offset`."""
        head = self.leading[offset:offset + limit]
        limit, offset = limit - len(head), max(offset - len(self.leading), 0)
        if limit <= 0:
            return head
        if self.keep is not None:
            return head + list(islice(self._stream(), offset, offset + limit))
        with self.engine.connect() as conn:
            return head + self._shaped(conn, conn.execute(self.query.limit(limit).offset(offset)).all())

    def __iter__(self) -> Iterator[dict]:
        yield from self.leading
        yield from self._stream()

    def _stream(self) -> Iterator[dict]:
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=STREAM_CHUNK).execute(self.query)
            for chunk in result.partitions():
                for shown in self._shaped(conn, chunk):
                    if self.keep is None or self.keep(shown):
                        yield shown

    def _shaped(self, conn: Connection, rows) -> list[dict]:
        rows = [dict(r._mapping) for r in rows]
        return self.shape_rows(conn, rows) if self.shape_rows and rows else rows
