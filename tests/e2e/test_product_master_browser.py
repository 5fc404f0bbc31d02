"""The product master in Chromium on a desktop: a supervisor creates a SKU, edits it, uploads a sheet and retires a
SKU, and what each page then shows."""

import pytest
from openpyxl import Workbook

from tests.builders import CUP, TEA

from .test_backoffice_browser import sign_in

pytestmark = pytest.mark.browser

BOWL_EAN = "6901234567809"


def submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_a_supervisor_creates_edits_imports_and_retires_skus_in_the_browser(system, desk, tmp_path):
    sign_in(desk, "S1", "/office/products")
    desk.click("#new-sku")
    desk.fill("#sku-form input[name=code]", "BOWL-01")
    desk.fill("#sku-form input[name=name]", "青瓷碗")
    desk.fill("#sku-form input[name=barcodes]", BOWL_EAN)
    desk.fill("#sku-form input[name=unit_cost]", "18.80")
    desk.check("#sku-form input[name=lot_tracked]")
    submit(desk, "#save")
    created = desk.inner_text("#saved")
    desk.fill("#sku-form input[name=length_mm]", "99999")
    submit(desk, "#save")
    refused = desk.inner_text("#refusal")
    desk.fill("#sku-form input[name=length_mm]", "150")
    desk.fill("#sku-form input[name=shelf_life_days]", "720")
    submit(desk, "#save")

    desk.goto("/office/products")
    sheet = Workbook(write_only=True)
    page = sheet.create_sheet()
    for row in (["code", "name", "unit_cost"], [TEA, None, 40], ["PLATE 01", "有空格", 5]):
        page.append(row)
    sheet.save(tmp_path / "skus.xlsx")
    desk.set_input_files("#upload input[type=file]", str(tmp_path / "skus.xlsx"))
    submit(desk, "#upload button")
    rejected = desk.inner_text("#rejected")

    desk.goto(f"/office/products/sku/{CUP}")
    desk.fill("#retire-form input[name=reason]", "停产")
    submit(desk, "#retire-form button")
    retired = desk.inner_text("#retired")
    desk.goto("/office/products")
    listed = desk.locator("#skus-table tbody tr td:nth-child(1)").all_inner_texts()

    assert created == "已保存"
    assert "10,000" in refused
    bowl = system.app.catalogue.get_sku("BOWL-01")
    assert (bowl["barcodes"], bowl["lot_tracked"], bowl["length_mm"], bowl["shelf_life_days"]) == (
        [BOWL_EAN], True, 150, 720)
    assert "3" in rejected and "without spaces" in rejected
    assert system.app.catalogue.get_sku(TEA)["unit_cost"] == 35.5
    assert "停产" in retired
    assert "BOWL-01" in listed and CUP not in listed
