"""What-if replay over a month-sized log: 50,000 orders on three channels whose listings are pushed as stock moves,
some of them short of stock, a share of them shipped through the courier policy. Printed beside, in the same run and
on the same log: reading and decoding the same events alone (the floor under any replay), and the live figures.

    python bench/whatif.py [DATABASE_URL] [--orders 50000] [--shipped 1000]

Without a URL the log is a SQLite file in a temporary folder; with a PostgreSQL URL, a fresh schema (dropped after).
"""

import argparse
from dataclasses import replace
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.utils import get_topic  # noqa: E402

from cangku.bootstrap import build  # noqa: E402
from cangku.scratch import scratch_database  # noqa: E402
from cangku.settings import Settings  # noqa: E402
from domain.courier_choice import PackageFacts, choose, standard_rules  # noqa: E402
from domain.order import Buyer, OrderLine  # noqa: E402
from domain.services import NewOrder  # noqa: E402
from domain.warehouse import Warehouse  # noqa: E402
from projections.invariants import STOCK_TOPICS, log_pages, order_topics  # noqa: E402
from projections.whatif import COST_TOPICS, LISTING_TOPICS, PARCEL_TOPICS, Rule, live_figures, replay  # noqa: E402
from projections.whatif_review import review_what_if  # noqa: E402
from domain.review import RuleBook, book_as_data, book_from_data  # noqa: E402

PAGE = 100
CHANNELS = (("taobao", "flagship"), ("jd", "jd-store"), ("pinduoduo", "pdd-store"))
PLACES = (("浙江省", "杭州市"), ("上海市", "上海市"), ("广东省", "深圳市"), ("北京市", "北京市"), ("四川省", "成都市"),
          ("新疆维吾尔自治区", "乌鲁木齐市"), ("黑龙江省", "哈尔滨市"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="")
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--shipped", type=int, default=1_000)
    parser.add_argument("--skus", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cangku-bench-") as folder, scratch_database(args.url, folder) as url:
        system = build(Settings.from_env({"CANGKU_DATABASE_URL": url, "CANGKU_DATA_DIR": folder}))
        try:
            run(system, args)
        finally:
            system.close()


def grow(app, args) -> None:
    rng = random.Random(7)
    skus = [f"SKU-{n:04d}" for n in range(args.skus)]
    app.catalogue.register_skus({n: {"code": code, "name": code, "unit_cost": Decimal(rng.randint(5, 60))}
                                 for n, code in enumerate(skus)})
    app.inventory.add_locations({1: ("WH1", "RCV-01", "R", "receiving", 0), 2: ("WH1", "PACK-01", "P", "packing", 0),
                                 **{n + 3: ("WH1", f"A-{n:03d}", "A", "storage", n) for n in range(60)}})
    # about a month's demand for most SKUs, too little for a few, so some orders wait and some listings oversell
    app.inventory.load_opening_stock({n: ("WH1", code, f"A-{n % 60:03d}", rng.choice((60, 300, 400, 500)))
                                      for n, code in enumerate(skus)}, "bench")
    for channel, shop in CHANNELS:
        for sku in skus:
            app.channels.map_listing(channel, shop, f"p-{sku}", {sku: 1})
    started, shipping = time.perf_counter(), []
    for page in range(args.orders // PAGE):
        orders = []
        for n in range(PAGE):
            channel, shop = CHANNELS[rng.randrange(3)]
            province, city = rng.choice(PLACES)
            lines = [OrderLine(i + 1, f"p-{sku}", sku, sku, rng.randint(1, 2), Decimal(rng.randint(20, 120)))
                     for i, sku in enumerate(rng.sample(skus, rng.randint(1, 3)))]
            orders.append(NewOrder(channel, shop, f"M{page:05d}{n:02d}", lines,
                                   Buyer(f"buyer{n}", "王小明", "13812345678", "文三路 90 号"),
                                   {"province": province, "city": city, "district": ""},
                                   sum(line.unit_price * line.quantity for line in lines)))
        results = app.orders.import_orders(orders, warehouse="WH1")
        shipping += [r["order_id"] for r in results if r["status"] == "reserved"][:max(args.shipped * PAGE //
                                                                                        args.orders, 1)]
        if page % 25 == 0:  # the channel-stock job pushing every listing's figure now and then
            for channel, shop in CHANNELS:
                for sku in skus[:60]:
                    app.channels.record_published(channel, shop, f"p-{sku}", rng.randint(0, 200), f"push-{page}")
        if page % 50 == 0:
            print(f"  {(page + 1) * PAGE:,} orders imported, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    ship(app, shipping[:args.shipped], rng)


def ship(app, order_ids, rng) -> None:
    policy = standard_rules()
    for start in range(0, len(order_ids), 20):
        chunk = order_ids[start:start + 20]
        wave = app.fulfilment.create_wave("WH1", f"W{start:06d}", chunk, "S1")
        for index, line in enumerate(app.fulfilment.wave(wave).lines):
            app.fulfilment.pick(wave, index, line["bin"], line["sku"], line["quantity"], "P1")
        for order_id in chunk:
            order = app.orders.order(order_id)
            for sku, units in order.quantities().items():
                for _ in range(units):
                    app.fulfilment.verify_item(order_id, sku, "K1")
            app.fulfilment.close_package(order_id, "K1")
            grams = rng.randint(200, 6000)
            app.fulfilment.weigh(order_id, grams, "K1")
            decision = choose(PackageFacts(order.region["province"], order.region["city"], grams), policy)
            app.fulfilment.assign_waybill(order_id, decision.courier, f"{decision.courier}{order.platform_order_no}",
                                          "HZ", decision.as_record())
            app.fulfilment.hand_over(order_id, "K1")


def run(system, args) -> None:
    app = system.app
    started = time.perf_counter()
    grow(app, args)
    store = app.store
    events = store.recorder.max_notification_id() or 0
    print(f"log: {events:,} events, {args.orders:,} orders ({args.shipped:,} shipped) written in "
          f"{time.perf_counter() - started:.0f} s")

    warehouse = tuple(get_topic(k) for k in (Warehouse.Opened, Warehouse.LocationAdded))
    topics = STOCK_TOPICS + order_topics() + LISTING_TOPICS + warehouse + PARCEL_TOPICS + COST_TOPICS
    started, read = time.perf_counter(), 0
    for page in log_pages(store, topics, events):
        for n in page:
            store.mapper.to_domain_event(n)
        read += len(page)
    bare_s = time.perf_counter() - started

    started = time.perf_counter()
    live = live_figures(store)
    live_s = time.perf_counter() - started
    started = time.perf_counter()
    same = replay(store, couriers=standard_rules())
    same_s = time.perf_counter() - started
    yto_first = replace(standard_rules(), fallback=("YTO", "ZTO", "SF"))
    started = time.perf_counter()
    other = replay(store, rules={"jd": Rule(Decimal("0.5"), 2)}, couriers=yto_first)
    other_s = time.perf_counter() - started
    started = time.perf_counter()
    reviewed = review_what_if(store, app.review.book())
    review_same_s = time.perf_counter() - started
    assert reviewed.again == reviewed.live, "the review replay under the live rules must equal the live decisions"
    rules = book_as_data(app.review.book())
    for rule in rules["rules"]:
        if rule["kind"] == "amount":
            rule["params"]["above"] = "150"
    rules["rules"].append({"id": "R90", "kind": "merge", "params": {}, "enabled": True})
    rules["rules"].append({"id": "R91", "kind": "gift", "params": {"sku": "SKU-0001", "units": 1, "min_amount": "200"},
                           "enabled": True})
    other_book: RuleBook = book_from_data(rules)
    started = time.perf_counter()
    reviewed_other = review_what_if(store, other_book)
    review_other_s = time.perf_counter() - started
    assert same == live, "the replay under the live rules must equal the live figures"
    assert store.recorder.max_notification_id() == events, "the replay wrote to the live log"

    print(f"reading and decoding the {read:,} events the replay reads (baseline): {bare_s:6.1f} s "
          f"({read / bare_s:,.0f} events/s)")
    print(f"live figures:                                    {live_s:6.1f} s")
    print(f"replay under the live rules (equals live):       {same_s:6.1f} s ({read / same_s:,.0f} events/s, "
          f"{bare_s / same_s:.0%} of the baseline rate)")
    print(f"replay under other rules (jd 0.5:2, YTO first):  {other_s:6.1f} s")
    print(f"review replay under the live rules (equals live): {review_same_s:6.1f} s")
    print(f"review replay (hold above 150, merge on, a gift): {review_other_s:6.1f} s "
          f"({reviewed_other.gifts_assumed:,} gifts taken as in stock)")
    for name, a in sorted(reviewed.live.items()):
        b = reviewed_other.again[name]
        print(f"  {name:<10} held {a.held:>6,} → {b.held:>6,}  merged {a.merged:>6,} → {b.merged:>6,}  gift lines "
              f"{a.gift_lines:>6,} → {b.gift_lines:>6,}")
    for name, figures in sorted(live.channels.items()):
        changed = other.channels.get(name)
        print(f"  {name:<10} sales {figures.sales:>6,} → {changed.sales:>6,}  oversells {figures.oversells:>5,} → "
              f"{changed.oversells:>5,}  waiting {figures.waiting:>5,} → {changed.waiting:>5,}  margin "
              f"{figures.margin:>12,.2f} → {changed.margin:>12,.2f}")
    for name in sorted(set(live.couriers) | set(other.couriers)):
        a, b = live.couriers.get(name), other.couriers.get(name)
        print(f"  {name:<10} parcels {getattr(a, 'parcels', 0):>5,} → {getattr(b, 'parcels', 0):>5,}  postage "
              f"{getattr(a, 'postage', 0):>10,.2f} → {getattr(b, 'postage', 0):>10,.2f}")


if __name__ == "__main__":
    main()
