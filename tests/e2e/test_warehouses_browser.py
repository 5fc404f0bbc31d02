"""Warehouses in Chromium: a supervisor sets the routing rules and drafts a transfer from WH1 to WH2; a receiver signed
in to WH1 on one PDA scans it out, another signed in to WH2 scans it in; the supervisor sees what is still in transit
and closes it with the unit that never came."""

import pytest

from tests.builders import BINS, TEA, TEA_EAN

from .conftest import PIN, focused, press, scan
from .test_backoffice_browser import sign_in

pytestmark = pytest.mark.browser


def submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def rows(page, table: str) -> list[list[str]]:
    found = page.locator(f"#{table} tbody tr:not(.empty)")
    return [found.nth(n).locator("td").all_inner_texts() for n in range(found.count())]


def signed_in_to(pda, warehouse: str, screen: str):
    pda.goto(f"/login?next={screen}")
    pda.fill("input[name=badge]", "R1")
    pda.fill("input[name=pin]", PIN)
    pda.select_option("select[name=warehouse]", warehouse)
    submit(pda, "#login button")
    focused(pda)
    return pda


def test_a_transfer_is_sent_shipped_scanned_in_at_the_other_warehouse_and_closed(system, desk, device):
    app = system.app
    app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        app.inventory.add_location("WH2", bin, zone, area, sequence)
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 8)}, "opening")

    sign_in(desk, "S1", "/office/warehouses")
    desk.fill('input[name="priority:WH1"]', "1")
    desk.fill('input[name="priority:WH2"]', "2")
    desk.fill('input[name="provinces:WH2"]', "北京市")
    submit(desk, "#rules-form button")
    version = desk.inner_text("#rules-version")
    desk.click("nav.side >> text=调拨单")
    desk.wait_for_selector("#transfer-form")
    desk.fill("#transfer-form input[name=number]", "TR-2026-001")
    desk.fill("#transfer-form textarea[name=lines]", f"{TEA}*5")
    submit(desk, "#transfer-form button")

    hangzhou = signed_in_to(device(), "WH1", "/s/dispatch")
    for code in ("TR-2026-001", "A-01-01", TEA_EAN, "5"):
        scan(hangzhou, code)
    press(hangzhou, "出库完成")
    desk.reload()
    shipped = rows(desk, "lines-table")

    beijing = signed_in_to(device(), "WH2", "/s/receive")
    for code in ("TR-2026-001", TEA_EAN, "4"):
        scan(beijing, code)

    desk.goto("/office/warehouses/transfers")
    in_transit = rows(desk, "in-transit-table")
    desk.goto("/office/warehouses/transfers/TR-2026-001")
    submit(desk, "#close-form button")
    closed = rows(desk, "lines-table")

    assert version.startswith("分仓规则第 1 版")
    assert shipped == [[TEA, "5", "5", "0", "5", "0", "0"]]
    assert in_transit == [["TR-2026-001", TEA, "WH1", "WH2", "1"]]
    assert closed == [[TEA, "5", "5", "4", "0", "1", "0"]]
    assert desk.inner_text('#transfer dd[data-key="status"]') == "已关闭"
    assert app.inventory.stock_levels("WH2", TEA) == {"RCV-01": {"on_hand": 4, "reserved": 0}}
    assert app.inventory.stock_levels("WH1", TEA) == {"A-01-01": {"on_hand": 3, "reserved": 0}}
