"""Past orders on the order desk in Chromium: a supervisor finds them under History and reads one, with nothing to
act on."""

import pytest

from cangku.history_import import import_history
from tests.builders import TEA, warehouse_with_catalogue
from tests.e2e.conftest import PIN

from .test_backoffice_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def system(make_system, sqlite_url, tmp_path):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app)
    path = tmp_path / "past.csv"
    path.write_text("order_no,ordered_at,status,sku,quantity,unit_price,buyer\n"
                    f"OLD-7,2024-11-11T00:05:00+08:00,shipped,{TEA},3,35.50,cust-1\n", encoding="utf-8")
    import_history(system.app, path, shop="flagship")
    system.app.staff.register_staff("S1", "S1", "supervisor", PIN, "admin")
    return system



def test_a_supervisor_finds_a_past_order_under_history_and_reads_it(system, desk):
    sign_in(desk, "S1", "/office/orders?status=history")

    assert desk.locator("#orders-table tbody tr").count() == 1
    with desk.expect_navigation():
        desk.click("a.order-link:text('OLD-7')")

    assert desk.get_attribute("#order-status", "data-status") == "history:shipped"
    assert "2024-11-11" in desk.inner_text("#ordered-at")
    assert desk.locator("#past-order-note").is_visible()
    assert desk.locator("#actions").count() == 0
    assert "106.50" in desk.inner_text("#amounts")
