"""The event store as the running system uses it: the domain's store with the floor cache and group commit.

Both lean on eventsourcing 9.5 internals (`Application._record`, `Application.construct_repository`,
`Repository.get`'s keywords, `ProcessingEvent`'s fields); `tests/unit/test_event_store_adapter.py` fails
loudly when an upgrade changes any of them.
"""

from copy import deepcopy
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteAggregateRecorder
from eventsourcing.utils import strtobool

from domain.services.store import EventStore

from .floor_cache import FloorCache, FloorRepository
from .group_commit import GroupCommit


def sqlite_recorded_originators(recorder: SQLiteAggregateRecorder, originator_ids: list[UUID]) -> set[UUID]:
    """Which of these aggregates have events in the SQLite store: one query per 500 ids (the library keeps an id as
    its hex text)."""
    found: set[UUID] = set()
    with recorder.datastore.transaction(commit=False) as cursor:
        for start in range(0, len(originator_ids), 500):
            chunk = originator_ids[start:start + 500]
            cursor.execute(f"SELECT DISTINCT originator_id FROM {recorder.events_table_name} "
                           f"WHERE originator_id IN ({','.join('?' * len(chunk))})", [i.hex for i in chunk])
            found.update(UUID(str(row["originator_id"])) for row in cursor.fetchall())
    return found


class CachedEventStore(EventStore):
    """Reads of the scanner floor come from a cache that follows the log; concurrent saves share a transaction."""

    name = EventStore.name  # the library names tables and settings after it: events stay in cangku_events

    def construct_repository(self) -> FloorRepository:
        maxsize = int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 5000)
        repository = FloorRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=maxsize,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )
        repository.floor = FloorCache(repository, self.recorder, self.mapper, maxsize)
        self._group_commit = GroupCommit(self.events)
        return repository

    def _record(self, processing_event):
        if processing_event.tracking is not None or processing_event.saved_kwargs:
            return super()._record(processing_event)
        recordings = self._group_commit.record(processing_event)
        if self.repository.cache:
            # What was just saved is the stream's current state: `load_many` can use it without reading the stream.
            for aggregate_id, aggregate in processing_event.aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        return recordings

    def recorded_among(self, aggregate_ids):
        in_bulk = getattr(self.recorder, "recorded_originators", None)  # the PostgreSQL recorder
        if in_bulk is not None:
            return set(in_bulk(list(aggregate_ids)))
        if isinstance(self.recorder, SQLiteAggregateRecorder):
            return sqlite_recorded_originators(self.recorder, list(aggregate_ids))
        return super().recorded_among(aggregate_ids)

    def load_many(self, aggregate_ids):
        """Current aggregates in one query for their versions: a cached copy at the stored version is used as it
        is, any other stream is brought up to date from the store."""
        latest_versions = getattr(self.recorder, "latest_versions", None)
        if latest_versions is None or not self.repository.cache:
            return super().load_many(aggregate_ids)
        aggregate_ids = list(aggregate_ids)
        versions = latest_versions(aggregate_ids)
        loaded = {}
        for aggregate_id in aggregate_ids:
            if aggregate_id not in versions:
                continue
            try:
                cached = self.repository.cache.get(aggregate_id)
            except KeyError:
                cached = None
            if cached is not None and cached.version == versions[aggregate_id]:
                loaded[aggregate_id] = deepcopy(cached)
            else:
                loaded[aggregate_id] = self.repository.get(aggregate_id)
        return loaded

    def record_saved(self, objects: tuple, kwargs: dict):
        floor = self.repository.floor
        aggregates = [o for o in objects if hasattr(o, "pending_events")]
        try:
            recordings = super().record_saved(objects, kwargs)
        except IntegrityError:
            # Something here was stale: the retry reads these from the store again.
            floor.forget(a.id for a in aggregates)
            raise
        if floor.active.get():
            floor.saved(aggregates, recordings)
        return recordings

    def warm_floor(self, aggregate_ids, then=None) -> None:
        """Read these short streams for the floor cache in one query (PostgreSQL); `then(loaded)` names more ids
        to read the same way (the barcodes of the SKUs just read)."""
        read_streams = getattr(self.recorder, "select_streams", None)
        if read_streams is None:
            return
        loaded = self.repository.floor.preload(aggregate_ids, read_streams)
        if then is not None:
            self.repository.floor.preload(then(loaded), read_streams)

    def floor_reads(self):
        """Reads of the scanner floor in this context: one look at the log, then aggregates kept current by it."""
        return self.repository.floor.reading()

    def refresh_floor(self) -> None:
        self.repository.floor.sync()
