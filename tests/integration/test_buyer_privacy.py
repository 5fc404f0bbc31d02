"""Buyer privacy as the platforms do it, per marketplace against its simulator and the courier simulators: the
order keeps the platform's ciphertexts or OAID sealed beside the masked receiver; a Cainiao e-waybill for a Taobao
order is requested with the OAID; a courier that needs the plain contact gets it decrypted by the marketplace, once,
recorded on the order; the label shows the receiver masked."""

import json
import logging
from decimal import Decimal
from uuid import UUID

import pytest

from adapters.couriers.platform_waybills import DouyinWaybillClient, JdWaybillClient, PddWaybillClient
from adapters.couriers.simulators import run_all as run_couriers
from adapters.couriers.simulators.common import ManualClock
from adapters.couriers.base import Address, CourierRejected, CourierUnavailable, Party, WaybillRequest
from adapters.marketplaces import PlatformInvalidParameter
from adapters.marketplaces.simulators.base import SimLine
from adapters.marketplaces.simulators.run import SIMULATORS
from adapters.printing import lay_out
from domain.courier_choice import standard_rules
from domain.order import Order
from domain.shop import shop_id
from domain.printing import Contact
from tests.builders import TEA, TEA_EAN, order, warehouse_with_catalogue
from tests.escpos_decode import decode
from tests.marketplaces import client_of, in_process
from workers.pull import new_order
from workers.shipping import Shipping

KEY = "3q2+7w8QZxK0b5V9mC1cJ1l0xYv4hX2uQ0sN3rT6aE8="
NAME, PHONE, STREET = "王小明", "13812345678", "文三路 90 号东部软件园"
SENDER = Party("杭州仓", "0571-88889999", Address("浙江省", "杭州市", "西湖区", "三墩镇 1 号"))


@pytest.fixture
def couriers():
    sims = run_couriers(clock=ManualClock())
    yield sims
    sims.stop()


def platform_order(channel: str):
    sim = SIMULATORS[channel](shop="main")
    placed = sim.add_order(receiver_name=NAME, receiver_phone=PHONE, province="浙江省", city="杭州市",
                           district="西湖区", detail=STREET,
                           lines=[SimLine("600101", "4200101", TEA, "西湖龙井 250g 罐装", 1, Decimal("168.00"))])
    client = in_process(sim)
    return sim, client, client.order_detail(placed.order_no)


def packed(system, platform, stocked: bool = False):
    """The platform's order imported as it came, picked, packed and weighed: what calls for a waybill."""
    app = system.app
    if not stocked:
        warehouse_with_catalogue(app, {(TEA, "A-01-01"): 10})
    [result] = app.orders.import_orders([new_order(platform)], warehouse="WH1")
    order_id = result["order_id"]
    wave = app.fulfilment.create_wave("WH1", f"W-{platform.order_no}", [order_id], "sup")
    app.fulfilment.pick(wave, 0, "A-01-01", TEA_EAN, 1, "bob")
    app.fulfilment.verify_item(order_id, TEA_EAN, "carl")
    app.fulfilment.close_package(order_id, "carl")
    app.fulfilment.weigh(order_id, 1200, "carl")
    return order_id


def decryptions(app, order_id):
    return [e for e in app.store.events.get(order_id) if isinstance(e, Order.ReceiverDecrypted)]


def label_text(app, order_id) -> str:
    label = app.fulfilment.waybill_label(order_id, Contact("杭州仓", "0571-88889999", "浙江省杭州市"))
    return decode(lay_out(label).data).text


CHANNELS = ["taobao", "jd", "pinduoduo", "douyin", "kuaishou"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_order_keeps_the_platforms_protected_receiver_sealed_and_nothing_is_decrypted_at_import(
        make_system, channel):
    sim, _, platform = platform_order(channel)
    system = make_system("memory:", cipher_key=KEY)

    order_id = packed(system, platform)

    buyer = system.app.orders.order(order_id).buyer
    assert buyer.protected == dict(platform.receiver.protected) and buyer.protected
    assert (buyer.name, buyer.phone) == ("王**", "138****5678")
    stored = b"".join(n.state for n in system.app.store.recorder.select_notifications(1, 1000))
    assert all(cipher.encode() not in stored for cipher in buyer.protected.values())
    assert sim.decrypted == []


def test_a_taobao_order_gets_its_cainiao_e_waybill_with_the_oaid_and_is_never_decrypted(make_system, couriers, caplog):
    sim, client, platform = platform_order("taobao")
    system = make_system("memory:")
    order_id = packed(system, platform)
    shipping = Shipping(system.app, system.engine, {"YTO": couriers.clients(cainiao_cp_code="YTO")["CAINIAO"]},
                        None, standard_rules(), SENDER, {("taobao", "main"): client})

    with caplog.at_level(logging.DEBUG):
        tracking_no = shipping.request_waybill(order_id)

    [sent] = [r for r in couriers.cainiao.received if r.outcome == "created"]
    request = sent.fields["param_waybill_cloud_print_apply_new_request"]
    assert platform.receiver.protected["oaid"] in request and '"order_channels_type":"TB"' in request
    assert NAME not in request and PHONE not in request
    assert tracking_no.startswith("YT") and sim.decrypted == [] and decryptions(system.app, order_id) == []
    text = label_text(system.app, order_id)
    assert "王**" in text and "138****5678" in text and NAME not in text and PHONE not in text
    assert NAME not in caplog.text and PHONE not in caplog.text


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_courier_that_needs_the_plain_contact_gets_it_decrypted_by_the_marketplace_once_and_recorded(
        make_system, couriers, caplog, channel):
    sim, client, platform = platform_order(channel)
    system = make_system("memory:")
    order_id = packed(system, platform)
    shipping = Shipping(system.app, system.engine, {"SF": couriers.clients()["SF"]}, None, standard_rules(), SENDER,
                        {(channel, "main"): client})

    with caplog.at_level(logging.DEBUG):
        tracking_no = shipping.request_waybill(order_id)

    assert tracking_no.startswith("SF")
    assert {d["order_no"] for d in sim.decrypted} == {platform.order_no}
    [recorded] = decryptions(system.app, order_id)
    assert recorded.purpose == "waybill:SF" and recorded.by == "worker:waybill"
    assert recorded.fields == sorted(platform.receiver.protected)
    [sent] = [r for r in couriers.sf.received if r.outcome == "created"]
    assert PHONE in str(sent.fields)
    stored = b"".join(n.state for n in system.app.store.recorder.select_notifications(1, 1000))
    assert PHONE.encode() not in stored and NAME.encode() not in stored
    text = label_text(system.app, order_id)
    assert "王**" in text and "138****5678" in text and NAME not in text and PHONE not in text
    assert NAME not in caplog.text and PHONE not in caplog.text


def test_without_the_shops_client_nothing_is_decrypted_and_no_waybill_is_asked_for(make_system, couriers):
    _, _, platform = platform_order("pinduoduo")
    system = make_system("memory:")
    order_id = packed(system, platform)
    shipping = Shipping(system.app, system.engine, {"SF": couriers.clients()["SF"]}, None, standard_rules(), SENDER,
                        {})

    with pytest.raises(LookupError):
        shipping.request_waybill(order_id)

    assert couriers.sf.received == [] and system.app.fulfilment.package(order_id).tracking_no == ""


@pytest.mark.parametrize("courier", ["SF", "ZTO", "YTO", "CAINIAO"])
def test_each_courier_simulator_refuses_a_masked_receiver_sent_as_if_it_were_plain(couriers, courier):
    masked = WaybillRequest("613579010191582008", SENDER,
                            Party("王**", "138****5678", Address("浙江省", "杭州市", "西湖区", "文三路****")), 1200)

    with pytest.raises(CourierRejected):
        couriers.clients()[courier].create_waybill(masked)

    assert couriers.all()[["SF", "ZTO", "YTO", "CAINIAO"].index(courier)].parcels == {}


def test_the_marketplace_refuses_to_decrypt_an_order_it_no_longer_ships(make_system, couriers):
    sim, client, platform = platform_order("douyin")
    system = make_system("memory:")
    order_id = packed(system, platform)
    sim.change_order(platform.order_no, status="cancelled")
    shipping = Shipping(system.app, system.engine, {"SF": couriers.clients()["SF"]}, None, standard_rules(), SENDER,
                        {("douyin", "main"): client})

    with pytest.raises(PlatformInvalidParameter):
        shipping.request_waybill(order_id)

    assert sim.decrypted == [] and decryptions(system.app, order_id) == []


@pytest.mark.parametrize("channel, waybills", [("pinduoduo", PddWaybillClient), ("douyin", DouyinWaybillClient)])
def test_an_order_gets_its_platforms_e_waybill_with_the_orders_ciphertexts_and_is_never_decrypted(
        make_system, couriers, caplog, channel, waybills):
    sim, client, platform = platform_order(channel)
    system = make_system("memory:")
    order_id = packed(system, platform)
    shipping = Shipping(system.app, system.engine, {"YTO": waybills(client, wp_code="YTO", tracker=couriers.tracker())},
                        None, standard_rules(), SENDER, {(channel, "main"): client})

    with caplog.at_level(logging.DEBUG):
        tracking_no = shipping.request_waybill(order_id)

    recipient = json.dumps(sim.waybills[tracking_no]["recipient"], ensure_ascii=False)
    assert all(cipher in recipient for cipher in platform.receiver.protected.values())
    assert NAME not in recipient and PHONE not in recipient and "*" not in recipient
    assert sim.decrypted == [] and decryptions(system.app, order_id) == []
    package = system.app.fulfilment.package(order_id)
    assert package.sort_code and package.package_centre == "杭州市集包"
    text = label_text(system.app, order_id)
    assert "王**" in text and "138****5678" in text and "杭州市集包" in text and PHONE not in text
    assert NAME not in caplog.text and PHONE not in caplog.text


@pytest.mark.parametrize("channel, waybills", [("pinduoduo", PddWaybillClient), ("douyin", DouyinWaybillClient)])
def test_the_platform_e_waybill_refuses_a_masked_receiver_and_another_orders_ciphertexts(couriers, channel, waybills):
    sim, client, platform = platform_order(channel)
    other = sim.add_order(receiver_name="李四", receiver_phone="13900001111")
    platform_waybills = waybills(client, wp_code="YTO", tracker=couriers.tracker())
    receiver = Party("王**", "138****5678", Address("浙江省", "杭州市", "西湖区", "文三路****"))
    masked = WaybillRequest(platform.order_no, SENDER, receiver, 1200)
    borrowed = WaybillRequest(other.order_no, SENDER, receiver, 1200, platform=channel,
                              receiver_protected=platform.receiver.protected)

    for request in (masked, borrowed):
        with pytest.raises(CourierRejected):
            platform_waybills.create_waybill(request)

    assert sim.waybills == {}


def test_each_marketplaces_orders_take_that_platforms_e_waybill_and_the_rest_the_plain_courier(make_system, couriers):
    pdd_sim, pdd_client, pdd_order = platform_order("pinduoduo")
    tb_sim, tb_client, tb_order = platform_order("taobao")
    system = make_system("memory:")
    pdd_id, tb_id = packed(system, pdd_order), packed(system, tb_order, stocked=True)
    shipping = Shipping(system.app, system.engine,
                        {"YTO": couriers.clients()["YTO"],
                         "pinduoduo/YTO": PddWaybillClient(pdd_client, wp_code="YTO", tracker=couriers.tracker())},
                        None, standard_rules(), SENDER, {("pinduoduo", "main"): pdd_client, ("taobao", "main"): tb_client})

    pdd_number, tb_number = shipping.request_waybill(pdd_id), shipping.request_waybill(tb_id)

    assert list(pdd_sim.waybills) == [pdd_number] and pdd_sim.decrypted == []
    assert [d["order_no"] for d in tb_sim.decrypted] == [tb_order.order_no]
    assert [r.outcome for r in couriers.yto.received] == ["created"] and tb_number not in pdd_sim.waybills


def test_a_platform_e_waybill_is_labelled_with_the_courier_and_its_number_goes_back_to_the_platform_on_intercept(
        make_system, couriers):
    sim, client, platform = platform_order("pinduoduo")
    system = make_system("memory:")
    order_id = packed(system, platform)
    shipping = Shipping(system.app, system.engine,
                        {"pinduoduo/YTO": PddWaybillClient(client, wp_code="YTO", tracker=couriers.tracker())},
                        None, standard_rules(), SENDER, {("pinduoduo", "main"): client})
    tracking_no = shipping.request_waybill(order_id)
    labelled = label_text(system.app, order_id)

    system.app.orders.refund_order(order_id, "pull:pinduoduo", "channel status refund_requested")
    shipping.cancel_waybill(order_id, "intercepted")

    assert system.app.fulfilment.package(order_id).courier == "YTO" and "圆通速递" in labelled
    assert tracking_no not in sim.waybills


@pytest.fixture
def served_jd():
    """The JD simulator on a local port with one unshipped order, and our JD client talking to it over HTTP."""
    sim = SIMULATORS["jd"](shop="main").start()
    placed = sim.add_order(receiver_name=NAME, receiver_phone=PHONE, province="浙江省", city="杭州市", district="西湖区",
                           detail=STREET, lines=[SimLine("600101", "4200101", TEA, "西湖龙井 250g 罐装", 1,
                                                         Decimal("168.00"))])
    client = client_of(sim)
    yield sim, client, client.order_detail(placed.order_no)
    sim.stop()


def jd_waybills(client, couriers):
    return JdWaybillClient(client, wp_code="YTO", tracker=couriers.tracker(), vendor_code="V10086",
                           template_url="https://template-content.jd.com/template-oss?tempCode=ytokd76x130")


def test_a_jd_order_gets_its_jd_e_waybill_with_the_oaid_and_is_never_decrypted(make_system, couriers, caplog,
                                                                               served_jd):
    sim, client, platform = served_jd
    system = make_system("memory:")
    order_id = packed(system, platform)
    shipping = Shipping(system.app, system.engine, {"YTO": couriers.clients()["YTO"],
                                                    "jd/YTO": jd_waybills(client, couriers)},
                        None, standard_rules(), SENDER, {("jd", "main"): client})

    with caplog.at_level(logging.DEBUG):
        tracking_no = shipping.request_waybill(order_id)

    to = sim.waybills[tracking_no]["recipient"]
    assert to["oaid"] == platform.receiver.protected["oaid"]
    assert (to["contact"], to["mobile"]) == ("王**", "138****5678") and NAME not in str(to) and PHONE not in str(to)
    assert tracking_no.startswith("YT") and couriers.yto.received == []
    assert sim.decrypted == [] and decryptions(system.app, order_id) == []
    assert "jingdong.jos.order.oaid.decrypt" not in sim.calls
    package = system.app.fulfilment.package(order_id)
    assert package.courier == "YTO" and package.sort_code and package.package_centre == "杭州市集包"
    assert package.print_data == {"template_url": "https://template-content.jd.com/template-oss?tempCode=ytokd76x130",
                                  "version": "jd-cloud-print", "encrypted": True}
    text = label_text(system.app, order_id)
    assert "王**" in text and "138****5678" in text and "杭州市集包" in text and tracking_no in text
    assert NAME not in caplog.text and PHONE not in caplog.text


def test_the_jd_e_waybill_refuses_a_masked_receiver_without_its_oaid_and_another_orders_oaid(couriers, served_jd):
    sim, client, platform = served_jd
    other = sim.add_order(receiver_name="李四", receiver_phone="13900001111")
    waybills = jd_waybills(client, couriers)
    receiver = Party("王**", "138****5678", Address("浙江省", "杭州市", "西湖区", "文三路****"))
    masked = WaybillRequest(platform.order_no, SENDER, receiver, 1200)
    borrowed = WaybillRequest(other.order_no, SENDER, receiver, 1200, platform="jd",
                              receiver_protected=platform.receiver.protected)

    for request in (masked, borrowed):
        with pytest.raises(CourierRejected):
            waybills.create_waybill(request)

    assert sim.waybills == {}


def test_a_jd_e_waybill_comes_with_jds_print_data_and_goes_back_on_intercept(make_system, couriers, served_jd):
    sim, client, platform = served_jd
    waybills = jd_waybills(client, couriers)
    request = WaybillRequest(platform.order_no, SENDER, Party("王**", "138****5678",
                                                             Address("浙江省", "杭州市", "西湖区", "文三路****")),
                             1200, platform="jd", receiver_protected=platform.receiver.protected)

    waybill = waybills.create_waybill(request)
    waybills.cancel_waybill(waybill.tracking_no, platform.order_no)

    document = json.loads(waybill.print_data)
    assert document["encryptedData"] and document["templateURL"].endswith("tempCode=ytokd76x130")
    assert waybill.courier == "JD-YTO" and waybill.sort_code and waybill.tracking_no not in sim.waybills


def test_a_shop_that_forbids_decryption_never_has_a_buyer_decrypted_and_the_parcel_waits_with_why(
        make_system, couriers, served_jd):
    from projections.orders_board import exception_queue

    sim, client, platform = served_jd
    system = make_system("memory:")
    order_id = packed(system, platform)
    system.app.channels.forbid_decryption("jd", "main", True, "S1")
    shipping = Shipping(system.app, system.engine, {"SF": couriers.clients()["SF"]}, None, standard_rules(), SENDER,
                        {("jd", "main"): client})

    tracking_no = shipping.request_waybill(order_id)

    assert tracking_no == "" and sim.decrypted == [] and "jingdong.jos.order.oaid.decrypt" not in sim.calls
    assert couriers.sf.received == [] and decryptions(system.app, order_id) == []
    [held] = exception_queue(system.fresh("orders_board"), "waybill_held")
    assert held["platform_order_no"] == platform.order_no
    assert "jd/main forbids decrypting buyers" in held["detail"] and "SF" in held["detail"]


def test_a_shop_that_forbids_decryption_still_ships_through_its_platforms_e_waybill(make_system, couriers, served_jd):
    sim, client, platform = served_jd
    system = make_system("memory:")
    order_id = packed(system, platform)
    system.app.channels.forbid_decryption("jd", "main", True, "S1")
    shipping = Shipping(system.app, system.engine, {"SF": couriers.clients()["SF"], "YTO": couriers.clients()["YTO"],
                                                    "jd/YTO": jd_waybills(client, couriers)},
                        None, standard_rules(), SENDER, {("jd", "main"): client})

    tracking_no = shipping.request_waybill(order_id)

    assert tracking_no in sim.waybills and sim.decrypted == []
    assert couriers.sf.received == [] and couriers.yto.received == []


def test_the_order_desks_look_at_a_buyer_of_a_shop_that_forbids_decryption_shows_the_masked_details_only(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10})
    [plain, other] = system.app.orders.import_orders([order("D1", (TEA, 1)), order("D2", (TEA, 1), shop="outlet")],
                                                     warehouse="WH1")
    system.app.channels.forbid_decryption("taobao", "flagship", True, "S1")

    shown = system.app.channels.reveal_buyer(plain["order_id"], "S1", "buyer called about the parcel")
    elsewhere = system.app.channels.reveal_buyer(other["order_id"], "S1", "buyer called about the parcel")

    assert shown["masked"] and shown["decryption_forbidden"] and (shown["name"], shown["phone"]) == ("王**", "138****5678")
    assert NAME not in str(shown) and PHONE not in str(shown)
    assert (elsewhere["name"], elsewhere["phone"]) == (NAME, PHONE)
    looks = system.app.store.events.get(plain["order_id"])
    assert [e.by for e in looks if isinstance(e, Order.BuyerRevealed)] == ["S1"]


def test_allowing_decryption_again_asks_for_the_waybills_of_the_shops_held_parcels(make_system, couriers, served_jd):
    from types import SimpleNamespace

    from workers.dispatcher import Dispatcher

    sim, client, platform = served_jd
    system = make_system("memory:")
    order_id = packed(system, platform)
    system.app.channels.forbid_decryption("jd", "main", True, "S1")
    shipping = Shipping(system.app, system.engine, {"SF": couriers.clients()["SF"]}, None, standard_rules(), SENDER,
                        {("jd", "main"): client})
    shipping.request_waybill(order_id)
    system.fresh("orders_board")
    asked = []
    jobs = SimpleNamespace(app=system.app, shipping=shipping, views=system, push_channel_stock=None,
                           request_waybill=SimpleNamespace(send=lambda *args: asked.append(args)))

    system.app.channels.forbid_decryption("jd", "main", False, "S1")
    allowed = list(system.app.store.events.get(shop_id("jd", "main")))[-1]
    Dispatcher(jobs).apply(None, [(1, allowed)])
    [(asked_for, _)] = asked
    tracking_no = shipping.request_waybill(UUID(asked_for))

    assert asked_for == str(order_id) and tracking_no.startswith("SF")
    assert [d["order_no"] for d in sim.decrypted] == [platform.order_no]


def test_a_shop_that_forbids_decryption_waits_for_its_platforms_e_waybill_when_that_is_down_rather_than_holding(
        make_system, couriers, served_jd):
    sim, client, platform = served_jd
    system = make_system("memory:")
    order_id = packed(system, platform)
    system.app.channels.forbid_decryption("jd", "main", True, "S1")
    shipping = Shipping(system.app, system.engine, {"SF": couriers.clients()["SF"],
                                                    "jd/YTO": jd_waybills(client, couriers)},
                        None, standard_rules(), SENDER, {("jd", "main"): client})
    sim.fail_next("server_error", times=1)

    with pytest.raises(CourierUnavailable):
        shipping.request_waybill(order_id)

    assert system.app.fulfilment.package(order_id).waybill_hold == "" and sim.decrypted == []
