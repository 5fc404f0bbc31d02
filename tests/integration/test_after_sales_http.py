"""After-sales over HTTP end to end: a Taobao order pulled from its simulator, shipped in a parcel and delivered, the
buyer's return refunded on the platform and pulled as a case, the returned parcel scanned on the returns screen, the
case closed, and finance showing the refund on the day the platform refunded it."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.marketplaces.simulators.base import SimLine
from projections.backoffice import business_day
from scanner_ui import create_app
from tests.builders import TEA, TEA_EAN, warehouse_with_catalogue
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
