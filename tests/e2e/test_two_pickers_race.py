"""Two pickers on two PDAs reach for the last unit of a SKU at the same moment."""

import pytest

from projections.inventory import movement_ledger
from tests.builders import TEA, TEA_EAN, order

from .conftest import log_in, message, scan, shot

pytestmark = pytest.mark.browser


def test_two_pickers_racing_for_the_last_unit_one_picks_it_and_the_other_finds_the_bin_empty(system, device):
    app = system.app
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 1)}, "opening")
    [result] = app.orders.import_orders([order("TB-2001", (TEA, 1))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W-LAST", [result["order_id"]], "S1")
    pickers = []
    for badge in ("P1", "P2"):
        page = device()
        log_in(page, badge, "/s/pick")
        scan(page, "W-LAST")
        scan(page, "A-01-01")
        page.keyboard.type(TEA_EAN, delay=5)
        pickers.append(page)

    for page in pickers:
        page.keyboard.press("Enter")
    for page in pickers:
        page.wait_for_function("() => Number(document.body.getAttribute('data-answers')) >= 3")
    shot(pickers[0], "12-race-first")
    shot(pickers[1], "13-race-second")

    outcomes = sorted((page.get_attribute("body", "class"), message(page)) for page in pickers)
    assert outcomes[0][0] == "ok" and outcomes[0][1].startswith("已拣 1 × TEA-LJ-250")
    assert outcomes[1] == ("refused", "货位已空")
    assert app.inventory.stock_levels("WH1", TEA) == {"PACK-01": {"on_hand": 1, "reserved": 1}}
    system.catch_up()
    assert min(m["on_hand_after"] for m in movement_ledger(system.engine, TEA)) >= 0
