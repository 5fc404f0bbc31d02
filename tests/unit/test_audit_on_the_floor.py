"""The audit's invariants and the what-if replay over a floor day: a short pick, the held order released onto new
stock and picked again, a delivered order's return."""

from projections.invariants import check_log
from projections.whatif import live_figures, replay
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, shipped
from tests.unit.test_floor_work import floor  # noqa: F401  (the fixture)


def short_pick_then_rewave(floor) -> None:
    app = floor.app
    app.inventory.receive("WH1", TEA, 2, "R1")
    app.inventory.put_away("WH1", TEA, "A-01-01", 2, "R1")
    placed = app.orders.import_orders([order("T-SHORT", (TEA, 2)), order("T-OTHER", (TEA, 1))], warehouse="WH1")
    short_id = placed[0]["order_id"]
    app.fulfilment.create_wave("WH1", "W-S", [short_id], "S1")
    floor.scans("P1", "pick", "W-S", "A-01-01", TEA_EAN, "1")
    floor.scan("P1", "pick", "short", kind="action")
    floor.scan("P1", "pick", "short", kind="action")
    app.orders.import_orders([order("T-LATE", (TEA, 1))], warehouse="WH1")
    app.inventory.receive("WH1", TEA, 1, "R1")
    app.inventory.put_away("WH1", TEA, "B-02-01", 1, "R1")
    rewaved = floor.scan("S1", "supervisor", f"rewave:{short_id}", kind="override")
    floor.scans("P1", "pick", rewaved.params["wave"], "B-02-01", TEA_EAN)
    shipped(app, "T-DLV", CUP, CUP_EAN, 1, "CK81", delivered=True)
    floor.scans("R1", "returns", "CK81", CUP_EAN, "1")
    floor.system.catch_up()


def test_a_floor_day_with_a_short_pick_and_a_return_keeps_every_invariant(floor):
    short_pick_then_rewave(floor)

    report = check_log(floor.app.store, floor.system.engine)

    assert report.failures == []
    assert report.checked["reservations_match_orders"] == 4 and report.checked["shipped_orders_scanned"] == 1


def test_a_replay_of_the_floor_day_under_the_live_rules_gives_the_live_figures(floor):
    short_pick_then_rewave(floor)

    assert replay(floor.app.store) == live_figures(floor.app.store)
