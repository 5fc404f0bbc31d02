"""Purchasing in Chromium: a supervisor registers a supplier, drafts a purchase order from the replenishment
suggestions and approves it; the receiver scans it in on a PDA, one unit more than ordered; the supervisor closes it
and sees what came in, what is short and what was over."""

import pytest

from tests.builders import CUP, CUP_EAN, PAN, TEA

from .conftest import focused, log_in, scan
from .test_backoffice_browser import sign_in

pytestmark = pytest.mark.browser


def submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def lines(page) -> dict[str, list[str]]:
    rows = page.locator("#lines-table tbody tr")
    cells = [rows.nth(n).locator("td").all_inner_texts() for n in range(rows.count())]
    return {row[0]: row[1:] for row in cells}


def test_a_purchase_order_is_drafted_approved_scanned_in_and_closed(system, desk, device):
    sign_in(desk, "S1", "/office/purchase-orders")
    desk.fill("#supplier-form input[name=code]", "HZ-CUP")
    desk.fill("#supplier-form input[name=name]", "杭州玻璃厂")
    desk.fill("#supplier-form input[name=lead_time_days]", "5")
    submit(desk, "#supplier-form button")
    desk.fill("#draft-form input[name=number]", "PO-2026-001")
    desk.select_option("#draft-form select[name=supplier]", "HZ-CUP")
    submit(desk, "#draft-form button")
    drafted = lines(desk)
    submit(desk, "#approve-form button")
    approved = desk.inner_text('#order dd[data-key="status"]')

    pda = device()
    log_in(pda, "R1", "/s/receive")
    for code in ("PO-2026-001", CUP_EAN, str(int(drafted[CUP][0]) + 1)):
        scan(pda, code)

    desk.reload()
    submit(desk, "#close-form button")
    closed = lines(desk)

    assert set(drafted) == {TEA, CUP, PAN}  # nothing is in stock: every SKU is below its safety stock
    assert approved == "已审批"
    ordered = int(drafted[CUP][0])
    assert closed[CUP] == [str(ordered), "8.2000", str(ordered + 1), "0", "1"]
    assert closed[PAN][2:] == ["0", drafted[PAN][0], "0"]
    assert desk.inner_text('#order dd[data-key="status"]') == "已关闭"
    assert system.app.inventory.stock_levels("WH1", CUP)["RCV-01"]["on_hand"] == ordered + 1


def test_a_supervisor_sends_an_approved_order_as_xlsx_and_prints_it_then_edits_the_supplier(system, desk):
    from openpyxl import load_workbook

    app = system.app
    app.purchasing.register_supplier("HZ-CUP", "杭州玻璃厂", 5, "S1")
    app.purchasing.draft_order("PO-9", "HZ-CUP", "WH1", [{"sku": CUP, "quantity": 24, "unit_cost": "7.50"}], "S1")
    app.purchasing.approve("PO-9", "S1")
    sign_in(desk, "S1", "/office/purchase-orders/PO-9")

    with desk.expect_download() as download:
        desk.click("#send-form button[value=xlsx]")
    with open(download.value.path(), "rb") as file:
        sheet = load_workbook(file).active
    with desk.expect_popup() as popup:
        desk.click("#send-form button[value=print]")
    printout = popup.value
    printout.wait_for_load_state()
    printed = printout.locator("#sent-lines tbody td").all_inner_texts()
    desk.reload()
    sent = desk.inner_text('#order dd[data-key="sent"]')
    desk.click("#order a[href*=suppliers]")
    desk.fill("#supplier-edit input[name=contact]", "李经理 13900001111")
    desk.fill("#supplier-edit input[name=lead_time_days]", "8")
    submit(desk, "#supplier-edit button")

    assert download.value.suggested_filename == "PO-9.xlsx"
    assert [c.value for c in sheet[2]][:8] == ["PO-9", "HZ-CUP", "杭州玻璃厂", "WH1", CUP, "Glass tea cup", CUP_EAN, 24]
    assert printed[:4] == [CUP, "Glass tea cup", CUP_EAN, "24"]
    assert sent.startswith("PRINT")
    assert desk.is_visible("#saved")
    assert app.purchasing.supplier("HZ-CUP")["contact"] == "李经理 13900001111"
    assert app.purchasing.supplier("HZ-CUP")["lead_time_days"] == 8
