"""Routing and transfers on SQLite and PostgreSQL: the transfers view folded in small batches equals a rebuild from
zero, and the audit check finds every bin equal to its movements (transfers' included)."""

import pytest
from sqlalchemy import select

from projections import transfers
from projections.invariants import check_log
from tests.builders import BINS, CUP, TEA, order, warehouse_with_catalogue

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def database_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def rows(system) -> dict[str, list[tuple]]:
    with system.engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in transfers.metadata.sorted_tables}


def test_transfers_and_routed_orders_rebuild_to_the_same_view_and_pass_the_audit(make_system, database_url):
    system = make_system(database_url, projection_batch="3")
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 12, (CUP, "A-01-02"): 6})
    app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        app.inventory.add_location("WH2", bin, zone, area, sequence)
    app.routing.revise_rules([{"warehouse": "WH2", "priority": 1}, {"warehouse": "WH1", "priority": 2}], True, "S1")
    for number, lines in (("T-1", {TEA: 5, CUP: 2}), ("T-2", {TEA: 3})):
        app.transfers.draft(number, "WH1", "WH2", lines, "S1")
        app.transfers.ship(number, "S1")
        system.catch_up()
    app.transfers.receive("T-1", TEA, 5, "R2")
    app.transfers.receive("T-1", CUP, 3, "R2")
    app.transfers.close("T-1", "S1")
    [routed] = app.orders.import_orders([order("X1", (TEA, 4))], warehouse="WH1")
    system.catch_up()
    live = rows(system)

    system.runners["transfers"].rebuild()
    audit = check_log(app.store, system.fresh("inventory"))

    assert rows(system) == live
    assert [(r["number"], r["in_transit"]) for r in transfers.in_transit(system.engine)] == [("T-2", 3)]
    # the units received in WH2 wait in its receiving bin until put away: only WH1's storage bins can ship them
    assert app.orders.get_order(routed["order_id"])["warehouse"] == "WH1"
    assert audit.passed, [str(f) for f in audit.failures]
