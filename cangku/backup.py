"""Backup and restore of the event log, between SQLite and PostgreSQL in either direction.

A backup is a gzip file of JSON lines: a header, one line per stored event (notification id, originator id and
version, topic, and the stored bytes in base64, exactly as stored: sealed buyer fields stay sealed), and a trailer
with the number of events and the hash chain's head over them (`projections.audit`). It is read from the database
in one read-only transaction, a page at a time, so it is consistent and never holds the log in memory.

A restore reads the file twice: first to check that its events lead to the head in its trailer (a damaged or
edited file is refused before anything is written), then to write the events, with their notification ids, into
an empty store in one transaction. The views are then rebuilt from the restored log and the chain is checked
against the file.
"""

import base64
import gzip
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.errors import InvalidInput
from projections.audit import GENESIS, link

from .settings import Database

FORMAT = "cangku-backup"
VERSION = 1
PAGE = 2000


class BackupRefused(InvalidInput):
    """The backup cannot be made or restored as asked."""

    code = "backup_refused"


@dataclass
class Written:
    events: int
    position: int
    head: str


@dataclass
class Restored:
    events: int
    position: int
    head: str
    backup_events: int
    backup_position: int


def _events_table(database: Database, table: str) -> str:
    schema = database.schema or "public"
    return f'"{schema}"."{table}"'


def _conninfo(database: Database) -> str:
    password = f" password={database.password}" if database.password else ""
    return f"host={database.host} port={database.port} dbname={database.dbname} user={database.user}{password}"


def _read_sqlite(database: Database, table: str) -> Iterator[tuple]:
    conn = sqlite3.connect(database.sqlite_events, isolation_level=None)
    try:
        conn.execute("BEGIN")  # the first read fixes the snapshot every later page reads from
        after = 0
        while True:
            page = conn.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} "
                                "WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, PAGE)).fetchall()
            if not page:
                break
            for n, originator, version, topic, state in page:
                yield n, UUID(originator), version, topic, bytes(state)
            after = page[-1][0]
        conn.execute("COMMIT")
    finally:
        conn.close()


def _read_postgres(database: Database, table: str) -> Iterator[tuple]:
    import psycopg

    with psycopg.connect(_conninfo(database)) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        with conn.cursor(name="cangku_backup") as cursor:
            cursor.itersize = PAGE
            cursor.execute(f"SELECT notification_id, originator_id, originator_version, topic, state "
                           f"FROM {_events_table(database, table)} ORDER BY notification_id")
            for n, originator, version, topic, state in cursor:
                yield n, originator, version, topic, bytes(state)


def events_table(store, database: Database) -> str:
    """The stored events' table; refused for an in-memory store, which nothing outlives the command."""
    if database.kind not in ("sqlite", "postgres"):
        raise BackupRefused("backup and restore work on SQLite or PostgreSQL; an in-memory store ends with the command")
    return store.recorder.events_table_name


def stored_events(database: Database, table: str) -> Iterator[tuple]:
    """(notification id, originator id, version, topic, state) of every stored event, in order, from one snapshot."""
    if database.kind == "sqlite":
        return _read_sqlite(database, table)
    return _read_postgres(database, table)


def write_backup(database: Database, table: str, path, progress: Callable[[int], None] | None = None) -> Written:
    """Stream every stored event into a compressed backup file with the chain's head over them."""
    previous, count, position = GENESIS, 0, 0
    events = stored_events(database, table)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
        out.write(json.dumps({"format": FORMAT, "version": VERSION,
                              "created": datetime.now(timezone.utc).isoformat()}) + "\n")
        for n, originator, version, topic, state in events:
            previous = link(previous, n, originator, version, topic, state)
            out.write(json.dumps({"n": n, "id": str(originator), "v": version, "t": topic,
                                  "s": base64.b64encode(state).decode("ascii")}) + "\n")
            count, position = count + 1, n
            if progress and count % PAGE == 0:
                progress(PAGE)
        out.write(json.dumps({"end": True, "events": count, "position": position, "head": previous.hex()}) + "\n")
    if progress and count % PAGE:
        progress(count % PAGE)
    return Written(count, position, previous.hex())


def _lines(path) -> Iterator[dict]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as source:
            header = json.loads(source.readline() or "{}")
            if header.get("format") != FORMAT:
                raise BackupRefused(f"{path} is not a Cangku backup")
            if header.get("version") != VERSION:
                raise BackupRefused(f"{path} is a backup of format version {header.get('version')}, "
                                    f"this release reads version {VERSION}")
            for line in source:
                yield json.loads(line)
    except (OSError, EOFError, ValueError) as error:
        raise BackupRefused(f"{path} cannot be read as a backup: {error}") from None


def _event(line: dict) -> tuple[int, StoredEvent]:
    return line["n"], StoredEvent(UUID(line["id"]), line["v"], line["t"], base64.b64decode(line["s"]))


def check_backup(path, stop: Callable[[int, StoredEvent], bool] | None = None) -> dict:
    """Read the whole file and check that its events lead to the head in its trailer. Returns the trailer, with
    the last position before `stop` first says yes (`last`) and the chain's hash there (`last_head`)."""
    previous, count, last, last_head, stopped = GENESIS, 0, 0, GENESIS.hex(), False
    for line in _lines(path):
        if line.get("end"):
            if line["events"] != count or line["head"] != previous.hex():
                raise BackupRefused(f"{path} is damaged or was edited: its {count} events lead to {previous.hex()}, "
                                    f"its trailer says {line['events']} events and head {line['head']}")
            return dict(line, last=last, last_head=last_head)
        n, event = _event(line)
        previous = link(previous, n, event.originator_id, event.originator_version, event.topic, event.state)
        count += 1
        if not stopped and stop is not None and stop(n, event):
            stopped = True
        if not stopped:
            last, last_head = n, previous.hex()
    raise BackupRefused(f"{path} ends before its trailer: the backup was cut short")


def restore_events(database: Database, table: str, path, up_to: int,
                   progress: Callable[[int], None] | None = None) -> int:
    """Write the backup's events up to a notification id, with their ids, in one transaction. Returns how many."""
    def events() -> Iterator[tuple[int, StoredEvent]]:
        for line in _lines(path):
            if line.get("end"):
                return
            n, event = _event(line)
            if n > up_to:
                return
            yield n, event

    if database.kind == "sqlite":
        return _write_sqlite(database, table, events(), progress)
    return _write_postgres(database, table, events(), progress)


def _write_sqlite(database: Database, table: str, events, progress) -> int:
    conn = sqlite3.connect(database.sqlite_events, isolation_level=None)
    count = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        _refuse_unless_empty(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        batch = []
        for n, e in events:
            batch.append((n, e.originator_id.hex, e.originator_version, e.topic, e.state))
            if len(batch) == PAGE:
                count += _sqlite_batch(conn, table, batch, progress)
        count += _sqlite_batch(conn, table, batch, progress)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return count


def _sqlite_batch(conn, table: str, batch: list, progress) -> int:
    conn.executemany(f"INSERT INTO {table} (rowid, originator_id, originator_version, topic, state) "
                     "VALUES (?, ?, ?, ?, ?)", batch)
    if progress and batch:
        progress(len(batch))
    written = len(batch)
    batch.clear()
    return written


def _write_postgres(database: Database, table: str, events, progress) -> int:
    import psycopg

    name, count = _events_table(database, table), 0
    with psycopg.connect(_conninfo(database)) as conn, conn.transaction():
        conn.execute(f"LOCK TABLE {name} IN EXCLUSIVE MODE")
        _refuse_unless_empty(conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0])
        with conn.cursor() as cursor, cursor.copy(f"COPY {name} (notification_id, originator_id, originator_version, "
                                                  "topic, state) FROM STDIN") as copy:
            for n, e in events:
                copy.write_row((n, e.originator_id, e.originator_version, e.topic, e.state))
                count += 1
                if progress and count % PAGE == 0:
                    progress(PAGE)
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'notification_id'), "
                     f"GREATEST((SELECT MAX(notification_id) FROM {name}), 1))")
    if progress and count % PAGE:
        progress(count % PAGE)
    return count


def _refuse_unless_empty(events: int) -> None:
    if events:
        raise BackupRefused(f"a restore fills an empty store; this one already holds {events:,} events")
