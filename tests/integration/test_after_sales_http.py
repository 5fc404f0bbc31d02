"""After-sales over HTTP end to end: a Taobao order pulled from its simulator (alone, or merged with the same buyer's
other order into one parcel), shipped and delivered, the buyer's return refunded on the platform and pulled as a case,
the returned parcel scanned on the returns screen, the case closed, and finance showing the refund on the day the
platform refunded it."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.marketplaces.simulators.base import SimLine
from projections.backoffice import business_day
from scanner_ui import create_app
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, warehouse_with_catalogue
from tests.integration.test_scanner_http import PIN, post_scan, signed_in
from tests.marketplaces import client_of
from workers.pull import pull_shop


def refunded_after_delivery(app, taobao) -> dict:
    """Two tea tins sold on Taobao, pulled, shipped as parcel SF1400000000001 and delivered; the buyer returns one
    (return waybill SF7100000000009) and the platform refunds it two minutes before now."""
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 5)}, "opening")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sold = taobao.add_order(lines=[SimLine("600101", "4200101", TEA, "西湖龙井 250g", 2, Decimal("168.00"))],
                            discount=Decimal("0.00"), postage=Decimal("0.00"), modified=now - timedelta(minutes=20))
    client = client_of(taobao)
    pull_shop(app, client, "taobao", "main", "WH1", now=now - timedelta(minutes=15))
    order = app.orders.find_order("taobao", "main", sold.order_no)
    wave = app.fulfilment.create_wave("WH1", "W-AS-1", [order.id], "S1")
    app.fulfilment.pick(wave, 0, "A-01-01", TEA_EAN, 2, "P1")
    for _ in range(2):
        app.fulfilment.verify_item(order.id, TEA_EAN, "K1")
    app.fulfilment.close_package(order.id, "K1")
    app.fulfilment.weigh(order.id, 600, "K1")
    app.fulfilment.assign_waybill(order.id, "SF", "SF1400000000001", "755")
    app.fulfilment.hand_over(order.id, "K1")
    client.confirm_shipment(sold.order_no, "SF", "SF1400000000001")
    app.fulfilment.record_route(order.id, [{"key": "d1", "status": "delivered", "at": now - timedelta(minutes=12),
                                            "location": "杭州", "description": "已签收"}])
    refunded_at = now - timedelta(minutes=2)
    taobao.after_sale(sold.order_no, "return_refund", quantity=1, at=now - timedelta(minutes=10))
    taobao.move_refund(sold.order_no, "returning", at=now - timedelta(minutes=8), return_tracking="SF7100000000009")
    taobao.move_refund(sold.order_no, "refunded", at=refunded_at)
    pulled = pull_shop(app, client, "taobao", "main", "WH1", now=now)
    return {"order_id": order.id, "pulled": pulled, "day": business_day(refunded_at, "taobao", "main")}


def merged_on_taobao(app, taobao, now: datetime) -> tuple:
    """With the merge rule on, the same buyer pays two Taobao orders to one address (a tea tin, then a glass cup),
    pulled a quarter of an hour before now: the cup's order goes into the tea's parcel."""
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 5), 3: ("WH1", CUP, "A-01-02", 5)}, "opening")
    app.review.add("merge", {}, "S1")
    buyer = {"buyer_nick": "tb_merge_1", "receiver_name": "王小明", "receiver_phone": "13812345678",
             "province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路 90 号", "remark": ""}
    tea = taobao.add_order(lines=[SimLine("600101", "4200101", TEA, "西湖龙井 250g", 1, Decimal("168.00"))],
                           discount=Decimal("0.00"), postage=Decimal("0.00"), modified=now - timedelta(minutes=21),
                           **buyer)
    cup = taobao.add_order(lines=[SimLine("600202", "4200201", CUP, "双层玻璃杯", 1, Decimal("39.90"))],
                           discount=Decimal("0.00"), postage=Decimal("0.00"), modified=now - timedelta(minutes=20),
                           **buyer)
    return tea, cup, pull_shop(app, client_of(taobao), "taobao", "main", "WH1", now=now - timedelta(minutes=15))


def merged_refunded_after_delivery(app, taobao) -> dict:
    """The same buyer pays two Taobao orders to one address (a tea tin, then a glass cup); with the merge rule on, the
    pull puts both in one parcel, shipped once as SF1400000000002 and delivered; the buyer returns the cup (return
    waybill SF7100000000010) and the platform refunds it two minutes before now."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    tea, cup, pulled_paid = merged_on_taobao(app, taobao, now)
    client = client_of(taobao)
    lead = app.orders.find_order("taobao", "main", tea.order_no)
    merged = app.orders.find_order("taobao", "main", cup.order_no)
    merged_status = merged.status
    wave = app.fulfilment.create_wave("WH1", "W-AS-2", [lead.id], "S1")
    for index, line in enumerate(app.fulfilment.wave(wave).lines):
        app.fulfilment.pick(wave, index, line["bin"], {TEA: TEA_EAN, CUP: CUP_EAN}[line["sku"]], line["quantity"],
                            "P1")
    for barcode in (TEA_EAN, CUP_EAN):
        app.fulfilment.verify_item(lead.id, barcode, "K1")
    app.fulfilment.close_package(lead.id, "K1")
    app.fulfilment.weigh(lead.id, 700, "K1")
    app.fulfilment.assign_waybill(lead.id, "SF", "SF1400000000002", "755")
    app.fulfilment.hand_over(lead.id, "K1")
    for shipped in (app.orders.order(lead.id), app.orders.order(merged.id)):  # as the confirmation job does
        client.confirm_shipment(shipped.platform_order_no, shipped.courier, shipped.tracking_no)
    app.fulfilment.record_route(lead.id, [{"key": "d1", "status": "delivered", "at": now - timedelta(minutes=12),
                                           "location": "杭州", "description": "已签收"}])
    refunded_at = now - timedelta(minutes=2)
    taobao.after_sale(cup.order_no, "return_refund", quantity=1, at=now - timedelta(minutes=10))
    taobao.move_refund(cup.order_no, "returning", at=now - timedelta(minutes=8), return_tracking="SF7100000000010")
    taobao.move_refund(cup.order_no, "refunded", at=refunded_at)
    pulled = pull_shop(app, client, "taobao", "main", "WH1", now=now)
    return {"lead_id": lead.id, "order_id": merged.id, "merged_status": merged_status, "pulled_paid": pulled_paid,
            "pulled": pulled, "day": business_day(refunded_at, "taobao", "main"),
            "numbers": (tea.order_no, cup.order_no)}


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app)
    for badge, role in (("R1", "receiver"), ("S1", "supervisor")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return system


def test_a_refund_after_delivery_is_closed_by_the_returned_parcel_and_lands_in_finance_on_its_day(
        system, simulators):
    app = system.app
    story = refunded_after_delivery(app, simulators.simulators["taobao"])
    [case] = app.after_sales.cases_of(story["order_id"])
    before = case.status
    web = create_app(system, {"TESTING": True})
    receiver = signed_in(web, "R1", "returns-1")

    answers = [post_scan(receiver, app, "returns-1", "returns", value).json["scan"]
               for value in ("SF1400000000001", TEA_EAN, "1")]
    office = signed_in(web, "S1", "desk-1")
    listing = office.get("/office/after-sales?status=closed").get_data(as_text=True)
    page = office.get(f"/office/after-sales/{case.id}").get_data(as_text=True)
    days = office.get(f"/office/finance/days?since={story['day']}&until={story['day']}&format=csv")

    assert story["pulled"]["after_sales"] == {"opened": 1} and before == "refunded"
    assert [a["key"] for a in answers] == ["return_order", "grade_prompt", "restocked"]
    assert answers[0]["params"]["case"] == str(case.id)
    assert app.after_sales.case_details(case.id)["status"] == "closed"
    assert case.refund_id in listing and "SF7100000000009" in page
    header, row = days.get_data(as_text=True).lstrip("\ufeff").splitlines()[:2]
    figures = dict(zip(header.split(","), row.split(",")))
    assert figures["day"] == story["day"] and Decimal(figures["refunds"]) == Decimal("168.00")
    assert app.inventory.stock_levels("WH1", TEA)["RET-01"]["on_hand"] == 1


def test_a_merged_parcel_s_order_refunded_after_delivery_is_closed_by_the_returned_parcel_and_lands_in_finance(
        system, simulators):
    app = system.app
    taobao = simulators.simulators["taobao"]
    story = merged_refunded_after_delivery(app, taobao)
    lead = app.orders.order(story["lead_id"])
    [case] = app.after_sales.cases_of(story["order_id"])
    before = case.status
    web = create_app(system, {"TESTING": True})
    receiver = signed_in(web, "R1", "returns-1")

    answers = [post_scan(receiver, app, "returns-1", "returns", value).json["scan"]
               for value in ("SF1400000000002", CUP_EAN, "1")]
    office = signed_in(web, "S1", "desk-1")
    listing = office.get("/office/after-sales?status=closed").get_data(as_text=True)
    page = office.get(f"/office/after-sales/{case.id}").get_data(as_text=True)
    days = office.get(f"/office/finance/days?since={story['day']}&until={story['day']}&format=csv")

    assert story["pulled_paid"]["imported"] == 2 and story["merged_status"] == "merged"
    assert [m["order_id"] for m in lead.merged_orders()] == [story["order_id"]]
    assert len(app.fulfilment.wave(app.orders.order(story["lead_id"]).wave_id).lines) == 2
    assert sorted((s["order_no"], s["tracking_no"]) for s in taobao.shipments) == sorted(
        (number, "SF1400000000002") for number in story["numbers"])
    assert story["pulled"]["after_sales"] == {"opened": 1} and before == "refunded"
    assert app.after_sales.cases_of(story["lead_id"]) == []
    assert [a["key"] for a in answers] == ["return_order", "grade_prompt", "restocked"]
    assert answers[0]["params"]["case"] == str(case.id)
    assert app.after_sales.case_details(case.id)["status"] == "closed"
    assert case.refund_id in listing and "SF7100000000010" in page
    header, row = days.get_data(as_text=True).lstrip("\ufeff").splitlines()[:2]
    figures = dict(zip(header.split(","), row.split(",")))
    assert figures["day"] == story["day"] and Decimal(figures["refunds"]) == Decimal("39.90")
    assert app.inventory.stock_levels("WH1", CUP)["RET-01"]["on_hand"] == 1


def test_a_refund_pulled_for_an_order_whose_merged_parcel_is_on_the_floor_waits_to_be_intercepted_by_hand(
        system, simulators):
    from projections.orders_board import exception_queue

    app, taobao = system.app, simulators.simulators["taobao"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    tea, cup, _ = merged_on_taobao(app, taobao, now)
    lead = app.orders.find_order("taobao", "main", tea.order_no)
    app.fulfilment.create_wave("WH1", "W-AS-3", [lead.id], "S1")
    taobao.change_order(cup.order_no, status="refund_requested", at=now - timedelta(minutes=5))

    pulled = pull_shop(app, client_of(taobao), "taobao", "main", "WH1", now=now)
    system.catch_up()

    assert pulled["intercepted"] == 0
    assert app.orders.find_order("taobao", "main", cup.order_no).status == "merged"
    [waiting] = exception_queue(system.engine, kind="intercept_by_hand")
    assert waiting["platform_order_no"] == cup.order_no
    assert f"parcel of order {tea.order_no}, already on the floor" in waiting["detail"]
    page = signed_in(create_app(system, {"TESTING": True}), "S1", "desk-1").get(
        "/office/exceptions?kind=intercept_by_hand").get_data(as_text=True)
    assert cup.order_no in page and "需人工拦截" in page


@pytest.mark.postgres
def test_the_largest_case_a_platform_can_report_fits_every_view_on_postgresql(make_system, postgres_url):
    from domain.after_sales import RefundReport
    from domain.limits import MAX_ORDER_AMOUNT
    from domain.order import Buyer, OrderLine
    from domain.services import NewOrder
    from projections.after_sales import case as case_row

    system = make_system(postgres_url)
    warehouse_with_catalogue(system.app)
    number, refund_id = "9" * 64, "退" * 64
    big = NewOrder("渠" * 64, "旗" * 64, number, [OrderLine(1, "p" * 64, TEA, "茶", 1, Decimal("1"))],
                   Buyer("买" * 64, "王", "1", "路"), {"province": "浙江省"}, MAX_ORDER_AMOUNT)
    system.app.orders.import_orders([big])
    store = system.app.store
    order = store.repository.get(system.app.orders.find_order("渠" * 64, "旗" * 64, number).id)
    order._shipped("SF", "SF" * 32, "S1")  # recorded directly: only a shipped order of the largest amount matters here
    store.save(order)
    at = datetime(2026, 11, 11, 23, 59, tzinfo=timezone.utc)

    system.app.after_sales.take_report(RefundReport(
        "渠" * 64, "旗" * 64, refund_id, number, "return_refund", "refunded", MAX_ORDER_AMOUNT, "理" * 300, at, at, at,
        (("p" * 64, TEA, 1, MAX_ORDER_AMOUNT),), "运" * 80), "pull")
    system.catch_up()

    [case] = system.app.after_sales.cases_of(order.id)
    row = case_row(system.engine, str(case.id))
    assert (row["refund_id"], row["refunded"], len(row["return_tracking_no"])) == (refund_id, MAX_ORDER_AMOUNT, 64)


def test_after_sales_cases_refunds_and_a_reshipment_pass_every_audit_check_and_replay_into_the_same_views(
        system, simulators, sqlite_url, tmp_path):
    import re

    from click.testing import CliRunner

    from cangku.audit_cli import audit

    app = system.app
    story = refunded_after_delivery(app, simulators.simulators["taobao"])
    app.fulfilment.receive_return(story["order_id"], TEA_EAN, 1, True, "R1",
                                  case=app.after_sales.case_awaiting_return(story["order_id"]))
    app.after_sales.reship(story["order_id"], None, "the second tin arrived broken", "S1")
    system.catch_up()

    result = CliRunner().invoke(audit, ["check"], env={"CANGKU_DATABASE_URL": sqlite_url,
                                                      "CANGKU_DATA_DIR": str(tmp_path)}, catch_exceptions=False)

    assert result.exit_code == 0, result.stderr
    assert re.search(r"^ok +refunds_match_cases +1 checked$", result.stdout, re.M), result.stdout
    assert re.search(r"^ok +views_match_replay +[1-9][\d,]* checked$", result.stdout, re.M), result.stdout
