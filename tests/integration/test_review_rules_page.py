"""The back office's review rules page over HTTP (Flask test client) on the SQLite file store."""

from decimal import Decimal

import pytest

from scanner_ui import create_app
from tests.builders import CUP, TEA, order, warehouse_with_catalogue
from tests.integration.test_backoffice_pages import PIN, signed_in, table_rows

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 10})
    for badge, role in (("S1", "supervisor"), ("A1", "auditor"), ("P1", "picker")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return system


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True})


def test_the_page_lists_the_default_rules_as_version_0(web):
    page = signed_in(web, "S1").get("/office/review-rules").get_data(as_text=True)

    assert 'data-version="0"' in page
    assert [row[:2] for row in table_rows(page, "rules")] == [
        ["R1", "买家留言挂起"], ["R2", "大额订单挂起"], ["R3", "地址不全挂起"], ["R4", "未知商品挂起"], ["R5", "停用商品挂起"]]


def test_changing_the_amount_makes_version_2_and_the_next_order_is_held_by_it(system, web):
    client = signed_in(web, "S1")

    answer = client.post("/office/review-rules/R2", data={"above": "50", "enabled": "1"}, headers=SAME_SITE)
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    [result] = system.app.orders.import_orders([order("W1", (TEA, 3))], warehouse="WH1")

    assert answer.status_code == 303
    assert "规则现为第 2 版" in page
    assert table_rows(page, "history")[0][0] == "2"
    assert system.app.orders.get_order(result["order_id"])["hold_reasons"] == ["amount above 50.00"]


def test_a_gift_rule_added_from_the_form_gives_a_zero_price_line(system, web):
    client = signed_in(web, "S1")

    answer = client.post("/office/review-rules", data={"kind": "gift", "sku": CUP, "units": "1", "when_sku": TEA,
                                                       "starts": "2026-01-01T00:00", "min_amount": ""})
    [result] = system.app.orders.import_orders([order("W2", (TEA, 1))], warehouse="WH1")

    assert answer.status_code == 303
    gift = system.app.orders.get_order(result["order_id"])["lines"][-1]
    assert (gift["sku"], gift["unit_price"]) == (CUP, Decimal("0"))
    rule = system.app.review.listed()["rules"][-1]
    assert rule["params"]["starts"].isoformat() == "2026-01-01T00:00:00+08:00"


def test_a_bad_rule_is_refused_with_the_reason_and_changes_nothing(system, web):
    client = signed_in(web, "S1")

    answer = client.post("/office/review-rules", data={"kind": "amount", "above": "lots"})

    assert answer.status_code == 422
    assert "above: a number of yuan" in answer.get_data(as_text=True)
    assert system.app.review.listed()["version"] == 0


def test_switching_off_the_unknown_sku_hold_is_refused(system, web):
    answer = signed_in(web, "S1").post("/office/review-rules/R4", data={})

    assert answer.status_code == 422
    assert "cannot be switched off" in answer.get_data(as_text=True)


def test_an_auditor_reads_the_rules_but_may_not_edit_and_a_picker_may_not_read(web):
    auditor = signed_in(web, "A1")

    assert 'id="add-rules"' not in auditor.get("/office/review-rules").get_data(as_text=True)
    assert auditor.post("/office/review-rules/R2", data={"above": "1", "enabled": "1"}).status_code == 403
    assert signed_in(web, "P1").get("/office/review-rules").status_code == 403


def test_a_form_from_another_site_is_refused(system, web):
    answer = signed_in(web, "S1").post("/office/review-rules/R2", data={"above": "1", "enabled": "1"},
                                       headers={"Sec-Fetch-Site": "cross-site"})

    assert answer.status_code == 403
    assert system.app.review.listed()["version"] == 0
