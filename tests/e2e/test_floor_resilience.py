"""The floor as pickers live it, at 360×640: returns after delivery, a session that ends mid-pick, a dead connection."""

from urllib.parse import unquote

import pytest

from domain.scanning import Device
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, shipped

from .conftest import PIN, focused, go, log_in, message, press, scan, shot, sign_in

pytestmark = pytest.mark.browser


def recorded(app, device: str, screen: str) -> list:
    return [e for e in app.store.events.get(Device.create_id(device))
            if isinstance(e, Device.Scanned) and e.screen == screen]


def device_of(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "cangku_device")


def session_ends_at_the_item(app, device, number: str):
    """P1 opens a wave of one TEA and reaches its bin; the session ends; the item scanned next leads to the login."""
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 3)}, "opening")
    [placed] = app.orders.import_orders([order(number, (TEA, 1))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", f"W-{number}", [placed["order_id"]], "S1")
    page = device()
    log_in(page, "P1", "/s/pick")
    scan(page, f"W-{number}")
    scan(page, "A-01-01")
    page.context.clear_cookies(name="session")
    page.keyboard.type(TEA_EAN, delay=5)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return page, placed


def typed_by_hand(page, value: str) -> None:
    """Type a value at a person's pace (slower than any scanner) and wait for the answer."""
    answers = int(page.get_attribute("body", "data-answers") or 0)
    page.keyboard.type(value, delay=150)
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => Number(document.body.getAttribute('data-answers') || 0) > {answers}")


def test_a_delivered_order_comes_back_up_to_what_shipped_and_its_units_are_put_away_for_sale(system, device):
    app = system.app
    app.inventory.load_opening_stock({2: ("WH1", CUP, "A-01-02", 2)}, "opening")
    shipped(app, "TB-RET-1", CUP, CUP_EAN, 2, "CK0000000000000081", delivered=True)
    page = device()
    log_in(page, "R1", "/s/returns")

    scan(page, "CK0000000000000081")
    scan(page, CUP_EAN)
    press(page, "良品 1")
    scan(page, CUP_EAN)
    press(page, "良品 1")
    scan(page, CUP_EAN)
    shot(page, "20-return-after-delivery-refused")
    refused = (page.get_attribute("body", "class"), message(page))
    go(page, "/s/putaway")
    scan(page, CUP_EAN)
    scan(page, "B-02-01")
    shot(page, "21-return-put-away")
    [placed] = app.orders.import_orders([order("TB-AGAIN", (CUP, 2))], warehouse="WH1")

    assert refused == ("refused", f"订单 TB-RET-1 的 {CUP} 发出 2 件, 已全部退回")
    assert message(page) == f"2 × {CUP} 已上架到 B-02-01"
    assert placed["status"] == "reserved"
    assert app.inventory.stock_levels("WH1", CUP)["B-02-01"] == {"on_hand": 2, "reserved": 2}


def test_a_session_that_ends_mid_pick_keeps_the_scan_and_comes_back_to_the_pick_screen(system, device):
    app = system.app
    page, placed = session_ends_at_the_item(app, device, "TB-EXP")

    focused(page)
    shot(page, "22-session-ended")
    at_login = page.url
    sign_in(page, "P1")
    page.wait_for_function("() => document.body.getAttribute('data-queued') === '0'")
    shot(page, "23-session-back-on-pick")

    assert unquote(at_login).endswith("/login?next=/s/pick")
    assert page.url.endswith("/s/pick")
    assert message(page).startswith(f"已拣 1 × {TEA}")
    assert [e.key for e in recorded(app, device_of(page), "pick")] == ["wave_opened", "bin_confirmed", "picked"]
    assert app.orders.get_order(placed["order_id"])["status"] == "picked"


def test_fifty_scans_with_no_connection_and_a_reload_are_all_recorded_once_and_in_order(system, device):
    app = system.app
    page = device()
    log_in(page, "R1", "/s/receive")
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # the worker keeps this screen for when the connection is gone
    focused(page)
    codes = [code for n in range(25) for code in (TEA_EAN if n % 2 else CUP_EAN, str(n + 1))]

    page.context.set_offline(True)
    for code in codes:
        page.keyboard.type(code, delay=2)
        page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.getAttribute('data-queued') === '50'")
    shot(page, "24-offline-fifty-waiting")
    waiting = page.inner_text("#queue")
    page.reload()
    focused(page)
    after_reload = page.get_attribute("body", "data-queued")
    shot(page, "25-offline-after-reload")
    page.context.set_offline(False)
    page.wait_for_function("() => document.body.getAttribute('data-queued') === '0'", timeout=30000)
    shot(page, "26-back-online")

    assert "离线" in waiting and waiting.endswith(" 50")
    assert after_reload == "50"
    scans = recorded(app, device_of(page), "receive")
    assert [e.value for e in scans] == codes
    assert [e.sequence for e in scans] == sorted({e.sequence for e in scans})
    assert all(e.outcome == "ok" for e in scans)
    levels = {sku: app.inventory.stock_levels("WH1", sku)["RCV-01"]["on_hand"] for sku in (TEA, CUP)}
    assert levels == {CUP: sum(range(1, 26, 2)), TEA: sum(range(2, 26, 2))}


def focused_field(page) -> str:
    return page.evaluate("() => document.activeElement.name")


def test_a_wrong_badge_at_login_says_what_is_wrong_and_puts_the_focus_where_to_act(device):
    page = device()
    page.goto("/login?next=/supervisor")

    sign_in(page, "P1", PIN)
    not_a_supervisor = (page.inner_text(".msg"), focused_field(page), page.input_value("input[name=badge]"))
    shot(page, "27-login-not-a-supervisor")
    sign_in(page, "X9", PIN)
    unknown = (page.inner_text(".msg"), focused_field(page))
    sign_in(page, "S1", "1111")
    wrong_pin = (page.inner_text(".msg"), focused_field(page), page.input_value("input[name=badge]"))
    page.keyboard.type(PIN, delay=5)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert not_a_supervisor == ("工牌 P1 是拣货员, 不能使用主管界面, 请扫描有权限的工牌", "badge", "")
    assert unknown == ("工牌 X9 不存在, 请重新扫描工牌", "badge")
    assert wrong_pin == ("工牌 S1 的密码错误, 请重新输入密码", "pin", "S1")
    assert page.url.endswith("/supervisor")


def test_a_code_typed_by_hand_on_the_pick_screen_is_refused_and_the_supervisor_sees_who_typed(system, flask_app,
                                                                                                device):
    app = system.app
    flask_app.extensions["cangku_ports"].keyed_screens = ("receive", "count")
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 3)}, "opening")
    [placed] = app.orders.import_orders([order("TB-KEY", (TEA, 2))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W-KEY", [placed["order_id"]], "S1")
    page = device()
    log_in(page, "P1", "/s/pick")

    typed_by_hand(page, "W-KEY")
    typed = (page.get_attribute("body", "class"), message(page))
    shot(page, "28-keyed-code-refused")
    for code in ("W-KEY", "A-01-01", TEA_EAN):
        scan(page, code)
    typed_by_hand(page, "2")
    picked = message(page)
    system.catch_up()
    supervisor = device()
    log_in(supervisor, "S1", "/supervisor")
    shot(supervisor, "29-supervisor-keyed-and-work")

    assert typed == ("refused", "此界面不能手输条码, 请用扫描枪扫描")
    assert picked.startswith(f"已拣 2 × {TEA}")
    keyed = supervisor.locator("#productivity-days tr[data-staff=P1][data-kind=keyed] td").all_inner_texts()
    assert keyed[3:5] == ["2", "2"]
    work = supervisor.locator("#productivity-days tr[data-staff=P1][data-kind=pick] td").all_inner_texts()
    assert work[3:5] == ["1", "2"]


def test_scans_left_by_an_ended_session_wait_for_their_own_badge_not_the_next_person_s(system, device):
    app = system.app
    page, _ = session_ends_at_the_item(app, device, "TB-TWO")

    sign_in(page, "P2")
    focused(page)
    shot(page, "30-other-badge-sees-waiting-scans")
    seen_by_p2 = (page.get_attribute("body", "data-queued"), page.inner_text("#queue"))
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")
    sign_in(page, "P1")
    page.goto("/s/pick")
    page.wait_for_function("() => document.body.getAttribute('data-queued') === '0'")

    assert seen_by_p2 == ("0", "其他工牌的扫描待本人登录后发送: P1 1")
    pick_scans = [(e.staff, e.key) for e in recorded(app, device_of(page), "pick")]
    assert pick_scans == [("P1", "wave_opened"), ("P1", "bin_confirmed"), ("P1", "picked")]


def test_a_supervisor_releases_a_short_picked_order_into_a_new_wave_from_the_phone(system, device):
    app = system.app
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 2)}, "opening")
    [placed] = app.orders.import_orders([order("TB-HELD", (TEA, 2))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W-HELD", [placed["order_id"]], "S1")
    picker = device()
    log_in(picker, "P1", "/s/pick")
    for code in ("W-HELD", "A-01-01", TEA_EAN, "1"):
        scan(picker, code)
    press(picker, "缺货")
    press(picker, "缺货")
    app.inventory.receive("WH1", TEA, 1, "R1")
    app.inventory.put_away("WH1", TEA, "B-02-01", 1, "R1")
    system.catch_up()
    supervisor = device()
    log_in(supervisor, "S1", "/supervisor")
    listed = supervisor.locator("#held tr[data-order=TB-HELD] td").all_inner_texts()
    shot(supervisor, "31-supervisor-held-orders")

    supervisor.locator("#held tr[data-order=TB-HELD]").get_by_role("button", name="放行并重建波次").click()
    supervisor.wait_for_url("**/supervisor?r=*")
    shot(supervisor, "32-supervisor-released")
    wave = supervisor.inner_text("#msg").rsplit(" ", 1)[-1]
    for code in (wave, "B-02-01", TEA_EAN):
        scan(picker, code)

    assert listed[:2] == ["TB-HELD", f"short pick: {TEA}×1"]
    assert message(supervisor) == f"订单 TB-HELD 已放行, 进入波次 {wave}"
    assert message(picker).startswith(f"已拣 1 × {TEA}")
    assert app.orders.get_order(placed["order_id"])["status"] == "picked"
    assert supervisor.locator("#held tr[data-order=TB-HELD]").count() == 0
