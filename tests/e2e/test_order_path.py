"""Receive, put away, wave, pick, pack, weigh, print and hand over three orders on scanner screens in Chromium."""

import pytest

from domain.ids import package_id
from domain.scanning import Device
from projections.inventory import stock_by_bin
from projections.scanning import recorded_scans
from tests.builders import CUP, CUP_EAN, PAN, PAN_EAN, TEA, TEA_EAN, order

from .conftest import EANS, go, log_in, message, press, scan, shot

pytestmark = pytest.mark.browser


def pick_the_wave(page) -> list[str]:
    """Follow the screen bin by bin: scan the bin it names, the item it names, the quantity when asked."""
    bins = []
    while page.get_attribute(".prompt", "data-step") != "wave":
        step = page.get_attribute(".prompt", "data-step")
        if step == "bin":
            bins.append(page.get_attribute(".big", "data-bin"))
            scan(page, bins[-1])
        elif step == "item":
            scan(page, EANS[page.get_attribute(".prompt", "data-sku")])
        else:
            scan(page, page.get_attribute(".prompt", "data-remaining"))
        assert "refused" not in (page.get_attribute("body", "class") or ""), message(page)
    return bins


def test_three_orders_go_from_receiving_to_the_courier_on_scanner_screens(system, flask_app, device):
    app = system.app
    receiver = device()
    log_in(receiver, "R1", "/s/receive")

    for code in ("PO-2026-118", TEA_EAN, "6", CUP_EAN, "10", PAN_EAN, "2"):
        scan(receiver, code)
    shot(receiver, "01-receive")
    assert app.inventory.stock_levels("WH1", CUP) == {"RCV-01": {"on_hand": 10, "reserved": 0}}

    go(receiver, "/s/putaway")
    for code, bin in ((TEA_EAN, "A-01-01"), (CUP_EAN, "A-01-02"), (PAN_EAN, "B-02-01")):
        scan(receiver, code)
        scan(receiver, bin)
    shot(receiver, "02-putaway")

    results = app.orders.import_orders(
        [order("TB-1001", (TEA, 2), (CUP, 1)), order("TB-1002", (CUP, 3)), order("TB-1003", (PAN, 1))],
        warehouse="WH1")
    assert [r["status"] for r in results] == ["reserved"] * 3
    order_ids = [r["order_id"] for r in results]

    supervisor = device()
    log_in(supervisor, "S1", "/supervisor")
    supervisor.get_by_role("button", name="全部已预占订单建波次").click()
    supervisor.wait_for_url("**/supervisor?r=*")
    assert "已建波次" in message(supervisor)
    shot(supervisor, "03-wave")

    picker = device()
    log_in(picker, "P1", "/s/pick")
    picker.locator(".actions button").first.click()
    picker.wait_for_selector(".prompt[data-step=bin]")
    first_bin = picker.get_attribute(".big", "data-bin")
    scan(picker, "B-02-01" if first_bin != "B-02-01" else "A-01-01")
    assert picker.get_attribute("body", "class") == "refused"
    assert message(picker) == f"货位错误! 应到 {first_bin}"
    shot(picker, "04-pick-wrong-bin")
    scan(picker, first_bin)
    scan(picker, PAN_EAN)
    assert picker.get_attribute("body", "class") == "refused"
    assert message(picker).startswith("商品错误!")
    shot(picker, "05-pick-wrong-item")
    bins = [first_bin] + pick_the_wave(picker)
    shot(picker, "06-pick-done")
    assert bins == ["A-01-01", "A-01-02", "A-01-02", "B-02-01"]

    packer = device()
    log_in(packer, "K1", "/s/pack")
    scan(packer, "TB-1001")
    scan(packer, PAN_EAN)
    assert packer.get_attribute("body", "class") == "refused"
    assert "TEA-LJ-250×2" in message(packer) and "CUP-GL-01×1" in message(packer)
    shot(packer, "07-pack-wrong-item")
    press(packer, "封箱")
    assert packer.get_attribute("body", "class") == "refused"
    assert message(packer) == "还有商品未复核, 不能封箱"
    for code in (TEA_EAN, CUP_EAN, TEA_EAN):
        scan(packer, code)
    for number, items, grams in (("TB-1001", [], 820), ("TB-1002", [CUP_EAN] * 3, 610), ("TB-1003", [PAN_EAN], 1530)):
        if number != "TB-1001":
            scan(packer, number)
            for code in items:
                scan(packer, code)
        press(packer, "封箱")
        scan(packer, str(grams))
        shot(packer, f"08-pack-weighed-{number}")
        press(packer, "获取面单")
        press(packer, "打印面单")
        assert message(packer).startswith("面单 CK") and message(packer).endswith("已打印")
    shot(packer, "09-label-printed")

    go(packer, "/s/handover")
    tracking = [app.store.repository.get(package_id(i)).tracking_no for i in order_ids]
    for tracking_no in tracking:
        scan(packer, tracking_no)
        assert packer.get_attribute("body", "class") == "ok", message(packer)
    shot(packer, "10-handover")

    assert [app.orders.get_order(i)["status"] for i in order_ids] == ["shipped"] * 3
    system.catch_up()
    stock = {(r["sku"], r["bin"]): (r["on_hand"], r["reserved"]) for r in stock_by_bin(system.engine, "WH1")}
    assert stock == {(TEA, "A-01-01"): (4, 0), (CUP, "A-01-02"): (6, 0), (PAN, "B-02-01"): (1, 0)}
    label_jobs = flask_app.extensions["cangku_print_label"].printer.jobs
    assert len(label_jobs) == 3 and all(t.encode() in job for t, job in zip(tracking, label_jobs))
    refused = [(r["staff"], r["screen"], r["key"], r["value"]) for r in recorded_scans(system.engine)
               if r["outcome"] == "refused"]
    assert sorted(refused) == sorted([
        ("P1", "pick", "wrong_bin", "B-02-01"), ("P1", "pick", "wrong_item", PAN_EAN),
        ("K1", "pack", "wrong_item", PAN_EAN), ("K1", "pack", "package_incomplete", "close")])
    picked = [r for r in recorded_scans(system.engine, staff="P1") if r["key"] == "picked"]
    assert sum(r["params"]["quantity"] for r in picked) == 7
    scanned = [e for e in app.store.events.get(Device.create_id(picked[0]["device"])) if isinstance(e, Device.Scanned)]
    assert [e.sequence for e in scanned] == sorted(e.sequence for e in scanned)

