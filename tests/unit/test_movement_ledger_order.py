"""The back office's movement ledger shows the latest movements first, so a capped list never hides them."""

from projections.inventory import movement_ledger
from tests.builders import CUP, warehouse_with_catalogue


def test_the_newest_movement_comes_first_when_asked_and_last_otherwise(make_system):
    system = make_system()
    warehouse_with_catalogue(system.app)
    for n in range(3):
        system.app.inventory.receive("WH1", CUP, n + 1, "alice", reference=f"PO-{n}")
    engine = system.fresh("inventory")

    [newest] = movement_ledger(engine, CUP, newest_first=True, limit=1)
    [oldest] = movement_ledger(engine, CUP, limit=1)

    assert (oldest["on_hand_after"], newest["on_hand_after"]) == (1, 6)
