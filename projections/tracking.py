"""Following the event log: each projection writes its rows and its position in one transaction."""

import gc
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from time import perf_counter
from typing import Any, Callable, Iterable

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from .backoffice import Instant, text_id

log = logging.getLogger("cangku.projections")

tracking_metadata = MetaData()
projection_tracking = Table(
    "projection_tracking",
    tracking_metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)
# A view that cannot fold an event stops there; the event and the error are kept here until it moves past it.
projection_failures = Table(
    "projection_failure",
    tracking_metadata,
    Column("name", String(64), primary_key=True),
    Column("notification_id", BigInteger, nullable=False),
    Column("topic", String(255), nullable=False),
    Column("error", Text, nullable=False),
    Column("at", Instant(), nullable=False),
)


class ProjectionStuck(Exception):
    """A view could not fold an event: it stays at the event before, named in `projection_failure`."""


class TrackingConflict(Exception):
    """Another runner moved this projection's position first; this batch was rolled back."""


class Projection:
    """A read model: its tables, the event topics it reads, and how one batch of events changes its rows."""

    name: str = ""
    metadata: MetaData
    topics: tuple[str, ...] = ()
    reads_stored = False  # True: `apply` gets the stored notifications of every topic, not decoded events

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        """Fold (notification id, domain event) pairs into the view's rows."""
        raise NotImplementedError

    def reset_memory(self) -> None:
        """Forget anything cached from the rows (after a rebuild or a rolled-back batch)."""


@dataclass
class Status:
    name: str
    position: int
    head: int
    stuck_at: int | None = None  # the notification the view could not fold
    stuck_topic: str = ""
    error: str = ""

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class ProjectionRunner:
    """Pulls notifications after the projection's position and applies them batch by batch, exactly once."""

    def __init__(self, app, engine: Engine, projection: Projection, batch_size: int = 2000):
        self.app = app
        self.engine = engine
        self.projection = projection
        self.batch_size = batch_size
        self.lock = threading.Lock()
        self.stuck = False  # this runner recorded a failure that a later batch clears

    def setup(self) -> None:
        """Create the view and tracking tables and the tracking row, if missing. A view whose stored tables lack a
        column this code writes, or keeps it narrower (a newer release added or widened it), is emptied and folded again from the first event."""
        tracking_metadata.create_all(self.engine)
        missing = self.missing_columns()
        if missing:
            log.warning("%s lacks %s; the view is folded again from the first event", self.projection.name,
                        ", ".join(missing))
            self.reset()
        self.projection.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            found = conn.execute(
                select(projection_tracking.c.position).where(projection_tracking.c.name == self.projection.name)
            ).first()
            if found is None:
                conn.execute(insert(projection_tracking).values(name=self.projection.name, position=0))

    def missing_columns(self) -> list[str]:
        """The columns this code writes that the view's stored tables lack, or hold narrower than the code writes them
        ("table.column", "table.column (32 < 64)")."""
        stored = inspect(self.engine)
        found = []
        for table in self.projection.metadata.sorted_tables:
            if not stored.has_table(table.name):
                continue
            lengths = {c["name"]: getattr(c["type"], "length", None) for c in stored.get_columns(table.name)}
            for column in table.columns:
                wanted = getattr(column.type, "length", None)
                if column.name not in lengths:
                    found.append(f"{table.name}.{column.name}")
                elif wanted and lengths[column.name] and lengths[column.name] < wanted:
                    found.append(f"{table.name}.{column.name} ({lengths[column.name]} < {wanted})")
        return found

    def position(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(projection_tracking.c.position).where(projection_tracking.c.name == self.projection.name)
            ).scalar_one()

    def status(self) -> Status:
        with self.engine.connect() as conn:
            failure = conn.execute(
                select(projection_failures).where(projection_failures.c.name == self.projection.name)).first()
        status = Status(self.projection.name, self.position(), self.app.recorder.max_notification_id() or 0)
        if failure is not None and failure.notification_id > status.position:
            status.stuck_at, status.stuck_topic, status.error = failure.notification_id, failure.topic, failure.error
        return status

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply everything recorded so far; returns how many notifications were read."""
        done = 0
        with self.lock:
            while True:
                read, moved = self._one_batch()
                done += read
                if progress and moved:
                    progress(moved)
                if not moved:
                    return done

    def _one_batch(self) -> tuple[int, int]:
        head = self.app.recorder.max_notification_id() or 0
        batch: tuple = ()
        try:
            with self.engine.begin() as conn:
                start = conn.execute(
                    select(projection_tracking.c.position).where(projection_tracking.c.name == self.projection.name)
                ).scalar_one()
                if start >= head:
                    return 0, 0
                notifications = self.app.recorder.select_notifications(
                    start + 1, self.batch_size, stop=head, topics=self.projection.topics
                )
                # A filtered page shorter than the limit means nothing else of interest up to the head.
                end = notifications[-1].id if len(notifications) == self.batch_size else head
                events = [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications]
                batch = (start, notifications, events)
                try:
                    self.projection.apply(conn, events)
                    self.move(conn, start, end)
                except BaseException:
                    self.projection.reset_memory()
                    raise
                if self.stuck:
                    conn.execute(delete(projection_failures).where(projection_failures.c.name == self.projection.name))
                    self.stuck = False
        except TrackingConflict:
            raise
        except Exception:
            if not batch or not batch[1]:
                raise
            return self._one_by_one(*batch)
        return len(notifications), end - start

    def _one_by_one(self, start: int, notifications: list, events: list) -> tuple[int, int]:
        """A batch failed: fold its events one transaction each, up to the one that fails, which is named in
        `projection_failure` (the view stays just before it) and raised as ProjectionStuck."""
        position = start
        for notification, event in zip(notifications, events):
            try:
                with self.engine.begin() as conn:
                    self.projection.apply(conn, [event])
                    self.move(conn, position, notification.id)
            except TrackingConflict:
                self.projection.reset_memory()
                raise
            except Exception as error:
                self.projection.reset_memory()
                self._record_failure(notification, error)
                raise ProjectionStuck(f"{self.projection.name} cannot fold notification {notification.id} "
                                      f"({notification.topic}): {error}") from error
            position = notification.id
        return len(notifications), position - start

    def _record_failure(self, notification, error: Exception) -> None:
        detail = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:2000]
        row = {"notification_id": notification.id, "topic": notification.topic[:255], "error": detail,
               "at": datetime.now(timezone.utc)}
        with self.engine.begin() as conn:
            conn.execute(delete(projection_failures).where(projection_failures.c.name == self.projection.name))
            conn.execute(insert(projection_failures).values(name=self.projection.name, **row))
        self.stuck = True
        log.error("%s is stuck at notification %d (%s): %s", self.projection.name, notification.id,
                  notification.topic, detail)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drop the view, start again from the first event and catch up."""
        with self.lock:
            self.reset()
        return self.catch_up(progress)

    def reset(self) -> None:
        """Empty the view and move its position back to the start of the log."""
        self.projection.metadata.drop_all(self.engine)
        self.projection.reset_memory()
        self.projection.metadata.create_all(self.engine)
        tracking_metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(projection_tracking.delete().where(projection_tracking.c.name == self.projection.name))
            conn.execute(insert(projection_tracking).values(name=self.projection.name, position=0))

    def move(self, conn: Connection, start: int, end: int) -> None:
        """Record the new position in the batch's transaction, refusing if another runner moved it first."""
        moved = conn.execute(
            update(projection_tracking)
            .where(projection_tracking.c.name == self.projection.name)
            .where(projection_tracking.c.position == start)
            .values(position=end)
        )
        if moved.rowcount != 1:
            raise TrackingConflict(f"{self.projection.name} moved past {start} elsewhere")

    def run_forever(self, stop: threading.Event, interval: float = 0.2) -> None:
        """Follow the log until stopped (used by `serve` and `worker`); a failed batch is tried again."""
        failures = 0
        while not stop.is_set():
            try:
                self.catch_up()
                failures = 0
            except Exception:
                failures += 1
                log.exception("%s: batch failed (attempt %d); retrying", self.projection.name, failures)
            stop.wait(min(interval * 2 ** failures, 5.0))


def rebuild_together(runners: list[ProjectionRunner], progress: Callable[[int], None] | None = None,
                     page_size: int = 10_000, timings: dict[str, float] | None = None) -> int:
    """Rebuild several projections of one log in a single pass: each page of the log is read once, each event
    decoded once, and every projection's rows and position are written in the page's one transaction (an
    interrupted rebuild resumes with `catch_up`). Returns how many notifications were read; `timings`, when given,
    collects the seconds spent reading, decoding, in each projection and committing."""
    if not runners:
        return 0
    app, engine = runners[0].app, runners[0].engine
    spent = timings if timings is not None else {}
    for key in ("read", "decode", "commit", *(r.projection.name for r in runners)):
        spent.setdefault(key, 0.0)
    for runner in runners:
        runner.lock.acquire()
    # Nothing a rebuild allocates forms cycles worth collecting, but the collector's full passes over the
    # views' growing caches cost as much as decoding.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for runner in runners:
            runner.reset()
        by_topic: dict[str, list[str]] = {}
        for runner in runners:
            if not runner.projection.reads_stored:
                for topic in runner.projection.topics:
                    by_topic.setdefault(topic, []).append(runner.projection.name)
        decode = app.mapper.to_domain_event
        head, start, read = app.recorder.max_notification_id() or 0, 0, 0
        while start < head:
            started = perf_counter()
            page = app.recorder.select_notifications(start + 1, page_size, stop=head)
            end = page[-1].id if len(page) == page_size else head
            decoded = perf_counter()
            spent["read"] += decoded - started
            batches: dict[str, list] = {r.projection.name: [] for r in runners}
            for n in page:
                readers = by_topic.get(n.topic)
                if readers:
                    pair = (n.id, decode(n))
                    for name in readers:
                        batches[name].append(pair)
            started = perf_counter()
            spent["decode"] += started - decoded
            with engine.begin() as conn:
                try:
                    for runner in runners:
                        projection = runner.projection
                        events = page if projection.reads_stored else batches[projection.name]
                        if events:
                            projection.apply(conn, events)
                        runner.move(conn, start, end)
                        finished = perf_counter()
                        spent[projection.name] += finished - started
                        started = finished
                except BaseException:
                    for runner in runners:
                        runner.projection.reset_memory()
                    raise
            spent["commit"] += perf_counter() - started
            read += len(page)
            if progress:
                progress(end - start)
            start = end
        return read
    finally:
        if collecting:
            gc.enable()
        for runner in runners:
            runner.lock.release()


def created_in(events: Iterable[Any], *created: type) -> set[str]:
    """Ids (as text) of the aggregates that domain events of the given classes in a batch create: their rows
    cannot exist before the batch, so they need no look-up."""
    return {text_id(e.originator_id) for e in events if isinstance(e, created)}


def topics_of(*aggregate_event_classes: Iterable[type]) -> tuple[str, ...]:
    """The stored topics of the given event classes."""
    from eventsourcing.utils import get_topic

    return tuple(get_topic(cls) for classes in aggregate_event_classes for cls in classes)
