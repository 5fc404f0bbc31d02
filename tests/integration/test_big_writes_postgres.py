"""Large writes on PostgreSQL: a whole catalogue or opening stock in one import, and no client can jam the log."""

import csv
import os
import threading
import time
import uuid

import psycopg
import pytest
from sqlalchemy import text

from adapters.imports import import_skus, import_stock
from domain.errors import RowsRejected
from eventsourcing.persistence import IntegrityError, PersistenceError, StoredEvent
from tests.unit.test_sku_files import Bar

pytestmark = pytest.mark.postgres

SKUS = 50_000
STOCK_ROWS = 100_000
BINS = 499


def check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return str((10 - total % 10) % 10)


def write_skus(path, count, bad_line_at=None):
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["code", "name", "barcodes", "unit_weight_g", "unit_cost", "safety_stock"])
        for i in range(count):
            body = f"69{i:010d}"
            weight = "heavy" if i == bad_line_at else "250"
            out.writerow([f"AP-{i:06d}", f"连衣裙 款{i // 60} 色{i % 12} 码{i % 5} 纯棉", body + check_digit(body),
                          weight, "39.90", "5"])


def events_recorded(system) -> int:
    return system.app.store.recorder.max_notification_id() or 0


@pytest.fixture
def catalogue(make_system, postgres_url, tmp_path):
    system = make_system(postgres_url)
    system.app.inventory.add_locations({n + 2: ("WH1", f"A-{n:04d}", "A", "storage", n) for n in range(BINS)})
    path = tmp_path / "skus.csv"
    write_skus(path, SKUS)
    return system, path


def test_fifty_thousand_skus_import_in_one_go_with_progress(catalogue):
    system, path = catalogue
    bar = Bar()

    imported = import_skus(system.app, path, bar)

    assert imported == {"registered": SKUS, "updated": 0, "unchanged": 0}
    assert bar.phases == [("read", SKUS)]
    assert (bar.total, bar.n) == (SKUS, SKUS)
    assert system.app.catalogue.get_sku("AP-049999")["name"].startswith("连衣裙")
    assert system.app.catalogue.sku_for_barcode("690000049999" + check_digit("690000049999")) == "AP-049999"


def test_hundred_thousand_opening_stock_rows_land_together(catalogue, tmp_path):
    system, skus = catalogue
    import_skus(system.app, skus)
    stock = tmp_path / "stock.csv"
    with open(stock, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["warehouse", "sku", "bin", "quantity"])
        for i in range(STOCK_ROWS):
            out.writerow(["WH1", f"AP-{i % SKUS:06d}", f"A-{i % BINS:04d}", 3])
    bar = Bar()

    received = import_stock(system.app, stock, "opening-stock", bar)

    assert received == STOCK_ROWS and bar.n == STOCK_ROWS
    assert system.app.inventory.stock_levels("WH1", "AP-000007") == {
        "A-0007": {"on_hand": 3, "reserved": 0}, f"A-{(7 + SKUS) % BINS:04d}": {"on_hand": 3, "reserved": 0}}
    with system.fresh("inventory").connect() as conn:
        units = conn.execute(text("SELECT SUM(on_hand) FROM inventory_bin")).scalar()
    assert units == 3 * STOCK_ROWS


def test_one_bad_row_among_fifty_thousand_writes_nothing(make_system, postgres_url, tmp_path):
    system = make_system(postgres_url)
    path = tmp_path / "skus.csv"
    write_skus(path, SKUS, bad_line_at=41_234)
    before = events_recorded(system)

    with pytest.raises(RowsRejected) as refused:
        import_skus(system.app, path)

    assert refused.value.errors == {41_236: "unit_weight_g must be a whole number, got 'heavy'"}
    assert events_recorded(system) == before
    assert not system.app.catalogue.sku_exists("AP-000001")


def test_a_file_updates_the_sku_it_shares_with_the_catalogue_at_its_last_row(make_system, postgres_url, tmp_path):
    system = make_system(postgres_url)
    system.app.catalogue.register_sku("AP-049999", "已有商品", unit_cost="12.00")
    path = tmp_path / "skus.csv"
    write_skus(path, SKUS)

    counts = import_skus(system.app, path)

    assert counts == {"registered": SKUS - 1, "updated": 1, "unchanged": 0}
    updated = system.app.catalogue.get_sku("AP-049999")
    assert (updated["name"][:3], str(updated["unit_cost"]), len(updated["barcodes"])) == ("连衣裙", "39.90", 1)


def test_a_file_with_a_bad_last_row_that_would_update_the_catalogue_writes_nothing(make_system, postgres_url,
                                                                                    tmp_path):
    system = make_system(postgres_url)
    system.app.catalogue.register_sku("AP-049999", "已有商品", unit_cost="12.00")
    path = tmp_path / "skus.csv"
    write_skus(path, SKUS, bad_line_at=SKUS - 1)
    before = events_recorded(system)

    with pytest.raises(RowsRejected) as refused:
        import_skus(system.app, path)

    assert list(refused.value.errors) == [SKUS + 1]
    assert events_recorded(system) == before
    assert system.app.catalogue.get_sku("AP-049999")["unit_cost"] == 12


def big_events(count: int, size: int, version: int = 1) -> list[StoredEvent]:
    return [StoredEvent(uuid.uuid4(), version, "tests:Big", os.urandom(size)) for _ in range(count)]


def test_ten_megabytes_in_one_batch_commit_instead_of_hanging(make_system, postgres_url):
    system = make_system(postgres_url)
    recorder = system.app.store.recorder
    batch = big_events(5_000, 2_000)
    finished = []

    writer = threading.Thread(target=lambda: finished.append(recorder.insert_events(batch)), daemon=True)
    writer.start()
    writer.join(60)

    assert finished, "a 10 MB batch did not commit within a minute"
    ids = finished[0]
    assert len(ids) == 5_000 and ids == sorted(ids)
    assert recorder.select_events(batch[-1].originator_id)[0].state == batch[-1].state


def test_a_big_batch_with_one_clash_at_its_end_writes_nothing(make_system, postgres_url):
    system = make_system(postgres_url)
    recorder = system.app.store.recorder
    first = big_events(1, 100)
    recorder.insert_events(first)
    before = events_recorded(system)
    batch = big_events(4_000, 1_000) + first

    with pytest.raises(IntegrityError):
        recorder.insert_events(batch)

    assert events_recorded(system) == before
    assert recorder.select_events(batch[0].originator_id) == []


def test_a_client_stuck_inside_a_transaction_is_ended_and_writers_go_on(make_system, postgres_url):
    system = make_system(postgres_url, idle_in_transaction_timeout="1")
    locked, outcome = threading.Event(), []

    def stuck_client():
        with system.app.store.recorder.datastore.get_connection() as conn:
            conn.execute("BEGIN")
            conn.execute(f'LOCK TABLE "{system.settings.database.schema}".cangku_events IN EXCLUSIVE MODE')
            locked.set()
            time.sleep(10)
            try:
                conn.execute("SELECT 1")
                outcome.append("still open")
            except psycopg.errors.IdleInTransactionSessionTimeout as error:
                outcome.append(str(error))

    def run_stuck_client():
        try:
            stuck_client()
        except PersistenceError:
            pass  # the pool reports the connection the server ended

    client = threading.Thread(target=run_stuck_client, daemon=True)
    client.start()
    locked.wait(5)
    started = time.monotonic()

    system.app.catalogue.register_sku("TEA-1", "龙井 250g")

    assert time.monotonic() - started < 8  # the stuck client holds the lock for 10 s; the server ends it at 1 s
    assert system.app.catalogue.sku_exists("TEA-1")
    client.join(15)
    assert outcome == ["terminating connection due to idle-in-transaction timeout"]


def test_view_connections_are_ended_when_idle_inside_a_transaction(make_system, postgres_url):
    system = make_system(postgres_url, idle_in_transaction_timeout="7")

    with system.engine.connect() as conn:
        assert conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar() == "7s"
