"""The back office's warehouse pages over HTTP: routing rules saved as a new version, staff limited to warehouses,
a transfer drafted, shipped and closed with its units in transit shown; auditors read only."""

import pytest

from scanner_ui import create_app
from tests.builders import BINS, CUP, TEA, warehouse_with_catalogue

PIN = "2468"


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 4})
    system.app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        system.app.inventory.add_location("WH2", bin, zone, area, sequence)
    for badge, role in (("S1", "supervisor"), ("A1", "auditor"), ("R1", "receiver")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return system


def signed_in(system, badge: str):
    client = create_app(system, {"TESTING": True}).test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = f"desk-{badge}"
    assert client.post("/login", data={"badge": badge, "pin": PIN}).status_code == 303
    return client


def test_a_supervisor_saves_routing_rules_and_limits_a_receiver_to_one_warehouse(system):
    desk = signed_in(system, "S1")

    saved = desk.post("/office/warehouses/rules", data={
        "warehouse": ["WH1", "WH2"], "priority:WH1": "2", "provinces:WH1": "浙江省，上海市", "priority:WH2": "1",
        "provinces:WH2": "北京市", "split_allowed": "on"})
    limited = desk.post("/office/warehouses/staff", data={"badge": "R1", "allowed": ["WH2"]})
    page = desk.get("/office/warehouses").get_data(as_text=True)
    bad = desk.post("/office/warehouses/rules", data={"warehouse": ["WH1"], "priority:WH1": "x"})
    sender = desk.post("/office/warehouses/sender", data={
        "warehouse": "WH2", "name": "北京仓", "phone": "010-88886666", "province": "北京市", "city": "北京市",
        "district": "朝阳区", "address": "酒仙桥路 10 号"})
    no_phone = desk.post("/office/warehouses/sender", data={"warehouse": "WH1", "name": "杭州仓", "province": "浙江省",
                                                             "address": "文三路 1 号"})

    assert saved.status_code == 303 and limited.status_code == 303
    assert system.app.routing.describe() == {"version": 1, "split_allowed": True, "rules": [
        {"warehouse": "WH2", "priority": 1, "provinces": ["北京市"]},
        {"warehouse": "WH1", "priority": 2, "provinces": ["浙江省", "上海市"]}]}
    assert system.app.staff.staff_member("R1")["warehouses"] == ["WH2"]
    assert "分仓规则第 1 版" in page and 'value="浙江省，上海市"' in page
    assert bad.status_code == 422 and system.app.routing.describe()["version"] == 1
    assert sender.status_code == 303 and system.app.inventory.sender_of("WH2")["address"] == "酒仙桥路 10 号"
    assert no_phone.status_code == 422 and system.app.inventory.sender_of("WH1") == {}
    assert "北京市 北京市 朝阳区 酒仙桥路 10 号" in desk.get("/office/warehouses").get_data(as_text=True)


def test_a_transfer_is_drafted_shipped_and_closed_from_the_pages_with_its_units_in_transit(system):
    desk = signed_in(system, "S1")

    drafted = desk.post("/office/warehouses/transfers", data={
        "number": "TR-9", "from_warehouse": "WH1", "to_warehouse": "WH2", "lines": f"{TEA}*6\n{CUP}*2"})
    shipped = desk.post("/office/warehouses/transfers/TR-9/ship")
    listing = desk.get("/office/warehouses/transfers").get_data(as_text=True)
    stock_page = desk.get(f"/office/stock?sku={TEA}&warehouse=WH2").get_data(as_text=True)
    system.app.transfers.receive("TR-9", TEA, 6, "R1")
    closed = desk.post("/office/warehouses/transfers/TR-9/close")
    detail = desk.get("/office/warehouses/transfers/TR-9").get_data(as_text=True)

    assert drafted.status_code == 303 and drafted.headers["Location"].endswith("/office/warehouses/transfers/TR-9")
    assert shipped.status_code == 303 and closed.status_code == 303
    assert f"<td>TR-9</td><td>{TEA}</td><td>WH1</td><td>WH2</td><td class=\"number\">6</td>" in listing
    assert system.app.inventory.stock_levels("WH1", TEA) == {"A-01-01": {"on_hand": 4, "reserved": 0}}
    assert 'id="in-transit-table"' in stock_page and f"<td>{TEA}</td><td>WH1</td><td>WH2</td><td class=\"number\">6</td>" in stock_page
    assert '<dd data-key="status">已关闭</dd>' in detail
    assert system.app.transfers.transfer("TR-9")["status"] == "closed"


def test_an_auditor_reads_the_warehouse_pages_but_cannot_change_them(system):
    auditor = signed_in(system, "A1")

    page = auditor.get("/office/warehouses")
    refused = auditor.post("/office/warehouses/transfers", data={
        "number": "TR-1", "from_warehouse": "WH1", "to_warehouse": "WH2", "lines": f"{TEA}*1"})

    assert page.status_code == 200 and 'id="rules-form"' in page.get_data(as_text=True)
    assert refused.status_code == 403
    assert auditor.get("/office/warehouses/transfers").status_code == 200
