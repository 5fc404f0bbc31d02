"""Replenishment: velocity, days of cover, safety-stock breaches and suggested purchase quantities."""

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.errors import UnknownSku
from projections.backoffice import InvalidDate, InvalidFilter
from projections.replenishment import replenishment
from tests.builders import CUP, PAN, TEA, warehouse_with_catalogue
from tests.unit.test_backoffice_finance import ELEVEN_ELEVEN, priced_order


@pytest.fixture
def system(make_system):
    return make_system("memory:")


def plan(system, **options) -> dict:
    system.catch_up()
    return {r["sku"]: r for r in replenishment(system.engine, as_of="2026-11-14", **options)}


def test_velocity_cover_breach_and_suggestion_follow_the_orders_of_the_window(system):
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 100, (CUP, "A-01-02"): 30})
    for day in range(4):  # 11-11 … 11-14: 7 tea a day; 2 cups a day
        system.app.orders.import_orders([priced_order(f"36{day:017d}", (TEA, 7, "45.00"), (CUP, 2, "12.00"),
                                               ordered_at=ELEVEN_ELEVEN + timedelta(days=day))], warehouse="WH1")
    system.app.orders.import_orders([priced_order("3600000000000000099", (TEA, 50, "45.00"),
                                           ordered_at=ELEVEN_ELEVEN - timedelta(days=30))])

    found = plan(system, window_days=4, lead_time_days=5, review_days=2)

    tea, cup, pan = found[TEA], found[CUP], found[PAN]
    assert (tea["units_sold"], tea["velocity"], tea["available"]) == (28, Decimal("7.00"), 72)
    assert tea["days_of_cover"] == Decimal("10.3") and not tea["breach"]
    assert tea["suggested"] == 0  # 7 × 7 + 5 safety − 72 < 0
    assert (cup["velocity"], cup["available"], cup["days_of_cover"], cup["breach"]) == (Decimal("2.00"), 22,
                                                                                      Decimal("11.0"), False)
    assert cup["suggested"] == 2  # 2 × 7 + 10 safety − 22
    assert (pan["velocity"], pan["days_of_cover"], pan["breach"], pan["suggested"]) == (Decimal("0.00"), None,
                                                                                       True, 2)
    assert list(found) == [PAN, TEA, CUP]  # breaches first, then the shortest cover


def test_units_owed_to_waiting_orders_count_until_the_order_is_reserved(system):
    warehouse_with_catalogue(system.app, {(PAN, "B-02-01"): 2})
    [waiting] = system.app.orders.import_orders([priced_order("3500000000000000001", (PAN, 5, "129.00"),
                                                       ordered_at=ELEVEN_ELEVEN)], warehouse="WH1")
    owed = plan(system, window_days=7)[PAN]

    system.app.inventory.receive("WH1", PAN, 10, "alice")
    system.app.inventory.put_away("WH1", PAN, "B-02-01", 10, "alice")
    system.app.orders.reserve_order(waiting["order_id"], "WH1", "sup")
    settled = plan(system, window_days=7)[PAN]

    assert (owed["owed"], owed["available"], owed["breach"]) == (3, 2, True)
    assert owed["suggested"] == 13  # 5/7 a day × 14 days = 10, + 2 safety + 3 owed − 2 available
    assert (settled["owed"], settled["available"]) == (0, 7)


def test_bad_windows_days_and_unknown_skus_are_refused_by_name(system):
    warehouse_with_catalogue(system.app)
    system.catch_up()

    with pytest.raises(InvalidFilter, match="window days"):
        replenishment(system.engine, window_days=0)
    with pytest.raises(InvalidFilter, match="lead time"):
        replenishment(system.engine, lead_time_days="soon")
    with pytest.raises(InvalidDate):
        replenishment(system.engine, as_of="2026-11-31")
    with pytest.raises(UnknownSku):
        replenishment(system.engine, sku="NOPE-1")


def test_a_cancelled_order_and_a_line_refunded_before_shipping_are_no_demand(system):
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 100, (CUP, "A-01-02"): 30})
    orders = [system.app.orders.import_orders([priced_order(f"37{n:017d}", (TEA, 7, "45.00"), (CUP, 2, "12.00"),
                                                            ordered_at=ELEVEN_ELEVEN)], warehouse="WH1")[0]
              for n in range(3)]
    before = plan(system, window_days=4)

    system.app.orders.cancel_order(orders[0]["order_id"], "buyer cancelled", "cs")
    system.app.orders.refund_order(orders[1]["order_id"], "cs", "changed mind", line_nos=[2])
    after = plan(system, window_days=4)

    assert (before[TEA]["units_sold"], before[CUP]["units_sold"]) == (21, 6)
    assert (after[TEA]["units_sold"], after[CUP]["units_sold"]) == (14, 2)
    assert after[TEA]["velocity"] == Decimal("3.50")


def test_a_kit_is_demand_for_its_components_once_its_platform_sku_is_mapped(system):
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 100, (CUP, "A-01-02"): 30})
    new = priced_order("3800000000000000001", ("BOX-TEA", 3, "99.00"), ordered_at=ELEVEN_ELEVEN)
    [waiting] = system.app.orders.import_orders([new], warehouse="WH1")
    unmapped = plan(system, window_days=4)

    system.app.channels.map_platform_sku("taobao", "flagship", "p-BOX-TEA", {TEA: 1, CUP: 2}, "cs",
                                         waiting=[waiting["order_id"]], warehouse="WH1")
    mapped = plan(system, window_days=4)

    assert (unmapped[TEA]["units_sold"], unmapped[CUP]["units_sold"]) == (0, 0)
    assert (mapped[TEA]["units_sold"], mapped[CUP]["units_sold"]) == (3, 6)
