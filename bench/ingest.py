"""Orders imported and reserved per second on PostgreSQL, a platform page (100 orders) per transaction.

Printed beside, in the same run and on the same events: the bare eventsourcing library inserting the same stored
events page by page, and a raw psycopg insert of the same rows into a plain table.

    python bench/ingest.py [postgresql://postgres@127.0.0.1:5432/test] [--pages 40]
"""

import argparse
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cangku.bootstrap import build  # noqa: E402
from cangku.settings import Settings  # noqa: E402
from domain.services import NewOrder  # noqa: E402
from domain.order import Buyer, OrderLine  # noqa: E402
from eventsourcing.persistence import InfrastructureFactory  # noqa: E402
from eventsourcing.utils import Environment  # noqa: E402

PAGE = 100


def page_of_orders(page: int, skus: list[str], rng: random.Random) -> list[NewOrder]:
    orders = []
    for n in range(PAGE):
        lines = [OrderLine(i + 1, f"p-{sku}", sku, sku, rng.randint(1, 3), Decimal("19.90"))
                 for i, sku in enumerate(rng.sample(skus, rng.randint(1, 3)))]
        orders.append(NewOrder("taobao", "bench", f"B{page:05d}{n:03d}", lines,
                               Buyer(f"buyer{n}", "王小明", "13812345678", "文三路 90 号"),
                               {"province": "浙江省", "city": "杭州市", "district": "西湖区"},
                               Decimal("59.70")))
    return orders


def fresh_schema(conninfo: str) -> str:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def drop_schema(conninfo: str, schema: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    base = Settings.from_env({"CANGKU_DATABASE_URL": args.url}).database
    conninfo = f"host={base.host} port={base.port} dbname={base.dbname} user={base.user}"
    schemas = [fresh_schema(conninfo) for _ in range(3)]
    try:
        run(args, conninfo, schemas)
    finally:
        for schema in schemas:
            drop_schema(conninfo, schema)


def run(args, conninfo: str, schemas: list[str]) -> None:
    ours, bare, raw = schemas
    system = build(Settings.from_env({"CANGKU_DATABASE_URL": f"{args.url}?schema={ours}"}))
    app = system.app
    rng = random.Random(11)
    skus = [f"SKU-{n:04d}" for n in range(args.skus)]
    app.catalogue.register_skus({n: {"code": code, "name": code} for n, code in enumerate(skus)})
    app.inventory.add_locations({1: ("WH1", "RCV-01", "R", "receiving", 0), 2: ("WH1", "PACK-01", "P", "packing", 0),
                                 **{n + 3: ("WH1", f"A-{n:03d}", "A", "storage", n) for n in range(50)}})
    app.inventory.load_opening_stock({n: ("WH1", code, f"A-{n % 50:03d}", 1_000_000)
                                      for n, code in enumerate(skus)}, "bench")
    pages = [page_of_orders(p, skus, rng) for p in range(args.pages)]
    app.orders.import_orders(page_of_orders(99999, skus, rng), warehouse="WH1")  # warm the caches and connections

    first = (app.store.recorder.max_notification_id() or 0) + 1
    spent = timed_parts([(app.store, "load_many", "reading the stock streams"),
                         (app.orders, "_new_order", "building and reviewing orders"),
                         (app.orders, "_reserve", "reserving (domain)"),
                         (app.store.mapper, "to_stored_event", "encoding events"),
                         (app.store.recorder, "insert_events", "writing to PostgreSQL")])
    bounds, started = [], time.perf_counter()
    for page in pages:
        results = app.orders.import_orders(page, warehouse="WH1")
        assert all(r["status"] == "reserved" for r in results), results[:3]
        bounds.append(app.store.recorder.max_notification_id())
    ours_s = time.perf_counter() - started
    orders = args.pages * PAGE
    stored = list(app.store.recorder.select_notifications(first, 10_000_000))
    events = len(stored)
    system.close()

    by_page, start = [], first
    for end in bounds:
        by_page.append([n for n in stored if start <= n.id <= end])
        start = end + 1

    factory = InfrastructureFactory.construct(Environment("Bench", {
        "PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": system.settings.database.dbname,
        "POSTGRES_HOST": system.settings.database.host, "POSTGRES_PORT": str(system.settings.database.port),
        "POSTGRES_USER": system.settings.database.user, "POSTGRES_PASSWORD": system.settings.database.password,
        "POSTGRES_SCHEMA": bare}))
    recorder = factory.application_recorder()
    started = time.perf_counter()
    for page in by_page:
        recorder.insert_events(page)
    bare_s = time.perf_counter() - started
    factory.close()

    with psycopg.connect(conninfo) as conn:
        conn.execute(f'CREATE TABLE "{raw}".events (id bigserial PRIMARY KEY, originator_id uuid, '
                     'originator_version int, topic text, state bytea, UNIQUE (originator_id, originator_version))')
        conn.commit()
        started = time.perf_counter()
        for page in by_page:
            with conn.cursor() as cur:
                cur.executemany(f'INSERT INTO "{raw}".events (originator_id, originator_version, topic, state) '
                                'VALUES (%s, %s, %s, %s)',
                                [(n.originator_id, n.originator_version, n.topic, n.state) for n in page])
            conn.commit()
        raw_s = time.perf_counter() - started

    per_order = events / orders
    print(f"{orders} orders in {args.pages} pages of {PAGE}, {events} events ({per_order:.1f} per order), PostgreSQL")
    print(f"{'':<44}{'orders/s':>10}{'events/s':>10}")
    for label, seconds in (("cangku import + review + reserve", ours_s),
                           ("bare eventsourcing insert of the same events", bare_s),
                           ("raw psycopg executemany of the same rows", raw_s)):
        print(f"{label:<44}{orders / seconds:>10.0f}{events / seconds:>10.0f}")
    print(f"cangku reaches {bare_s / ours_s:.0%} of the bare library and {raw_s / ours_s:.0%} of the raw insert "
          f"(goal: the bare library's rate: {'met' if ours_s <= bare_s else 'not met'})")
    parts = ", ".join(f"{label} {seconds / ours_s:.0%}" for label, seconds in spent.items())
    print(f"where the time goes: {parts}, the rest {1 - sum(spent.values()) / ours_s:.0%}; the bare library does "
          f"only the writing, of events already encoded")


def timed_parts(parts: list[tuple[object, str, str]]) -> dict[str, float]:
    """Time spent in each named method of these objects (wrapped on the instance), by label."""
    spent: dict[str, float] = {}

    def wrap(owner, name, label):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started

        setattr(owner, name, timed)

    for owner, name, label in parts:
        spent[label] = 0.0
        wrap(owner, name, label)
    return spent


if __name__ == "__main__":
    main()
