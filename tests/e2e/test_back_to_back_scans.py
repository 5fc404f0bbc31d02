"""Scans fired faster than the server answers: each is applied once, whole and in the order it was typed."""

import time

import pytest

from projections.inventory import stock_by_bin
from projections.scanning import recorded_scans
from tests.builders import CUP, CUP_EAN, PAN, PAN_EAN, TEA, TEA_EAN

from .conftest import Served, focused, log_in, shot

pytestmark = pytest.mark.browser

SCANS = [TEA_EAN, "3", CUP_EAN, "12", PAN_EAN, "1", TEA_EAN, "40", CUP_EAN, "5"]


class SlowScans:
    """A slow network or a busy server: every scan takes a while to be answered."""

    def __init__(self, app, seconds: float):
        self.app = app
        self.seconds = seconds

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/scan" and environ["REQUEST_METHOD"] == "POST":
            time.sleep(self.seconds)
        return self.app(environ, start_response)


@pytest.fixture
def served(flask_app):
    served = Served(SlowScans(flask_app, 0.15))
    yield served
    served.stop()


def test_ten_scans_typed_back_to_back_are_all_recorded_whole_and_in_order(system, device):
    page = device()
    log_in(page, "R1", "/s/receive")
    focused(page)

    for code in SCANS:
        page.keyboard.type(code, delay=5)
        page.keyboard.press("Enter")
    answered_while_typing = int(page.get_attribute("body", "data-answers") or 0)
    page.wait_for_function("() => document.body.getAttribute('data-answers') === '10'", timeout=15_000)
    shot(page, "11-back-to-back")

    assert answered_while_typing < len(SCANS), "the scans were typed faster than the server answered them"
    system.catch_up()
    recorded = [r for r in reversed(recorded_scans(system.engine, staff="R1")) if r["screen"] == "receive"]
    assert [r["value"] for r in recorded] == SCANS
    assert [r["outcome"] for r in recorded] == ["ok"] * 10
    assert [r["sequence"] for r in recorded] == sorted(r["sequence"] for r in recorded)
    received = {r["sku"]: r["on_hand"] for r in stock_by_bin(system.engine, "WH1")}
    assert received == {TEA: 43, CUP: 17, PAN: 1}
