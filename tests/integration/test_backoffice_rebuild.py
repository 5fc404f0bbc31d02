"""Back-office views rebuilt from the first event equal the views folded while the commands ran."""

import pytest
from sqlalchemy import select

from projections import crm, finance, orders_board, replenishment
from tests.unit.test_backoffice_finance import busy_day

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
VIEWS = {"finance": finance.metadata, "crm": crm.metadata, "orders_board": orders_board.metadata,
         "replenishment": replenishment.metadata}


@pytest.fixture(params=STORES)
def database_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def tables(system, metadata) -> dict[str, list[tuple]]:
    with system.engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in metadata.sorted_tables}


def queries(system) -> dict:
    engine = system.engine
    return {
        "orders": finance.orders_finance(engine), "skus": finance.sku_finance(engine),
        "days": finance.daily_finance(engine), "customers": crm.customers(engine, as_of="2026-11-20"),
        "repeat": crm.repeat_rate(engine), "counts": orders_board.order_counts(engine),
        "queue": orders_board.exception_queue(engine, include_cleared=True),
        "plan": replenishment.replenishment(engine, as_of="2026-11-20"),
    }


def test_finance_crm_board_and_replenishment_rebuilt_from_zero_equal_the_live_views(make_system, database_url):
    system = make_system(database_url, projection_batch="7")
    busy_day(system, step=system.catch_up)
    system.catch_up()
    live = {name: tables(system, metadata) for name, metadata in VIEWS.items()}
    live_answers = queries(system)

    for name in VIEWS:
        system.runners[name].rebuild()

    assert {name: tables(system, metadata) for name, metadata in VIEWS.items()} == live
    assert queries(system) == live_answers
    assert live["finance"]["finance_order"] and live["crm"]["crm_customer"] and live["orders_board"]["board_order"]
