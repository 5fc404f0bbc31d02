"""The review rules page on a desktop (1280×800) in Chromium: a supervisor lowers the large-amount hold, adds a
gift and a presale, and the orders that arrive next are reviewed by that version."""

from datetime import datetime, timedelta

import pytest

from tests.builders import CUP, PAN, TEA, order, warehouse_with_catalogue

from .conftest import PIN, SCREENSHOTS, STAFF
from .test_backoffice_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 10, (PAN, "B-02-01"): 5})
    for badge, (name, role) in STAFF.items():
        system.app.staff.register_staff(badge, name, role, PIN, "admin")
    return system



def test_a_supervisor_edits_the_rules_and_the_next_orders_follow_the_new_version(system, desk):
    sign_in(desk, "S1", "/office/review-rules")
    before = desk.get_attribute("#rule-set-version", "data-version")

    desk.fill("#rule-R2 input[name=above]", "50")
    with desk.expect_navigation():
        desk.click("#rule-R2 button:has-text('保存')")
    desk.click("summary:has-text('赠品')")
    desk.fill("#add-gift input[name=sku]", CUP)
    desk.fill("#add-gift input[name=when_sku]", TEA)
    with desk.expect_navigation():
        desk.click("#add-gift button")
    desk.click("summary:has-text('预售')")
    desk.fill("#add-presale textarea[name=skus]", PAN)
    desk.fill("#add-presale input[name=ship_from]", (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    with desk.expect_navigation():
        desk.click("#add-presale button")
    SCREENSHOTS.mkdir(exist_ok=True)
    desk.screenshot(path=str(SCREENSHOTS / "review-rules.png"), full_page=True)
    big, gifted, presale = system.app.orders.import_orders(
        [order("B1", (TEA, 3)), order("B2", (TEA, 1)), order("B3", (PAN, 1))], warehouse="WH1")

    assert before == "0"
    assert desk.inner_text("#done") == "已保存，规则现为第 4 版"
    assert desk.locator("#history-table tbody tr").count() == 4
    assert desk.get_attribute("#rule-R2", "data-enabled") == "yes"
    assert desk.locator("#rules-table tr[data-kind=gift]").count() == 1
    assert system.app.orders.get_order(big["order_id"])["hold_reasons"] == ["amount above 50.00"]
    assert [(l["sku"], l["unit_price"]) for l in system.app.orders.get_order(gifted["order_id"])["lines"]][-1][0] == CUP
    assert system.app.orders.get_order(presale["order_id"])["hold_reasons"][0].startswith("presale until ")


def test_a_refused_rule_shows_why_and_keeps_what_was_typed(system, desk):
    sign_in(desk, "S1", "/office/review-rules")

    desk.click("summary:has-text('赠品')")
    desk.fill("#add-gift input[name=sku]", "NO-SUCH-SKU")
    with desk.expect_navigation():
        desk.click("#add-gift button")

    assert "NO-SUCH-SKU" in desk.inner_text("#refusal")
    assert desk.input_value("#add-gift input[name=sku]") == "NO-SUCH-SKU"
    assert desk.get_attribute("#rule-set-version", "data-version") == "0"


def test_a_supervisor_merges_two_orders_into_one_parcel_on_the_order_page_and_undoes_it(system, desk):
    first, second = (system.app.orders.import_orders([order(n, (sku, 1))], warehouse="WH1")[0]["order_id"]
                     for n, sku in (("C1", TEA), ("C2", CUP)))
    sign_in(desk, "S1", f"/office/orders/{first}")

    desk.fill("#merge-form input[name=orders]", "C2")
    with desk.expect_navigation():
        desk.click("#merge-form button")
    desk.screenshot(path=str(SCREENSHOTS / "merged-parcel.png"), full_page=True)
    carried = desk.inner_text("#parcel-shared")
    lines = desk.locator("#lines-table tbody tr").count()
    with desk.expect_navigation():
        desk.click("#parcel-shared a:has-text('C2')")
    member = (desk.get_attribute("#order-status", "data-status"), desk.inner_text("#parcel-shared"))
    with desk.expect_navigation():
        desk.click("#parcel-shared a:has-text('C1')")
    with desk.expect_navigation():
        desk.click("#unmerge-form button")

    assert "C2" in carried and lines == 2
    assert member[0] == "merged" and "C1" in member[1]
    assert desk.locator("#parcel-shared").count() == 0 and desk.locator("#lines-table tbody tr").count() == 1
    assert system.app.orders.order(second).status == "reserved"
