"""The real app on a real WSGI server (waitress, port 0) over a temporary SQLite database, driven by Chromium."""

import threading
from pathlib import Path

import pytest

from tests.builders import CUP, CUP_EAN, PAN, PAN_EAN, TEA, TEA_EAN, warehouse_with_catalogue

SCREENSHOTS = Path(__file__).parent / "screenshots"
EANS = {TEA: TEA_EAN, CUP: CUP_EAN, PAN: PAN_EAN}
STAFF = {"R1": ("周收货", "receiver"), "S1": ("赵主管", "supervisor"), "P1": ("李拣货", "picker"),
         "P2": ("王拣货", "picker"), "K1": ("吴打包", "packer"), "A1": ("钱审计", "auditor")}
PIN = "2468"


class Served:
    """A waitress server in a thread; `url` is where it listens."""

    def __init__(self, wsgi_app, threads: int = 6):
        from waitress.server import create_server

        self.map: dict = {}
        self.server = create_server(wsgi_app, map=self.map, host="127.0.0.1", port=0, threads=threads,
                                    ident="cangku")
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="waitress")
        self.thread.start()

    def _run(self) -> None:
        """Waitress's loop, ended between two polls: closing its sockets from another thread while it sits in
        select() makes select() fail with EBADF in this thread."""
        from waitress import wasyncore

        while not self.stopping.is_set():
            wasyncore.poll(0.05, self.map)
        self.server.task_dispatcher.shutdown()
        wasyncore.close_all(self.map)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app)
    for badge, (name, role) in STAFF.items():
        system.app.staff.register_staff(badge, name, role, PIN, "admin")
    return system


@pytest.fixture
def flask_app(system):
    from scanner_ui import create_app

    return create_app(system, {"TESTING": True})


@pytest.fixture
def served(flask_app):
    served = Served(flask_app)
    yield served
    served.stop()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def device(browser, served):
    """A new PDA: its own browser context (cookies, so its own device id), 360×640."""
    contexts = []

    def open_device(java_script: bool = True):
        context = browser.new_context(viewport={"width": 360, "height": 640}, base_url=served.url,
                                      java_script_enabled=java_script)
        context.set_default_timeout(8000)
        contexts.append(context)
        return context.new_page()

    yield open_device
    for context in contexts:
        context.close()


@pytest.fixture
def desk(browser, served):
    """A back-office page at desktop size (1280×800), downloads allowed."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=served.url, accept_downloads=True)
    context.set_default_timeout(8000)
    yield context.new_page()
    context.close()


def scan(page, code: str) -> None:
    """Type a barcode like a keyboard-wedge scanner and press Enter; wait for the screen's answer."""
    answers = int(page.get_attribute("body", "data-answers") or 0)
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => Number(document.body.getAttribute('data-answers') || 0) > {answers}")


def press(page, label: str) -> None:
    """Press one of the screen's big buttons; wait for the answer."""
    answers = int(page.get_attribute("body", "data-answers") or 0)
    page.get_by_role("button", name=label).click()
    page.wait_for_function(f"() => Number(document.body.getAttribute('data-answers') || 0) > {answers}")


def focused(page) -> None:
    """Wait until the page's input has the focus (autofocus lands just after load)."""
    page.wait_for_function("() => document.activeElement && document.activeElement.tagName === 'INPUT'")


def sign_in(page, badge: str, pin: str = PIN) -> None:
    """On the login page: scan the badge (Enter moves to the PIN), type the PIN, wait for the answer."""
    focused(page)
    page.keyboard.type(badge, delay=5)
    page.keyboard.press("Enter")
    page.keyboard.type(pin, delay=5)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def log_in(page, badge: str, then: str = "/") -> None:
    page.goto(f"/login?next={then}")
    sign_in(page, badge)
    if page.locator("#scan").count():
        focused(page)


def go(page, path: str) -> None:
    page.goto(path)
    focused(page)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def message(page) -> str:
    return page.inner_text("#msg")

