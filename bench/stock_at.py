"""Stock of one SKU at an instant, its stream holding 100,000 movements: the inventory ledger's answer (figure and
the newest page of events behind it) beside the replay of the Stock stream (`Cangku.stock_at`), in the same run.

The stream is made by the Stock aggregate's own commands in memory (receive, put away, move, reserve, release,
pick, ship, count, scrap, return), mapped by the application's mapper and written with the recorder's
`insert_events` in batches; then the inventory view catches up and both answers are timed at random instants.

    python bench/stock_at.py                                         # SQLite in a temporary folder
    python bench/stock_at.py postgresql://postgres@127.0.0.1:5432/test --movements 100000
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cangku.bootstrap import build  # noqa: E402
from cangku.settings import Settings  # noqa: E402
from domain.errors import BinEmpty, NotReserved  # noqa: E402
from domain.ids import stock_id  # noqa: E402
from domain.stock import Stock  # noqa: E402
from projections.inventory import stock_at  # noqa: E402
from rebuild import scratch_database  # noqa: E402

GOAL_SECONDS = 0.020
SKU = "TEA-LJ-250"
STORAGE = [f"A-{n:02d}" for n in range(12)]
PICK_ORDER = {bin: n for n, bin in enumerate(STORAGE)}
WRITE_BATCH = 2_000  # PostgreSQL: one insert of more than a few MB never returns (FIELD-NOTES)


def make_stream(app, movements: int, rng: random.Random) -> None:
    """One SKU's Stock stream with the given number of movements, written in batches."""
    app.catalogue.register_sku(SKU, "龙井茶 250g", unit_cost=Decimal("35.50"))
    app.inventory.add_locations({1: ("WH1", "RCV-01", "R", "receiving", 0), 2: ("WH1", "PACK-01", "P", "packing", 0),
                       3: ("WH1", "RET-01", "R", "returns", 0),
                       **{n + 4: ("WH1", bin, "A", "storage", n) for n, bin in enumerate(STORAGE)}})
    stock, written = Stock("WH1", SKU), 0
    while stock.version < movements + 1:
        one_movement(stock, rng)
        if stock.version - written >= WRITE_BATCH:
            written += write(app, stock)
    write(app, stock)


def one_movement(stock: Stock, rng: random.Random) -> None:
    roll = rng.random()
    held = list(stock.reservations)[:20]
    if len(stock.reservations) > 20:  # orders do not pile up: the oldest are picked and shipped first
        roll = 0.6
    try:
        if roll < 0.12 or stock.total_on_hand() < 50:
            stock.receive("RCV-01", rng.randint(20, 80), "PO-1", "alice")
        elif roll < 0.24 and stock.free_in("RCV-01") > 0:
            stock.put_away("RCV-01", rng.choice(STORAGE), min(stock.free_in("RCV-01"), rng.randint(5, 40)), "bob")
        elif roll < 0.30:
            from_bin, to_bin = rng.sample(STORAGE, 2)
            stock.move(from_bin, to_bin, rng.randint(1, 5), "bob")
        elif roll < 0.50 and stock.available(PICK_ORDER) > 3:
            stock.reserve(uuid.uuid4(), rng.randint(1, 3), PICK_ORDER, "s1")
        elif roll < 0.55 and held:
            stock.release(uuid.UUID(rng.choice(held)), "cancelled", "cs")
        elif roll < 0.75 and held:
            order_id = uuid.UUID(held[0])
            allocation = {b: n for b, n in stock.reservations[held[0]].items() if b != "PACK-01"}
            if allocation:
                bin, quantity = next(iter(allocation.items()))
                stock.pick(order_id, bin, "PACK-01", quantity, "picker")
            else:
                stock.ship(order_id, "PACK-01", stock.reservations[held[0]]["PACK-01"], "dock")
        elif roll < 0.85:
            stock.return_(uuid.uuid4(), "RET-01", 1, "returns")
        elif roll < 0.90:
            bin = rng.choice(STORAGE)
            stock.count(bin, max(stock.on_hand.get(bin, 0) + rng.randint(-2, 2), 0), "cycle count", "eve")
        elif stock.free_in("RET-01") > 0:
            stock.scrap("RET-01", 1, "damaged", "eve")
    except (BinEmpty, NotReserved):
        pass


def write(app, stock: Stock) -> int:
    stored = [app.store.mapper.to_stored_event(e) for e in stock.collect_events()]
    if stored:
        app.store.recorder.insert_events(stored)
    return len(stored)


def timed(call, cases) -> list[float]:
    seconds = []
    for case in cases:
        started = time.perf_counter()
        call(*case)
        seconds.append(time.perf_counter() - started)
    return seconds


def summary(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)]
    return (f"  {label:<46} median {statistics.median(ordered) * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms   "
            f"({len(ordered)} instants)")


def run(url: str, folder: str, args) -> None:
    system = build(Settings.from_env({"CANGKU_DATABASE_URL": url, "CANGKU_DATA_DIR": folder}))
    app, rng = system.app, random.Random(11)
    started = time.perf_counter()
    make_stream(app, args.movements, rng)
    events = [e.timestamp for e in app.store.events.get(stock_id("WH1", SKU))]
    made = time.perf_counter() - started
    print(f"stream: {len(events):,} events of {SKU} written in {made:.1f} s; {system.settings.database.kind}")
    started = time.perf_counter()
    system.fresh("inventory")
    print(f"inventory view caught up in {time.perf_counter() - started:.1f} s")

    first, last = events[1], events[-1]
    instants = [(first + (last - first) * rng.random(),) for _ in range(args.instants)]
    replayed = instants[:args.replays]
    engine, page = system.engine, {"limit": args.limit}
    ledger = timed(lambda at: stock_at(engine, "WH1", SKU, at, **page), instants)
    ledger_bin = timed(lambda at, bin: stock_at(engine, "WH1", SKU, at, bin, **page),
                       [(at, rng.choice(STORAGE)) for (at,) in instants])
    deep = timed(lambda at: stock_at(engine, "WH1", SKU, at, offset=args.movements // 2, **page), [(last,)] * 20)
    replay = timed(lambda at: app.inventory.stock_at("WH1", SKU, at), replayed)
    for (at,) in replayed[:3]:
        ours, theirs = stock_at(engine, "WH1", SKU, at, limit=1), app.inventory.stock_at("WH1", SKU, at)
        assert (ours["on_hand"], ours["reserved"], ours["events_total"]) == (
            theirs["on_hand"], theirs["reserved"], len(theirs["events"])), (ours, theirs["on_hand"])
    print(f"stock of {SKU} at a random instant (ledger: figure and the newest {args.limit} events of the "
          f"events_total behind it):")
    print(summary("ledger, whole warehouse", ledger))
    print(summary("ledger, one bin", ledger_bin))
    print(summary(f"ledger, page at offset {args.movements // 2:,}", deep))
    print(summary("replay of the Stock stream (Cangku.stock_at)", replay))
    p95 = sorted(ledger + ledger_bin)[int(len(ledger + ledger_bin) * 0.95)]
    print(f"goal: ≤ {GOAL_SECONDS * 1000:.0f} ms — ledger p95 {p95 * 1000:.1f} ms "
          f"({'met' if p95 <= GOAL_SECONDS else 'NOT met'}); replay median "
          f"{statistics.median(replay) / statistics.median(ledger):,.0f}× slower")
    system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--movements", type=int, default=100_000)
    parser.add_argument("--instants", type=int, default=200, help="random instants timed on the ledger")
    parser.add_argument("--replays", type=int, default=10, help="of those, how many are also replayed")
    parser.add_argument("--limit", type=int, default=50, help="events per page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cangku-bench-") as folder, scratch_database(args.url, folder) as url:
        run(url, folder, args)


if __name__ == "__main__":
    main()
