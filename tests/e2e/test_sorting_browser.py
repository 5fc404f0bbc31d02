"""In Chromium: a finance table sorted by clicking its margin header (largest first, again for smallest first, kept
on the next page), and the dashboard's stock value chart showing the top SKUs and one bar for the others."""

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



def yuan(texts: list[str]) -> list[float]:
    return [float(t.replace("¥", "").replace(",", "")) for t in texts]


def test_a_table_sorts_by_a_clicked_figure_header_across_pages_and_a_chart_shows_the_top_skus(system, desk):
    sign_in(desk, "A1", "/office/finance/orders?size=4")
    margin_cells = "#finance-orders-table tbody tr td:last-child"
    with desk.expect_navigation():
        desk.click('#finance-orders-table th[data-field="margin"] a')
    largest_first = yuan(desk.locator(margin_cells).all_inner_texts())
    with desk.expect_navigation():
        desk.click("a[rel=next]")
    next_page = yuan(desk.locator(margin_cells).all_inner_texts())
    with desk.expect_navigation():
        desk.click('#finance-orders-table th[data-field="margin"] a')
    smallest_first = yuan(desk.locator(margin_cells).all_inner_texts())
    heading = desk.get_attribute('#finance-orders-table th[data-field="margin"]', "aria-sort")
    desk.goto("/office/?since=2026-11-10&top=2")
    bars = desk.locator("#stock_value-svg rect.bar")
    labels = [bars.nth(n).get_attribute("data-label") for n in range(bars.count())]
    values = yuan([bars.nth(n).get_attribute("data-value") for n in range(bars.count())])

    every = largest_first + next_page
    assert len(largest_first) == 4 and every == sorted(every, reverse=True) and every[0] > every[-1]
    assert smallest_first == sorted(every)[:4] and heading == "ascending"
    assert len(labels) == 3 and labels[2] == "其他 (1)"
    assert values[0] >= values[1] >= values[2] > 0
