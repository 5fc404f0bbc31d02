"""A page on another port of the same host cannot act as the signed-in supervisor; the supervisor's own page can."""

import http.server
import threading

import pytest

from tests.builders import CUP, order

from .conftest import log_in, message

pytestmark = pytest.mark.browser


class Elsewhere:
    """Another site on 127.0.0.1 (its own port) serving one page that posts a form to the app as soon as it loads."""

    def __init__(self, html: str):
        body = html.encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_form_on_another_port_cannot_create_a_wave_but_the_supervisor_page_can(system, served, device):
    app = system.app
    app.inventory.load_opening_stock({2: ("WH1", CUP, "A-01-02", 5)}, "opening")
    [placed] = app.orders.import_orders([order("T1", (CUP, 1))], warehouse="WH1")
    supervisor = device()
    log_in(supervisor, "S1", "/supervisor")
    attack = Elsewhere(f"""<form method="post" action="{served.url}/scan">
<input name="screen" value="supervisor"><input name="seq" value="{app.floor.next_sequence(supervisor_device(supervisor))}">
<input name="kind" value="action"><input name="value" value="wave:all"></form>
<script>document.forms[0].submit()</script>""")
    try:
        with supervisor.expect_response(lambda r: r.url.endswith("/scan")) as answer:
            supervisor.goto(attack.url)
    finally:
        attack.stop()

    assert answer.value.status == 403
    assert app.orders.get_order(placed["order_id"])["status"] == "reserved"

    supervisor.goto("/supervisor")
    supervisor.get_by_role("button", name="全部已预占订单建波次").click()
    supervisor.wait_for_url("**/supervisor?r=*")

    assert "已建波次" in message(supervisor)
    assert app.orders.get_order(placed["order_id"])["status"] != "reserved"


def supervisor_device(page) -> str:
    [cookie] = [c for c in page.context.cookies() if c["name"] == "cangku_device"]
    return cookie["value"]
