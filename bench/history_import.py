"""Past order lines imported per second (`cangku import history --format online-retail`), then the views catching up.

A synthetic file in the shape of a public online shop's invoice lines (C… cancellations, stock write-offs, missing
customers) is checked, recorded in bounded transactions and folded by finance, CRM, replenishment and the order
desk. Printed beside, in the same run: the bare eventsourcing recorder inserting the same stored events (read back
from our store) in pipeline-sized batches into an empty store.

    python bench/history_import.py [postgresql://postgres@127.0.0.1:5432/test] [--lines 500000]
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.event_store.postgres import PIPELINE_MAX_BYTES, bounded_chunks  # noqa: E402
from cangku.bootstrap import build  # noqa: E402
from cangku.history_import import import_history  # noqa: E402
from cangku.scratch import scratch_database  # noqa: E402
from cangku.settings import Settings  # noqa: E402
from eventsourcing.persistence import InfrastructureFactory  # noqa: E402
from eventsourcing.utils import Environment  # noqa: E402
from tests.history_files import online_retail_file  # noqa: E402

VIEWS = ("finance", "crm", "replenishment", "order_desk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="", help="PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--lines", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cangku-bench-") as folder:
        started = time.perf_counter()
        path = online_retail_file(Path(folder) / "Online Retail.csv", args.lines)
        print(f"file: {args.lines:,} lines, {path.stat().st_size / 1e6:.1f} MB, made in "
              f"{time.perf_counter() - started:.1f} s")
        with scratch_database(args.url, folder) as ours, scratch_database(args.url, folder + "/bare") as bare:
            Path(folder, "bare").mkdir(exist_ok=True)
            run(args, path, ours, bare, folder)


def run(args, path: Path, ours: str, bare: str, folder: str) -> None:
    system = build(Settings.from_env({"CANGKU_DATABASE_URL": ours, "CANGKU_DATA_DIR": folder,
                                      "CANGKU_BUSINESS_TIMEZONE": "Europe/London"}))
    started = time.perf_counter()
    counts = import_history(system.app, path, "online-retail", "web", "uk")
    imported_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    each = {}
    for name in VIEWS:
        started = time.perf_counter()
        system.runners[name].catch_up()
        each[name] = time.perf_counter() - started
    views_s = sum(each.values())
    stored = list(system.app.store.recorder.select_notifications(1, 10_000_000))
    settings = system.settings.database
    system.close()

    if settings.kind == "postgres":
        env = {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": settings.dbname,
               "POSTGRES_HOST": settings.host, "POSTGRES_PORT": str(settings.port), "POSTGRES_USER": settings.user,
               "POSTGRES_PASSWORD": settings.password, "POSTGRES_SCHEMA": bare.rsplit("schema=", 1)[1]}
    else:
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": f"{folder}/bare/events.sqlite"}
    factory = InfrastructureFactory.construct(Environment("Bench", env))
    recorder = factory.application_recorder()
    started = time.perf_counter()
    for chunk in bounded_chunks(stored, max_events=10_000, max_bytes=PIPELINE_MAX_BYTES):
        recorder.insert_events(list(chunk))
    bare_s = time.perf_counter() - started
    factory.close()

    lines = counts["lines"]
    size = sum(len(e.state) for e in stored) / 1e6
    print(f"store: {'PostgreSQL' if settings.kind == 'postgres' else 'SQLite'}; {counts['recorded']:,} orders, "
          f"{lines:,} lines ({counts['skipped']:,} lines moved no sale), {len(stored):,} events, {size:.0f} MB")
    print(f"import (read and check every row, then read again and record): {imported_s:.1f} s, "
          f"{lines / imported_s:,.0f} lines/s; peak memory {peak_mb:,.0f} MB")
    print(f"views caught up: {views_s:.1f} s ({', '.join(f'{name} {t:.1f} s' for name, t in each.items())})")
    print(f"total: {imported_s + views_s:.1f} s")
    print(f"baseline, bare recorder inserting the same {len(stored):,} events: {bare_s:.1f} s, "
          f"{lines / bare_s:,.0f} lines/s; the import takes {imported_s / bare_s:.1f}× that")


if __name__ == "__main__":
    main()
