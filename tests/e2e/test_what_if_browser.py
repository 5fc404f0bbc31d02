"""In Chromium: an auditor replays the busy day with JD showing half its stock and a wave every half hour; the page
shows its progress, then each channel, courier and the waves live and replayed."""

import pytest

from tests.unit.test_backoffice_finance import busy_day

from .conftest import PIN, STAFF
from .test_backoffice_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    busy_day(system)
    for badge, (name, role) in STAFF.items():
        system.app.staff.register_staff(badge, name, role, PIN, "admin")
    return system


def test_an_auditor_replays_a_period_under_other_rules_and_reads_the_figures_side_by_side(system, browser, served,
                                                                                       tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=served.url)
    context.set_default_timeout(15000)
    desk = context.new_page()
    sign_in(desk, "A1", "/office/audit/what-if")
    written = system.app.store.recorder.max_notification_id()  # signing in is recorded; the replay writes nothing

    desk.fill("textarea[name=rules]", "jd:0.5")
    desk.fill("input[name=waves]", "30:50")
    desk.click("#what-if-form button")
    desk.wait_for_selector("#what-if-channels-table")
    desk.screenshot(path=str(tmp_path / "what-if.png"), full_page=True)
    channels = desk.locator("#what-if-channels-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-channel'))")
    jd_sales = desk.locator('#what-if-channels-table tr[data-channel="jd"] td[data-key="sales"]').inner_text()
    waves = desk.locator('#what-if-waves-table tr[data-key="again"] td').all_inner_texts()
    context.close()

    assert channels == ["jd", "taobao"]
    assert jd_sales in ("0", "1")  # JD's one sale, refused or not by the smaller share
    assert waves[0] == "假设" and int(waves[2]) >= 4  # every order holding stock joins a rule's wave
    assert system.app.store.recorder.max_notification_id() == written
