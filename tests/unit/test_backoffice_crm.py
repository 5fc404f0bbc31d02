"""Customers per platform buyer: orders, spend, returns, RFM, repeat rate, brushing and abusive-return flags."""

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from projections.backoffice import InvalidDate, InvalidFilter, UnknownCustomer
from projections.crm import customer, customers, metadata, repeat_rate
from tests.builders import CUP, TEA, warehouse_with_catalogue
from tests.unit.test_backoffice_finance import ELEVEN_ELEVEN, busy_day, priced_order, ship


def ref(channel: str, shop: str, nickname: str) -> str:
    return hashlib.sha256(f"{channel}:{shop}:{nickname}".encode()).hexdigest()[:16]


WANG, LI, ZHAO = ref("taobao", "flagship", "buyer_wang"), ref("taobao", "flagship", "buyer_li"), ref("jd", "jd-store",
                                                                                                      "jd_zhao")


@pytest.fixture
def system(make_system):
    return make_system("memory:")


@pytest.fixture
def busy(system):
    busy_day(system)
    system.catch_up()
    return system


def test_customers_are_kept_per_buyer_reference_with_orders_spend_and_returns(busy):
    found = {c["buyer_ref"]: c for c in customers(busy.engine, as_of="2026-11-20")}

    assert set(found) == {WANG, LI, ZHAO}
    li = found[LI]
    # T105 (12.00) was cancelled before shipping: it is no purchase.
    assert (li["orders"], li["spend"], li["refunds"], li["net_spend"]) == (2, Decimal("1419.00"), Decimal("129.00"),
                                                                         Decimal("1290.00"))
    assert (li["shipped_orders"], li["returned_orders"], li["returned_units"], li["cancelled_orders"]) == (1, 1, 1, 1)
    assert (found[WANG]["orders"], found[WANG]["spend"], found[WANG]["refunds"]) == (3, Decimal("215.00"),
                                                                                     Decimal("24.00"))
    assert (found[ZHAO]["channel"], found[ZHAO]["last_order_on"]) == ("jd", "2026-11-11")


def test_no_buyer_name_phone_address_or_nickname_reaches_the_crm_tables(busy):
    with busy.engine.connect() as conn:
        stored = repr([list(conn.execute(select(table))) for table in metadata.sorted_tables])

    for personal in ("王小明", "13812345678", "文三路", "buyer_wang", "jd_zhao"):
        assert personal not in stored


def test_rfm_segment_follows_recency_frequency_and_spend(busy):
    soon = {c["buyer_ref"]: (c["rfm"], c["segment"]) for c in customers(busy.engine, as_of="2026-11-20")}
    later = {c["buyer_ref"]: c["segment"] for c in customers(busy.engine, as_of="2027-06-01")}

    # Li's cancelled order does not count towards frequency: two orders, not three.
    assert soon == {LI: ("524", "promising"), WANG: ("531", "loyal"), ZHAO: ("511", "new")}
    assert later == {LI: "lost", WANG: "at_risk", ZHAO: "lost"}
    assert [c["buyer_ref"] for c in customers(busy.engine, segment="new", as_of="2026-11-20")] == [ZHAO]


def test_repeat_rate_is_the_share_of_customers_with_two_orders_or_more(busy):
    assert repeat_rate(busy.engine) == {"customers": 3, "repeat_customers": 2, "repeat_rate": Decimal("0.6667")}
    assert repeat_rate(busy.engine, channel="jd")["repeat_rate"] == Decimal("0")


def test_five_orders_by_one_buyer_in_a_day_are_flagged_as_brushing_with_the_rule(system):
    warehouse_with_catalogue(system.app)
    for n in range(4):
        system.app.orders.import_orders([priced_order(f"39{n:017d}", (CUP, 1, "12.00"), buyer="shua_dan",
                                               ordered_at=ELEVEN_ELEVEN + timedelta(minutes=n))])
    system.catch_up()
    assert customer(system.engine, ref("taobao", "flagship", "shua_dan"))["flags"] == []

    system.app.orders.import_orders([priced_order("3900000000000000009", (CUP, 1, "12.00"), buyer="shua_dan")])
    system.catch_up()

    [flag] = customer(system.engine, ref("taobao", "flagship", "shua_dan"))["flags"]
    assert (flag["kind"], flag["rule"], flag["detail"]) == ("brushing", "same_day_orders", "5 orders on 2026-11-11")
    assert [c["buyer_ref"] for c in customers(system.engine, flagged="brushing")] == [
        ref("taobao", "flagship", "shua_dan")]


def test_orders_paid_and_refunded_before_shipping_three_times_are_flagged_as_brushing(system):
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 9})
    for n in range(3):
        [placed] = system.app.orders.import_orders([priced_order(f"38{n:017d}", (CUP, 1, "12.00"), buyer="fan_dan",
                                                          ordered_at=ELEVEN_ELEVEN + timedelta(days=n))],
                                            warehouse="WH1")
        system.app.orders.refund_order(placed["order_id"], "cs", "buyer asked")
    system.catch_up()

    [flag] = customer(system.engine, ref("taobao", "flagship", "fan_dan"))["flags"]

    assert (flag["rule"], flag["detail"]) == ("refunds_before_shipping", "3 orders paid and refunded before shipping")


def test_a_buyer_who_returns_most_shipped_orders_is_flagged_for_abusive_returns(system):
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 9})
    buyer = ref("taobao", "flagship", "tui_huo")
    for n in range(3):
        [placed] = app.orders.import_orders([priced_order(f"37{n:017d}", (TEA, 1, "45.00"), buyer="tui_huo")],
                                     warehouse="WH1")
        ship(app, placed["order_id"], f"W{n}")
        app.fulfilment.receive_return(placed["order_id"], TEA, 1, True, "rita")
        system.catch_up()
        if n == 1:
            assert customer(system.engine, buyer)["flags"] == []

    [flag] = customer(system.engine, buyer)["flags"]

    assert (flag["kind"], flag["rule"]) == ("abusive_returns", "returns_after_shipping")
    assert flag["detail"] == "3 of 3 shipped orders returned or refunded after shipping"


def test_unknown_customers_and_bad_filters_are_refused_by_name(busy):
    with pytest.raises(UnknownCustomer):
        customer(busy.engine, "0000000000000000")
    with pytest.raises(InvalidFilter, match="segment"):
        customers(busy.engine, segment="whales")
    with pytest.raises(InvalidFilter, match="flag kind"):
        customers(busy.engine, flagged="fraud")
    with pytest.raises(InvalidDate):
        customers(busy.engine, as_of="11/11/2026")


def test_an_order_refunded_whole_before_shipping_leaves_the_customer_s_orders_and_spend(system):
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10})
    system.app.orders.import_orders([priced_order("T400", (TEA, 1, "45.00"), buyer="buyer_sun")], warehouse="WH1")
    [gone] = system.app.orders.import_orders([priced_order("T401", (TEA, 2, "45.00"), buyer="buyer_sun",
                                                           postage="8.00")], warehouse="WH1")
    system.catch_up()

    system.app.orders.refund_order(gone["order_id"], "cs", "out of stock")
    system.catch_up()

    sun = customer(system.engine, ref("taobao", "flagship", "buyer_sun"), as_of="2026-11-20")
    assert (sun["orders"], sun["spend"], sun["refunds"], sun["net_spend"]) == (1, Decimal("45.00"), 0,
                                                                             Decimal("45.00"))
    assert sun["refunded_orders"] == 1
