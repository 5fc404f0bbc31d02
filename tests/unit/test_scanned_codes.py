"""What scanners send for one item is read as the item on file: GS1 element strings, symbology prefixes, GTIN-14,
a UPC-A read as 13 digits; a code with a wrong check digit stays unknown."""

import pytest

from adapters.barcodes import gtin_forms
from domain.errors import UnknownBarcode
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, warehouse_with_catalogue
from tests.unit.test_scanner_flows import PIN, Floor, wave_of

UPC_A = "012345678905"


@pytest.mark.parametrize("scanned", [
    TEA_EAN,
    f"(01)0{TEA_EAN}(10)LOT1",
    f"010{TEA_EAN}\x1d10LOT1\x1d17271231",
    f"]C1010{TEA_EAN}",
    f"]E0{TEA_EAN}",
    f"0{TEA_EAN}",
])
def test_every_way_a_scanner_sends_the_tea_s_ean_finds_the_tea(make_system, scanned):
    system = make_system()
    warehouse_with_catalogue(system.app)

    assert system.app.catalogue.sku_for_barcode(scanned) == TEA


@pytest.mark.parametrize("scanned", [UPC_A, "0" + UPC_A, "00" + UPC_A])
def test_a_upc_a_read_as_twelve_thirteen_or_fourteen_digits_finds_its_sku(make_system, scanned):
    system = make_system()
    system.app.catalogue.register_sku("US-MUG", "Imported mug", [UPC_A])

    assert system.app.catalogue.sku_for_barcode(scanned) == "US-MUG"


@pytest.mark.parametrize("scanned", [f"(01)0{TEA_EAN[:-1]}3(10)LOT1", f"0{TEA_EAN[:-1]}3", "A-01-01", "", "(01)"])
def test_a_code_with_a_wrong_check_digit_or_no_gtin_stays_unknown(make_system, scanned):
    system = make_system()
    warehouse_with_catalogue(system.app)

    assert gtin_forms(scanned) == []
    with pytest.raises(UnknownBarcode):
        system.app.catalogue.sku_for_barcode(scanned)


def test_a_picker_scanning_the_gs1_128_label_of_a_carton_picks_the_item(make_system):
    system = make_system()
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 10})
    system.app.staff.register_staff("P1", "P1", "picker", PIN, "admin")
    system.app.staff.register_staff("S1", "S1", "supervisor", PIN, "admin")
    floor = Floor(system)
    wave = wave_of(floor, order("T1", (CUP, 1)))
    floor.scan("P1", "pick", wave, kind="action")
    floor.scan("P1", "pick", "A-01-02")

    picked = floor.scan("P1", "pick", f"010{CUP_EAN}\x1d10B2026-11\x1d17281130")

    assert (picked.outcome, picked.key, picked.params["sku"]) == ("ok", "picked", CUP)
    assert system.app.inventory.stock_levels("WH1", CUP)["PACK-01"]["on_hand"] == 1


def picking_floor(make_system):
    system = make_system()
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 10})
    system.app.catalogue.register_sku("LOOSE-1", "散装茶叶 (no barcode)")
    system.app.inventory.receive("WH1", "LOOSE-1", 5, "R1")
    system.app.inventory.put_away("WH1", "LOOSE-1", "A-01-01", 5, "R1")
    for badge, role in (("P1", "picker"), ("S1", "supervisor")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return Floor(system)


def test_typing_the_sku_code_shown_on_screen_does_not_pass_for_scanning_an_item_with_a_barcode(make_system):
    floor = picking_floor(make_system)
    wave = wave_of(floor, order("T1", (CUP, 1)))
    floor.scan("P1", "pick", wave, kind="action")
    floor.scan("P1", "pick", "A-01-02")

    typed = floor.scan("P1", "pick", CUP)

    assert (typed.outcome, typed.key, typed.params) == ("refused", "wrong_item", {"expected": CUP})
    assert floor.app.inventory.stock_levels("WH1", CUP)["A-01-02"]["reserved"] == 1


def test_an_item_without_any_barcode_is_picked_by_its_sku_code(make_system):
    floor = picking_floor(make_system)
    wave = wave_of(floor, order("T2", ("LOOSE-1", 1)))
    floor.scan("P1", "pick", wave, kind="action")
    floor.scan("P1", "pick", "A-01-01")

    picked = floor.scan("P1", "pick", "LOOSE-1")

    assert (picked.outcome, picked.key) == ("ok", "picked")
