"""Each courier client against its simulator over real HTTP on 127.0.0.1: waybills in the courier's real
number format, routes that advance with the clock, signatures refused, outages, cancellations."""

import json
import re
from decimal import Decimal

import httpx
import pytest

from adapters.couriers import (
    Address,
    CourierAuthError,
    CourierRejected,
    CourierUnavailable,
    InvalidWaybillRequest,
    Party,
    RouteStatus,
    WaybillRequest,
)
from adapters.couriers.cainiao import CainiaoClient
from adapters.couriers.kuaidi100 import Kuaidi100Client
from adapters.couriers.sf import SFExpressClient
from adapters.couriers.simulators import Fate, ManualClock, SFSimulator, run_all
from adapters.couriers.yto import YTOClient
from adapters.couriers.zto import ZTOClient

COURIERS = ["SF", "ZTO", "YTO", "CAINIAO"]
NUMBER_FORMATS = {
    "SF": r"^SF\d{13}$",
    "ZTO": r"^7[358]\d{12}$",
    "YTO": r"^YT\d{13}$",
    "CAINIAO": r"^YT\d{13}$",  # Cainiao issues the number of the courier named by cp_code (YTO here)
}
SENDER = Party("杭州仓", "0571-88886666", Address("浙江省", "杭州市", "余杭区", "文一西路 998 号 5 号楼"))
RECEIVER = Party("李雷", "13912345678", Address("广东省", "深圳市", "南山区", "科技园科苑路 15 号"))
DELIVERED_JOURNEY = [RouteStatus.COLLECTED, RouteStatus.IN_TRANSIT, RouteStatus.IN_TRANSIT,
                     RouteStatus.DELIVERING, RouteStatus.DELIVERED]


def parcel(order_no="CK20261102001", **overrides):
    fields = dict(order_no=order_no, sender=SENDER, receiver=RECEIVER, weight_grams=1250, volume_cm3=6000,
                  cod_amount=Decimal("0"), item_summary="纯棉T恤 x2")
    fields.update(overrides)
    return WaybillRequest(**fields)


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=3.0) as shared:
        yield shared


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def sims(clock):
    with run_all(clock=clock, seed=7) as started:
        yield started


@pytest.fixture
def clients(sims, http):
    return sims.clients(http=http)


def simulator_of(sims, code):
    return {"SF": sims.sf, "ZTO": sims.zto, "YTO": sims.yto, "CAINIAO": sims.cainiao,
            "KUAIDI100": sims.kuaidi100}[code]


def wrong_secret_client(sims, code, http):
    return {
        "SF": lambda: SFExpressClient(sims.sf.url, sims.sf.partner_id, "not-the-checkword", http=http),
        "ZTO": lambda: ZTOClient(sims.zto.url, sims.zto.app_key, "not-the-secret", account_id="test",
                                 account_password="ZTO123", http=http),
        "YTO": lambda: YTOClient(sims.yto.url, sims.yto.app_id, sims.yto.customer_code, "not-the-secret",
                                 http=http),
        "CAINIAO": lambda: CainiaoClient(sims.cainiao.url, sims.cainiao.app_key, "not-the-secret",
                                         sims.cainiao.session, cp_code="YTO", tracker=sims.tracker(http=http),
                                         http=http),
    }[code]()


@pytest.mark.parametrize("code", COURIERS)
def test_waybill_has_the_real_number_format_and_its_route_advances_to_delivered(clients, clock, code):
    client = clients[code]

    waybill = client.create_waybill(parcel())
    before_pickup = client.routes([waybill.tracking_no])
    clock.advance(hours=9)
    on_the_way = client.routes([waybill.tracking_no])
    clock.advance(days=2)
    journey = client.routes([waybill.tracking_no])

    assert re.match(NUMBER_FORMATS[code], waybill.tracking_no)
    assert waybill.sort_code and waybill.order_no == "CK20261102001"
    assert before_pickup == []
    assert [e.status for e in on_the_way] == [RouteStatus.COLLECTED, RouteStatus.IN_TRANSIT]
    assert [e.status for e in journey] == DELIVERED_JOURNEY
    assert all(e.time.tzinfo is not None for e in journey)
    assert [e.time for e in journey] == sorted(e.time for e in journey)
    assert {e.tracking_no for e in journey} == {waybill.tracking_no}


@pytest.mark.parametrize("code", COURIERS)
def test_refused_parcel_comes_back_as_returned(sims, clients, clock, code):
    waybill = clients[code].create_waybill(parcel())
    simulator_of(sims, code).set_fate(waybill.tracking_no, Fate.RETURNED)

    clock.advance(days=3)
    journey = clients[code].routes([waybill.tracking_no])

    assert [e.status for e in journey][-2:] == [RouteStatus.EXCEPTION, RouteStatus.RETURNED]


def test_stuck_parcel_stays_in_transit_however_long_we_wait(sims, clients, clock):
    waybill = clients["ZTO"].create_waybill(parcel())
    sims.zto.set_fate(waybill.tracking_no, Fate.STUCK)

    clock.advance(days=10)
    journey = clients["ZTO"].routes([waybill.tracking_no])

    assert [e.status for e in journey] == [RouteStatus.COLLECTED, RouteStatus.IN_TRANSIT]


def test_several_numbers_are_tracked_in_one_call(clients, clock):
    first = clients["SF"].create_waybill(parcel("CK-A"))
    second = clients["SF"].create_waybill(parcel("CK-B"))

    clock.advance(days=2)
    events = clients["SF"].routes([first.tracking_no, second.tracking_no])

    assert {e.tracking_no for e in events if e.status is RouteStatus.DELIVERED} == {first.tracking_no,
                                                                                     second.tracking_no}


PLATFORM_SIGNATURE_ERRORS = {"SF": "A1006", "ZTO": "S211", "YTO": "S02", "CAINIAO": "25"}


@pytest.mark.parametrize("code", COURIERS)
def test_wrong_signature_is_refused_with_the_platform_error(sims, http, code):
    client = wrong_secret_client(sims, code, http)

    with pytest.raises(CourierAuthError) as refused:
        client.create_waybill(parcel())

    assert refused.value.code == PLATFORM_SIGNATURE_ERRORS[code]
    assert simulator_of(sims, code).outcomes() == ["bad-signature"]
    assert simulator_of(sims, code).parcels == {}
    assert "not-the-" not in str(refused.value) and "not-the-" not in repr(client)


def test_kuaidi100_refuses_a_wrong_signature_with_return_code_503(sims, http):
    tracker = Kuaidi100Client(sims.kuaidi100.url, sims.kuaidi100.customer, "not-the-key", http=http)

    with pytest.raises(CourierAuthError) as refused:
        tracker.routes(["SF1234567890123"])

    assert refused.value.code == "503"
    assert sims.kuaidi100.outcomes() == ["bad-signature"]


PLATFORM_BUSY_ERRORS = {"SF": "A1009", "ZTO": "S203", "YTO": "S99", "CAINIAO": "15/isp.remote-service-timeout"}


@pytest.mark.parametrize("code", COURIERS)
@pytest.mark.parametrize("mode", ["5xx", "busy"])
def test_outage_raises_courier_unavailable(sims, clients, code, mode):
    simulator_of(sims, code).outage(mode)

    with pytest.raises(CourierUnavailable) as down:
        clients[code].create_waybill(parcel())

    assert down.value.retryable
    assert down.value.code == ("503" if mode == "5xx" else PLATFORM_BUSY_ERRORS[code])
    assert simulator_of(sims, code).parcels == {}


def test_service_comes_back_after_an_outage(sims, clients):
    sims.sf.outage("5xx")
    with pytest.raises(CourierUnavailable):
        clients["SF"].create_waybill(parcel())

    sims.sf.restore()
    waybill = clients["SF"].create_waybill(parcel())

    assert waybill.tracking_no in sims.sf.parcels


def test_tracker_outage_makes_cainiao_routes_unavailable(sims, clients):
    waybill = clients["CAINIAO"].create_waybill(parcel())
    sims.kuaidi100.outage("busy")

    with pytest.raises(CourierUnavailable) as down:
        clients["CAINIAO"].routes([waybill.tracking_no])

    assert down.value.code == "502"


def test_platform_that_refuses_connections_is_unavailable(sims, clients):
    sims.zto.stop()

    with pytest.raises(CourierUnavailable):
        clients["ZTO"].create_waybill(parcel())


@pytest.mark.parametrize("code", COURIERS)
def test_cancel_recycles_the_number_and_its_route_stays_empty(sims, clients, clock, code):
    waybill = clients[code].create_waybill(parcel())

    clients[code].cancel_waybill(waybill.tracking_no, waybill.order_no)
    clock.advance(days=3)

    sim = simulator_of(sims, code)
    assert sim.recycled == [waybill.tracking_no]
    assert "cancelled" in sim.outcomes()
    assert clients[code].routes([waybill.tracking_no]) == []


@pytest.mark.parametrize("code", COURIERS)
def test_parcel_already_collected_cannot_be_cancelled(sims, clients, clock, code):
    waybill = clients[code].create_waybill(parcel())
    clock.advance(hours=5)

    with pytest.raises(CourierRejected):
        clients[code].cancel_waybill(waybill.tracking_no, waybill.order_no)

    assert simulator_of(sims, code).recycled == []


@pytest.mark.parametrize("code", COURIERS)
def test_second_cancel_of_the_same_number_is_rejected(clients, code):
    waybill = clients[code].create_waybill(parcel())
    clients[code].cancel_waybill(waybill.tracking_no, waybill.order_no)

    with pytest.raises(CourierRejected):
        clients[code].cancel_waybill(waybill.tracking_no, waybill.order_no)


@pytest.mark.parametrize("code", COURIERS)
def test_asking_twice_for_the_same_order_returns_the_same_waybill(sims, clients, code):
    first = clients[code].create_waybill(parcel("CK-RETRY-1"))

    second = clients[code].create_waybill(parcel("CK-RETRY-1"))

    assert second.tracking_no == first.tracking_no
    assert list(simulator_of(sims, code).parcels) == [first.tracking_no]


def test_sf_refuses_a_destination_it_cannot_serve(clock, http):
    with SFSimulator(clock=clock, unserviceable_provinces=frozenset({"广东省"})) as sim:
        client = SFExpressClient(sim.url, sim.partner_id, sim.checkword, http=http)
        with pytest.raises(CourierRejected) as refused:
            client.create_waybill(parcel())

    assert refused.value.code == "filterResult=3"


def test_cod_amount_reaches_each_platform_in_its_own_field(sims, clients):
    cod = parcel(cod_amount=Decimal("199.90"))

    for code in ("SF", "ZTO", "YTO", "CAINIAO"):
        clients[code].create_waybill(cod)

    sf_msg = json.loads(sims.sf.received[-1].fields["msgData"])
    zto_body = sims.zto.received[-1].fields["body"]
    yto_param = json.loads(sims.yto.received[-1].fields["param"])
    cainiao_req = json.loads(sims.cainiao.received[-1].fields["param_waybill_cloud_print_apply_new_request"])
    assert sf_msg["serviceList"][0] == {"name": "COD", "value": "199.90", "value1": "7551234567"}
    assert zto_body["orderVasList"] == [{"vasType": "COD", "vasAmount": 19990}]
    assert yto_param["increments"] == [{"type": 1, "amount": 199.9}]
    assert json.loads(cainiao_req["trade_order_info_dtos"][0]["logistics_services"]) == {
        "SVC-COD": {"value": "199.90"}}


def test_kuaidi100_tracks_numbers_of_any_courier_by_their_format(sims, clients, clock, http):
    sf = clients["SF"].create_waybill(parcel("CK-K1"))
    zto = clients["ZTO"].create_waybill(parcel("CK-K2"))
    clock.advance(days=2)

    events = sims.tracker(http=http).routes([sf.tracking_no, zto.tracking_no])

    delivered = {e.tracking_no for e in events if e.status is RouteStatus.DELIVERED}
    assert delivered == {sf.tracking_no, zto.tracking_no}


def test_bad_waybill_request_is_refused_before_anything_is_sent(sims):
    with pytest.raises(InvalidWaybillRequest):
        parcel(weight_grams=0)

    assert all(sim.received == [] for sim in sims.all())


def test_receiver_personal_data_stays_out_of_reprs(clients):
    request = parcel()

    text = repr(request) + repr(clients["SF"])

    assert "13912345678" not in text and "李雷" not in text and "科苑路" not in text
