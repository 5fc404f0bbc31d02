"""The event-store adapter leans on eventsourcing internals; an upgrade that changes them fails here, loudly."""

import inspect
import threading

import pytest
from eventsourcing.application import Application, ProcessingEvent, Repository
from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder

from adapters.event_store.store import CachedEventStore
from domain.catalogue import Sku
from domain.services import Cangku


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_library_internals_the_adapter_overrides_are_as_it_expects():
    assert parameters(Application._record) == ["self", "processing_event"]
    assert parameters(Application.construct_repository) == ["self"]
    assert {"event_store", "snapshot_store", "cache_maxsize", "fastforward", "fastforward_skipping",
            "deepcopy_from_cache"} <= set(parameters(Repository.__init__))
    assert {"version", "projector_func", "fastforward_skipping", "deepcopy_from_cache"} <= set(
        parameters(Repository.get))
    processing = ProcessingEvent()
    assert {"tracking", "saved_kwargs", "aggregates", "events"} <= set(vars(processing))
    for name in ("AGGREGATE_CACHE_MAXSIZE", "AGGREGATE_CACHE_FASTFORWARD", "AGGREGATE_CACHE_FASTFORWARD_SKIPPING",
                 "DEEPCOPY_FROM_AGGREGATE_CACHE"):
        assert hasattr(Application, name)


def test_the_library_internals_the_bounded_recorder_calls_are_as_it_expects():
    for name in ("_lock_table", "_notify_channel", "_insert_events", "_fetch_ids_after_insert_events"):
        assert callable(getattr(PostgresApplicationRecorder, name))
    pipelined = inspect.getsource(PostgresApplicationRecorder.insert_events)
    assert "self._insert_stored_events(curs, stored_events" in pipelined
    assert "self._fetch_ids_after_insert_events(" in pipelined
    assert parameters(PostgresAggregateRecorder._insert_stored_events)[:3] == ["self", "curs", "stored_events"]
    assert "insert_events_statement" in inspect.getsource(PostgresAggregateRecorder.__init__)
    assert "RETURNING notification_id" in inspect.getsource(PostgresApplicationRecorder)


@pytest.fixture
def services():
    composed = Cangku.compose(CachedEventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}))
    yield composed
    composed.close()


def test_the_adapter_keeps_the_library_s_table_and_settings_name(services):
    assert services.store.name == "Cangku"


def test_saves_from_many_threads_at_once_are_all_recorded(services):
    skus = [Sku.register(f"SKU-{n:03d}", f"商品 {n}", [], 100, 0, 0) for n in range(64)]
    start = threading.Barrier(8)

    def save(part):
        start.wait()
        for sku in part:
            services.store.save(sku)

    threads = [threading.Thread(target=save, args=(skus[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(services.catalogue.sku_exists(sku.code) for sku in skus)
    assert services.store.recorder.max_notification_id() == 64


def test_two_saves_of_one_version_at_once_let_exactly_one_through(services):
    services.catalogue.register_sku("TEA-1", "龙井 250g")
    copies = [services.store.repository.get(Sku.create_id("TEA-1")) for _ in range(2)]
    for copy, barcode in zip(copies, ["TEA-1-A", "TEA-1-B"]):
        copy.add_barcode(barcode)
    start, outcomes = threading.Barrier(2), []

    def save(copy):
        start.wait()
        try:
            services.store.save(copy)
            outcomes.append("saved")
        except IntegrityError:
            outcomes.append("refused")

    threads = [threading.Thread(target=save, args=(copy,)) for copy in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "saved"]
