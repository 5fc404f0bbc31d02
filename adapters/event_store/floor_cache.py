"""The scanner floor's cache: aggregates kept as current as the event log by following it, one look per scan."""

import threading
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from copy import deepcopy
from typing import Iterator
from uuid import UUID

from eventsourcing.application import Repository, project_aggregate


def _replay(aggregate, events):
    """The library's projector without its runtime protocol check of each event (slow, and always true here)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class FloorCache:
    """The aggregates the scanner floor reads, kept as current as the event log by following it.

    A scan asks the log once what any process recorded since the last look, and brings the cached aggregates it
    touched up to date from those events, instead of asking the store about each aggregate the scan reads.
    Every cached aggregate holds all of its events up to `position`. Cached aggregates are replaced, never
    changed in place, so a reader holding one is not disturbed. A save of a stale copy still fails on its
    version (the store's optimistic-concurrency check), and the scan is retried on fresh state.
    """

    BACKLOG = 5_000  # more unseen notifications than this: start afresh rather than catch up
    CHANGES_KEPT = 200_000

    def __init__(self, repository: Repository, recorder, mapper, maxsize: int):
        self.repository = repository
        self.recorder = recorder
        self.mapper = mapper
        self.maxsize = maxsize
        self.lock = threading.Lock()
        self.aggregates: OrderedDict[UUID, object] = OrderedDict()
        self.position: int | None = None
        self.covered_from = 0  # the highest version seen of each aggregate changed since here is in `changed`
        self.changed: dict[UUID, int] = {}
        self.active: ContextVar[bool] = ContextVar(f"cangku_floor_{id(self)}", default=False)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Reads in this context come from the cache, brought up to date with the log on entry."""
        if self.active.get():
            yield
            return
        self.sync()
        token = self.active.set(True)
        try:
            yield
        finally:
            self.active.reset(token)

    def sync(self) -> None:
        """Apply what was recorded since the last look to the cached aggregates."""
        with self.lock:
            start = self.position
        if start is None:
            head = self.recorder.max_notification_id() or 0
            with self.lock:
                if self.position is None:
                    self.position = self.covered_from = head
            return
        notifications = self.recorder.select_notifications(start + 1, self.BACKLOG + 1)
        if not notifications:
            return
        with self.lock:
            if len(notifications) > self.BACKLOG:
                self.aggregates.clear()
                self.changed.clear()
                self.position = self.covered_from = max(self.position, notifications[-1].id)
                return
            for notification in notifications:
                if notification.id > self.position:
                    self._apply(notification)
                    self.position = notification.id
            if len(self.changed) > self.CHANGES_KEPT:
                self.changed.clear()
                self.covered_from = self.position

    def _apply(self, notification) -> None:
        key = notification.originator_id
        key = key if isinstance(key, UUID) else UUID(str(key))
        version = notification.originator_version
        self.changed[key] = max(version, self.changed.get(key, 0))
        cached = self.aggregates.get(key)
        if cached is None or version <= cached.version:
            return
        if version == cached.version + 1:
            self.aggregates[key] = self.mapper.to_domain_event(notification).mutate(deepcopy(cached))
        else:
            del self.aggregates[key]

    def get(self, aggregate_id: UUID, copy: bool):
        with self.lock:
            found = self.aggregates.get(aggregate_id)
            if found is not None:
                self.aggregates.move_to_end(aggregate_id)
            since = self.position
        if found is None:
            found = Repository.get(self.repository, aggregate_id, projector_func=_replay)
            self.offer(found, since)
        return deepcopy(found) if copy else found

    def preload(self, aggregate_ids, read_streams) -> list:
        """Cache those of these aggregates not cached yet, their streams read together by `read_streams(ids)`
        (id -> stored events): what a picker who just opened a wave will scan next. Returns what was loaded."""
        with self.lock:
            wanted = [key for key in dict.fromkeys(aggregate_ids) if key not in self.aggregates]
            since = self.position
        if not wanted or since is None:
            return []
        loaded = [_replay(None, map(self.mapper.to_domain_event, stored))
                  for stored in read_streams(wanted).values() if stored and stored[0].originator_version == 1]
        for aggregate in loaded:
            self.offer(aggregate, since)
        return loaded

    def offer(self, aggregate, since: int | None) -> None:
        """Cache an aggregate known to hold all its events up to notification `since`, unless it is stale."""
        with self.lock:
            if since is None or since < self.covered_from or aggregate.version < self.changed.get(aggregate.id, 0):
                return
            cached = self.aggregates.get(aggregate.id)
            if cached is not None and cached.version >= aggregate.version:
                return
            self.aggregates[aggregate.id] = aggregate
            self.aggregates.move_to_end(aggregate.id)
            while len(self.aggregates) > self.maxsize:
                self.aggregates.popitem(last=False)

    def saved(self, aggregates, recordings) -> None:
        """Cache aggregates just saved (their events recorded up to the recordings' notification ids)."""
        last = {}
        for recording in recordings:
            key = recording.domain_event.originator_id
            last[key] = max(recording.notification.id, last.get(key, 0))
        for aggregate in aggregates:
            if aggregate.id in last and not aggregate.pending_events:
                self.offer(aggregate, last[aggregate.id])

    def forget(self, aggregate_ids) -> None:
        with self.lock:
            for key in aggregate_ids:
                self.aggregates.pop(key, None)


class FloorRepository(Repository):
    """The application's repository; inside `FloorCache.reading()` current aggregates come from the floor cache."""

    floor: FloorCache

    def get(self, aggregate_id, *, version=None, projector_func=project_aggregate, fastforward_skipping=False,
            deepcopy_from_cache=True):
        if version is None and projector_func is project_aggregate and self.floor.active.get():
            return self.floor.get(aggregate_id, copy=deepcopy_from_cache and self.deepcopy_from_cache)
        return super().get(aggregate_id, version=version, projector_func=projector_func,
                           fastforward_skipping=fastforward_skipping, deepcopy_from_cache=deepcopy_from_cache)
