"""A scanner device and a member of staff work in a warehouse chosen at sign-in, remembered per device; a person
may be limited to some warehouses; every screen then works in that warehouse."""

import copy

import pytest

from domain.scanning import LoginRefused, Scan
from scanner_ui.ports import FloorPorts
from tests.builders import BINS, TEA, TEA_EAN, warehouse_with_catalogue

PIN = "73914682"


@pytest.fixture
def system(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app)
    system.app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        system.app.inventory.add_location("WH2", bin, zone, area, sequence)
    system.app.staff.register_staff("R1", "Receiver", "receiver", PIN, "admin")
    return system


def test_the_warehouse_chosen_at_sign_in_is_remembered_by_the_device_for_the_next_sign_in(system):
    floor = system.app.floor

    first = floor.login("pda-7", "R1", PIN, "receive", "WH2", "WH1")
    again = floor.login("pda-7", "R1", PIN, "receive", "", "WH1")
    elsewhere = floor.login("pda-8", "R1", PIN, "receive", "", "WH1")

    assert (first["warehouse"], again["warehouse"], elsewhere["warehouse"]) == ("WH2", "WH2", "WH1")
    assert floor.device_warehouse("pda-7") == "WH2"


def test_a_person_limited_to_some_warehouses_cannot_sign_in_to_another(system):
    system.app.staff.change_staff("R1", "S1", warehouses=["WH1"])

    with pytest.raises(LoginRefused) as refused:
        system.app.floor.login("pda-7", "R1", PIN, "receive", "WH2", "WH1")
    allowed = system.app.floor.login("pda-7", "R1", PIN, "receive", "WH1", "WH1")

    assert (refused.value.code, refused.value.field) == ("warehouse_not_allowed", "warehouse")
    assert allowed["warehouse"] == "WH1" and system.app.staff.staff_member("R1")["warehouses"] == ["WH1"]
    assert system.app.floor.device_warehouse("pda-7") == "WH1"


def test_an_unknown_warehouse_is_refused_at_sign_in_and_the_device_keeps_its_last(system):
    system.app.floor.login("pda-7", "R1", PIN, "receive", "WH2", "WH1")

    with pytest.raises(LoginRefused) as refused:
        system.app.floor.login("pda-7", "R1", PIN, "receive", "WH9", "WH1")

    assert refused.value.code == "unknown_warehouse_login"
    assert system.app.floor.device_warehouse("pda-7") == "WH2"


def test_the_receive_screen_books_units_in_the_devices_warehouse(system):
    ports = FloorPorts(system, lambda order_id, by: "fake", count_approval_threshold=2)
    in_wh2 = copy.copy(ports)
    in_wh2.warehouse = "WH2"
    system.app.floor.login("pda-7", "R1", PIN, "receive", "WH2", "WH1")

    for n, value in enumerate((TEA_EAN, "4"), 1):
        system.app.floor.scan(Scan("pda-7", system.app.floor.next_sequence("pda-7"), "R1", "receive", value),
                              in_wh2)

    assert system.app.inventory.stock_levels("WH2", TEA) == {"RCV-01": {"on_hand": 4, "reserved": 0}}
    assert system.app.inventory.stock_levels("WH1", TEA) == {}


def test_signing_in_before_any_warehouse_is_set_up_works_in_the_default_and_records_no_choice(make_system):
    app = make_system("memory:").app
    app.staff.register_staff("S1", "Supervisor", "supervisor", PIN, "admin")

    member = app.floor.login("desk-1", "S1", PIN, "", "", "WH1")

    assert member["warehouse"] == "WH1" and app.floor.device_warehouse("desk-1") == ""


def ports_in(system, warehouse: str) -> FloorPorts:
    ports = copy.copy(FloorPorts(system, lambda order_id, by: "fake", count_approval_threshold=2))
    ports.warehouse = warehouse
    return ports


def test_a_packer_working_in_another_warehouse_is_told_where_the_order_ships_from(system):
    from tests.builders import order

    app = system.app
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 2)}, "opening")
    app.staff.register_staff("K1", "Packer", "packer", PIN, "admin")
    [placed] = app.orders.import_orders([order("P-9", (TEA, 1))], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", "W9", [placed["order_id"]], "S1")
    app.fulfilment.pick(wave, 0, "A-01-01", TEA_EAN, 1, "P1")

    elsewhere = app.floor.scan(Scan("pack-2", 1, "K1", "pack", "P-9"), ports_in(system, "WH2"))
    here = app.floor.scan(Scan("pack-1", 1, "K1", "pack", "P-9"), ports_in(system, "WH1"))

    assert (elsewhere.outcome, elsewhere.key) == ("refused", "order_in_other_warehouse")
    assert elsewhere.params == {"order": "P-9", "warehouse": "WH1", "here": "WH2"}
    assert here.key == "pack_order"


def test_a_return_scanned_in_another_warehouse_comes_back_into_that_warehouses_returns_bin(system):
    from tests.builders import shipped

    app = system.app
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 2)}, "opening")
    shipped(app, "S-9", TEA, TEA_EAN, 1, "YT9")
    ports = ports_in(system, "WH2")

    answers = [app.floor.scan(Scan("ret-2", n, "R1", "returns", value), ports)
               for n, value in enumerate(("S-9", TEA_EAN, "1"), 1)]

    assert answers[-1].key == "restocked"
    assert app.inventory.stock_levels("WH2", TEA) == {"RET-01": {"on_hand": 1, "reserved": 0}}
    assert "RET-01" not in app.inventory.stock_levels("WH1", TEA)
