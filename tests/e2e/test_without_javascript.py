"""The core flows are plain forms: with JavaScript switched off a picker still picks (POST, redirect, GET)."""

import pytest

from tests.builders import CUP, CUP_EAN, order

from .conftest import PIN, shot

pytestmark = pytest.mark.browser


def submit(page, text: str) -> None:
    page.wait_for_function("() => document.activeElement && document.activeElement.tagName === 'INPUT'")
    page.keyboard.type(text, delay=5)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_a_pick_works_with_javascript_switched_off(system, device):
    app = system.app
    app.inventory.load_opening_stock({2: ("WH1", CUP, "A-01-02", 5)}, "opening")
    [result] = app.orders.import_orders([order("TB-3001", (CUP, 2))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W-NOJS", [result["order_id"]], "S1")
    page = device(java_script=False)
    page.goto("/login?next=/s/pick")

    submit(page, "P1")
    submit(page, PIN)
    with page.expect_navigation():
        page.get_by_role("button", name="W-NOJS · 剩余 2 件").click()
    submit(page, "B-02-01")
    wrong_bin = (page.get_attribute("body", "class"), page.inner_text("#msg"))
    submit(page, "A-01-02")
    submit(page, CUP_EAN)
    submit(page, "2")
    shot(page, "14-no-javascript-pick")

    assert wrong_bin == ("refused", "货位错误! 应到 A-01-02")
    assert page.inner_text("#msg") == "已拣 2 × CUP-GL-01, 放入 1 号箱"
    assert app.orders.get_order(result["order_id"])["status"] == "picked"
    assert app.inventory.stock_levels("WH1", CUP) == {"A-01-02": {"on_hand": 3, "reserved": 0},
                                           "PACK-01": {"on_hand": 2, "reserved": 2}}
