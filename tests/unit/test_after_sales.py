"""After-sales cases: opened from a platform's refund request on a shipped order, moved through its states, closed by
the returned parcel scanned back and the platform's refund, and the new parcel of a reshipment."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.after_sales import AfterSalesCase, InvalidCaseState, RefundReport
from domain.errors import InvalidInput
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, shipped, warehouse_with_catalogue

from tests.unit.test_scanner_flows import PIN, Floor

ASKED = datetime(2026, 11, 14, 10, 0, tzinfo=timezone.utc)
REFUNDED = datetime(2026, 11, 16, 17, 30, tzinfo=timezone.utc)  # 01:30 on the 17th in Shanghai


def report(number: str, status: str, kind: str = "return_refund", amount: str = "20.00", refund_id: str = "RF1",
           refunded_at=None, lines=(), **extra) -> RefundReport:
    return RefundReport("taobao", "flagship", refund_id, number, kind, status, Decimal(amount), "不想要了", ASKED,
                        ASKED + timedelta(hours=1), refunded_at, tuple(lines), **extra)


@pytest.fixture
def floor(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 5, (TEA, "A-01-01"): 3})
    for badge, role in (("P1", "picker"), ("R1", "receiver"), ("S1", "supervisor"), ("K1", "packer")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return Floor(system)


def test_a_refund_request_on_a_shipped_order_opens_a_case_awaiting_the_buyers_parcel(floor):
    app = floor.app
    order_id = shipped(app, "T-AS1", CUP, CUP_EAN, 2, "CK91")

    opened = app.after_sales.take_report(report("T-AS1", "requested", amount="40.00",
                                                lines=[("p-" + CUP, CUP, 2, Decimal("40.00"))]), "pull:taobao")
    app.after_sales.take_report(report("T-AS1", "agreed"), "pull:taobao")

    case = app.after_sales.case_details(opened["case_id"])
    assert opened["result"] == "opened"
    assert (case["kind"], case["status"], case["amount"]) == ("return_refund", "awaiting_return", Decimal("40.00"))
    assert case["lines"] == [{"line_no": 1, "sku": CUP, "quantity": 2, "amount": Decimal("40.00")}]
    assert app.after_sales.case_awaiting_return(order_id) == str(opened["case_id"])


def test_a_refund_on_an_order_not_yet_shipped_opens_no_case(floor):
    app = floor.app
    app.orders.import_orders([order("T-AS2", (CUP, 1))], warehouse="WH1")

    result = app.after_sales.take_report(report("T-AS2", "requested", kind="refund_only"), "pull:taobao")

    assert result == {"case_id": None, "result": "not_shipped"}


def test_the_same_report_twice_changes_nothing_and_an_amount_above_what_was_paid_is_refused(floor):
    app = floor.app
    shipped(app, "T-AS3", CUP, CUP_EAN, 1, "CK93")

    first = app.after_sales.take_report(report("T-AS3", "requested", kind="refund_only"), "pull")
    again = app.after_sales.take_report(report("T-AS3", "requested", kind="refund_only"), "pull")
    with pytest.raises(InvalidInput, match="was paid 20.00 yuan"):
        app.after_sales.take_report(report("T-AS3", "requested", amount="20.01", refund_id="RF2"), "pull")

    assert (first["result"], again["result"]) == ("opened", "unchanged")
    assert [type(e).__qualname__ for e in app.store.events.get(first["case_id"])] == ["AfterSalesCase.Opened"]


def test_a_refund_only_case_closes_when_the_platform_refunds_and_keeps_its_refund_time(floor):
    app = floor.app
    shipped(app, "T-AS4", CUP, CUP_EAN, 1, "CK94")
    key = app.after_sales.take_report(report("T-AS4", "requested", kind="refund_only", amount="12.50"),
                                      "pull")["case_id"]

    app.after_sales.take_report(report("T-AS4", "refunded", kind="refund_only", amount="12.50",
                                       refunded_at=REFUNDED), "pull")

    case = app.after_sales.case_details(key)
    assert (case["status"], case["refunded_amount"], case["refunded_at"]) == ("closed", Decimal("12.50"), REFUNDED)


def test_the_returned_parcel_scanned_on_the_returns_screen_closes_a_refunded_case(floor):
    app = floor.app
    order_id = shipped(app, "T-AS5", TEA, TEA_EAN, 1, "CK95", delivered=True)
    key = app.after_sales.take_report(report("T-AS5", "returning", return_tracking_no="SF0001"), "pull")["case_id"]
    app.after_sales.take_report(report("T-AS5", "refunded", refunded_at=REFUNDED), "pull")
    assert app.after_sales.case_details(key)["status"] == "refunded"

    first = floor.scan("R1", "returns", "CK95")
    floor.scans("R1", "returns", TEA_EAN, "1")

    assert first.params["case"] == str(key)
    case = app.after_sales.case_details(key)
    assert (case["status"], case["received"]) == ("closed", {TEA: 1})
    assert app.after_sales.case_awaiting_return(order_id) == ""
    assert app.inventory.stock_levels("WH1", TEA)["RET-01"]["on_hand"] == 1


def test_goods_back_before_the_refund_wait_for_it_and_the_refund_then_closes_the_case(floor):
    app = floor.app
    shipped(app, "T-AS6", TEA, TEA_EAN, 1, "CK96")
    key = app.after_sales.take_report(report("T-AS6", "returning"), "pull")["case_id"]

    floor.scans("R1", "returns", "CK96", TEA_EAN, "2")
    waiting = app.after_sales.case_details(key)["status"]
    app.after_sales.take_report(report("T-AS6", "refunded", refunded_at=REFUNDED), "pull")

    assert (waiting, app.after_sales.case_details(key)["status"]) == ("received", "closed")


def test_a_refused_or_withdrawn_request_closes_its_case_and_later_reports_change_nothing(floor):
    app = floor.app
    shipped(app, "T-AS7", CUP, CUP_EAN, 1, "CK97")
    key = app.after_sales.take_report(report("T-AS7", "requested"), "pull")["case_id"]

    app.after_sales.take_report(report("T-AS7", "closed"), "pull")
    later = app.after_sales.take_report(report("T-AS7", "refunded", refunded_at=REFUNDED), "pull")

    case = app.after_sales.case_details(key)
    assert (case["status"], case["platform_status"], later["result"]) == ("closed", "closed", "unchanged")
    assert case["refunded_at"] is None


def test_a_partial_refund_by_amount_is_shared_over_the_case_lines(floor):
    app = floor.app
    shipped(app, "T-AS8", CUP, CUP_EAN, 2, "CK98")
    key = app.after_sales.take_report(
        report("T-AS8", "requested", kind="refund_only", amount="15.00",
               lines=[("p-" + CUP, CUP, 1, Decimal("20.00"))]), "pull")["case_id"]

    app.after_sales.take_report(report("T-AS8", "refunded", kind="refund_only", amount="15.00",
                                       refunded_at=REFUNDED), "pull")

    [refunded] = [e for e in app.store.events.get(key) if isinstance(e, AfterSalesCase.Refunded)]
    assert refunded.amount == Decimal("15.00") and refunded.lines[0]["amount"] == Decimal("15.00")


def test_a_reshipment_from_the_order_desk_sends_a_new_order_at_no_charge_through_the_normal_path(floor):
    app = floor.app
    order_id = shipped(app, "T-AS9", CUP, CUP_EAN, 1, "CK99")

    sent = app.after_sales.reship(order_id, None, "parcel lost by the courier", "S1")

    new = app.orders.order_details(sent["order_id"])
    assert sent["platform_order_no"] == "T-AS9-RS1"
    assert (new["status"], new["paid_amount"], new["lines"][0]["sku"], new["lines"][0]["quantity"]) == (
        "reserved", Decimal("0"), CUP, 1)
    case = app.after_sales.case_details(sent["case_id"])
    assert (case["kind"], case["status"], case["replacement"]) == ("reship", "closed", "T-AS9-RS1")
    with pytest.raises(InvalidCaseState, match="already sent"):
        app.after_sales.send_replacement(sent["case_id"], "S1")


def test_an_exchange_sends_its_new_parcel_and_closes_once_the_old_goods_are_back(floor):
    app = floor.app
    shipped(app, "T-AS10", TEA, TEA_EAN, 1, "CK100")
    key = app.after_sales.take_report(report("T-AS10", "agreed", kind="exchange", amount="0"), "pull")["case_id"]

    sent = app.after_sales.send_replacement(key, "S1")
    before = app.after_sales.case_details(key)["status"]
    floor.scans("R1", "returns", "CK100", TEA_EAN, "1")

    assert sent["platform_order_no"] == "T-AS10-RRF1" and before == "awaiting_return"
    assert app.after_sales.case_details(key)["status"] == "closed"


def test_a_reshipment_of_an_order_not_shipped_is_refused_and_writes_nothing(floor):
    app = floor.app
    [placed] = app.orders.import_orders([order("T-AS11", (CUP, 1))], warehouse="WH1")

    with pytest.raises(InvalidCaseState, match="only a shipped or delivered order"):
        app.after_sales.reship(placed["order_id"], None, "lost", "S1")

    assert app.after_sales.cases_of(placed["order_id"]) == []


def test_a_refund_by_amount_lands_in_finance_on_the_day_the_platform_refunded_in_the_shops_zone(floor):
    from projections.finance import daily_finance, order_finance

    app, system = floor.app, floor.system
    order_id = shipped(app, "T-AS12", CUP, CUP_EAN, 2, "CK112")
    app.after_sales.take_report(report("T-AS12", "requested", kind="refund_only", amount="7.30"), "pull")
    app.after_sales.take_report(report("T-AS12", "refunded", kind="refund_only", amount="7.30",
                                       refunded_at=REFUNDED), "pull")

    engine = system.fresh("finance")

    assert order_finance(engine, order_id)["refunds"] == Decimal("7.30")
    days = {row["day"]: row["refunds"] for row in daily_finance(engine)}
    assert days["2026-11-17"] == Decimal("7.30")  # 01:30 in Shanghai, the day after it was 17:30 UTC
    assert "2026-11-16" not in days or days["2026-11-16"] == 0


def test_the_case_list_and_page_show_a_closed_case_and_the_order_desk_reships_by_role(floor):
    from scanner_ui import create_app

    app, system = floor.app, floor.system
    order_id = shipped(app, "T-AS13", TEA, TEA_EAN, 1, "CK113")
    key = app.after_sales.take_report(report("T-AS13", "requested", kind="refund_only", amount="5.00"),
                                      "pull")["case_id"]
    app.after_sales.take_report(report("T-AS13", "refunded", kind="refund_only", amount="5.00",
                                       refunded_at=REFUNDED), "pull")
    web = create_app(system, {"TESTING": True}).test_client()
    web.post("/login", data={"badge": "S1", "pin": PIN})

    listing = web.get("/office/after-sales?status=closed&lang=zh").get_data(as_text=True)
    page = web.get(f"/office/after-sales/{key}").get_data(as_text=True)
    refused = web.get("/office/after-sales?status=lost")
    reshipped = web.post(f"/office/orders/{order_id}/reship", data={"reason": "快递丢件"})

    assert "T-AS13" in listing and "RF1" in listing
    assert "2026-11-17" in page and "5.00" in page
    assert refused.status_code == 422
    assert reshipped.status_code == 303
    assert app.orders.find_order("taobao", "flagship", "T-AS13-RS1").status == "reserved"
    desk = web.get(f"/office/orders/{order_id}").get_data(as_text=True)
    assert 'id="cases-table"' in desk and "T-AS13-RS1" in desk and "RF1" in desk


def test_an_auditor_reads_the_cases_but_cannot_reship(floor):
    from scanner_ui import create_app

    app, system = floor.app, floor.system
    order_id = shipped(app, "T-AS14", TEA, TEA_EAN, 1, "CK114")
    app.staff.register_staff("A1", "A1", "auditor", PIN, "admin")
    web = create_app(system, {"TESTING": True}).test_client()
    web.post("/login", data={"badge": "A1", "pin": PIN})

    listed = web.get("/office/after-sales")
    refused = web.post(f"/office/orders/{order_id}/reship", data={"reason": "lost"})

    assert listed.status_code == 200 and refused.status_code == 403
    assert app.after_sales.cases_of(order_id) == []


def test_a_buyer_is_flagged_for_abusive_returns_by_the_cases_they_opened_not_by_the_warehouses_reshipments(floor):
    from projections.crm import customers

    app, system = floor.app, floor.system
    for n in range(1, 4):
        order_id = shipped(app, f"T-AB{n}", CUP, CUP_EAN, 1, f"CK3{n}")
        app.after_sales.reship(order_id, None, "lost", "S1")
    two_cases = [app.after_sales.take_report(report(f"T-AB{n}", "requested", refund_id=f"AB{n}"), "pull")
                 for n in (1, 2)]
    before = customers(system.fresh("crm"), flagged="abusive_returns")

    app.after_sales.take_report(report("T-AB3", "requested", kind="refund_only", refund_id="AB3"), "pull")

    [flagged] = customers(system.fresh("crm"), flagged="abusive_returns")
    assert before == [] and len(two_cases) == 2
    assert [(f["rule"], f["detail"]) for f in flagged["flags"]] == [
        ("after_sales_cases", "3 after-sales cases (refunds, returns, exchanges)")]
    assert (flagged["orders"], flagged["spend"]) == (3, Decimal("60.00"))  # the three reshipments bought nothing


def test_a_report_the_domain_refuses_is_counted_and_named_and_the_others_are_still_taken(floor):
    app = floor.app
    shipped(app, "T-AS15", CUP, CUP_EAN, 1, "CK115")
    named = []

    counts = app.after_sales.take_reports(
        [report("T-AS15", "requested", amount="99.00", refund_id="BAD"), report("T-AS15", "requested", refund_id="OK"),
         report("NO-SUCH-ORDER", "requested", refund_id="GONE")],
        "pull:taobao", refused=lambda r, error: named.append((r.refund_id, type(error).__name__)))

    assert counts == {"refused": 1, "opened": 1, "unknown_order": 1}
    assert named == [("BAD", "InvalidInput")]


def test_a_reshipment_ships_at_a_cost_in_finance_but_is_no_sale_on_its_day(floor):
    from projections.finance import daily_finance, order_finance

    app, system = floor.app, floor.system
    order_id = shipped(app, "T-AS16", CUP, CUP_EAN, 1, "CK116")
    before = {row["day"]: row["orders"] for row in daily_finance(system.fresh("finance"))}

    sent = app.after_sales.reship(order_id, None, "broken in transit", "S1")
    wave = app.fulfilment.create_wave("WH1", "W-RS", [sent["order_id"]], "S1")
    app.fulfilment.pick(wave, 0, "A-01-02", CUP_EAN, 1, "P1")
    app.fulfilment.verify_item(sent["order_id"], CUP_EAN, "K1")
    app.fulfilment.close_package(sent["order_id"], "K1")
    app.fulfilment.weigh(sent["order_id"], 300, "K1")
    app.fulfilment.assign_waybill(sent["order_id"], "LOCAL", "CK117", "HZ")
    app.fulfilment.hand_over(sent["order_id"], "K1")

    engine = system.fresh("finance")
    after = {row["day"]: row["orders"] for row in daily_finance(engine)}
    replacement = order_finance(engine, sent["order_id"])
    assert after == before
    assert (replacement["revenue"], replacement["units_ordered"], replacement["cogs"]) == (
        Decimal("0.00"), 0, Decimal("8.20"))


def test_the_case_list_shows_each_case_in_the_state_the_case_itself_is_in(floor):
    from projections.after_sales import cases

    app, system = floor.app, floor.system
    shipped(app, "T-AS17", TEA, TEA_EAN, 1, "CK118")
    key = app.after_sales.take_report(report("T-AS17", "returning"), "pull")["case_id"]
    floor.scans("R1", "returns", "CK118", TEA_EAN, "1")
    app.after_sales.take_report(report("T-AS17", "agreed"), "pull")  # the platform's list lags behind the warehouse

    [row] = cases(system.fresh("after_sales"), order_no="T-AS17")
    assert row["status"] == app.after_sales.case_details(key)["status"] == "received"


def test_a_cases_parcel_scanned_back_in_another_warehouse_closes_the_case_and_lands_in_that_returns_bin(floor):
    import copy

    from tests.builders import BINS

    app = floor.app
    app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        app.inventory.add_location("WH2", bin, zone, area, sequence)
    order_id = shipped(app, "T-AS9", TEA, TEA_EAN, 1, "CK99", delivered=True)
    key = app.after_sales.take_report(report("T-AS9", "returning", return_tracking_no="SF0009"), "pull")["case_id"]
    app.after_sales.take_report(report("T-AS9", "refunded", refunded_at=REFUNDED), "pull")
    floor.ports = copy.copy(floor.ports)
    floor.ports.warehouse = "WH2"

    floor.scans("R1", "returns", "CK99", TEA_EAN, "1")

    case = app.after_sales.case_details(key)
    assert (case["status"], case["received"]) == ("closed", {TEA: 1})
    assert app.after_sales.case_awaiting_return(order_id) == ""
    assert app.inventory.stock_levels("WH2", TEA)["RET-01"]["on_hand"] == 1
    assert "RET-01" not in app.inventory.stock_levels("WH1", TEA)


def test_a_reshipment_goes_to_the_warehouse_the_routing_rules_choose(floor):
    from tests.builders import BINS

    app = floor.app
    app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        app.inventory.add_location("WH2", bin, zone, area, sequence)
    app.inventory.load_opening_stock({2: ("WH2", CUP, "A-01-02", 3)}, "opening")
    order_id = shipped(app, "T-AS10", CUP, CUP_EAN, 1, "CK100")
    app.routing.revise_rules([{"warehouse": "WH2", "priority": 1}, {"warehouse": "WH1", "priority": 2}], False, "S1")

    sent = app.after_sales.reship(order_id, None, "parcel lost by the courier", "S1", "WH1")

    placed = app.orders.get_order(sent["order_id"])
    assert (placed["status"], placed["warehouse"]) == ("reserved", "WH2")
