"""The order desk's list over 100,000 orders: each page (filtered, searched, sorted, counted) beside the same-run
baseline of a plain indexed query (`SELECT … ORDER BY ordered_at DESC LIMIT 50 OFFSET n` on the same table).

The orders are made by the Order aggregate's own commands in memory (imported, some held, reserved, packed and
shipped with a tracking number) and folded by the order desk's projection itself, a batch at a time, into the
views database; no other view is built.

    python bench/order_list.py                                            # SQLite in a temporary folder
    python bench/order_list.py postgresql://postgres@127.0.0.1:5432/test --orders 100000
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cangku.bootstrap import build  # noqa: E402
from cangku.settings import Settings  # noqa: E402
from domain.order import Buyer, Order  # noqa: E402
from projections import order_desk  # noqa: E402
from projections.backoffice import BUSINESS_TIME  # noqa: E402
from rebuild import scratch_database  # noqa: E402

GOAL_SECONDS = 0.5
PAGE = 50
BATCH = 2_000
CHANNELS = {"taobao": ("flagship", "outlet"), "jd": ("jd-store",), "pinduoduo": ("pdd-1", "pdd-2"),
            "douyin": ("dy-live",), "kuaishou": ("ks-1",)}
SKUS = [f"SKU-{n:04d}" for n in range(400)]
COURIERS = ("SF", "ZTO", "YTO")
START = datetime(2026, 8, 1, tzinfo=BUSINESS_TIME)


def made_orders(count: int, rng: random.Random):
    """Orders with their events, in the order they happened; yields (order, number, phone, tracking number)."""
    for n in range(count):
        channel = rng.choice(list(CHANNELS))
        shop = rng.choice(CHANNELS[channel])
        lines = [{"line_no": i + 1, "platform_sku": f"p{i}", "sku": sku, "title": sku, "quantity": rng.randint(1, 3),
                  "unit_price": Decimal(rng.randint(500, 99_900)) / 100, "discount": Decimal("0")}
                 for i, sku in enumerate(rng.sample(SKUS, rng.randint(1, 3)))]
        paid = sum(line["unit_price"] * line["quantity"] for line in lines)
        phone = f"13{rng.randint(0, 999_999_999):09d}"
        held = ["buyer remark"] if rng.random() < 0.05 else []
        ordered_at = START + timedelta(seconds=n * 90 + rng.randint(0, 60))
        number = f"{n + 1:019d}"
        order = Order(channel, shop, number, lines, Buyer(f"buyer{n % 30_000}", "王小明", phone, "文三路 90 号"),
                      f"{n % 30_000:016x}", {"province": "浙江省", "city": "杭州市", "district": "西湖区"}, paid,
                      Decimal("0"), (paid * Decimal("0.05")).quantize(Decimal("0.01")), Decimal("8.00"), ordered_at,
                      "", held)
        tracking = ""
        if not held and rng.random() < 0.7:
            order._reserved("WH1", {}, "import")
            if rng.random() < 0.8:
                order._packed(uuid.uuid4(), "packer")
                tracking = f"{rng.choice(COURIERS)}{n:012d}"
                order._shipped(tracking[:2] if tracking.startswith("SF") else tracking[:3], tracking, "dock")
        yield order, number, phone, tracking


def fill(system, count: int, rng: random.Random) -> dict:
    """Fold the orders' events through the order desk's projection; returns a sample of what to search for."""
    runner = system.runners["order_desk"]
    runner.reset()
    projection, notification, batch, sample = runner.projection, 0, [], {"numbers": [], "phones": [], "tracking": []}
    started = time.perf_counter()

    def flush():
        with system.engine.begin() as conn:
            projection.apply(conn, batch)
        batch.clear()

    for order, number, phone, tracking in made_orders(count, rng):
        for event in order.collect_events():
            notification += 1
            batch.append((notification, event))
        if rng.random() < 0.001:
            sample["numbers"].append(number)
            sample["phones"].append(phone)
            if tracking:
                sample["tracking"].append(tracking)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    print(f"folded {count:,} orders ({notification:,} events) in {time.perf_counter() - started:.1f} s")
    return sample


def timed(call, repeat: int) -> tuple[float, float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return statistics.median(seconds), seconds[min(len(seconds) - 1, int(len(seconds) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("postgres_url", nargs="?", default="")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as folder:
        with scratch_database(args.postgres_url, folder) as url:
            system = build(Settings.from_env({"CANGKU_DATA_DIR": folder, "CANGKU_DATABASE_URL": url}))
            try:
                run(system, args, rng)
            finally:
                system.close()


def run(system, args, rng: random.Random) -> None:
    engine, keys = system.engine, system.runners["order_desk"].projection.keys
    sample = fill(system, args.orders, rng)
    if engine.dialect.name == "postgresql":  # as autovacuum leaves a table that has settled
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE desk_order")
            conn.exec_driver_sql("VACUUM ANALYZE desk_order_sku")
    deep = (args.orders // PAGE - 1) * PAGE
    baseline_sql = ("SELECT * FROM desk_order ORDER BY ordered_at DESC, order_id DESC "
                    f"LIMIT {PAGE} OFFSET %d")

    def baseline(offset: int):
        with engine.connect() as conn:
            return conn.exec_driver_sql(baseline_sql % offset).fetchall()

    def desk(offset: int = 0, sort: str | None = None, **given):
        return lambda: order_desk.order_list(engine, order_desk.OrderFilter(**given), keys, sort, PAGE, offset)

    last_week = (START + timedelta(seconds=args.orders * 90) - timedelta(days=7)).date().isoformat()
    cases = [
        ("first page, newest first, counted", desk(), lambda: baseline(0)),
        (f"page {deep // PAGE + 1} (offset {deep:,})", desk(deep), lambda: baseline(deep)),
        ("status shipped", desk(status="shipped"), lambda: baseline(0)),
        ("channel + shop", desk(channel="taobao", shop="outlet"), lambda: baseline(0)),
        ("last 7 business days", desk(since=last_week), lambda: baseline(0)),
        ("orders with a SKU", desk(sku="SKU-0042"), lambda: baseline(0)),
        ("courier + sorted by paid", desk(courier="SF", sort="-paid"), lambda: baseline(0)),
        ("search: tracking number", lambda: [desk(search=t)() for t in sample["tracking"][:5]], lambda: baseline(0)),
        ("search: phone (keyed hash)", lambda: [desk(search=p)() for p in sample["phones"][:5]], lambda: baseline(0)),
        ("search: order number", lambda: [desk(search=n)() for n in sample["numbers"][:5]], lambda: baseline(0)),
    ]
    print(f"{engine.dialect.name}, {args.orders:,} orders, {PAGE} a page, median / p95 of {args.repeat} runs "
          f"(searches: 5 look-ups a run)")
    print(f"{'page':42} {'desk ms':>16} {'baseline ms':>16}")
    worst = 0.0
    for label, call, base in cases:
        call()
        base()
        median, p95 = timed(call, args.repeat)
        base_median, base_p95 = timed(base, args.repeat)
        worst = max(worst, p95)
        print(f"{label:42} {median * 1000:7.1f} / {p95 * 1000:6.1f} {base_median * 1000:7.1f} / {base_p95 * 1000:6.1f}")
    print(f"slowest p95 {worst * 1000:.0f} ms; goal under {GOAL_SECONDS * 1000:.0f} ms: "
          f"{'met' if worst < GOAL_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
