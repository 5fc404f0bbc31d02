"""Refusals on the scanner floor say what would be accepted, in the picker's language."""

import pytest

from scanner_ui.i18n import translate
from tests.builders import CUP, CUP_EAN, TEA_EAN, order, warehouse_with_catalogue
from tests.unit.test_scanner_flows import PIN, Floor, wave_of


@pytest.fixture
def floor(make_system):
    system = make_system()
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 10})
    for badge, role in (("P1", "picker"), ("R1", "receiver"), ("K1", "packer"), ("S1", "supervisor")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return Floor(system)


def said(result, lang="zh") -> str:
    return translate(lang, result.key, result.params)


@pytest.mark.parametrize("typed", ["3", "0", "1.2kg"])
def test_a_quantity_outside_what_is_left_to_pick_is_refused_with_the_range(floor, typed):
    wave = wave_of(floor, order("T1", (CUP, 2)))
    floor.scans("P1", "pick", "A-01-02")  # not a wave: refused, the picker goes on
    floor.scan("P1", "pick", wave, kind="action")
    floor.scans("P1", "pick", "A-01-02", CUP_EAN)

    refused = floor.scan("P1", "pick", typed)

    assert said(refused) == "请输入 1 到 2 之间的整数"
    assert said(refused, "en") == "Type a whole number from 1 to 2"


def test_the_receive_screen_asks_for_the_quantity_received_without_an_empty_count(floor):
    asked = floor.scan("R1", "receive", TEA_EAN)

    assert said(asked) == "TEA-LJ-250: 请输入收货数量"


def test_a_surplus_item_at_packing_says_the_package_is_complete(floor):
    wave = wave_of(floor, order("T1", (CUP, 1)))
    floor.scan("P1", "pick", wave, kind="action")
    floor.scans("P1", "pick", "A-01-02", CUP_EAN)
    floor.scan("K1", "pack", "T1")
    floor.scan("K1", "pack", CUP_EAN)

    surplus = floor.scan("K1", "pack", CUP_EAN)

    assert surplus.outcome == "refused"
    assert said(surplus) == "订单 T1 的商品已全部复核, 请封箱"


def test_one_stray_tap_of_short_holds_nothing_and_a_scan_after_it_cancels_the_question(floor):
    wave = wave_of(floor, order("T1", (CUP, 2)))
    floor.scan("P1", "pick", wave, kind="action")
    floor.scan("P1", "pick", "A-01-02")

    asked = floor.scan("P1", "pick", "short", kind="action")
    floor.scan("P1", "pick", CUP_EAN)
    asked_again = floor.scan("P1", "pick", "short", kind="action")

    assert (asked.key, asked_again.key) == ("confirm_short", "confirm_short")
    assert floor.app.orders.find_order("taobao", "flagship", "T1").status == "waved"
    assert "再按一次缺货确认" in said(asked)
