"""Orders per second from a simulator's page to a reserved order, through RabbitMQ, beside the bare import path
measured in the same run.

Each of the five marketplace simulators is seeded with the same number of paid orders. The pull jobs go through
the real broker (one pull message per shop, a worker in this process) and page through the simulators over HTTP,
import a page per transaction and reserve stock on PostgreSQL. The baseline imports the same orders, already in
memory, straight through `import_orders` into a second fresh schema: what the pull costs on top is the HTTP
paging, the platform's signing and parsing, the broker and the checkpoint events.

    python -m bench.pull [postgresql://postgres@127.0.0.1:5432/test] [--orders 1000] [--broker amqp://...]
"""

import argparse
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.marketplaces.simulators.run import run_all  # noqa: E402
from bench.rebuild import drop_schema, fresh_schema  # noqa: E402
from cangku.bootstrap import build, simulator_client  # noqa: E402
from cangku.settings import Settings  # noqa: E402
from workers.pull import PAGE, new_order  # noqa: E402

SKUS = ["TEA-LJ-250", "TEA-LJ-500", "CUP-GL-350", "SOCK-WM-L", "SOCK-WM-M", "PEN-GEL-05", "NOTE-A5-DOT", "BAG-CV-01"]
OPENING = 10_000_000


def warehouse(app) -> None:
    app.catalogue.register_skus({n: {"code": code, "name": code} for n, code in enumerate(SKUS)})
    app.inventory.add_locations({1: ("WH1", "RCV-01", "R", "receiving", 0), 2: ("WH1", "A-01-01", "A", "storage", 10),
                       3: ("WH1", "PACK-01", "P", "packing", 0)})
    app.inventory.load_opening_stock({n: ("WH1", code, "A-01-01", OPENING) for n, code in enumerate(SKUS)}, "opening")


def system_on(url: str, schema: str, folder: str, **env):
    settings = {"CANGKU_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}schema={schema}",
                "CANGKU_DATA_DIR": folder, **{f"CANGKU_{k.upper()}": v for k, v in env.items()}}
    system = build(Settings.from_env(settings))
    warehouse(system.app)
    return system


def reserved_units(app) -> int:
    return sum(level["reserved"] for sku in SKUS for level in app.inventory.stock_levels("WH1", sku).values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--orders", type=int, default=1000, help="paid orders seeded per platform")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672/")
    args = parser.parse_args()
    import tempfile

    sims = run_all(orders=0, shop="main")
    schemas = [fresh_schema(args.url), fresh_schema(args.url)]
    try:
        with tempfile.TemporaryDirectory(prefix="cangku-bench-") as folder:
            run(args, sims, schemas, folder)
    finally:
        sims.stop()
        for schema in schemas:
            drop_schema(args.url, schema)


def run(args, sims, schemas: list[str], folder: str) -> None:
    now = sims.simulators["taobao"].clock()
    for sim in sims.simulators.values():
        sim.seed(args.orders, now - timedelta(hours=20), now - timedelta(minutes=2), seed=11)
    total = args.orders * len(sims.simulators)
    clients = {(channel, "main"): simulator_client(sim) for channel, sim in sims.simulators.items()}

    started = time.perf_counter()
    fetched = {key: list(client.orders_changed(now - timedelta(hours=24), now)) for key, client in clients.items()}
    paging = time.perf_counter() - started
    paid = [new_order(o) for orders in fetched.values() for o in orders]

    bare = system_on(args.url, schemas[0], folder)
    started = time.perf_counter()
    for start in range(0, len(paid), PAGE):
        bare.app.orders.import_orders(paid[start:start + PAGE], by="bench", warehouse="WH1")
    bare_seconds = time.perf_counter() - started
    bare_reserved = reserved_units(bare.app)
    bare.close()

    pulled = system_on(args.url, schemas[1], folder, broker_url=args.broker,
                       queue_prefix=f"bench-{uuid.uuid4().hex[:6]}", pull_interval="3600")
    pulled.start_jobs(shops=clients, in_process_worker=True, threads=2)
    started = time.perf_counter()
    for channel, shop in clients:
        pulled.jobs.pull_orders.send(channel, shop)
    while not all(pulled.app.channels.pulled_until(*key) for key in clients):
        if time.perf_counter() - started > 600:
            raise SystemExit("the pulls did not finish within ten minutes")
        time.sleep(0.02)
    pull_seconds = time.perf_counter() - started
    pulled_reserved = reserved_units(pulled.app)
    pulled.close()

    if pulled_reserved != bare_reserved or len(paid) != total:
        raise SystemExit(f"different outcomes: {len(paid)} of {total} orders fetched, "
                         f"{pulled_reserved} units reserved by the pull, {bare_reserved} by the bare import")
    print(f"{total:,} paid orders on 5 simulators, {PAGE} per page, PostgreSQL; {bare_reserved:,} units reserved")
    print(f"{'pull through RabbitMQ: page → reserved order':<48}{total / pull_seconds:>9,.0f} orders/s "
          f"{pull_seconds:7.1f} s")
    print(f"{'bare import path (same orders, in memory)':<48}{total / bare_seconds:>9,.0f} orders/s "
          f"{bare_seconds:7.1f} s")
    print(f"{'HTTP paging alone (sign, fetch, parse)':<48}{total / paging:>9,.0f} orders/s {paging:7.1f} s")


if __name__ == "__main__":
    main()
