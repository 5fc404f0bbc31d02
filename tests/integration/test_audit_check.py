"""`cangku audit check`: a clean log passes; a corrupted view or an event sequence recorded behind the services'
backs is named with its events, on SQLite and PostgreSQL."""

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from cangku.audit_cli import audit
from domain import ids
from projections.inventory import stock_bins
from projections.orders_board import board_orders
from tests.builders import TEA, order
from tests.unit.test_backoffice_finance import busy_day

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def database_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture
def day(make_system, database_url):
    system = make_system(database_url)
    placed = busy_day(system)
    [waiting] = system.app.orders.import_orders([order("T900", (TEA, 2))], warehouse="WH1")
    placed["T900"] = waiting["order_id"]
    system.catch_up()
    return system, placed


def check(database_url, tmp_path, *args):
    env = {"CANGKU_DATABASE_URL": database_url, "CANGKU_DATA_DIR": str(tmp_path)}
    return CliRunner().invoke(audit, ["check", *args], env=env, catch_exceptions=False)


def recorded_directly(system, aggregate_id, change) -> int:
    """Change an aggregate as someone bypassing the services would, save it, and return the new event's number."""
    aggregate = system.app.store.repository.get(aggregate_id)
    change(aggregate)
    system.app.store.save(aggregate)
    return system.app.store.recorder.max_notification_id()


def test_a_clean_log_passes_every_check(day, database_url, tmp_path):
    result = check(database_url, tmp_path)

    assert result.exit_code == 0, result.stderr
    for name in ("stock_matches_movements", "no_bin_below_zero", "reservations_match_orders",
                 "shipped_orders_scanned", "refunds_match_cases", "views_match_replay"):
        assert re.search(rf"^ok +{name} +[1-9][\d,]* checked$", result.stdout, re.M), result.stdout
    assert "FAILED" not in result.stdout + result.stderr


def test_a_bin_figure_changed_in_the_view_is_named_against_its_movements_and_the_replay(day, database_url,
                                                                                          tmp_path):
    system, _ = day
    with system.engine.begin() as conn:
        conn.execute(update(stock_bins).where(stock_bins.c.sku == TEA).where(stock_bins.c.bin == "A-01-01")
                     .values(on_hand=stock_bins.c.on_hand + 5))

    result = check(database_url, tmp_path)

    assert result.exit_code == 1
    assert re.search(rf"FAILED stock_matches_movements: bin A-01-01 of {TEA} in WH1: the view shows 42 on hand, "
                     r"2 reserved but its movements add up to 37 on hand, 2 reserved \(events #\d+", result.stderr)
    assert "FAILED views_match_replay: table inventory_bin: row (warehouse=WH1, sku=TEA-LJ-250, bin=A-01-01, " \
           "on_hand=42, reserved=2) is in the view but not in a replay of the log" in result.stderr
    assert re.search(r"^FAILED +stock_matches_movements +\d+ checked, 1 failures$", result.stdout, re.M)


def test_an_order_status_changed_in_the_board_is_named_by_the_replay(day, database_url, tmp_path):
    system, placed = day
    with system.engine.begin() as conn:
        conn.execute(update(board_orders).where(board_orders.c.order_id == str(placed["T900"])).values(status="packed"))

    result = check(database_url, tmp_path)

    assert result.exit_code == 1
    assert re.search(r"FAILED views_match_replay: table board_order: row \(order_id=" + str(placed["T900"])
                     + r".*status=packed.*\) is in the view but not in a replay", result.stderr)
    assert re.search(r"FAILED views_match_replay: table board_order: row \(order_id=" + str(placed["T900"])
                     + r".*status=reserved.*\) is missing from the view", result.stderr)


def test_a_shipment_recorded_past_the_stock_guard_is_named_as_a_bin_below_zero(day, database_url, tmp_path):
    system, placed = day
    forged = recorded_directly(system, ids.stock_id("WH1", TEA),  # the event method itself: no guard runs
                               lambda stock: stock._shipped(placed["T900"], "A-01-01", 50, "forger"))

    result = check(database_url, tmp_path, "--no-replay")

    assert result.exit_code == 1
    assert (f"FAILED no_bin_below_zero: bin A-01-01 of {TEA} in WH1: on hand -13 after Stock.Shipped "
            f"(events #") in result.stderr
    assert f"#{forged})" in result.stderr.split("no_bin_below_zero")[1].splitlines()[0]
    assert (f"FAILED reservations_match_orders: order {placed['T900']}: is reserved and holds a negative "
            f"reservation: {TEA}×-48") in result.stderr
    assert "skipped views_match_replay" in result.stdout


def test_a_reservation_released_without_its_order_is_named_with_the_release(day, database_url, tmp_path):
    system, placed = day
    released = recorded_directly(system, ids.stock_id("WH1", TEA),
                                 lambda stock: stock.release(placed["T900"], "quietly", "forger"))

    result = check(database_url, tmp_path, "--no-replay")

    assert result.exit_code == 1
    line = next(l for l in result.stderr.splitlines() if "reservations_match_orders" in l)
    assert f"order {placed['T900']}: is reserved and needs {TEA}×2 but holds nothing" in line
    assert f"#{released})" in line


def test_an_order_marked_shipped_without_scans_is_named_with_its_shipment(day, database_url, tmp_path):
    system, placed = day
    shipped = recorded_directly(system, placed["T900"], lambda order: order._shipped("SF", "SF000", "forger"))

    result = check(database_url, tmp_path, "--no-replay")

    assert result.exit_code == 1
    assert (f"FAILED shipped_orders_scanned: order {placed['T900']}: shipped without pick, pack, hand-over scans "
            f"(events #{shipped})") in result.stderr
    assert f"order {placed['T900']}: is shipped but still holds {TEA}×2" in result.stderr


def test_a_refund_after_shipping_with_no_case_and_a_case_refunding_more_than_was_paid_are_named(day, database_url,
                                                                                                 tmp_path):
    from datetime import datetime, timezone
    from decimal import Decimal

    from domain.after_sales import RefundReport
    from tests.unit.test_backoffice_finance import NUMBERS

    system, placed = day
    app = system.app
    refunded = recorded_directly(system, placed["T100"], lambda o: o.refund([2], "goodwill", "cs"))
    at = datetime(2026, 11, 13, 9, 0, tzinfo=timezone.utc)
    paid = app.orders.order(placed["J200"]).paid_amount
    first = app.after_sales.take_report(RefundReport("jd", "jd-store", "R1", NUMBERS["J200"], "refund_only", "refunded",
                                                     paid, "broken", at, at, at), "pull:jd")["case_id"]
    app.after_sales.take_report(RefundReport("jd", "jd-store", "R2", NUMBERS["J200"], "refund_only", "refunded",
                                             Decimal("1.00"), "again", at, at, at), "pull:jd")

    result = check(database_url, tmp_path, "--no-replay")

    assert result.exit_code == 1
    assert re.search(rf"FAILED refunds_match_cases: order {NUMBERS['T100']}: was refunded after shipping with no "
                     rf"after-sales case \(events #{refunded}\)", result.stderr), result.stderr
    assert re.search(rf"FAILED refunds_match_cases: order {NUMBERS['J200']}: its after-sales cases refunded "
                     rf"{paid + Decimal('1.00')} but it was paid {paid} \(events #\d+", result.stderr), result.stderr
    assert re.search(r"^FAILED +refunds_match_cases +\d+ checked, 2 failures$", result.stdout, re.M)
    assert first is not None
