"""After-sales end to end: a Taobao order pulled from its simulator over HTTP, shipped in a parcel and delivered, the
buyer's return refunded on the platform, the case pulled, the returned parcel scanned on the returns screen in
Chromium, the case closed on the back office, and finance showing the refund on the day the platform refunded it."""

import pytest

from tests.builders import TEA, TEA_EAN
from tests.integration.test_after_sales_http import refunded_after_delivery

from .conftest import go, log_in, message, scan, shot

pytestmark = pytest.mark.browser


def test_a_refund_after_delivery_is_closed_by_the_returned_parcel_and_lands_in_finance_on_its_day(
        system, served, device, simulators):
    app = system.app
    story = refunded_after_delivery(app, simulators.simulators["taobao"])
    pulled, day = story["pulled"], story["day"]

    assert pulled["after_sales"] == {"opened": 1}
    receiver = device()
    log_in(receiver, "R1", "/s/returns")
    go(receiver, "/s/returns")
    scan(receiver, "SF1400000000001")
    assert "refused" not in (receiver.get_attribute("body", "class") or ""), message(receiver)
    scan(receiver, TEA_EAN)
    scan(receiver, "1")
    shot(receiver, "after-sales-01-return-scanned")
    office = device()
    log_in(office, "S1", "/office/after-sales?status=closed")
    office.goto("/office/after-sales?status=closed")
    assert office.locator("#after-sales-table tbody tr").count() == 1
    office.locator("#case-links a").first.click()
    office.wait_for_selector("#case")
    shot(office, "after-sales-02-case-closed")
    assert office.inner_text("[data-key=status]") == "已关闭"
    assert office.inner_text("[data-key=refunded_on]") == day
    assert office.inner_text("[data-key=return_tracking_no]") == "SF7100000000009"
    office.goto(f"/office/finance/days?since={day}&until={day}")
    header = [cell.strip() for cell in office.locator("#finance-days-table thead th").all_inner_texts()]
    [row] = [[cell.strip() for cell in office.locator("#finance-days-table tbody tr").nth(0).locator("td")
              .all_inner_texts()]]
    assert row[0] == day and row[header.index("退款")] == "¥168.00"
    assert app.inventory.stock_levels("WH1", TEA)["RET-01"]["on_hand"] == 1
