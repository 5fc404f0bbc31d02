"""The core's promises on real databases: no oversell under a race, exact resumption, history, privacy."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from domain.errors import InsufficientStock
from domain.ids import stock_id
from projections.inventory import stock_by_bin
from tests.builders import CUP, TEA, order, warehouse_with_catalogue

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cangku.sqlite'}"
    return request.getfixturevalue("postgres_url")


def cli(database_url, tmp_path, *args, batch="2000", **popen):
    env = dict(os.environ, CANGKU_DATABASE_URL=database_url, CANGKU_DATA_DIR=str(tmp_path),
               CANGKU_PROJECTION_BATCH=batch)
    return subprocess.Popen([sys.executable, "-m", "cangku", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def replayed_view(app, warehouse, skus):
    """Per-bin (on hand, reserved) folded straight from the stock streams."""
    figures = {}
    for sku in skus:
        for bin, v in app.inventory.stock_levels(warehouse, sku).items():
            if v["on_hand"] or v["reserved"]:
                figures[(sku, bin)] = (v["on_hand"], v["reserved"])
    return figures


def projected_view(system):
    system.runners["inventory"].catch_up()
    return {(r["sku"], r["bin"]): (r["on_hand"], r["reserved"]) for r in stock_by_bin(system.engine, "WH1")}


@pytest.mark.postgres
def test_twenty_threads_racing_for_the_last_ten_units_reserve_exactly_ten(make_system, postgres_url):
    system = make_system(postgres_url)
    warehouse_with_catalogue(system.app, {(CUP, "A-01-01"): 4, (CUP, "A-01-02"): 6})
    [system.app.orders.import_order(order(f"RACE-{n}", (CUP, 1)))[0] for n in range(20)]
    racers = [make_system(postgres_url) for _ in range(4)]
    outcomes, start = [], threading.Barrier(20)

    def reserve(n):
        app = racers[n % 4].app
        start.wait()
        try:
            app.orders.reserve_order(app.orders.find_order("taobao", "flagship", f"RACE-{n}").id, "WH1", f"picker-{n}")
            outcomes.append("reserved")
        except InsufficientStock:
            outcomes.append("refused")

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("reserved") == 10 and outcomes.count("refused") == 10
    replay = replayed_view(system.app, "WH1", [CUP])
    assert replay == {(CUP, "A-01-01"): (4, 4), (CUP, "A-01-02"): (6, 6)}
    assert projected_view(system) == replay


def test_a_projection_killed_mid_rebuild_resumes_to_the_same_view(make_system, database_url, tmp_path):
    system = make_system(database_url)
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 5000, (TEA, "A-01-01"): 5000})
    for page in range(12):
        system.app.orders.import_orders([order(f"K{page}-{n}", (CUP, 1), (TEA, 2)) for n in range(100)], warehouse="WH1")
    system.app.inventory.count("WH1", CUP, "A-01-02", 4000, "recount", "eve")
    clean = projected_view(system)
    runner = system.runners["inventory"]
    head = runner.status().head

    rebuild = cli(database_url, tmp_path, "projections", "rebuild", "inventory", batch="50",
                  start_new_session=True)
    deadline = time.time() + 60
    while not 500 <= runner.position() < head and time.time() < deadline and rebuild.poll() is None:
        time.sleep(0.01)
    os.killpg(rebuild.pid, signal.SIGKILL)
    rebuild.wait()
    killed_at = runner.position()
    resumed = cli(database_url, tmp_path, "projections", "catch-up", "inventory")
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()

    assert 500 <= killed_at < head
    assert projected_view(system) == clean
    with system.engine.connect() as conn:
        ledger = conn.execute(text("SELECT count(*), count(DISTINCT event_id || bin) FROM inventory_movement")).one()
    assert ledger[0] == ledger[1]


def test_stock_at_an_instant_from_the_cli_equals_a_replay_up_to_that_instant(make_system, database_url, tmp_path):
    system = make_system(database_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 4, (TEA, "A-01-02"): 6})
    system.app.orders.import_orders([order("H1", (TEA, 5))], warehouse="WH1")
    time.sleep(0.01)
    instant = datetime.now(timezone.utc)
    time.sleep(0.01)
    system.app.inventory.scrap("WH1", TEA, "A-01-02", 3, "crushed", "eve")
    system.app.inventory.receive("WH1", TEA, 7, "alice")

    shown = cli(database_url, tmp_path, "stock", "--sku", TEA, "--bin", "A-01-02", "--at", instant.isoformat())
    out, err = shown.communicate(timeout=60)

    assert shown.returncode == 0, err
    stream = [e for e in system.app.store.events.get(stock_id("WH1", TEA)) if e.timestamp <= instant]
    replay = None
    for e in stream:
        replay = e.mutate(replay)
    assert f"on hand {replay.on_hand['A-01-02']}, reserved {replay.reserved_in('A-01-02')}," in out
    assert "on hand 6, reserved 1," in out
    assert "Stock.Reserved" in out and "Stock.Scrapped" not in out


def test_buyer_details_are_sealed_at_rest_when_a_cipher_key_is_set(make_system, database_url):
    system = make_system(database_url, cipher_key="3q2+7w8QZxK0b5V9mC1cJ1l0xYv4hX2uQ0sN3rT6aE8=")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 1})

    order_id, _ = system.app.orders.import_order(order("P1", (TEA, 1)))

    stored = b"".join(n.state for n in system.app.store.recorder.select_notifications(1, 1000))
    assert "王小明".encode() not in stored and b"13812345678" not in stored
    assert "文三路".encode() not in stored and b"buyer_wang" not in stored
    assert system.app.orders.order(order_id).buyer.phone == "13812345678"


def test_the_cipher_key_in_the_environment_seals_buyer_fields_only(make_system, database_url, monkeypatch, tmp_path):
    from cangku.bootstrap import build
    from cangku.settings import Settings

    monkeypatch.setenv("CANGKU_CIPHER_KEY", "3q2+7w8QZxK0b5V9mC1cJ1l0xYv4hX2uQ0sN3rT6aE8=")
    monkeypatch.setenv("CANGKU_DATABASE_URL", database_url)
    monkeypatch.setenv("CANGKU_DATA_DIR", str(tmp_path))
    system = build(Settings.from_env())
    try:
        warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 1})
        system.app.orders.import_order(order("P3", (TEA, 1)))

        stored = b"".join(n.state for n in system.app.store.recorder.select_notifications(1, 1000))
    finally:
        system.close()
    assert TEA.encode() in stored and b"P3" in stored
    assert b"13812345678" not in stored and b'"sealed"' in stored


def test_without_a_cipher_key_buyer_details_are_readable_in_the_store(make_system, database_url):
    system = make_system(database_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 1})

    system.app.orders.import_order(order("P2", (TEA, 1)))

    stored = b"".join(n.state for n in system.app.store.recorder.select_notifications(1, 1000))
    assert b"13812345678" in stored


def test_long_stock_streams_load_from_a_snapshot(make_system, database_url):
    system = make_system(database_url)
    warehouse_with_catalogue(system.app)
    for n in range(120):
        system.app.inventory.receive("WH1", CUP, 1, "alice", reference=f"PO-{n}")

    snapshots = list(system.app.store.snapshots.get(stock_id("WH1", CUP)))
    fresh = make_system(database_url).app

    assert [s.originator_version for s in snapshots] == [50, 100]
    assert fresh.store.repository.get(stock_id("WH1", CUP)).on_hand == {"RCV-01": 120}
