"""Back-office tables sort by any of their columns from the query string: in SQL for the views read a page at a time
(paging and exports keep the order), in memory for the small ones; a column the table does not show is refused."""

import csv
import re
import io

import pytest

from scanner_ui import create_app
from tests.integration.test_backoffice_pages import PIN, signed_in, table_rows
from tests.unit.test_backoffice_finance import NUMBERS, busy_day

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def supervisor(request, make_system, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    system = make_system(url)
    busy_day(system)
    system.app.staff.register_staff("S1", "S1", "supervisor", PIN, "admin")
    system.catch_up()
    return signed_in(create_app(system, {"TESTING": True}), "S1")


def margins(html: str) -> list[str]:
    return [row[-1] for row in table_rows(html, "finance-orders")]


def test_finance_orders_sort_by_margin_both_ways_across_pages_and_in_the_export(supervisor):
    every = supervisor.get("/office/finance/orders?sort=margin&dir=desc&size=100").get_data(as_text=True)
    first = supervisor.get("/office/finance/orders?sort=margin&dir=desc&size=3").get_data(as_text=True)
    second = supervisor.get("/office/finance/orders?sort=margin&dir=desc&size=3&page=2").get_data(as_text=True)
    rising = supervisor.get("/office/finance/orders?sort=margin&dir=asc&size=100").get_data(as_text=True)
    export = supervisor.get("/office/finance/orders?sort=margin&dir=desc&format=csv").get_data(as_text=True)

    amounts = [float(m.replace("¥", "").replace(",", "")) for m in margins(every)]
    assert len(amounts) == 7 and amounts == sorted(amounts, reverse=True) and amounts[0] > amounts[-1]
    assert margins(first) + margins(second) == margins(every)[:6]
    assert margins(rising) == margins(every)[::-1]
    exported = [row["margin"] for row in csv.DictReader(io.StringIO(export.lstrip("\ufeff")))]
    assert [float(m) for m in exported] == amounts
    assert 'aria-sort="descending"' in first and "sort=margin&amp;dir=asc" in first  # clicking again turns it round
    assert "page=2" in first and "sort=margin" in first.split('rel="next" href="')[1].split('"')[0]


def test_a_table_in_memory_sorts_by_a_figure_and_a_column_it_lacks_is_refused(supervisor):
    board = supervisor.get("/office/orders/board?sort=orders&dir=desc").get_data(as_text=True)
    refused = supervisor.get("/office/finance/orders?sort=buyer_phone")
    backwards = supervisor.get("/office/stock?sort=available&dir=sideways")

    counts = [int(row[-1]) for row in table_rows(board, "orders-board")]
    assert counts == sorted(counts, reverse=True)
    assert refused.status_code == 422 and "can be sorted by" in refused.get_data(as_text=True)
    assert backwards.status_code == 422


def test_stock_sorts_by_available_in_sql(supervisor):
    page = supervisor.get("/office/stock?sort=available&dir=asc").get_data(as_text=True)

    available = [int(row[-1].replace(",", "")) for row in table_rows(page, "stock")]
    assert available == sorted(available) and len(available) >= 3


def test_the_order_desk_sorts_by_a_clicked_heading_such_as_units(supervisor):
    page = supervisor.get("/office/orders").get_data(as_text=True)
    most = supervisor.get("/office/orders?sort=-units").get_data(as_text=True)

    assert 'href="/office/orders?sort=-units"' in page and 'aria-sort="descending"' in page  # newest first by default
    units = [int(n) for n in re.findall(r'<td class="number">(\d+)</td>', most)]
    assert len(units) == 7 and units == sorted(units, reverse=True) and units[0] > units[-1]
    assert 'href="/office/orders?sort=units"' in most


def test_two_years_are_charted_a_month_a_point_and_the_stock_value_chart_keeps_the_top_skus(supervisor):
    page = supervisor.get("/office/?since=2025-01-01&until=2026-12-31&top=1").get_data(as_text=True)
    too_long = supervisor.get("/office/?since=2000-01-01&until=2026-12-31")

    assert 'id="monthly"' in page
    assert len(re.findall(r'<rect class="bar[^"]*" [^>]*data-label="(\d\d\d\d-\d\d)"', page)) == 24
    assert re.search(r'<circle [^>]*data-day="2026-11" data-value="(?!0\.00)', page)  # the busy day's sales
    assert re.findall(r'id="stock_value-svg".*?</svg>', page, re.S)[0].count('<rect class="bar') == 2  # the top SKU, others
    assert too_long.status_code == 422 and "at most 3660 days" in too_long.get_data(as_text=True)
