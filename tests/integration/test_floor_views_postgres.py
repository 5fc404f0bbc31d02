"""Floor work on PostgreSQL: the longest badge and the largest quantities a scan takes go through the scanning view,
with returns after delivery, a held order released into a new wave and codes typed by hand."""

from datetime import datetime, timedelta, timezone

import pytest

from domain.scanning import Scan
from projections.scanning import held_orders, productivity, recorded_scans
from scanner_ui.ports import FloorPorts
from tests.builders import TEA, TEA_EAN, order, shipped, warehouse_with_catalogue

pytestmark = pytest.mark.postgres

BADGE = "R" * 32
PICKER = "P" * 32


def test_the_longest_badge_and_largest_scanned_quantities_are_folded_on_postgresql(make_system, postgres_url):
    system = make_system(postgres_url)
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 3})
    app.staff.register_staff(BADGE, "收" * 20, "supervisor", "2468", "admin")
    app.staff.register_staff(PICKER, "拣" * 20, "picker", "2468", "admin")
    ports = FloorPorts(system, print_label=None, count_approval_threshold=10, keyed_screens=("receive",))
    numbers = {}

    def scan(staff, screen, value, kind="scan", entry="scanned"):
        numbers[staff] = numbers.get(staff, 0) + 1
        return app.floor.scan(Scan(f"pda-{staff[0]}", numbers[staff], staff, screen, value, kind, entry), ports)

    shipped(app, "9" * 64, TEA, TEA_EAN, 1, "CK9999", delivered=True)
    answers = [scan(BADGE, "receive", TEA_EAN, entry="keyed"), scan(BADGE, "receive", "99999", entry="keyed"),
               scan(BADGE, "putaway", TEA_EAN), scan(BADGE, "putaway", "B-02-01"),
               scan(BADGE, "returns", "CK9999"), scan(BADGE, "returns", TEA_EAN), scan(BADGE, "returns", "1")]
    [placed] = app.orders.import_orders([order("T-PG", (TEA, 3))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W-PG", [placed["order_id"]], "S1")
    answers += [scan(PICKER, "pick", v) for v in ("W-PG", "A-01-01", TEA_EAN, "1")]
    answers += [scan(PICKER, "pick", "short", kind="action") for _ in range(3)]  # try B-02-01, confirm, short
    system.catch_up()
    held = held_orders(system.engine, "WH1")
    answers.append(scan(BADGE, "supervisor", f"rewave:{placed['order_id']}", kind="override"))
    system.catch_up()

    assert [a.outcome for a in answers] == ["ok"] * len(answers), [(a.key, a.message) for a in answers]
    assert [h["number"] for h in held] == ["T-PG"]
    for name, runner in system.runners.items():
        status = runner.status()
        assert status.lag == 0, f"{name} stopped at {status.position} of {status.head}"
    work = productivity(system.engine, datetime.now(timezone.utc) - timedelta(hours=1))
    mine = {d["kind"]: (d["tasks"], d["units"]) for d in work["days"] if d["staff"] == BADGE}
    assert mine == {"receive": (1, 99_999), "putaway": (1, 99_999), "returns": (1, 1), "keyed": (2, 2)}
    assert {d["kind"] for d in work["days"] if d["staff"] == PICKER} == {"pick"}
    assert [r["entry"] for r in recorded_scans(system.engine, staff=BADGE)][-2:] == ["keyed", "keyed"]
