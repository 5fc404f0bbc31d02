"""A page of orders pulled again by a process that never saw them (its predecessor died before the checkpoint)."""

from domain.services.store import KnownIds
from domain.ids import stock_id
from tests.builders import CUP, TEA, order, warehouse_with_catalogue


def test_a_page_pulled_again_by_a_fresh_process_imports_and_reserves_nothing_twice(make_system):
    system = make_system("memory:")
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 10})
    app.orders.import_orders([order("T1", (TEA, 2)), order("T2", (CUP, 1))], warehouse="WH1")
    app.orders._known_orders = KnownIds(10)  # what a restarted worker knows

    again = app.orders.import_orders([order("T1", (TEA, 2)), order("T2", (CUP, 1)), order("T3", (TEA, 1))],
                                     warehouse="WH1")

    assert [r["status"] for r in again] == ["duplicate", "duplicate", "reserved"]
    assert app.inventory.stock_levels("WH1", TEA)["A-01-01"] == {"on_hand": 10, "reserved": 3}
    assert len(app.store.peek(stock_id("WH1", TEA)).reservations) == 2
