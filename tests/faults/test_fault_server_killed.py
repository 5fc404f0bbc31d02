"""`cangku serve` killed with SIGKILL while scanners and an API client write to it, then started again: every scan
and API call it answered is in the log once, and every scan the scanners resent after the restart is applied once."""

import http.client
import json
import threading
import time

import pytest

from domain.ids import stock_id
from domain.scanning import Device, device_id
from domain.stock import Stock
from tests.builders import CUP, TEA, TEA_EAN, warehouse_with_catalogue
from tests.faults.conftest import ScannerClient, free_port
from tests.waiting import until

PIN = "2468"
SCANNERS, RECEIPTS = 4, 30

pytestmark = [pytest.mark.postgres, pytest.mark.faults]


def api_receipts(port: int, token: str, answered: list, unanswered: list, stop: threading.Event) -> None:
    """Receipts through the JSON API until stopped, each with its own reference; a call cut by the kill is not sent
    again (it carries no scan number, so the client cannot know whether it was applied)."""
    n = 0
    while not stop.is_set():
        n += 1
        reference = f"API-{n:05d}"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/api/v1/stock/receive", json.dumps({"sku": CUP, "quantity": 1, "reference": reference}),
                         {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            status = conn.getresponse().status
        except (OSError, http.client.HTTPException):
            status = None
        finally:
            conn.close()
        (answered if status == 200 else unanswered).append(reference)
        if status is None:
            time.sleep(0.05)  # the server is down


def test_scans_answered_before_a_kill_are_kept_and_none_is_applied_twice(make_system, postgres_url, cangku_process):
    system = make_system(postgres_url)
    app = system.app
    warehouse_with_catalogue(app)
    for n in range(SCANNERS):
        app.staff.register_staff(f"R{n}", f"R{n}", "receiver", PIN, "admin")
    token = app.staff.issue_token("R0", "fault tier", "admin")
    port = free_port()
    server = cangku_process("serve", port=port).start()
    scanners = [ScannerClient(port, f"pda-{n}", f"R{n}", PIN) for n in range(SCANNERS)]
    api_answered, api_unanswered = [], []

    def receive(scanner):
        for _ in range(RECEIPTS):
            scanner.scan("receive", TEA_EAN)
            scanner.scan("receive", "1")

    threads = [threading.Thread(target=receive, args=(s,)) for s in scanners]
    stop = threading.Event()
    api = threading.Thread(target=api_receipts, args=(port, token, api_answered, api_unanswered, stop))
    for thread in [*threads, api]:
        thread.start()
    for kills in (1, 2):
        until(lambda: sum(len(s.answered) for s in scanners) >= kills * SCANNERS * RECEIPTS * 2 // 3, 60)
        server.kill()
        answered_before_kill = {s.device: [a["sequence"] for a in s.answered] for s in scanners}
        server.start()
    for thread in threads:
        thread.join(120)
    stop.set()
    api.join(30)

    for scanner in scanners:
        recorded = [e.sequence for e in app.store.events.get(device_id(scanner.device))
                    if isinstance(e, Device.Scanned) and e.screen == "receive"]
        assert set(answered_before_kill[scanner.device]) <= set(recorded)
        assert sorted(recorded) == recorded and len(set(recorded)) == len(recorded) == 2 * RECEIPTS
    receipts = [e for e in app.store.events.get(stock_id("WH1", TEA)) if isinstance(e, Stock.Received)]
    assert len(receipts) == SCANNERS * RECEIPTS
    assert app.inventory.stock_levels("WH1", TEA)["RCV-01"]["on_hand"] == SCANNERS * RECEIPTS
    assert sum(s.resent for s in scanners) > 0
    references = [e.reference for e in app.store.events.get(stock_id("WH1", CUP)) if isinstance(e, Stock.Received)]
    assert set(api_answered) <= set(references) and len(set(references)) == len(references)
    assert set(references) <= set(api_answered) | set(api_unanswered)
    assert api_answered and api_unanswered
