"""The rebuild benchmark's log, written in 20,000-event batches, goes into PostgreSQL and every projection is
rebuilt from it in one pass."""

import importlib.util
import random
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from projections import finance, parcels
from projections.tracking import rebuild_together

pytestmark = pytest.mark.postgres

BENCH = Path(__file__).resolve().parents[2] / "bench" / "rebuild.py"


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_rebuild", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def within(seconds: float, work):
    """Run work in a thread; a write that hangs fails the test instead of stopping the suite."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed to the test below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_a_log_written_in_twenty_thousand_event_batches_rebuilds_every_view_on_postgres(make_system,
                                                                                        postgres_url):
    bench = bench_module()
    system = make_system(postgres_url, projection_batch="5000")

    total = within(120, lambda: bench.make_log(system, 25_000, 50, random.Random(7)))
    read = within(120, lambda: rebuild_together(list(system.runners.values()), page_size=5000))

    assert total >= 25_000 and read == total
    assert all(runner.position() == total for runner in system.runners.values())
    with system.engine.connect() as conn:
        orders = conn.execute(select(func.count()).select_from(finance.finance_orders)).scalar_one()
        shipped = conn.execute(select(func.count()).select_from(finance.finance_orders)
                               .where(finance.finance_orders.c.shipped_on.is_not(None))).scalar_one()
        handed_over = conn.execute(select(func.count()).select_from(parcels.parcels)
                                   .where(parcels.parcels.c.status == "handed_over")).scalar_one()
    assert orders > 1000
    assert 0 < shipped == handed_over < orders
