"""`cangku audit verify` against an event log altered behind the application's back, on SQLite and PostgreSQL."""

import sqlite3
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from click.testing import CliRunner

from projections.audit import ChainBroken
from cangku.audit_cli import audit
from tests.unit.test_backoffice_finance import NUMBERS, busy_day

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def database_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


class EventStore:
    """Direct SQL on the stored events, as someone with database access (and no application) would do it."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = url.startswith("sqlite:///")

    def _run(self, sql_sqlite: str, sql_postgres: str, params: tuple) -> list:
        if self.sqlite:
            with sqlite3.connect(self.url[len("sqlite:///"):]) as conn:
                return conn.execute(sql_sqlite, params).fetchall()
        parts = urlsplit(self.url)
        schema = parse_qs(parts.query)["schema"][0]
        conninfo = f"host={parts.hostname} port={parts.port} dbname={parts.path.strip('/')} user={parts.username}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            cursor = conn.execute(sql_postgres.replace("SNAPSHOTS", f'"{schema}".cangku_snapshots')
                                  .replace("EVENTS", f'"{schema}".cangku_events'), params)
            return cursor.fetchall() if cursor.description else []

    def event(self, notification_id: int) -> tuple:
        [row] = self._run("SELECT originator_id, originator_version, topic, state FROM stored_events WHERE rowid=?",
                          "SELECT originator_id, originator_version, topic, state FROM EVENTS "
                          "WHERE notification_id=%s", (notification_id,))
        return row

    def overwrite_state(self, notification_id: int, state: bytes) -> None:
        self._run("UPDATE stored_events SET state=? WHERE rowid=?",
                  "UPDATE EVENTS SET state=%s WHERE notification_id=%s", (state, notification_id))

    def delete(self, notification_id: int) -> None:
        self._run("DELETE FROM stored_events WHERE rowid=?", "DELETE FROM EVENTS WHERE notification_id=%s",
                  (notification_id,))


def verify(database_url, tmp_path):
    env = {"CANGKU_DATABASE_URL": database_url, "CANGKU_DATA_DIR": str(tmp_path)}
    return CliRunner().invoke(audit, ["verify"], env=env, catch_exceptions=False)


@pytest.fixture
def chained(make_system, database_url):
    system = make_system(database_url)
    placed = busy_day(system)
    system.catch_up()
    return system, placed


def imported_event(system, order_id) -> int:
    """The notification id of an order's Order.Imported event."""
    for n in system.app.store.recorder.select_notifications(1, 10_000):
        if n.originator_id == order_id and n.originator_version == 1:
            return n.id
    raise LookupError(order_id)


def test_an_untouched_log_verifies_with_exit_status_zero(chained, database_url, tmp_path):
    result = verify(database_url, tmp_path)

    assert result.exit_code == 0, result.output
    assert "intact:" in result.output


def test_verify_names_the_event_whose_stored_bytes_were_altered(chained, database_url, tmp_path):
    system, placed = chained
    target = imported_event(system, placed["T100"])
    store = EventStore(database_url)
    originator, version, topic, state = store.event(target)
    forged = bytes(state).replace(b'"101.00"', b'"11.00"')
    assert forged != bytes(state)

    store.overwrite_state(target, forged)
    result = verify(database_url, tmp_path)

    assert result.exit_code == 1
    assert (f"altered event: notification {target}, originator {placed['T100']}, version 1, "
            "topic domain.order:Order.Imported") in result.output
    assert f"{target - 1} events matched the chain before it" in result.output


def test_verify_names_a_deleted_event(chained, database_url, tmp_path):
    system, placed = chained
    target = imported_event(system, placed["J200"])
    originator, version, topic, _ = EventStore(database_url).event(target)

    EventStore(database_url).delete(target)
    result = verify(database_url, tmp_path)

    assert result.exit_code == 1
    assert (f"missing event: notification {target}, originator {placed['J200']}, version {version}, "
            f"topic {topic}") in result.output


def test_the_chain_is_not_rebuilt_over_a_tampered_log(chained, database_url):
    system, placed = chained
    target = imported_event(system, placed["T102"])
    store = EventStore(database_url)
    store.overwrite_state(target, bytes(store.event(target)[3]).replace(NUMBERS["T102"].encode(),
                                                                         NUMBERS["T105"].encode()))

    with pytest.raises(ChainBroken, match=f"altered event: notification {target}"):
        system.runners["audit"].rebuild()

    assert verify(database_url, system.settings.data_dir).exit_code == 1


def audit_cli(database_url, tmp_path, *args):
    env = {"CANGKU_DATABASE_URL": database_url, "CANGKU_DATA_DIR": str(tmp_path)}
    return CliRunner().invoke(audit, list(args), env=env, catch_exceptions=False)


def test_a_log_rewritten_together_with_its_chain_fails_against_the_head_kept_outside(chained, database_url,
                                                                                    tmp_path):
    from sqlalchemy import text

    system, placed = chained
    kept = audit_cli(database_url, tmp_path, "head").output.split("--head ")[1].strip()
    assert audit_cli(database_url, tmp_path, "verify", "--head", kept).exit_code == 0
    target = imported_event(system, placed["T100"])
    store = EventStore(database_url)
    store.overwrite_state(target, bytes(store.event(target)[3]).replace(b'"101.00"', b'"11.00"'))
    with system.engine.begin() as conn:  # someone with database access chains the forged log anew
        conn.execute(text("DELETE FROM audit_chain"))
        conn.execute(text("UPDATE projection_tracking SET position = 0 WHERE name = 'audit'"))
    system.runners["audit"].catch_up()

    plain = audit_cli(database_url, tmp_path, "verify")
    pinned = audit_cli(database_url, tmp_path, "verify", "--head", kept)

    assert plain.exit_code == 0
    assert pinned.exit_code == 1
    assert f"TAMPERED: the head kept outside, notification {kept.split(':')[0]}" in pinned.output


def test_a_malformed_head_is_refused_by_name(chained, database_url, tmp_path):
    result = audit_cli(database_url, tmp_path, "verify", "--head", "12:not-a-hash")

    assert result.exit_code == 2
    assert "N:HASH" in result.output


def test_a_snapshot_altered_in_the_database_is_named_by_verify(make_system, database_url, tmp_path):
    from domain.ids import stock_id
    from tests.builders import CUP, warehouse_with_catalogue

    system = make_system(database_url)
    warehouse_with_catalogue(system.app)
    for n in range(60):
        system.app.inventory.receive("WH1", CUP, 1, "alice", reference=f"PO-{n}")
    system.catch_up()
    stream = stock_id("WH1", CUP)
    assert "1 snapshots match a replay" in audit_cli(database_url, tmp_path, "verify").output
    store = EventStore(database_url)
    [(state,)] = store._run("SELECT state FROM stored_snapshots WHERE originator_id=?",
                            'SELECT state FROM EVENTS WHERE originator_id=%s'.replace("EVENTS", "SNAPSHOTS"),
                            (stream.hex if store.sqlite else stream,))
    forged = bytes(state).replace(b'"RCV-01":49', b'"RCV-01":490')
    assert forged != bytes(state)
    store._run("UPDATE stored_snapshots SET state=? WHERE originator_id=?", "UPDATE SNAPSHOTS SET state=%s "
               "WHERE originator_id=%s", (forged, stream.hex if store.sqlite else stream))

    result = audit_cli(database_url, tmp_path, "verify")

    assert result.exit_code == 1
    assert f"TAMPERED: snapshot of {stream} at version 50 differs from a replay of its events" in result.output
