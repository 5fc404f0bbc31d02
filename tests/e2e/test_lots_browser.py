"""Lots in Chromium: a receiver scans a milk carton's printed GS1 label on a PDA and the screen shows its lot and
expiry; a picker is shown the lot to pick and a label of a later lot is refused on screen."""

from decimal import Decimal

import pytest

from tests.builders import order

from .conftest import log_in, message, scan

pytestmark = pytest.mark.browser

MILK, MILK_GTIN = "MILK-1L", "6901234567892"


@pytest.fixture
def milk(system):
    system.app.catalogue.edit_sku("TEA-LJ-250", "admin", barcodes=[])
    system.app.catalogue.register_sku(MILK, "纯牛奶 1L", [MILK_GTIN], 1030, Decimal("9.00"), 0, lot_tracked=True,
                                      shelf_life_days=180)
    return system


def test_a_lot_is_received_from_its_gs1_label_then_picked_by_lot(milk, device):
    app = milk.app
    receiver = device()
    log_in(receiver, "R1", "/s/receive")

    scan(receiver, f"(01)0{MILK_GTIN}(17)451231(10)B7")
    asked = receiver.inner_text("#panel") + message(receiver)
    scan(receiver, "6")
    app.inventory.receive("WH1", MILK, 4, "R1", lot="B9", expiry="2046-06-30")
    app.inventory.put_away("WH1", MILK, "A-01-01", 6, "R1", lot="B7")
    app.inventory.put_away("WH1", MILK, "A-01-01", 4, "R1", lot="B9")
    [result] = app.orders.import_orders([order("M1", (MILK, 2))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W1", [result["order_id"]], "S1")
    picker = device()
    log_in(picker, "P1", "/s/pick")
    scan(picker, "W1")
    scan(picker, "A-01-01")
    shown = picker.get_attribute(".lot", "data-lot")
    scan(picker, f"(01)0{MILK_GTIN}(17)460630(10)B9")
    refusal = message(picker)

    assert "B7" in asked and "2045-12-31" in asked
    assert app.inventory.stock_of("WH1", MILK).held_lots(result["order_id"]) == {"A-01-01": {"B7": 2}}
    assert shown == "B7"
    assert "refused" in (picker.get_attribute("body", "class") or "") and "B7" in refusal
