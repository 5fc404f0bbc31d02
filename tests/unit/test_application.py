"""The application's behaviour on the in-memory store; the integration tier reruns this class on SQLite and PostgreSQL."""

import threading
from datetime import datetime, timezone

import pytest

from domain.errors import (
    AlreadyReserved,
    BarcodeTaken,
    BinEmpty,
    InsufficientStock,
    InvalidBarcode,
    InvalidOrderState,
    InvalidQuantity,
    RowsRejected,
    SkuAlreadyRegistered,
    UnknownBarcode,
    UnknownBin,
    UnknownSku,
    WrongItemScanned,
)
from domain.ids import stock_id
from projections.inventory import movement_ledger, stock_by_bin
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, warehouse_with_catalogue


def levels(system, sku):
    return {b: v["on_hand"] for b, v in system.app.inventory.stock_levels("WH1", sku).items()}


def view(system, sku=None):
    system.catch_up()
    return {(r["sku"], r["bin"]): (r["on_hand"], r["reserved"]) for r in stock_by_bin(system.engine, "WH1", sku)}


def event_count(system):
    return system.app.store.recorder.max_notification_id() or 0


class ApplicationBehaviour:
    """Run against each store by overriding `database_url`."""

    @pytest.fixture
    def database_url(self):
        return "memory:"

    @pytest.fixture
    def system(self, make_system, database_url):
        return make_system(database_url)

    @pytest.fixture
    def stocked(self, system):
        warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 4, (TEA, "A-01-02"): 6, (CUP, "A-01-02"): 10})
        return system

    def test_received_stock_is_put_away_and_shows_per_bin(self, system):
        warehouse_with_catalogue(system.app)

        system.app.inventory.receive("WH1", TEA, 12, "alice", reference="PO-7")
        system.app.inventory.put_away("WH1", TEA, "A-01-01", 8, "alice")

        assert view(system, TEA) == {(TEA, "RCV-01"): (4, 0), (TEA, "A-01-01"): (8, 0)}
        put_away = [m for m in movement_ledger(system.engine, TEA) if m["event"] == "PutAway"]
        assert [(m["bin"], m["on_hand_before"], m["on_hand_after"], m["by"]) for m in put_away] == [
            ("RCV-01", 12, 4, "alice"), ("A-01-01", 0, 8, "alice")]

    def test_an_order_reserves_in_pick_sequence_and_ships_out_of_the_warehouse(self, stocked):
        app = stocked.app
        [result] = app.orders.import_orders([order("T1", (TEA, 5))], warehouse="WH1")

        assert result["status"] == "reserved"
        assert view(stocked, TEA) == {(TEA, "A-01-01"): (4, 4), (TEA, "A-01-02"): (6, 1)}

        wave_id = app.fulfilment.create_wave("WH1", "W1", [result["order_id"]], "sup")
        for index, line in enumerate(app.fulfilment.wave(wave_id).lines):
            app.fulfilment.pick(wave_id, index, line["bin"], TEA_EAN, line["quantity"], "bob")
        for _ in range(5):
            app.fulfilment.verify_item(result["order_id"], TEA_EAN, "carl")
        app.fulfilment.close_package(result["order_id"], "carl")
        app.fulfilment.weigh(result["order_id"], 1350, "carl")
        app.fulfilment.assign_waybill(result["order_id"], "SF", "SF1400000000001", "755")
        app.fulfilment.hand_over(result["order_id"], "dock")

        assert app.orders.get_order(result["order_id"])["status"] == "shipped"
        assert view(stocked, TEA) == {(TEA, "A-01-02"): (5, 0)}

    def test_importing_the_same_order_twice_changes_nothing(self, stocked):
        stocked.app.orders.import_orders([order("T1", (TEA, 2))], warehouse="WH1")
        written = event_count(stocked)

        again = stocked.app.orders.import_orders([order("T1", (TEA, 2))], warehouse="WH1")

        assert again[0]["status"] == "duplicate"
        assert event_count(stocked) == written
        assert view(stocked, TEA)[(TEA, "A-01-01")] == (4, 2)

    def test_an_order_short_of_one_sku_reserves_nothing_at_all(self, stocked):
        [result] = stocked.app.orders.import_orders([order("T2", (CUP, 1), (TEA, 11))], warehouse="WH1")

        assert result["status"] == "awaiting_stock"
        assert all(reserved == 0 for _, reserved in view(stocked).values())
        with pytest.raises(InsufficientStock, match="TEA-LJ-250×1"):
            stocked.app.orders.reserve_order(result["order_id"], "WH1", "sup")

    def test_the_same_order_never_reserves_twice(self, stocked):
        [result] = stocked.app.orders.import_orders([order("T3", (CUP, 2))], warehouse="WH1")
        written = event_count(stocked)

        with pytest.raises(InvalidOrderState):
            stocked.app.orders.reserve_order(result["order_id"], "WH1", "sup")
        stock = stocked.app.store.repository.get(stock_id("WH1", CUP))
        with pytest.raises(AlreadyReserved):
            stock.reserve(result["order_id"], 1, {"A-01-02": 20}, "sup")
        assert event_count(stocked) == written

    def test_bad_input_is_refused_by_name_and_writes_nothing(self, stocked):
        app = stocked.app
        written = event_count(stocked)
        refusals = [
            (lambda: app.inventory.receive("WH1", "NOPE-1", 1, "a"), UnknownSku),
            (lambda: app.inventory.receive("WH1", TEA, 1, "a", bin="Z-99"), UnknownBin),
            (lambda: app.inventory.receive("WH1", TEA, 0, "a"), InvalidQuantity),
            (lambda: app.inventory.receive("WH1", TEA, -3, "a"), InvalidQuantity),
            (lambda: app.inventory.move("WH1", CUP, "A-01-01", "B-02-01", 1, "a"), BinEmpty),
            (lambda: app.catalogue.register_sku("X-1", "x", ["6901234567893"]), InvalidBarcode),
            (lambda: app.catalogue.register_sku("X-2", "x", [CUP_EAN]), BarcodeTaken),
            (lambda: app.catalogue.register_sku(TEA, "again", []), SkuAlreadyRegistered),
            (lambda: app.catalogue.sku_for_barcode("0000"), UnknownBarcode),
            (lambda: app.orders.import_orders([order("T9", (TEA, -1))], warehouse="WH1"), InvalidQuantity),
            (lambda: app.inventory.scrap("WH1", TEA, "A-01-01", 99, "broken", "a"), BinEmpty),
        ]
        for command, error in refusals:
            with pytest.raises(error):
                command()
        assert event_count(stocked) == written

    def test_a_wrong_item_in_the_package_is_refused(self, stocked):
        app = stocked.app
        [result] = app.orders.import_orders([order("T4", (TEA, 1))], warehouse="WH1")
        wave_id = app.fulfilment.create_wave("WH1", "W4", [result["order_id"]], "sup")
        app.fulfilment.pick(wave_id, 0, "A-01-01", TEA_EAN, 1, "bob")

        with pytest.raises(WrongItemScanned, match="expected TEA-LJ-250×1"):
            app.fulfilment.verify_item(result["order_id"], CUP_EAN, "carl")
        with pytest.raises(WrongItemScanned):
            app.fulfilment.pick(wave_id, 0, "A-01-01", CUP_EAN, 1, "bob")

    def test_a_refund_before_shipping_intercepts_the_order_and_frees_its_stock(self, stocked):
        app = stocked.app
        [result] = app.orders.import_orders([order("T5", (TEA, 3), (CUP, 2))], warehouse="WH1")

        app.orders.refund_order(result["order_id"], "cs", "buyer changed mind", line_nos=[2])
        assert view(stocked, CUP)[(CUP, "A-01-02")] == (10, 0)
        assert app.orders.get_order(result["order_id"])["status"] == "reserved"

        app.orders.refund_order(result["order_id"], "cs", "buyer changed mind")
        assert app.orders.get_order(result["order_id"])["status"] == "cancelled"
        assert all(reserved == 0 for _, reserved in view(stocked).values())

    def test_a_count_books_the_difference_with_its_reason(self, stocked):
        difference = stocked.app.inventory.count("WH1", TEA, "A-01-02", 5, "cycle count", "eve")

        assert difference == -1
        stocked.catch_up()
        [adjusted] = [m for m in movement_ledger(stocked.engine, TEA) if m["event"] == "Adjusted"]
        assert (adjusted["on_hand_before"], adjusted["on_hand_after"], adjusted["reason"]) == (6, 5, "cycle count")

    def test_stock_at_a_past_instant_comes_from_the_events(self, stocked):
        app = stocked.app
        before = datetime.now(timezone.utc)
        app.orders.import_orders([order("T6", (TEA, 5))], warehouse="WH1")
        app.inventory.scrap("WH1", TEA, "A-01-02", 2, "crushed", "eve")

        past = app.inventory.stock_at("WH1", TEA, before, bin="A-01-02")
        now = app.inventory.stock_at("WH1", TEA, datetime.now(timezone.utc), bin="A-01-02")

        assert (past["on_hand"], past["reserved"]) == (6, 0)
        assert (now["on_hand"], now["reserved"]) == (4, 1)
        assert [e["event"] for e in now["events"]] == ["Stock.Received", "Stock.Reserved", "Stock.Scrapped"]
        assert view(stocked, TEA)[(TEA, "A-01-02")] == (now["on_hand"], now["reserved"])

    def test_a_csv_style_batch_with_one_bad_row_imports_nothing(self, system):
        app = system.app
        rows = {2: {"code": "A-1", "name": "a", "barcodes": []},
                3: {"code": "B-1", "name": "b", "barcodes": ["6901234567891"]},
                4: {"code": "A-1", "name": "again", "barcodes": []}}

        with pytest.raises(RowsRejected) as refused:
            app.catalogue.register_skus(rows)

        assert set(refused.value.errors) == {3, 4}
        assert "check digit" in refused.value.errors[3]
        assert not app.catalogue.sku_exists("A-1")

    def test_concurrent_reservations_never_oversell(self, stocked):
        results = []

        def buy(n):
            results.append(stocked.app.orders.import_orders([order(f"R{n}", (CUP, 1))], warehouse="WH1")[0]["status"])

        threads = [threading.Thread(target=buy, args=(n,)) for n in range(14)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert sorted(results).count("reserved") == 10
        assert view(stocked, CUP)[(CUP, "A-01-02")] == (10, 10)


class TestApplicationInMemory(ApplicationBehaviour):
    pass
