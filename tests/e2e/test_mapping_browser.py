"""The mapping page on a desktop (1280×800) in Chromium: a supervisor follows an unmapped platform SKU's link, types
its kit, and the waiting orders are released and reserved."""

import pytest

from tests.builders import CUP, TEA, warehouse_with_catalogue
from tests.unit.test_platform_sku_mapping import GIFT_BOX, platform_order

from .conftest import PIN, STAFF
from .test_backoffice_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 10})
    for badge, (name, role) in STAFF.items():
        system.app.staff.register_staff(badge, name, role, PIN, "admin")
    system.app.orders.import_orders([platform_order("T1", (GIFT_BOX, "BOX-TEA", 1)),
                                     platform_order("T2", (GIFT_BOX, "BOX-TEA", 2))], warehouse="WH1")
    return system



def test_a_supervisor_maps_a_waiting_platform_sku_to_a_kit_from_its_link(system, desk):
    sign_in(desk, "S1", "/office/mapping")
    waiting = desk.locator("#unmapped-skus-table tbody tr td.number").first.inner_text()

    with desk.expect_navigation():
        desk.click(f"a.map:has-text('{GIFT_BOX}')")
    filled = (desk.input_value("input[name=channel]"), desk.input_value("input[name=platform_sku]"))
    desk.fill("textarea[name=components]", f"{TEA}*1\n{CUP}*2")
    with desk.expect_navigation():
        desk.click("#map button")

    assert waiting == "2"
    assert filled == ("taobao", GIFT_BOX)
    assert desk.inner_text("#mapped") == f"{GIFT_BOX} 已匹配: 2 个订单已放行, 2 个已预占库存"
    assert desk.locator("#unmapped-skus-table tbody tr.empty").count() == 1
    assert system.app.orders.find_order("taobao", "flagship", "T2").quantities() == {TEA: 2, CUP: 4}
