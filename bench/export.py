"""Seconds to export the finance orders table as XLSX, beside the CSV of the same rows, measured in the same run.

The finance view is filled with about 25,000 orders written straight into its table (an export does not care how
the rows got there), read back with the back office's own query and exported with the back office's columns.
Goal: the XLSX takes at most three times as long as the CSV.

    python bench/export.py                                           # SQLite in a temporary folder
    python bench/export.py postgresql://postgres@127.0.0.1:5432/test --rows 25000
"""

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cangku.bootstrap import build  # noqa: E402
from cangku.settings import Settings  # noqa: E402
from projections import finance  # noqa: E402
from projections.reports import export  # noqa: E402
from rebuild import scratch_database  # noqa: E402

GOAL = 3.0
# The columns of the back office's finance orders table (/office/finance/orders), in its order.
COLUMNS = ["ordered_on", "channel", "shop", "platform_order_no", "shipped_on", "paid", "revenue", "discounts",
           "platform_fee", "postage", "packaging", "refunds", "cogs", "margin"]


def fill_finance(engine, rows: int, rng: random.Random) -> None:
    """Orders over three months and three channels, most shipped, some refunded; amounts in fen."""
    first = date(2026, 9, 1)
    batch = []
    with engine.begin() as conn:
        for n in range(rows):
            revenue = rng.randint(990, 89_900)
            discounts = rng.choice((0, 0, 0, 500, 1000))
            ordered = first + timedelta(days=n * 92 // rows)
            shipped = rng.random() < 0.9
            units = rng.randint(1, 4)
            batch.append({
                "order_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "channel": rng.choice(("taobao", "jd", "pinduoduo")),
                "shop": f"shop-{n % 4}", "platform_order_no": f"{900000000 + n}", "ordered_on": ordered.isoformat(),
                "shipped_on": (ordered + timedelta(days=1)).isoformat() if shipped else None,
                "paid": revenue - discounts, "revenue": revenue, "discounts": discounts, "platform_fee": revenue // 50,
                "postage": 0, "packaging": 120 if shipped else 0,
                "refunds": revenue if rng.random() < 0.04 else 0, "cogs": revenue * 2 // 5 if shipped else 0,
                "units_ordered": units, "units_shipped": units if shipped else 0, "units_refunded": 0,
            })
            if len(batch) == 5000:
                conn.execute(finance.finance_orders.insert(), batch)
                batch = []
        if batch:
            conn.execute(finance.finance_orders.insert(), batch)


def timed(kind: str, rows: list[dict], repeat: int) -> tuple[float, int]:
    """The best of `repeat` exports: seconds and the size of the file."""
    best, size = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = len(export(rows, kind, COLUMNS))
        best = min(best, time.perf_counter() - started)
    return best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--rows", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=1, help="exports of each kind; the best is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cangku-bench-") as folder, scratch_database(args.url, folder) as url:
        run(url, folder, args)


def run(url: str, folder: str, args) -> None:
    settings = Settings.from_env({"CANGKU_DATABASE_URL": url, "CANGKU_DATA_DIR": folder})
    system = build(settings)
    try:
        fill_finance(system.engine, args.rows, random.Random(7))
        started = time.perf_counter()
        rows = finance.orders_finance(system.engine, limit=args.rows + 1)
        query = time.perf_counter() - started
        print(f"finance view: {len(rows):,} orders on {settings.database.kind}; read back in {query:.2f} s")
        csv_seconds, csv_size = timed("csv", rows, args.repeat)
        xlsx_seconds, xlsx_size = timed("xlsx", rows, args.repeat)
        print(f"{'CSV export':<24}{csv_seconds:8.2f} s {len(rows) / csv_seconds:>10,.0f} rows/s {csv_size:>12,} bytes")
        print(f"{'XLSX export':<24}{xlsx_seconds:8.2f} s {len(rows) / xlsx_seconds:>10,.0f} rows/s "
              f"{xlsx_size:>12,} bytes (rustpy-xlsxwriter {metadata.version('rustpy-xlsxwriter')})")
        ratio = xlsx_seconds / csv_seconds
        print(f"XLSX takes {ratio:.1f}× the CSV's time (goal: at most {GOAL:.0f}×) — "
              f"{'goal met' if ratio <= GOAL else 'goal missed'}")
        download = (query + xlsx_seconds) / (query + csv_seconds)
        print(f"with the read of the rows, as a download: {query + xlsx_seconds:.2f} s against "
              f"{query + csv_seconds:.2f} s, {download:.1f}×")
    finally:
        system.close()


if __name__ == "__main__":
    main()
