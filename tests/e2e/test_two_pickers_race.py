"""Two pickers on two PDAs open the same wave at the same moment."""

import pytest

from projections.inventory import movement_ledger
from tests.builders import TEA, TEA_EAN, order

from .conftest import log_in, message, scan, shot

pytestmark = pytest.mark.browser


def test_two_pickers_opening_one_wave_at_once_one_gets_it_and_the_other_is_told_who_has_it(system, device):
    app = system.app
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 1)}, "opening")
    [result] = app.orders.import_orders([order("TB-2001", (TEA, 1))], warehouse="WH1")
    app.fulfilment.create_wave("WH1", "W-LAST", [result["order_id"]], "S1")
    pickers = {}
    for badge in ("P1", "P2"):
        page = device()
        log_in(page, badge, "/s/pick")
        page.keyboard.type("W-LAST", delay=5)
        pickers[badge] = page

    for page in pickers.values():
        page.keyboard.press("Enter")
    for page in pickers.values():
        page.wait_for_function("() => Number(document.body.getAttribute('data-answers')) >= 1")
    shot(pickers["P1"], "12-race-first")
    shot(pickers["P2"], "13-race-second")

    outcomes = {badge: (page.get_attribute("body", "class"), message(page)) for badge, page in pickers.items()}
    winner = next(badge for badge, (outcome, _) in outcomes.items() if outcome == "ok")
    loser = "P2" if winner == "P1" else "P1"
    assert outcomes[winner][1] == "开始波次 W-LAST"
    assert outcomes[loser] == ("refused", f"波次 W-LAST 正由 {winner} 拣货, 请换一个波次")
    scan(pickers[winner], "A-01-01")
    scan(pickers[winner], TEA_EAN)
    assert message(pickers[winner]).startswith("已拣 1 × TEA-LJ-250")
    assert app.inventory.stock_levels("WH1", TEA) == {"PACK-01": {"on_hand": 1, "reserved": 1}}
    system.catch_up()
    assert min(m["on_hand_after"] for m in movement_ledger(system.engine, TEA)) >= 0
