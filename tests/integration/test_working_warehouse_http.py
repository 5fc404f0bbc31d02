"""Signing in on a scanner with a warehouse chosen: the menu says where, the screens book there, the device remembers."""

import pytest

from scanner_ui import create_app
from tests.builders import BINS, TEA, TEA_EAN, warehouse_with_catalogue

PIN = "2468"


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app)
    system.app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        system.app.inventory.add_location("WH2", bin, zone, area, sequence)
    system.app.staff.register_staff("R1", "Receiver", "receiver", PIN, "admin")
    system.app.staff.register_staff("R2", "Receiver two", "receiver", PIN, "admin")
    system.app.staff.register_staff("S1", "Supervisor", "supervisor", PIN, "admin")
    system.app.staff.change_staff("R2", "admin", warehouses=["WH1"])
    return system


def device(web, name: str):
    client = web.test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = name
    return client


def test_a_receiver_signed_in_to_the_second_warehouse_receives_there_and_the_device_remembers_it(system):
    web = create_app(system, {"TESTING": True})
    pda = device(web, "pda-9")
    form = pda.get("/login").get_data(as_text=True)

    signed_in = pda.post("/login", data={"badge": "R1", "pin": PIN, "warehouse": "WH2"})
    menu = pda.get("/").get_data(as_text=True)
    for value in (TEA_EAN, "6"):
        answer = pda.post("/scan", json={"screen": "receive", "seq": system.app.floor.next_sequence("pda-9"),
                                         "kind": "scan", "value": value})
        assert answer.status_code == 200
    pda.post("/logout")
    again = pda.get("/login").get_data(as_text=True)

    assert '<option value="WH2"' in form and signed_in.status_code == 303
    assert "WH2" in menu
    assert system.app.inventory.stock_levels("WH2", TEA)["RCV-01"]["on_hand"] == 6
    assert system.app.inventory.stock_levels("WH1", TEA) == {}
    assert '<option value="WH2" selected' in again


def test_a_person_not_allowed_in_a_warehouse_is_refused_there_without_counting_a_wrong_pin(system):
    web = create_app(system, {"TESTING": True})
    pda = device(web, "pda-10")

    refused = pda.post("/login", data={"badge": "R2", "pin": PIN, "warehouse": "WH2"})

    assert refused.status_code == 403
    assert "WH2" in refused.get_data(as_text=True)
    assert pda.get("/").status_code == 302


def test_staff_set_limits_a_badge_to_named_warehouses_and_refuses_an_unknown_one(system, sqlite_url, tmp_path,
                                                                               monkeypatch):
    from click.testing import CliRunner

    from cangku.staff_cli import staff

    monkeypatch.setenv("CANGKU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CANGKU_DATA_DIR", str(tmp_path))

    limited = CliRunner().invoke(staff, ["set", "R1", "--warehouses", "WH2"])
    unknown = CliRunner().invoke(staff, ["set", "R1", "--warehouses", "WH2,WH9"])

    assert limited.exit_code == 0, limited.output
    assert unknown.exit_code == 1 and "WH9" in unknown.output
    assert system.app.staff.staff_member("R1")["warehouses"] == ["WH2"]


def test_the_supervisor_screen_shows_the_waves_and_figures_of_the_warehouse_signed_in_to(system):
    from tests.builders import order

    system.app.inventory.load_opening_stock({2: ("WH2", TEA, "A-01-01", 3)}, "opening")
    system.app.orders.import_orders([order("W2-1", (TEA, 1))], warehouse="WH2")
    web = create_app(system, {"TESTING": True})
    in_wh1, in_wh2 = device(web, "desk-1"), device(web, "desk-2")
    in_wh1.post("/login", data={"badge": "S1", "pin": PIN, "warehouse": "WH1"})
    in_wh2.post("/login", data={"badge": "S1", "pin": PIN, "warehouse": "WH2"})

    first = in_wh1.get("/supervisor", headers={"Accept": "application/json"}).json
    second = in_wh2.get("/supervisor", headers={"Accept": "application/json"}).json

    assert (first["warehouse"], first["reserved"]) == ("WH1", 0)
    assert (second["warehouse"], second["reserved"]) == ("WH2", 1)


def test_the_transfer_out_screen_shows_the_lines_and_what_was_scanned_out(system):
    system.app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 5)}, "opening")
    system.app.transfers.draft("TR-5", "WH1", "WH2", {TEA: 3}, "S1")
    web = create_app(system, {"TESTING": True})
    pda = device(web, "pda-11")
    pda.post("/login", data={"badge": "R1", "pin": PIN, "warehouse": "WH1"})

    for value in ("TR-5", "A-01-01", TEA_EAN, "2"):
        answer = pda.post("/scan", json={"screen": "dispatch", "seq": system.app.floor.next_sequence("pda-11"),
                                         "kind": "scan", "value": value})
        assert answer.status_code == 200, answer.json
    page = pda.get("/s/dispatch").get_data(as_text=True)
    menu = pda.get("/").get_data(as_text=True)

    assert f"{TEA} 2/3" in page and "扫描商品 (或其他库位)" in page
    assert "/s/dispatch" in menu and "调拨出库" in menu
    assert system.app.transfers.transfer("TR-5")["in_transit"] == {TEA: 2}
