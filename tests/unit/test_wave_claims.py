"""One picker per wave: the first to open it has it until a supervisor hands it back; everyone else is told so."""

import pytest

from tests.builders import CUP, CUP_EAN, order, warehouse_with_catalogue
from tests.unit.test_scanner_flows import PIN, Floor, wave_of


@pytest.fixture
def floor(make_system):
    system = make_system()
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 10})
    for badge, role in (("P1", "picker"), ("P2", "picker"), ("S1", "supervisor")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return Floor(system)


def test_a_second_picker_opening_a_wave_someone_has_is_told_who_has_it(floor):
    wave = wave_of(floor, order("T1", (CUP, 2)))
    floor.scan("P1", "pick", wave, kind="action")

    second = floor.scan("P2", "pick", wave, kind="action")

    assert (second.outcome, second.key, second.params) == ("refused", "wave_taken", {"wave": wave, "picker": "P1"})
    assert floor.app.floor.screen_context("pda-P2", "pick") == {}
    assert floor.app.fulfilment.wave(floor.app.screens.wave_numbered("WH1", wave).id).picker == "P1"


def test_the_picker_who_has_the_wave_opens_it_again_and_picks_on(floor):
    wave = wave_of(floor, order("T1", (CUP, 1)))
    floor.scan("P1", "pick", wave, kind="action")
    floor.scan("P1", "pick", "cancel", kind="cancel")

    again = floor.scan("P1", "pick", wave, kind="action")
    floor.scan("P1", "pick", "A-01-02")
    picked = floor.scan("P1", "pick", CUP_EAN)

    assert (again.key, picked.key) == ("wave_opened", "picked")


def test_a_supervisor_hands_a_wave_back_and_the_first_picker_can_no_longer_pick_it(floor):
    wave = wave_of(floor, order("T1", (CUP, 2)))
    floor.scan("P1", "pick", wave, kind="action")
    floor.scan("P1", "pick", "A-01-02")

    handed = floor.scan("S1", "supervisor", f"handback:{wave}", kind="override")
    taken = floor.scan("P2", "pick", wave, kind="action")
    stale = floor.scan("P1", "pick", CUP_EAN)

    assert (handed.key, handed.params) == ("wave_handed_back", {"wave": wave, "picker": "P1"})
    assert taken.key == "wave_opened"
    assert (stale.outcome, stale.key, stale.params["picker"]) == ("refused", "wave_taken", "P2")
    assert floor.app.inventory.stock_levels("WH1", CUP)["A-01-02"]["reserved"] == 2
