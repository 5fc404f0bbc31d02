"""Scheduling shop pulls and parcel tracking on an interval, through broker outages, one of each at a time.

A job sent is marked in the views database (a row with an expiry) until a worker has finished it, so a shop's pull
is not queued again while one is queued or running, by this process or another scheduler. A marker whose job was
lost frees itself when it expires. When the broker cannot be reached the tick is skipped and said once per outage;
sending resumes when it is back.
"""

import logging
import secrets
import threading
import time
from typing import Callable

import dramatiq
from dramatiq.middleware import Retries
from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, inspect, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

log = logging.getLogger(__name__)

MARKER_OPTION = "job_marker"
MIN_MARKER_SECONDS = 15 * 60

metadata = MetaData()
job_markers = Table(
    "job_markers", metadata,
    Column("name", String(200), primary_key=True),
    Column("token", String(32), nullable=False),
    Column("expires_at", Float, nullable=False),
)


class JobMarkers:
    """Marks naming a job that is queued or running; `claim` is atomic across processes."""

    def __init__(self, engine: Engine, seconds: float = MIN_MARKER_SECONDS, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.seconds = seconds
        self.clock = clock

    def setup(self) -> None:
        try:
            job_markers.create(self.engine, checkfirst=True)
        except DBAPIError:
            if not inspect(self.engine).has_table("job_markers"):  # another process made it at the same moment
                raise

    def claim(self, name: str) -> str | None:
        """A token for the job named, or None while an unexpired marker holds it."""
        now, token = self.clock(), secrets.token_hex(8)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(job_markers).values(name=name, token=token, expires_at=now + self.seconds))
            return token
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            taken = conn.execute(update(job_markers).where(job_markers.c.name == name, job_markers.c.expires_at <= now)
                                 .values(token=token, expires_at=now + self.seconds)).rowcount
        return token if taken else None

    def release(self, name: str, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(job_markers).where(job_markers.c.name == name, job_markers.c.token == token))


class ReleaseMarkers(dramatiq.Middleware):
    """A marked job frees its marker once done: succeeded, or failed for good (not while a retry is pending)."""

    def __init__(self, markers: JobMarkers):
        self.markers = markers

    @property
    def actor_options(self) -> set[str]:
        return {MARKER_OPTION}

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is None or message.failed:
            self._release(message)

    def after_skip_message(self, broker, message):
        self._release(message)

    def _release(self, message) -> None:
        marker = message.options.get(MARKER_OPTION)
        if marker:
            self.markers.release(*marker)


def watch_markers(broker: dramatiq.Broker, engine: Engine, interval: float) -> JobMarkers:
    """Job markers in the views database, freed by this broker's workers."""
    markers = JobMarkers(engine, max(MIN_MARKER_SECONDS, 3 * interval))
    markers.setup()
    # Placed before Retries: middleware hear "after" signals in reverse, so Retries has marked a message failed
    # (or queued its retry) before this looks.
    broker.add_middleware(ReleaseMarkers(markers), before=Retries)
    return markers


class Scheduler:
    """Each interval: every shop's order pull and the parcel tracking poll, unless one is still queued or running."""

    def __init__(self, jobs, markers: JobMarkers, interval: float, stop: threading.Event):
        self.jobs = jobs
        self.markers = markers
        self.interval = interval
        self.stop = stop
        self.outage_since: float | None = None

    def run(self) -> None:
        while not self.stop.is_set():
            self.tick()
            self.stop.wait(self.interval)

    def tick(self) -> int:
        """Send what is due; the number of jobs sent (a tick the broker or the database refuses sends none)."""
        due = [(f"pull:{channel}:{shop}", self.jobs.pull_orders, (channel, shop)) for channel, shop in self.jobs.shops]
        if self.jobs.shipping:
            due.append(("track-parcels", self.jobs.track_parcels, ()))
        sent = 0
        try:
            for name, actor, args in due:
                token = self.markers.claim(name)
                if token is None:
                    continue
                try:
                    actor.send_with_options(args=args, **{MARKER_OPTION: (name, token)})
                except BaseException:
                    self.markers.release(name, token)
                    raise
                sent += 1
        except Exception as error:
            if self.outage_since is None:
                self.outage_since = time.monotonic()
                log.warning("jobs cannot be sent (%s: %s); shop pulls wait until the broker is back",
                            type(error).__name__, error)
            return sent
        if self.outage_since is not None:
            log.warning("jobs are sent again after %.0f s", time.monotonic() - self.outage_since)
            self.outage_since = None
        return sent
