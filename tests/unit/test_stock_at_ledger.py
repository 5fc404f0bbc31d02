"""Stock at an instant read from the inventory ledger equals the replay of the Stock stream, on SQLite; the
integration tier reruns this class on PostgreSQL."""

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from domain.errors import BinEmpty, InvalidInput, NotReserved, UnknownSku
from domain.ids import stock_id
from domain.stock import Stock
from projections.inventory import InventoryProjection, stock_at
from projections.tracking import topics_of
from tests.builders import CUP, TEA, warehouse_with_catalogue

STORAGE = ["A-01-01", "A-01-02", "B-02-01"]
SEED = 20261111


def random_history(system, rng: random.Random, steps: int) -> None:
    """Receive, put away, move, reserve, release, pick, ship, count, scrap and return, at random, for two SKUs;
    the inventory view catches up now and then so the ledger is built over many batches. Orders are made up
    (the Stock aggregate is driven directly), so only the inventory view follows this log."""
    app = system.app
    for step in range(steps):
        sku = rng.choice([TEA, TEA, CUP])
        stock = app.store.repository.get(stock_id("WH1", sku))
        action = rng.choice(["receive", "put_away", "move", "reserve", "reserve", "release", "pick", "ship",
                             "count", "scrap", "return"])
        try:
            if action == "receive":
                app.inventory.receive("WH1", sku, rng.randint(1, 20), "alice", reference=f"PO-{step}")
            elif action == "put_away":
                app.inventory.put_away("WH1", sku, rng.choice(STORAGE), rng.randint(1, 8), "bob")
            elif action == "move":
                from_bin, to_bin = rng.sample(STORAGE, 2)
                app.inventory.move("WH1", sku, from_bin, to_bin, rng.randint(1, 5), "bob")
            elif action == "count":
                bin = rng.choice(STORAGE)
                app.inventory.count("WH1", sku, bin, max(stock.on_hand.get(bin, 0) + rng.randint(-3, 2), 0), "cycle count",
                          "eve")
            elif action == "scrap":
                app.inventory.scrap("WH1", sku, rng.choice(STORAGE), rng.randint(1, 2), "crushed", "eve")
            else:
                order_aggregate_step(app, stock, action, rng)
        except (BinEmpty, NotReserved, InvalidInput):
            pass
        if rng.random() < 0.1:
            system.fresh("inventory")
    system.fresh("inventory")


def order_aggregate_step(app, stock: Stock, action: str, rng: random.Random) -> None:
    """The order-driven movements, made on the Stock aggregate as the order commands make them."""
    held = list(stock.reservations)
    if action == "reserve":
        free = stock.available({bin: n for n, bin in enumerate(STORAGE)})
        if free:
            stock.reserve(uuid.uuid4(), rng.randint(1, min(free, 6)), {bin: n for n, bin in enumerate(STORAGE)}, "s1")
    elif action == "release" and held:
        order_id = uuid.UUID(rng.choice(held))
        stock.release(order_id, "cancelled", "cs", quantity=rng.choice([None, 1]))
    elif action == "pick" and held:
        order_id = uuid.UUID(rng.choice(held))
        allocation = stock.reservations[str(order_id)]
        bin = rng.choice([b for b in allocation if b != "PACK-01"] or STORAGE)
        stock.pick(order_id, bin, "PACK-01", allocation.get(bin, 1), "picker")
    elif action == "ship":
        packed = [(order, n) for order, bins in stock.reservations.items() if (n := bins.get("PACK-01", 0))]
        if packed:
            order_id, n = rng.choice(packed)
            stock.ship(uuid.UUID(order_id), "PACK-01", n, "packer")
    elif action == "return":
        stock.return_(uuid.uuid4(), "RET-01", rng.randint(1, 3), "returns")
    app.store.save(stock)


def instants(app, sku: str, rng: random.Random, how_many: int) -> list[datetime]:
    """Each kind of instant that matters: before everything, exactly at an event, just before one, between two,
    and after everything."""
    stamps = [e.timestamp for e in app.store.events.get(stock_id("WH1", sku))]
    chosen = [stamps[0] - timedelta(days=1), stamps[-1] + timedelta(days=1)]
    for stamp in rng.sample(stamps, min(how_many, len(stamps))):
        chosen += [stamp, stamp - timedelta(microseconds=1), stamp + timedelta(microseconds=1)]
    return chosen


def every_page(engine, sku: str, at: datetime, bin: str | None, limit: int) -> tuple[dict, list[dict]]:
    """The figure, and the events behind it gathered page by page (pages run from the newest back)."""
    first = stock_at(engine, "WH1", sku, at, bin, limit=limit)
    pages, answer = [first["events"]], first
    while answer["next_offset"] is not None:
        answer = stock_at(engine, "WH1", sku, at, bin, limit=limit, offset=answer["next_offset"])
        pages.append(answer["events"])
    return first, [e for page in reversed(pages) for e in page]


def without_notification_id(events: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "notification_id"} for e in events]


class LedgerMatchesReplay:
    """Run against each store by overriding `database_url`."""

    @pytest.fixture
    def database_url(self, sqlite_url):
        return sqlite_url

    @pytest.fixture
    def system(self, make_system, database_url):
        system = make_system(database_url, projection_batch="17")
        warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10, (TEA, "A-01-02"): 6, (CUP, "B-02-01"): 8})
        random_history(system, random.Random(SEED), steps=300)
        return system

    def test_the_ledger_gives_the_replayed_figure_and_events_at_every_kind_of_instant(self, system):
        rng = random.Random(SEED + 1)

        for sku in (TEA, CUP):
            for at in instants(system.app, sku, rng, how_many=15):
                for bin in (None, *STORAGE, "PACK-01", "RET-01"):
                    replayed = system.app.inventory.stock_at("WH1", sku, at, bin)

                    ledger, events = every_page(system.engine, sku, at, bin, limit=rng.choice([1, 7, 50]))

                    assert (ledger["on_hand"], ledger["reserved"]) == (replayed["on_hand"], replayed["reserved"])
                    assert without_notification_id(events) == replayed["events"]
                    assert ledger["events_total"] == len(replayed["events"])

    def test_a_page_of_events_is_the_newest_at_or_before_the_instant_in_the_order_they_happened(self, system):
        at = datetime.now(timezone.utc)
        replayed = system.app.inventory.stock_at("WH1", TEA, at)

        first = stock_at(system.engine, "WH1", TEA, at, limit=5)
        second = stock_at(system.engine, "WH1", TEA, at, limit=5, offset=5)

        assert without_notification_id(first["events"]) == replayed["events"][-5:]
        assert without_notification_id(second["events"]) == replayed["events"][-10:-5]
        assert (first["next_offset"], second["next_offset"]) == (5, 10)
        assert [e["version"] for e in first["events"]] == list(range(len(replayed["events"]) - 4,
                                                                      len(replayed["events"]) + 1))

    def test_each_event_behind_the_figure_names_its_place_in_the_log(self, system):
        at = datetime.now(timezone.utc)

        answer = stock_at(system.engine, "WH1", CUP, at, limit=1000)

        stored = system.app.store.recorder.select_notifications(1, 100_000)
        where = {(n.originator_id, n.originator_version): n.id for n in stored}
        assert [e["notification_id"] for e in answer["events"]] == [
            where[(stock_id("WH1", CUP), e["version"])] for e in answer["events"]]


class TestLedgerMatchesReplayOnSqlite(LedgerMatchesReplay):
    pass


def test_the_inventory_view_reads_every_stock_event_so_versions_number_the_ledger():
    triggered = {cls for cls in vars(Stock).values() if isinstance(cls, type) and issubclass(cls, Stock.Event)}
    triggered -= {Stock.Event, Stock.Created}  # bases the library declares; Stock.Opened is the one created event

    assert set(topics_of(triggered)) <= set(InventoryProjection.topics)
    assert {cls.__name__ for cls in triggered} >= {"Opened", "Received", "Picked", "Returned", "Scrapped"}


def test_an_instant_without_a_time_zone_or_an_unknown_sku_is_refused(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 3})
    system.fresh("inventory")

    with pytest.raises(InvalidInput):
        stock_at(system.engine, "WH1", TEA, datetime(2026, 11, 11, 20, 0, 3))
    with pytest.raises(UnknownSku):
        stock_at(system.engine, "WH1", "NOPE-1", datetime.now(timezone.utc))


def test_before_its_first_event_a_sku_has_nothing_and_no_events(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 3})
    system.fresh("inventory")

    answer = stock_at(system.engine, "WH1", TEA, datetime(2000, 1, 1, tzinfo=timezone.utc), "A-01-01")

    assert (answer["on_hand"], answer["reserved"], answer["events"]) == (0, 0, [])
    assert (answer["events_total"], answer["next_offset"]) == (0, None)
