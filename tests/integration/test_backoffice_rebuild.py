"""Back-office views rebuilt from the first event equal the views folded while the commands ran."""

import pytest
from sqlalchemy import select

from projections import crm, finance, orders_board, replenishment
from projections.tracking import rebuild_together
from tests.unit.test_backoffice_finance import busy_day

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
VIEWS = {"finance": finance.metadata, "crm": crm.metadata, "orders_board": orders_board.metadata,
         "replenishment": replenishment.metadata}


@pytest.fixture(params=STORES)
def database_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def tables(system, metadata) -> dict[str, list[tuple]]:
    """Every row of every table, without surrogate row numbers (a rolled-back PostgreSQL insert skips some)."""
    with system.engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(*(c for c in t.c if c.name != "id"))))
                for t in metadata.sorted_tables}


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


def every_view(system) -> dict:
    return {name: tables(system, runner.projection.metadata) for name, runner in system.runners.items()}


def test_every_projection_rebuilt_together_in_one_pass_equals_the_live_views(make_system, database_url):
    system = make_system(database_url, projection_batch="7")
    busy_day(system, step=system.catch_up)
    system.catch_up()
    live = every_view(system)

    read = rebuild_together(list(system.runners.values()), page_size=5)

    assert read == system.app.store.recorder.max_notification_id()
    assert every_view(system) == live
    assert all(runner.status().lag == 0 for runner in system.runners.values())


def test_a_pass_that_fails_midway_keeps_whole_pages_and_catching_up_finishes_it(make_system, database_url):
    system = make_system(database_url, projection_batch="7")
    busy_day(system, step=system.catch_up)
    system.catch_up()
    live = every_view(system)
    finance_view = system.runners["finance"].projection
    apply, calls = finance_view.apply, []

    def fails_on_the_third_page(conn, events):
        calls.append(len(events))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        apply(conn, events)

    finance_view.apply = fails_on_the_third_page
    with pytest.raises(RuntimeError):
        rebuild_together(list(system.runners.values()), page_size=5)
    positions = {runner.position() for runner in system.runners.values()}
    assert len(positions) == 1 and 0 < positions.pop() < system.app.store.recorder.max_notification_id()

    finance_view.apply = apply
    system.catch_up()
    assert every_view(system) == live


def test_a_view_stored_by_an_older_release_without_a_new_column_is_folded_again_at_start(make_system, database_url):
    system = make_system(database_url, projection_batch="7")
    busy_day(system, step=system.catch_up)
    system.catch_up()
    live = tables(system, finance.metadata)
    runner = system.runners["finance"]
    with system.engine.begin() as conn:  # as a release before `units_refunded` existed left it
        conn.exec_driver_sql("ALTER TABLE finance_order DROP COLUMN units_refunded")

    assert runner.missing_columns() == ["finance_order.units_refunded"]
    runner.setup()
    runner.catch_up()

    assert runner.missing_columns() == []
    assert tables(system, finance.metadata) == live


@pytest.mark.postgres
def test_a_column_stored_narrower_than_this_release_writes_is_widened_by_folding_the_view_again(make_system,
                                                                                                postgres_url):
    system = make_system(postgres_url)
    runner = system.runners["scanning"]
    with system.engine.begin() as conn:  # the actor columns were 32 characters before API tokens acted as themselves
        conn.exec_driver_sql("ALTER TABLE scanning_count_request ALTER COLUMN requested_by TYPE VARCHAR(32)")

    assert runner.missing_columns() == ["scanning_count_request.requested_by (32 < 64)"]
    runner.setup()

    assert runner.missing_columns() == []
