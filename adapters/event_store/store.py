"""The event store as the running system uses it: the domain's store with the floor cache and group commit.

Both lean on eventsourcing 9.5 internals (`Application._record`, `Application.construct_repository`,
`Repository.get`'s keywords, `ProcessingEvent`'s fields); `tests/unit/test_event_store_adapter.py` fails
loudly when an upgrade changes any of them.
"""

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import strtobool

from domain.services.store import EventStore

from .floor_cache import FloorCache, FloorRepository
from .group_commit import GroupCommit


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
        if self.repository.cache and not self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        return recordings

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

    def floor_reads(self):
        """Reads of the scanner floor in this context: one look at the log, then aggregates kept current by it."""
        return self.repository.floor.reading()

    def refresh_floor(self) -> None:
        self.repository.floor.sync()
