"""PostgreSQL event recorder whose writes cannot hang, however many events one transaction carries.

eventsourcing 9.5 writes every batch in psycopg's pipeline mode. A pipelined batch of more than a few MB never
returns (the server waits in ClientRead while the client waits for results) and the transaction keeps the events
table locked, so every other writer stops. Small batches keep the library's pipelined path; larger ones are
written in one ordinary transaction as several bounded INSERT statements: all of them commit, or none.
"""

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

# Measured on psycopg 3.3.9: pipelined batches of 4 MB and more hang, 0.4 MB and less commit in milliseconds.
PIPELINE_MAX_BYTES = 256 * 1024
STATEMENT_MAX_EVENTS = 1000
STATEMENT_MAX_BYTES = 2 * 1024 * 1024


def batch_bytes(stored_events: Sequence[StoredEvent]) -> int:
    return sum(len(e.state) + len(e.topic) + 64 for e in stored_events)


def bounded_chunks(stored_events: Sequence[StoredEvent], max_events: int = STATEMENT_MAX_EVENTS,
                   max_bytes: int = STATEMENT_MAX_BYTES) -> Iterator[Sequence[StoredEvent]]:
    """Consecutive slices of the batch, each at most max_events long and about max_bytes in size."""
    start, size = 0, 0
    for index, stored in enumerate(stored_events):
        weight = len(stored.state) + len(stored.topic) + 64
        if index > start and (index - start >= max_events or size + weight > max_bytes):
            yield stored_events[start:index]
            start, size = index, 0
        size += weight
    if start < len(stored_events):
        yield stored_events[start:]


class BoundedPostgresRecorder(PostgresApplicationRecorder):
    """The library's application recorder, with large batches written as bounded statements in one transaction,
    and rows sent as four plain arrays (uuid[], int[], text[], bytea[]) rather than one array of a composite type,
    which psycopg dumps field by field in Python (measured here: about 1.6× the insert rate)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.insert_rows_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::{id_type}[], %s::int[], %s::text[], %s::bytea[]) RETURNING notification_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name),
                 id_type=SQL(self.datastore.originator_id_type))

    def _insert_stored_events(self, curs, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        self._insert_rows(curs, stored_events)

    def _insert_rows(self, curs, stored_events: Sequence[StoredEvent]) -> None:
        curs.execute(self.insert_rows_statement, (
            [e.originator_id for e in stored_events], [e.originator_version for e in stored_events],
            [e.topic for e in stored_events], [e.state for e in stored_events]))

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if self.datastore.enable_db_functions or batch_bytes(stored_events) <= PIPELINE_MAX_BYTES:
            return super().insert_events(stored_events, **kwargs)
        return self._insert_in_bounded_statements(stored_events, **kwargs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_in_bounded_statements(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        notification_ids: list[int] = []
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._lock_table(curs)
            self._notify_channel(curs)
            for chunk in bounded_chunks(stored_events):
                self._insert_rows(curs, chunk)
                notification_ids.extend(row["notification_id"] for row in curs.fetchall())
        return notification_ids

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def recorded_originators(self, originator_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these aggregates have at least one recorded event: one query per 10,000 ids."""
        statement = SQL("SELECT DISTINCT originator_id FROM {schema}.{table} WHERE originator_id = ANY(%s)").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        found: set[UUID] = set()
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for start in range(0, len(originator_ids), 10_000):
                curs.execute(statement, (list(originator_ids[start:start + 10_000]),))
                found.update(row["originator_id"] for row in curs.fetchall())
        return found


    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def latest_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The last recorded version of each of these aggregates that has events: one query per 10,000 ids."""
        statement = SQL("SELECT originator_id, MAX(originator_version) AS version FROM {schema}.{table} "
                        "WHERE originator_id = ANY(%s) GROUP BY originator_id").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        versions: dict[UUID, int] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for start in range(0, len(originator_ids), 10_000):
                curs.execute(statement, (list(originator_ids[start:start + 10_000]),))
                versions.update((row["originator_id"], row["version"]) for row in curs.fetchall())
        return versions


    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_streams(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of each of these aggregates, in one query per 1,000 ids (for short streams: a long
        one is better read from its snapshot)."""
        statement = SQL("SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
                        "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        streams: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for start in range(0, len(originator_ids), 1_000):
                curs.execute(statement, (list(originator_ids[start:start + 1_000]),))
                for row in curs.fetchall():
                    streams.setdefault(row["originator_id"], []).append(StoredEvent(
                        row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])))
        return streams


RECORDER_TOPIC = f"{__name__}:{BoundedPostgresRecorder.__qualname__}"
