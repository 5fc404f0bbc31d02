"""Events per second rebuilding every projection from a log of a million events, beside the bare read-and-decode
rate of the same log, measured in the same run.

The log is written fast and real: orders go through the domain's own aggregates (import, reserve, wave, pick,
pack, weigh, waybill, label, hand-over; some refunded, some returned) in memory, their events are mapped by the
application's mapper and written with the recorder's `insert_events` in big batches — not a million commands.

    python bench/rebuild.py                                  # SQLite in a temporary folder
    python bench/rebuild.py postgresql://postgres@127.0.0.1:5432/test --events 1000000
"""

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cangku.bootstrap import build  # noqa: E402
from cangku.scratch import conninfo as _conninfo, drop_schema, fresh_schema, scratch_database  # noqa: E402,F401
from cangku.settings import Settings  # noqa: E402
from domain import ids  # noqa: E402
from domain.services import NewOrder  # noqa: E402
from domain.fulfilment import Package, Wave  # noqa: E402
from domain.order import Buyer, OrderLine  # noqa: E402
from projections.backoffice import BUSINESS_TIME  # noqa: E402
from projections.tracking import rebuild_together  # noqa: E402

GOAL = 0.75  # of the bare read-and-decode rate
WAVE = 20
WRITE_BATCH = 20_000
READ_PAGE = 10_000


class LogWriter:
    """Maps pending events of aggregates and writes them in big batches."""

    def __init__(self, app):
        self.app = app
        self.pending = []
        self.written = 0

    def add(self, *aggregates) -> None:
        for aggregate in aggregates:
            self.pending.extend(self.app.store.mapper.to_stored_event(e) for e in aggregate.collect_events())
        if len(self.pending) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.app.store.recorder.insert_events(self.pending)
            self.written += len(self.pending)
            self.pending = []


def make_log(system, events: int, skus: int, rng: random.Random) -> int:
    """Write at least `events` events of realistic order traffic; returns the size of the log."""
    app = system.app
    codes = [f"SKU-{n:04d}" for n in range(skus)]
    app.catalogue.register_skus({n: {"code": code, "name": f"商品 {code}", "unit_cost": Decimal(rng.randint(300, 9000)) / 100,
                           "safety_stock": rng.randint(0, 50)} for n, code in enumerate(codes)})
    app.inventory.add_locations({1: ("WH1", "RCV-01", "R", "receiving", 0), 2: ("WH1", "PACK-01", "P", "packing", 0),
                       3: ("WH1", "RET-01", "R", "returns", 0),
                       **{n + 4: ("WH1", f"A-{n:03d}", "A", "storage", n) for n in range(60)}})
    app.inventory.load_opening_stock({n: ("WH1", code, f"A-{n % 60:03d}", 10_000_000) for n, code in enumerate(codes)}, "bench")
    site = app.inventory.warehouse("WH1")
    storage, packing, returns = site.pick_order("storage"), site.first_bin_in("packing"), site.first_bin_in("returns")
    stocks = {code: app.store.repository.get(ids.stock_id("WH1", code)) for code in codes}
    writer = LogWriter(app)
    start = datetime(2026, 10, 1, 9, tzinfo=BUSINESS_TIME)
    number, already = 0, app.store.recorder.max_notification_id() or 0
    while already + writer.written + len(writer.pending) < events:
        orders, wave_lines = [], []
        for _ in range(WAVE):
            number += 1
            lines = [OrderLine(i + 1, f"p-{code}", code, code, rng.randint(1, 2), Decimal(rng.randint(990, 29900)) / 100)
                     for i, code in enumerate(rng.sample(codes, rng.randint(1, 3)))]
            new = NewOrder(rng.choice(("taobao", "jd", "pinduoduo")), f"shop-{number % 4}", f"{900000000 + number}",
                           lines, Buyer(f"buyer{rng.randint(1, 20000)}", "王小明", "13812345678", "文三路 90 号"),
                           {"province": "浙江省", "city": "杭州市", "district": "西湖区"},
                           sum((line.unit_price * line.quantity for line in lines), Decimal("0")),
                           platform_fee=Decimal("1.20"), postage=Decimal("0"),
                           ordered_at=start + timedelta(minutes=number * 2))
            order = app.orders._new_order(new, {})  # no platform SKU is mapped: lines name SKU codes
            allocations = {sku: stocks[sku].reserve(order.id, qty, storage, "bench")
                           for sku, qty in order.quantities().items()}
            order.mark_reserved("WH1", allocations, "bench")
            orders.append(order)
            for sku, allocation in allocations.items():
                for bin, qty in allocation.items():
                    wave_lines.append({"sequence": storage[bin], "bin": bin, "sku": sku, "quantity": qty,
                                       "order_id": order.id})
        wave = Wave("WH1", f"B{number}", [o.id for o in orders], sorted(wave_lines, key=lambda l: l["sequence"]),
                    "bench")
        by_id = {o.id: o for o in orders}
        for index, line in enumerate(wave.lines):
            order = by_id[line["order_id"]]
            if order.status == "reserved":
                order.add_to_wave(wave.id)
            stocks[line["sku"]].pick(order.id, line["bin"], packing, line["quantity"], "picker")
            wave.record_pick(index, line["bin"], line["quantity"], "picker")
            order.record_pick(line["sku"], line["quantity"], "picker")
        for n, order in enumerate(orders):
            if (number + n) % 23 == 0:  # refunded before shipping: intercepted on the packing bench
                order.refund(None, "buyer changed mind", "cs")
                for sku in list(stocks):
                    if stocks[sku].reserved_for(order.id):
                        stocks[sku].release(order.id, "refunded", "cs")
                writer.add(order)
                continue
            package = Package(order.id, order.quantities(), "packer")
            for sku, qty in order.quantities().items():
                for _ in range(qty):
                    package.verify(sku, sku, "packer")
            package.close("packer")
            order.mark_packed(package.id, "packer")
            package.weigh(rng.randint(200, 3000), "packer")
            package.assign_waybill("SF", f"SF{number:08d}{n:02d}", "755")
            package.record_label_printed("packing", f"job-{order.id}", "printer")
            package.hand_over("dock")
            for sku in order.quantities():
                for bin, qty in stocks[sku].reserved_for(order.id).items():
                    stocks[sku].ship(order.id, bin, qty, "dock")
            order.mark_shipped("SF", package.tracking_no, "dock")
            if (number + n) % 29 == 0:  # returned and refunded after shipping
                sku, line_no = next((l["sku"], no) for no, l in order.lines.items())
                stocks[sku].return_(order.id, returns, 1, "returns")
                order.refund([line_no], "returned", "cs")
            writer.add(order, package)
        writer.add(wave, *stocks.values())
    writer.flush()
    return app.store.recorder.max_notification_id()


def read_and_decode(app) -> tuple[int, float]:
    """The bare rate: every stored event read page by page and decoded, nothing written."""
    started, count, start = time.perf_counter(), 0, 1
    while True:
        page = app.store.recorder.select_notifications(start, READ_PAGE)
        if not page:
            break
        for n in page:
            app.store.mapper.to_domain_event(n)
        count += len(page)
        start = page[-1].id + 1
    return count, time.perf_counter() - started


class StatementClock:
    """Seconds spent executing SQL statements, by the projection whose `apply` was running (reading result rows
    after a SELECT returns is counted as folding)."""

    def __init__(self, engine, projections):
        self.engine = engine
        self.current = ""
        self.spent: dict[str, float] = {}
        self.rows: dict[str, int] = {}
        self.started = 0.0
        self.wrapped = projections
        for projection in projections:
            projection.apply = self._watching(projection.name, projection.apply)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _watching(self, name: str, apply):
        def watched(conn, events):
            self.current = name
            try:
                apply(conn, events)
            finally:
                self.current = ""
        return watched

    def _before(self, *_) -> None:
        self.started = time.perf_counter()

    def _after(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:
        name = self.current or "positions"
        self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - self.started
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE"):
            self.rows[name] = self.rows.get(name, 0) + (len(parameters) if executemany else 1)

    def stop(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
        for projection in self.wrapped:
            del projection.apply


def print_breakdown(timings: dict[str, float], clock: StatementClock, seconds: float) -> None:
    """Where the one-pass rebuild's time went: the log, each projection (its statements and the rest), commits."""
    print("  where its time goes:")
    for name in ("read", "decode"):
        label = {"read": "read the log (pages of stored events)", "decode": "decode events (once each)"}[name]
        print(f"    {label:<44}{timings[name]:7.2f} s {timings[name] / seconds:5.0%}")
    projections = sorted((n for n in timings if n not in ("read", "decode", "commit")), key=lambda n: -timings[n])
    for name in projections:
        statements = clock.spent.get(name, 0.0)
        print(f"    {'projection ' + name:<44}{timings[name]:7.2f} s {timings[name] / seconds:5.0%}   "
              f"statements {statements:5.2f} s, folding and the rest {timings[name] - statements:5.2f} s")
    print(f"    {'commit':<44}{timings['commit']:7.2f} s {timings['commit'] / seconds:5.0%}")


def print_floor(timings: dict[str, float], clock: StatementClock, seconds: float, total: int, bare: float,
                bare_rate: float) -> None:
    """What the rebuild would cost if folding events into rows took no time at all: reading and decoding, and the
    database's own work of storing the rows (their statements and the commits)."""
    statements = sum(clock.spent.values())
    rows = sum(clock.rows.values())
    floor = timings["read"] + timings["decode"] + statements + timings["commit"]
    folding = seconds - floor
    print("  why the goal is out of reach:")
    print(f"    the views store {rows:,} rows for {total:,} events ({rows / total:.1f} per event, with their indexes); "
          f"the database takes {statements:.2f} s to run those statements and {timings['commit']:.2f} s to "
          f"commit them")
    print(f"    reading and decoding inside the rebuild takes {timings['read'] + timings['decode']:.2f} s "
          f"(bare: {bare:.2f} s)")
    print(f"    so with no folding at all the rebuild would run at {total / floor:,.0f} events/s, "
          f"{(total / floor) / bare_rate:.0%} of the bare rate; folding events into rows (Python) adds "
          f"{folding:.2f} s ({folding / seconds:.0%})")
    print(f"    at least {GOAL:.0%} would need the views to store their rows in under "
          f"{max(total / (GOAL * bare_rate) - timings['read'] - timings['decode'], 0):.2f} s, folding included")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=500)
    parser.add_argument("--batch", type=int, default=10_000, help="notifications per projection transaction")
    parser.add_argument("--projections", default="", help="comma-separated names (default: every registered one)")
    parser.add_argument("--each", action="store_true", help="also rebuild each projection on its own, one by one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cangku-bench-") as folder, scratch_database(args.url, folder) as url:
        run(url, folder, args)


def run(url: str, folder: str, args) -> None:
    settings = Settings.from_env({"CANGKU_DATABASE_URL": url, "CANGKU_DATA_DIR": folder,
                                  "CANGKU_PROJECTION_BATCH": str(args.batch)})
    system = build(settings)
    runners = {name: runner for name, runner in system.runners.items()
               if not args.projections or name in args.projections.split(",")}
    started = time.perf_counter()
    total = make_log(system, args.events, args.skus, random.Random(7))
    made = time.perf_counter() - started
    print(f"log: {total:,} events written in {made:.1f} s ({total / made:,.0f} events/s); {settings.database.kind}, "
          f"{args.batch} notifications per projection transaction")

    count, bare = read_and_decode(system.app)
    print(f"{'bare read and decode of the whole log':<48}{count / bare:>10,.0f} events/s {bare:7.1f} s")
    clock = StatementClock(system.engine, [runner.projection for runner in runners.values()])
    timings: dict[str, float] = {}
    started = time.perf_counter()
    rebuild_together(list(runners.values()), page_size=args.batch, timings=timings)
    seconds = time.perf_counter() - started
    clock.stop()
    print(f"{'rebuild of all of them in one pass':<48}{total / seconds:>10,.0f} events/s {seconds:7.1f} s")
    print(f"{'  … its share of the bare rate':<48}{(total / seconds) / (count / bare):>10.0%}"
          f"  (goal: at least {GOAL:.0%})")
    print_breakdown(timings, clock, seconds)
    if (total / seconds) / (count / bare) < GOAL:
        print_floor(timings, clock, seconds, total, bare, count / bare)
    if args.each:
        spent = 0.0
        for name, runner in runners.items():
            started = time.perf_counter()
            runner.rebuild()
            seconds = time.perf_counter() - started
            spent += seconds
            print(f"{'rebuild ' + name + ' on its own':<48}{total / seconds:>10,.0f} events/s {seconds:7.1f} s")
        print(f"{'rebuild of each on its own, one after another':<48}{total / spent:>10,.0f} events/s "
              f"{spent:7.1f} s")
    system.close()


if __name__ == "__main__":
    main()
