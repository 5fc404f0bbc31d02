"""The order desk's view on PostgreSQL (and SQLite): the largest values the desk's commands accept, business days,
search."""

from decimal import Decimal

import pytest

from domain.limits import MAX_NAME, MAX_ORDER_AMOUNT
from projections import order_desk
from tests.builders import TEA, warehouse_with_catalogue
from tests.unit.test_backoffice_finance import priced_order



@pytest.fixture
def system(make_system, postgres_url):
    built = make_system(postgres_url)
    warehouse_with_catalogue(built.app, {(TEA, "A-01-01"): 40})
    return built


@pytest.mark.postgres
def test_the_largest_notes_addresses_and_amounts_pass_through_the_desk_on_postgresql(system):
    app = system.app
    [placed] = app.orders.import_orders([priced_order("9" * 64, (TEA, 1, "45.00"), paid=str(MAX_ORDER_AMOUNT),
                                                      shop="旗" * 64)], warehouse="WH1")
    order_id = placed["order_id"]

    app.orders.add_note(order_id, "备" * MAX_NAME, "主" * 32)
    app.orders.reveal_buyer(order_id, "主" * 32, "查" * MAX_NAME)
    app.orders.correct_address(order_id, "王" * MAX_NAME, "1" * MAX_NAME, "路" * MAX_NAME,
                               {"province": "省" * 64, "city": "市" * 64, "district": "区" * 64}, "主" * 32)
    app.orders.release_order(order_id, "主" * 32)  # review held it for its amount
    app.orders.hold_order(order_id, "因" * MAX_NAME, "主" * 32)
    system.catch_up()

    assert system.runners["order_desk"].status().lag == 0
    keys = system.runners["order_desk"].projection.keys
    [row] = order_desk.order_list(system.engine, order_desk.OrderFilter(search="1" * MAX_NAME), keys)["items"]
    assert row["paid"] == MAX_ORDER_AMOUNT and row["notes"] == 1 and row["status"] == "held"
    events = [e["event"] for e in order_desk.timeline(system.engine, order_id)]
    assert events[-5:] == ["NoteAdded", "BuyerRevealed", "AddressChanged", "Released", "Held"]


@pytest.fixture(params=["sqlite", "postgres"])
def either_system(request, make_system, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    built = make_system(url)
    warehouse_with_catalogue(built.app, {(TEA, "A-01-01"): 40})
    return built


def test_days_are_business_days_in_china_time_on_either_database(either_system):
    from datetime import datetime

    system = either_system

    late = datetime.fromisoformat("2026-11-11T23:30:00+08:00")  # 15:30 UTC, still the 11th in China
    early = datetime.fromisoformat("2026-11-12T00:30:00+08:00")  # 16:30 UTC on the 11th, the 12th in China
    system.app.orders.import_orders([priced_order("LATE", (TEA, 1, "1.00"), ordered_at=late),
                                     priced_order("EARLY", (TEA, 1, "1.00"), ordered_at=early)], warehouse="WH1")
    system.catch_up()
    keys = system.runners["order_desk"].projection.keys

    def numbers(**given) -> list[str]:
        found = order_desk.order_list(system.engine, order_desk.OrderFilter(**given), keys, sort="order")
        return [r["platform_order_no"] for r in found["items"]]

    assert numbers(since="2026-11-11", until="2026-11-11") == ["LATE"]
    assert numbers(since="2026-11-12") == ["EARLY"]
    assert numbers(search="buyer_wang", status="reserved") == ["EARLY", "LATE"]
    shown = order_desk.order_list(system.engine, order_desk.OrderFilter(search="LATE"), keys)["items"][0]
    assert shown["ordered_at"] == late
    assert Decimal(order_desk.order_row(system.engine, order_desk.order_list(
        system.engine, order_desk.OrderFilter(search="LATE"), keys)["items"][0]["order_id"])["paid"]) == Decimal("1")
