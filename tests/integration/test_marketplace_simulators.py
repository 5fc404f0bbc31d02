"""Each marketplace client against its local simulator, over real HTTP on 127.0.0.1."""

from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from adapters.marketplaces import (
    OrderStatus,
    PlatformAuthError,
    PlatformInvalidParameter,
    PlatformMalformedResponse,
    PlatformRateLimited,
    PlatformServerError,
    RefundStatus,
    ShopCredentials,
)
from adapters.marketplaces.base import CHINA
from adapters.marketplaces.simulators import SIMULATORS, run_all
from adapters.marketplaces.simulators.cli import simulate
from tests.marketplaces import client_of, credentials_of

NOW = datetime(2026, 11, 1, 14, 0, 0, tzinfo=CHINA)
SIX_HOURS_AGO = NOW - timedelta(hours=6)
SIGNATURE_ERROR_CODES = {"taobao": "25", "jd": "12", "pinduoduo": "20004", "douyin": "40003", "kuaishou": "50"}
SF_ON_PLATFORM = {"taobao": "SF", "jd": "467", "pinduoduo": "44", "douyin": "shunfeng", "kuaishou": "4"}
PAGE_NUMBERED = [name for name in SIMULATORS if name != "kuaishou"]  # Kuaishou pages by cursor


def started(channel: str, orders: int = 300):
    sim = SIMULATORS[channel](clock=lambda: NOW, timeout_delay=0.5)
    sim.seed(orders, SIX_HOURS_AGO, NOW)
    return sim.start()


@pytest.fixture(params=list(SIMULATORS), ids=list(SIMULATORS))
def sim(request):
    simulator = started(request.param)
    yield simulator
    simulator.stop()


def test_a_few_hundred_orders_arrive_once_each_across_pages_and_an_overlapping_window(sim):
    client = client_of(sim, page_size=40)

    earlier = list(client.orders_changed(SIX_HOURS_AGO, NOW - timedelta(hours=2)))
    later = list(client.orders_changed(NOW - timedelta(hours=3), NOW))

    for pulled in (earlier, later):
        assert len(pulled) == len({order.order_no for order in pulled})
    merged = {order.order_no: order for order in earlier + later}
    assert set(merged) == set(sim.orders)
    assert len(earlier) + len(later) > len(merged)  # the overlapping hour came twice and was absorbed
    assert sim.list_pages_served >= 8
    for order_no, order in merged.items():
        kept = sim.orders[order_no]
        assert (order.amount_paid, order.status, order.receiver.province, len(order.lines)) == (
            kept.amount_paid, kept.status, kept.province, len(kept.lines))
        assert order.modified_at == kept.modified and order.created_at.tzinfo is not None


def test_an_order_added_and_an_order_refunded_while_paging_are_not_missed(sim):
    oldest = min(sim.orders.values(), key=lambda o: o.modified).order_no
    added = []

    def meanwhile(simulator):
        added.append(simulator.add_order().order_no)
        simulator.change_order(oldest, status=OrderStatus.REFUND_REQUESTED)

    sim.after_list_pages(2, meanwhile)
    client = client_of(sim, page_size=40)

    pulled = {order.order_no: order for order in client.orders_changed(SIX_HOURS_AGO, NOW)}

    assert len(added) == 1
    assert set(pulled) == set(sim.orders)
    assert pulled[oldest].status is OrderStatus.REFUND_REQUESTED


@pytest.mark.parametrize("channel", PAGE_NUMBERED)
def test_a_second_crowded_beyond_one_page_is_read_whole_even_as_orders_arrive(channel):
    crowded = NOW - timedelta(minutes=1)
    sim = started(channel, orders=0)
    sim.seed(90, crowded, crowded)
    sim.after_list_pages(1, lambda simulator: simulator.add_order(modified=crowded))
    client = client_of(sim, page_size=40)

    pulled = list(client.orders_changed(crowded - timedelta(seconds=30), crowded + timedelta(seconds=30)))

    sim.stop()
    assert len(sim.orders) == 91
    assert {order.order_no for order in pulled} == set(sim.orders)


def test_a_wrong_secret_is_refused_with_the_platform_error_and_the_right_one_is_accepted(sim):
    wrong = credentials_of(sim, app_secret="not-the-secret", sign_secret="not-it-either")
    some_order = next(iter(sim.orders))

    with pytest.raises(PlatformAuthError) as refused:
        client_of(sim, credentials=wrong).order_detail(some_order)

    assert refused.value.code == SIGNATURE_ERROR_CODES[sim.channel]
    assert sim.calls == []
    assert client_of(sim).order_detail(some_order).order_no == some_order
    assert len(sim.calls) == 1


def test_a_wrong_access_token_is_an_auth_error(sim):
    expired = credentials_of(sim, access_token="expired-token")

    with pytest.raises(PlatformAuthError):
        client_of(sim, credentials=expired).order_detail(next(iter(sim.orders)))


def test_5xx_and_malformed_bodies_become_named_errors_and_the_next_call_succeeds(sim):
    client = client_of(sim)
    some_order = next(iter(sim.orders))

    sim.fail_next("server_error")
    with pytest.raises(PlatformServerError):
        client.order_detail(some_order)
    sim.fail_next("malformed")
    with pytest.raises(PlatformMalformedResponse):
        client.order_detail(some_order)

    assert client.order_detail(some_order).order_no == some_order


def test_a_rate_limit_answer_is_waited_out_as_long_as_it_asks_then_the_call_goes_through(sim):
    waits = []
    client = client_of(sim, sleep=waits.append)
    some_order = next(iter(sim.orders))
    sim.fail_next("rate_limit", retry_after=2)

    detail = client.order_detail(some_order)

    assert detail.order_no == some_order
    # only TOP's answer names the ban's length; the others limit per second, so the next second will do
    assert waits == ([2.0] if sim.channel == "taobao" else [1.0])


def test_a_platform_that_keeps_throttling_is_a_named_error_after_a_bounded_number_of_waits(sim):
    waits = []
    client = client_of(sim, sleep=waits.append)
    sim.fail_next("rate_limit", times=10)

    with pytest.raises(PlatformRateLimited):
        client.order_detail(next(iter(sim.orders)))

    assert len(waits) == client.rate_limit_retries
    assert sim.calls == []


def test_a_ban_longer_than_the_client_will_wait_is_raised_at_once_with_its_length():
    sim = started("taobao", orders=3)
    waits = []
    client = client_of(sim, sleep=waits.append)
    sim.fail_next("rate_limit", retry_after=600)

    with pytest.raises(PlatformRateLimited) as throttled:
        client.order_detail(next(iter(sim.orders)))

    sim.stop()
    assert throttled.value.retry_after == 600.0
    assert waits == []


def test_a_platform_that_does_not_answer_in_time_is_a_server_error(sim):
    client = client_of(sim, timeout=0.2)
    sim.fail_next("timeout")

    with pytest.raises(PlatformServerError, match="timed out"):
        list(client.orders_changed(NOW - timedelta(minutes=10), NOW))


def test_shipment_confirmations_and_stock_updates_reach_the_platform(sim):
    client = client_of(sim)
    order = client.order_detail(next(iter(sim.orders)))
    line = order.lines[0]

    client.confirm_shipment(order.order_no, "SF", "SF1234567890")
    client.update_stock(line.platform_sku_id, 12, item_id=line.platform_item_id)

    assert [(s["order_no"], s["courier"], s["tracking_no"]) for s in sim.shipments] == [
        (order.order_no, SF_ON_PLATFORM[sim.channel], "SF1234567890")]
    assert sim.stock_updates[-1]["sku_id"] == line.platform_sku_id
    assert sim.stock[line.platform_sku_id] == 12
    assert client.order_detail(order.order_no).status is OrderStatus.SHIPPED


def test_refund_requests_made_over_time_are_pulled_as_refunds_and_as_order_changes(sim):
    at = NOW + timedelta(minutes=10)
    requested = sim.evolve(5, at=at)
    client = client_of(sim, page_size=40)

    refunds = list(client.refunds_changed(NOW, NOW + timedelta(hours=1)))
    changed = list(client.orders_changed(NOW, NOW + timedelta(hours=1)))

    assert sorted(r.order_no for r in refunds) == sorted(requested)
    assert {r.status for r in refunds} == {RefundStatus.REQUESTED}
    assert all(r.amount == sim.orders[r.order_no].amount_paid for r in refunds)
    assert {o.order_no: o.status for o in changed} == {n: OrderStatus.REFUND_REQUESTED for n in requested}


def test_seeding_the_same_way_gives_the_same_orders():
    first, second = SIMULATORS["jd"](), SIMULATORS["jd"]()

    first.seed(25, SIX_HOURS_AGO, NOW, seed=3)
    second.seed(25, SIX_HOURS_AGO, NOW, seed=3)

    assert list(first.orders) == list(second.orders)
    assert [o.amount_paid for o in first.orders.values()] == [o.amount_paid for o in second.orders.values()]


def test_run_all_starts_every_marketplace_with_its_demo_orders_and_credentials():
    with run_all(20, since=SIX_HOURS_AGO) as running:
        urls = running.urls
        pulled = {}
        for channel, sim in running.simulators.items():
            client = client_of(sim)
            pulled[channel] = len(list(client.orders_changed(SIX_HOURS_AGO, NOW)))

    assert pulled == {channel: 20 for channel in SIMULATORS}
    assert len(set(urls.values())) == 5


def test_the_simulate_command_describes_itself():
    result = CliRunner().invoke(simulate, ["--help"])

    assert result.exit_code == 0
    assert "Kuaishou simulators until Ctrl-C" in result.output
    assert "--orders" in result.output


def test_an_uploaded_data_set_is_served_as_given():
    sim = SIMULATORS["pinduoduo"](clock=lambda: NOW)
    sim.load_orders([{
        "order_no": "261101-100000000000001",
        "modified": "2026-11-01T13:30:00+08:00",
        "receiver_name": "林小姐",
        "lines": [{"item_id": "600202", "sku_id": "4200201", "outer_sku": "CUP-GL-350", "title": "双层玻璃杯 350ml",
                   "quantity": 4, "unit_price": "39.90"}],
        "postage": "8.00",
        "discount": "0.00",
    }])

    with sim:
        pulled = list(client_of(sim).orders_changed(NOW - timedelta(hours=1), NOW))

    assert [(o.order_no, o.lines[0].outer_sku_code, o.lines[0].quantity, str(o.amount_paid)) for o in pulled] == [
        ("261101-100000000000001", "CUP-GL-350", 4, "167.60")]


def test_the_simulate_command_refuses_an_orders_file_that_is_not_json(tmp_path):
    broken = tmp_path / "orders.json"
    broken.write_text("{taobao: [", encoding="utf-8")

    result = CliRunner().invoke(simulate, ["--orders-file", str(broken)])

    assert result.exit_code == 2
    assert "not JSON" in result.output


def test_kuaishou_signs_with_the_separate_sign_secret_and_never_falls_back_to_the_app_secret():
    sim = SIMULATORS["kuaishou"](clock=lambda: NOW, sign_secret="separate-sign-secret")
    sim.seed(3, SIX_HOURS_AGO, NOW)
    signed_with_app_secret = credentials_of(sim, sign_secret=sim.credentials.app_secret)

    with sim:
        pulled = list(client_of(sim).orders_changed(SIX_HOURS_AGO, NOW))
        with pytest.raises(PlatformAuthError) as refused:
            list(client_of(sim, credentials=signed_with_app_secret).orders_changed(SIX_HOURS_AGO, NOW))
        with pytest.raises(PlatformInvalidParameter, match="signSecret"):
            client_of(sim, credentials=credentials_of(sim, sign_secret=""))

    assert len(pulled) == 3
    assert refused.value.code == "50"


def test_a_window_longer_than_the_platform_allows_is_refused_there_and_split_by_the_client():
    sim = started("pinduoduo", orders=40)
    client = client_of(sim)

    with pytest.raises(PlatformInvalidParameter, match="30"):
        client.call("pdd.order.number.list.increment.get", "order_sn_increment_get_response",
                    start_updated_at=int(SIX_HOURS_AGO.timestamp()), end_updated_at=int(NOW.timestamp()),
                    page=1, page_size=100)
    pulled = list(client.orders_changed(SIX_HOURS_AGO, NOW))

    sim.stop()
    assert len(pulled) == 40
    assert sim.calls.count("pdd.order.number.list.increment.get") >= 12  # six hours in half-hour windows


@pytest.mark.parametrize("kind", ["return_refund", "exchange", "reship"])
def test_after_sales_of_a_shipped_order_arrive_with_their_kind_line_return_waybill_and_refund_time(sim, kind):
    if (sim.channel, kind) in (("jd", "exchange"), ("jd", "reship"), ("taobao", "reship")):
        pytest.skip(f"{sim.channel} serves no {kind} requests")
    order = next(o for o in sim.orders.values() if o.lines[0].quantity >= 1)
    sim.change_order(order.order_no, status="shipped", at=NOW + timedelta(minutes=1))
    sim.after_sale(order.order_no, kind, at=NOW + timedelta(minutes=2))
    final = {"return_refund": "refunded", "exchange": "returning", "reship": "agreed"}[kind]
    if kind != "reship":
        sim.move_refund(order.order_no, "returning", at=NOW + timedelta(minutes=5), return_tracking="SF7000000001")
    sim.move_refund(order.order_no, final, at=NOW + timedelta(minutes=30))
    client = client_of(sim, page_size=40)

    [refund] = [r for r in client.refunds_changed(NOW, NOW + timedelta(hours=1)) if r.order_no == order.order_no]

    expected_kind = "refund_only" if sim.channel == "jd" else kind
    assert (refund.kind, refund.status) == (expected_kind, RefundStatus(final))
    if final == "refunded":
        assert refund.refunded_at == NOW + timedelta(minutes=30)
        assert refund.amount == order.refund.amount and 0 < refund.amount <= order.amount_paid
    else:
        assert refund.refunded_at is None and refund.amount == 0
    if (sim.channel, kind) == ("taobao", "exchange"):
        [line] = refund.lines  # Tmall's exchange names the SKU bought, not its merchant code
        assert (line.platform_sku_id, line.quantity) == (order.lines[0].sku_id, order.lines[0].quantity)
        assert refund.return_tracking_no == "SF7000000001"
    elif sim.channel != "jd":
        [line] = refund.lines
        assert (line.outer_sku_code, line.quantity) == (order.lines[0].outer_sku, order.lines[0].quantity)
        assert refund.return_tracking_no == ("" if kind == "reship" else "SF7000000001")


def test_a_jd_refund_approved_after_the_window_it_was_asked_in_is_still_pulled_as_refunded():
    sim = started("jd", orders=3)
    try:
        order = next(iter(sim.orders.values()))
        sim.change_order(order.order_no, status="shipped", at=NOW - timedelta(days=3))
        sim.after_sale(order.order_no, "refund_only", at=NOW - timedelta(days=2))
        sim.move_refund(order.order_no, "refunded", at=NOW - timedelta(minutes=30))
        client = client_of(sim, page_size=40)

        [refund] = [r for r in client.refunds_changed(NOW - timedelta(hours=1), NOW) if r.order_no == order.order_no]

        assert (refund.status, refund.refunded_at) == (RefundStatus.REFUNDED, NOW - timedelta(minutes=30))
    finally:
        sim.stop()
