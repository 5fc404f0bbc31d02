"""The back office on a desktop (1280×800) in Chromium: the dashboard's charts, a filtered table, a CSV download."""

import csv
import io

import pytest

from projections import finance
from scanner_ui.backoffice import BACKLOG
from tests.unit.test_backoffice_finance import NUMBERS, busy_day

from .conftest import PIN, STAFF

pytestmark = pytest.mark.browser


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    busy_day(system)
    for badge, (name, role) in STAFF.items():
        system.app.staff.register_staff(badge, name, role, PIN, "admin")
    return system



@pytest.fixture
def screenshots(tmp_path):
    folder = tmp_path / "backoffice-screenshots"
    folder.mkdir()
    return folder


def sign_in(page, badge: str, then: str) -> None:
    page.goto(f"/login?next={then}")
    page.fill("input[name=badge]", badge)
    page.fill("input[name=pin]", PIN)
    with page.expect_navigation():
        page.click("button")


def test_a_supervisor_reads_the_dashboard_filters_a_table_and_downloads_it(system, desk, screenshots):
    sign_in(desk, "S1", "/office/?since=2026-11-10")
    desk.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
    sales = desk.locator("#sales-svg g.series")
    series = [sales.nth(n).get_attribute("data-series") for n in range(sales.count())]
    jd_on_eleven_eleven = desk.get_attribute('#sales-svg g.series[data-series="jd"] circle[data-day="2026-11-11"]',
                                             "data-value")
    backlog = desk.locator("#backlog-svg rect.bar")
    backlog_labels = [backlog.nth(n).get_attribute("data-label") for n in range(backlog.count())]
    margin_bars = desk.locator("#margin-svg rect.bar").count()
    chart_width = desk.locator("#sales-svg").bounding_box()["width"]

    desk.click("nav.side >> text=订单利润")
    desk.fill("form#filters input[name=channel]", "taobao")
    desk.select_option("form#filters select[name=size]", "25")
    with desk.expect_navigation():
        desk.click("form#filters button")
    desk.screenshot(path=str(screenshots / "finance-orders-taobao.png"), full_page=True)
    shown = desk.locator("#finance-orders-table tbody tr td:nth-child(4)").all_inner_texts()
    with desk.expect_download() as download:
        desk.click("#export-csv")
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_bytes().decode("utf-8-sig"))))

    assert series == ["jd", "taobao"]
    assert jd_on_eleven_eleven == "34.50"
    assert backlog_labels == list(BACKLOG)
    assert margin_bars >= 2 and chart_width > 400
    expected = [o["platform_order_no"] for o in finance.orders_finance(system.engine, channel="taobao")]
    assert shown == expected and NUMBERS["J200"] not in shown
    assert download.value.suggested_filename.startswith("finance-orders-")
    assert [row["platform_order_no"] for row in exported] == expected
    assert exported[0]["channel"] == "taobao" and exported[0]["revenue"] == "102.00"
    assert (screenshots / "dashboard.png").stat().st_size > 0


def test_an_auditor_sees_the_settlement_page_without_the_upload_form(system, desk, screenshots):
    sign_in(desk, "A1", "/office/settlement")
    desk.screenshot(path=str(screenshots / "settlement-auditor.png"), full_page=True)

    assert desk.locator("form#upload").count() == 0
    assert "只读" in desk.inner_text("header h1")
