"""The audit's invariants and the what-if replay over a floor day: a short pick, the held order released onto new
stock and picked again, a delivered order's return."""

from projections.invariants import check_log
from projections.whatif import live_figures, replay
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, shipped
from tests.unit.test_floor_work import floor  # noqa: F401  (the fixture)


def short_pick_then_rewave(floor) -> None:
    """The one tea tin in A-01-01 is not there: the picker marks it short, a tin arrives in B-02-01, the supervisor
    releases the held order into a new wave and it is picked from there; a delivered cup comes back."""
    app = floor.app
    [held] = app.orders.import_orders([order("T-SHORT", (TEA, 1))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W-S", [held["order_id"]], "S1")
    floor.scans("P1", "pick", "W-S", "A-01-01")
    for _ in range(2):  # the second tap confirms
        floor.scan("P1", "pick", "short", kind="action")
    app.inventory.receive("WH1", TEA, 1, "R1")
    app.inventory.put_away("WH1", TEA, "B-02-01", 1, "R1")
    app.fulfilment.release_held(held["order_id"], "S1", wave_number="W-2")
    floor.scans("P1", "pick", "W-2", "B-02-01", TEA_EAN)
    shipped(app, "T-DLV", CUP, CUP_EAN, 1, "CK81", delivered=True)
    floor.scans("R1", "returns", "CK81", CUP_EAN, "1")
    floor.system.catch_up()
    assert app.orders.get_order(held["order_id"])["status"] == "picked"


def test_a_floor_day_with_a_short_pick_and_a_return_keeps_every_invariant(floor):
    short_pick_then_rewave(floor)

    report = check_log(floor.app.store, floor.system.engine)

    assert report.failures == []
    assert report.checked["reservations_match_orders"] == 2 and report.checked["shipped_orders_scanned"] == 1


def test_a_replay_of_the_floor_day_under_the_live_rules_gives_the_live_figures(floor):
    short_pick_then_rewave(floor)

    assert replay(floor.app.store) == live_figures(floor.app.store)
