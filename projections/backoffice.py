"""What the back-office views share: named filter errors, business days, money in fen, and a batch row cache."""

from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable, Iterable
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, insert, select, tuple_, update
from sqlalchemy.engine import Connection

from domain.errors import InvalidInput, NotFound

# Marketplace days, settlement days and reports all follow China Standard Time.
BUSINESS_TIME = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")
LOAD_CHUNK = 500


class InvalidFilter(InvalidInput):
    """A report filter is malformed (a date, a number, a choice)."""

    code = "invalid_filter"


class InvalidDate(InvalidFilter):
    code = "invalid_date"


class UnknownCustomer(NotFound):
    code = "unknown_customer"


def aware(moment: datetime | None) -> datetime | None:
    """An instant read back from a view: SQLite hands back event timestamps as naive UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def business_day(moment: datetime) -> str:
    """The China Standard Time calendar day of an instant, as YYYY-MM-DD."""
    return aware(moment).astimezone(BUSINESS_TIME).date().isoformat()


def parse_day(value: str | date | None, label: str = "date") -> date | None:
    """A filter's day: a date, or text YYYY-MM-DD; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(BUSINESS_TIME).date() if value.tzinfo else value.date()
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
    return datetime.now(BUSINESS_TIME).date()


def days_before(day: date, days: int) -> str:
    return (day - timedelta(days=days)).isoformat()


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
        inserts = [r for k, r in self.rows.items() if k not in self.existing]
        updates = [{(f"k_{name}" if name in self.key else name): value for name, value in r.items()}
                   for k, r in self.rows.items() if k in self.existing]
        if updates:
            where = and_(*(self.table.c[name] == bindparam(f"k_{name}") for name in self.key))
            conn.execute(update(self.table).where(where), updates)
        if inserts:
            conn.execute(insert(self.table), inserts)
        self.existing.update(k for k in self.rows)
