"""A bin counted below what orders reserved, through the scanner's count screen over HTTP, on PostgreSQL."""

import pytest

from projections.inventory import stock_by_bin
from projections.invariants import check_log
from projections.orders_board import exception_queue, order_counts
from scanner_ui import create_app
from tests.builders import CUP, TEA, TEA_EAN, order, warehouse_with_catalogue

PIN = "2468"

pytestmark = pytest.mark.postgres


def signed_in(web, badge: str, device: str):
    client = web.test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = device
    assert client.post("/login", data={"badge": badge, "pin": PIN}).status_code == 303
    return client


def scanned(client, app, device: str, screen: str, value: str, kind: str = "scan") -> dict:
    answer = client.post("/scan", json={"screen": screen, "seq": app.floor.next_sequence(device), "kind": kind,
                                        "value": value})
    return answer.json["scan"]


def statuses(system) -> dict:
    return {r["status"]: r["orders"] for r in order_counts(system.fresh("orders_board"))["by_status"]}


def test_orders_counted_out_of_their_bin_wait_for_stock_and_join_a_full_wave_after_restocking(make_system,
                                                                                            postgres_url):
    system = make_system(postgres_url)
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 4, (CUP, "A-01-02"): 5})
    for badge, role in (("R1", "receiver"), ("S1", "supervisor")):
        app.staff.register_staff(badge, badge, role, PIN, "admin")
    app.orders.import_orders([order("T1", (TEA, 2), (CUP, 1)), order("T2", (TEA, 2))], warehouse="WH1")
    web = create_app(system, {"TESTING": True})
    counter, supervisor = signed_in(web, "R1", "pda-count"), signed_in(web, "S1", "desk-1")

    for value in ("A-01-01", TEA_EAN):
        scanned(counter, app, "pda-count", "count", value)
    counted = scanned(counter, app, "pda-count", "count", "0")

    assert counted["key"] == "count_adjusted"
    assert statuses(system) == {"awaiting_stock": 2}
    assert {row["platform_order_no"] for row in exception_queue(system.fresh("orders_board"), "awaiting_stock")} == {
        "T1", "T2"}
    levels = {(r["sku"], r["bin"]): (r["on_hand"], r["reserved"]) for r in stock_by_bin(system.fresh("inventory"))}
    assert levels.get((TEA, "A-01-01"), (0, 0)) == (0, 0) and levels[(CUP, "A-01-02")] == (5, 0)
    audit = check_log(app.store, system.fresh("inventory"))
    assert audit.passed, [str(f) for f in audit.failures]
    nothing_to_wave = scanned(supervisor, app, "desk-1", "supervisor", "wave:all", "action")
    assert (nothing_to_wave["outcome"], nothing_to_wave["key"]) == ("refused", "invalid_order_state")

    app.inventory.receive("WH1", TEA, 4, "R1", bin="RCV-01")
    app.inventory.put_away("WH1", TEA, "A-01-01", 4, "R1")
    for number in ("T1", "T2"):
        app.orders.reserve_order(app.orders.find_order("taobao", "flagship", number).id, "WH1", "S1")
    waved = scanned(supervisor, app, "desk-1", "supervisor", "wave:all", "action")

    assert waved["key"] == "wave_created" and statuses(system) == {"waved": 2}
    wave = app.screens.wave_numbered("WH1", waved["params"]["wave"])
    assert sorted((line["sku"], line["quantity"]) for line in wave.lines) == [(CUP, 1), (TEA, 2), (TEA, 2)]
    audit = check_log(app.store, system.fresh("inventory"))
    assert audit.passed, [str(f) for f in audit.failures]
