"""Dropship in Chromium: a supervisor has a supplier ship a SKU, exports the supplier's sheet and gives it a page
link; the supplier opens its page, sees the order with the receiver, enters the tracking number, and the order ships
with it; a revoked link shows nothing. Parcel costs: box prices and a courier bill reconciled on the page."""

import csv
import io

import pytest

from tests.builders import TEA, order
from tests.unit.test_dropship import GIFT
from tests.unit.test_parcel_costs import ship_tea

from .test_backoffice_browser import sign_in

pytestmark = pytest.mark.browser


def submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_a_supplier_gets_its_sheet_and_page_and_its_tracking_number_ships_the_order(system, desk, browser):
    app = system.app
    app.purchasing.register_supplier("HZ-GIFT", "杭州礼盒厂", 3, "S1")
    app.catalogue.register_sku(GIFT, "礼盒", [], 500, 0, 0)
    sign_in(desk, "S1", "/office/dropship")
    desk.fill("#route-form input[name=sku]", GIFT)
    desk.select_option("#route-form select[name=supplier]", "HZ-GIFT")
    desk.fill("#route-form input[name=supplier_price]", "30.50")
    submit(desk, "#route-form button")
    [imported] = app.orders.import_orders([order("DS-100", (GIFT, 2))], warehouse="WH1")

    desk.reload()
    row = desk.locator('#suppliers-table tr[data-supplier="HZ-GIFT"]')
    with desk.expect_download() as download:
        row.locator(".sheet-form button").click()
    sheet = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    submit(desk, '#suppliers-table tr[data-supplier="HZ-GIFT"] .token-form button')
    link = desk.input_value("#link")

    supplier = browser.new_context(viewport={"width": 1024, "height": 700})
    supplier.set_default_timeout(8000)
    page = supplier.new_page()
    page.goto(link)
    landed = page.url
    shown = page.inner_text('#supplier-orders-table tr[data-order="DS-100"]')
    page.fill('tr[data-order="DS-100"] input[name=courier]', "ZTO")
    page.fill('tr[data-order="DS-100"] input[name=tracking_no]', "ZT2026110001")
    submit(page, 'tr[data-order="DS-100"] .ship-form button')
    after = page.inner_text("#supplier-orders-table")

    desk.goto("/office/dropship")
    submit(desk, '#suppliers-table tr[data-supplier="HZ-GIFT"] .revoke-form button')
    revoked = page.goto(f"{landed}")
    wrong = page.goto(link + "x")
    supplier.close()

    assert [(r["platform_order_no"], r["sku"], r["quantity"], r["receiver_name"]) for r in sheet] == [
        ("DS-100", GIFT, "2", "王小明")]
    assert landed.endswith("/supplier/HZ-GIFT")
    assert "王小明" in shown and "13812345678" in shown and "文三路 90 号" in shown and GIFT in shown
    assert "DS-100" not in after
    shipped = app.orders.order(imported["order_id"])
    assert (shipped.status, shipped.courier, shipped.tracking_no) == ("shipped", "ZTO", "ZT2026110001")
    assert revoked.status == 404 and wrong.status == 404
    assert "ZT2026110001" in desk.inner_text("#dropship-table")


def test_parcel_costs_page_sets_a_box_price_and_reconciles_a_courier_bill(system, desk, tmp_path):
    app = system.app
    app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 5)}, "opening")
    app.costs.set_box_price("S", "1.00", "S1")
    ship_tea(app, "C-100", "YT100", box="S")
    ship_tea(app, "C-101", "YT101", box="S")
    bill = tmp_path / "yto-2026-11.csv"
    bill.write_text("tracking_no,fee\nYT100,3.40\nYT999,5.00\n", encoding="utf-8")

    sign_in(desk, "S1", "/office/costs")
    desk.fill("#box-form input[name=box_type]", "M")
    desk.fill("#box-form input[name=price]", "2.10")
    submit(desk, "#box-form button")
    boxes = desk.inner_text("#boxes-table tbody")
    desk.fill("#bill-form input[name=courier]", "YTO")
    desk.fill("#bill-form input[name=reference]", "2026-11")
    desk.set_input_files("#bill-form input[name=file]", str(bill))
    submit(desk, "#bill-form button")
    differences = desk.inner_text("#courier-differences-table tbody")
    desk.goto("/office/costs?view=unknown")
    unknown = desk.inner_text("#courier-unknown-table tbody")
    desk.goto("/office/costs?view=unbilled")
    unbilled = desk.inner_text("#courier-unbilled-table tbody")
    desk.goto("/office/costs/margin")
    margin = desk.inner_text("#margin-table tbody")

    assert "M" in boxes and "2.10" in boxes
    assert "YT100" in differences and "0.40" in differences
    assert "YT999" in unknown
    assert "YT101" in unbilled and "YT100" not in unbilled
    assert "taobao" in margin and "6.40" in margin  # courier fees: 3.40 billed + 3.00 estimated
