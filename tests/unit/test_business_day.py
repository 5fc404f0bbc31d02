"""The business day is a setting: reports book each instant on the calendar day of the business's zone, or of the
shop's own zone when it has one."""

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from cangku.settings import ConfigurationError, Settings
from projections import crm, finance, orders_board, replenishment
from projections.backoffice import business_calendar, business_day
from tests.builders import TEA, order, warehouse_with_catalogue

LATE_EVENING_UTC = datetime(2026, 11, 10, 23, 30, tzinfo=timezone.utc)  # 07:30 on the 11th in Shanghai


@pytest.fixture(autouse=True)
def default_calendar():
    yield
    business_calendar.configure("Asia/Shanghai")


def placed_late(system, number: str, channel: str, shop: str):
    new = replace(order(number, (TEA, 1), channel=channel, shop=shop), ordered_at=LATE_EVENING_UTC)
    [placed] = system.app.orders.import_orders([new])
    return placed["order_id"]


def test_an_order_at_2330_utc_lands_on_each_shops_own_local_day(make_system):
    system = make_system(shop_timezones="taobao:flagship=Asia/Shanghai,jd:us-store=America/Los_Angeles")
    warehouse_with_catalogue(system.app)
    shanghai = placed_late(system, "T1", "taobao", "flagship")
    los_angeles = placed_late(system, "J1", "jd", "us-store")

    system.catch_up()

    engine = system.engine
    assert finance.order_finance(engine, shanghai)["ordered_on"] == "2026-11-11"
    assert finance.order_finance(engine, los_angeles)["ordered_on"] == "2026-11-10"
    assert [(d["day"], d["orders"]) for d in finance.daily_finance(engine)] == [("2026-11-10", 1), ("2026-11-11", 1)]
    assert orders_board.order_counts(engine, since="2026-11-11", until="2026-11-11")["by_channel"] == [
        {"channel": "taobao", "orders": 1}]
    assert [c["last_order_on"] for c in crm.customers(engine, channel="jd")] == ["2026-11-10"]
    [tea] = replenishment.replenishment(engine, as_of="2026-11-10", window_days=1, sku=TEA)
    assert tea["units_sold"] == 1


def test_the_business_zone_setting_moves_the_day_of_every_shop_without_its_own(make_system):
    system = make_system(business_timezone="Europe/London")
    warehouse_with_catalogue(system.app)
    placed = placed_late(system, "T1", "taobao", "flagship")

    system.catch_up()

    assert finance.order_finance(system.engine, placed)["ordered_on"] == "2026-11-10"
    assert business_day(LATE_EVENING_UTC) == "2026-11-10"


def test_by_default_the_business_day_is_china_time():
    assert business_day(LATE_EVENING_UTC) == "2026-11-11"
    assert business_day(LATE_EVENING_UTC, "jd", "us-store") == "2026-11-11"


@pytest.mark.parametrize("setting", [{"CANGKU_BUSINESS_TIMEZONE": "China/Beijing"},
                                     {"CANGKU_SHOP_TIMEZONES": "taobao:flagship=UTC+8"},
                                     {"CANGKU_SHOP_TIMEZONES": "flagship=Asia/Shanghai"}])
def test_a_zone_that_is_not_one_is_refused_by_name(setting):
    with pytest.raises(ConfigurationError, match="TIMEZONE"):
        Settings.from_env({"CANGKU_DATABASE_URL": "memory:", **setting})
