"""The product master over HTTP (Flask test client) on the SQLite file store: the back-office pages and the API."""

import io
import re
from decimal import Decimal

import pytest
from openpyxl import Workbook

from scanner_ui import create_app
from tests.builders import CUP, CUP_EAN, PAN, TEA, TEA_EAN, warehouse_with_catalogue
from tests.integration.test_api import as_  # noqa: F401  (a test client with a badge's bearer token)
from tests.integration.test_backoffice_pages import signed_in, table_rows

PIN = "2468"
BOWL_EAN = "6901234567809"


@pytest.fixture
def system(make_system, sqlite_url):
    built = make_system(sqlite_url)
    warehouse_with_catalogue(built.app, {(TEA, "A-01-01"): 20})
    for badge, role in (("S1", "supervisor"), ("A1", "auditor")):
        built.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return built


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True})


@pytest.fixture
def supervisor(web):
    return signed_in(web, "S1")


def events_recorded(system) -> int:
    return system.app.store.recorder.max_notification_id()


def sku_form(**changes) -> dict:
    form = {"code": "BOWL-01", "name": "青瓷碗", "barcodes": BOWL_EAN, "unit_weight_g": "420", "length_mm": "150",
            "width_mm": "150", "height_mm": "70", "unit_cost": "18.80", "safety_stock": "6", "shelf_life_days": "0"}
    return {**form, **changes}


def test_a_supervisor_registers_a_sku_on_its_page_and_finds_it_in_the_list(system, supervisor):
    saved = supervisor.post("/office/products", data=sku_form(lot_tracked="1"))

    assert saved.status_code == 303 and saved.headers["Location"].endswith("/office/products/sku/BOWL-01?saved=1")
    listed = supervisor.get("/office/products?q=青瓷").get_data(as_text=True)
    [row] = table_rows(listed, "skus")
    assert row[:4] == ["BOWL-01", "青瓷碗", BOWL_EAN, "420"] and row[7] == "¥18.80" and row[9] == "✔"
    assert system.app.catalogue.sku_for_barcode(BOWL_EAN) == "BOWL-01"


def test_an_edit_on_the_page_changes_the_sku_and_the_stock_value_follows(system, supervisor):
    page = supervisor.get(f"/office/products/sku/{TEA}").get_data(as_text=True)
    assert 'value="龙井茶 250g"' in page and f'value="{TEA_EAN}"' in page

    saved = supervisor.post(f"/office/products/sku/{TEA}", data=sku_form(code=TEA, name="明前龙井",
                                                                        barcodes=TEA_EAN, unit_cost="50"))

    assert saved.status_code == 303
    assert system.app.catalogue.get_sku(TEA)["unit_cost"] == Decimal("50")
    value = supervisor.get("/office/finance/stock?warehouse=WH1").get_data(as_text=True)
    assert ["WH1", TEA, "20", "¥50.00", "¥1,000.00"] in table_rows(value, "stock-value")


def test_a_bad_value_on_the_page_is_shown_with_what_was_typed_and_nothing_is_written(system, supervisor):
    before = events_recorded(system)

    refused = supervisor.post(f"/office/products/sku/{TEA}", data=sku_form(code=TEA, name="新名", length_mm="99999",
                                                                          barcodes=TEA_EAN))

    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "length (mm) must be a whole number from 0 to 10,000" in page and 'value="新名"' in page
    assert events_recorded(system) == before


def test_retiring_on_the_page_takes_the_sku_off_the_current_list_and_keeps_it_under_retired(system, supervisor):
    assert supervisor.post(f"/office/products/sku/{TEA}/retire", data={"reason": "停产"}).status_code == 303

    current = table_rows(supervisor.get("/office/products").get_data(as_text=True), "skus")
    retired = table_rows(supervisor.get("/office/products?status=retired").get_data(as_text=True), "skus")
    assert TEA not in [r[0] for r in current] and [r[0] for r in retired] == [TEA]
    assert "停产" in supervisor.get(f"/office/products/sku/{TEA}").get_data(as_text=True)


def test_an_auditor_reads_the_product_master_but_cannot_change_it(system, web):
    auditor = signed_in(web, "A1")
    before = events_recorded(system)

    assert auditor.get("/office/products").status_code == 200
    assert auditor.post(f"/office/products/sku/{TEA}/retire", data={}).status_code == 403
    assert events_recorded(system) == before


def test_a_form_sent_from_another_site_is_refused_and_writes_nothing(system, supervisor):
    before = events_recorded(system)

    refused = supervisor.post(f"/office/products/sku/{TEA}/retire", data={"reason": "x"},
                              headers={"Sec-Fetch-Site": "cross-site"})

    assert refused.status_code == 403
    assert events_recorded(system) == before


def xlsx(*rows) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_uploaded_sheet_updates_and_registers_and_says_how_many(system, supervisor):
    data = xlsx(["code", "name", "unit_cost"], [TEA, None, 40], ["BOWL-01", "青瓷碗", 18.8])

    answer = supervisor.post("/office/products/import", data={"file": (io.BytesIO(data), "商品.xlsx")},
                             content_type="multipart/form-data")

    assert answer.status_code == 200
    assert "新建 1, 更新 1, 未变 0" in answer.get_data(as_text=True)
    assert system.app.catalogue.get_sku(TEA)["unit_cost"] == Decimal("40")


def test_an_uploaded_file_with_bad_rows_lists_each_and_writes_nothing(system, supervisor):
    data = "code,name\r\nBOWL-01,青瓷碗\r\nBOWL 02,有空格\r\nCUP-GL-01,\r\n,无编码\r\n".encode("gb18030")
    before = events_recorded(system)

    answer = supervisor.post("/office/products/import", data={"file": (io.BytesIO(data), "skus.csv")},
                             content_type="multipart/form-data")

    assert answer.status_code == 422
    report = re.search(r'id="rejected">(.*?)</div>', answer.get_data(as_text=True), re.S).group(1)
    assert re.findall(r'<td class="number">(\d+)</td>', report) == ["3", "5"]
    assert "without spaces" in report
    assert events_recorded(system) == before
    assert not system.app.catalogue.sku_exists("BOWL-01")


# The API


def test_the_api_registers_edits_retires_and_lists_skus(as_):
    client = as_("S1")

    created = client.post("/api/v1/skus", json={"code": "BOWL-01", "name": "青瓷碗", "barcodes": [BOWL_EAN],
                                                "unit_cost": "18.80", "lot_tracked": True, "shelf_life_days": 0})
    edited = client.post("/api/v1/skus/BOWL-01", json={"safety_stock": 12, "barcodes": []})
    retired = client.post(f"/api/v1/skus/{CUP}/retire", json={"reason": "停产"})
    listed = client.get("/api/v1/skus?q=碗").json

    assert created.status_code == 200 and created.json["barcodes"] == [BOWL_EAN]
    assert (created.json["unit_cost"], created.json["lot_tracked"]) == ("18.8000", True)
    assert (edited.json["safety_stock"], edited.json["barcodes"]) == (12, [])
    assert retired.json["retired"] is True and retired.json["retired_reason"] == "停产"
    assert [s["code"] for s in listed["items"]] == ["BOWL-01"]
    assert [s["code"] for s in client.get("/api/v1/skus?status=retired").json["items"]] == [CUP]


def test_the_api_refuses_a_malformed_sku_and_an_auditor_and_writes_nothing(system, as_):
    supervisor, auditor = as_("S1"), as_("A1")
    before = events_recorded(system)

    spaced = supervisor.post("/api/v1/skus", json={"code": "BOWL 01", "name": "碗"})
    costed = supervisor.post("/api/v1/skus", json={"code": "BOWL-01", "name": "碗", "unit_cost": "lots"})
    refused = auditor.post(f"/api/v1/skus/{TEA}", json={"name": "x"})
    retired_twice = [supervisor.post(f"/api/v1/skus/{CUP}/retire", json={}).status_code for _ in range(2)]

    assert (spaced.status_code, spaced.json["error"]["code"]) == (422, "invalid_input")
    assert costed.status_code == 422 and refused.status_code == 403
    assert retired_twice == [200, 409]
    assert events_recorded(system) == before + 1


def test_the_api_drafts_a_purchase_order_from_the_suggestions_and_receives_against_it(system, as_):
    supervisor = as_("S1")
    system.app.staff.register_staff("R1", "R1", "receiver", PIN, "admin")
    receiver = as_("R1")

    supplier = supervisor.post("/api/v1/suppliers", json={"code": "HZ-TEA", "name": "杭州茶厂", "lead_time_days": 5})
    drafted = supervisor.post("/api/v1/purchase-orders/from-replenishment",
                              json={"number": "PO-1", "supplier": "HZ-TEA"})
    early = receiver.post("/api/v1/purchase-orders/PO-1/receive", json={"item": CUP_EAN, "quantity": 1})
    approved = supervisor.post("/api/v1/purchase-orders/PO-1/approve", json={})
    received = receiver.post("/api/v1/purchase-orders/PO-1/receive", json={"item": CUP_EAN, "quantity": 3})
    closed = supervisor.post("/api/v1/purchase-orders/PO-1/close", json={})

    assert supplier.status_code == 200 and supplier.json["lead_time_days"] == 5
    assert drafted.status_code == 200 and drafted.json["status"] == "draft"
    assert {i["sku"] for i in drafted.json["items"]} == {CUP, PAN}  # the tea has stock well above its safety stock
    assert early.status_code == 409 and approved.json["status"] == "approved"
    [cups] = [i for i in received.json["items"] if i["sku"] == CUP]
    assert cups["received"] == 3 and closed.json["status"] == "closed"
    assert [o["number"] for o in supervisor.get("/api/v1/purchase-orders?status=closed").json["items"]] == ["PO-1"]


def test_purchase_order_pages_refuse_an_auditor_and_a_form_from_another_site(system, web, supervisor):
    system.app.purchasing.register_supplier("HZ-TEA", "杭州茶厂", 5, "S1")
    system.app.purchasing.draft_order("PO-1", "HZ-TEA", "WH1", [{"sku": CUP, "quantity": 5}], "S1")
    auditor = signed_in(web, "A1")
    before = events_recorded(system)

    read = auditor.get("/office/purchase-orders/PO-1")
    by_auditor = auditor.post("/office/purchase-orders/PO-1/approve")
    cross_site = supervisor.post("/office/purchase-orders/PO-1/approve", headers={"Sec-Fetch-Site": "cross-site"})
    closed_draft = supervisor.post("/office/purchase-orders/PO-1/close")

    assert read.status_code == 200 and "CUP-GL-01" in read.get_data(as_text=True)
    assert (by_auditor.status_code, cross_site.status_code, closed_draft.status_code) == (403, 403, 409)
    assert "is draft; it must be approved to be closed" in closed_draft.get_data(as_text=True)
    assert events_recorded(system) == before


def test_a_sku_file_of_several_megabytes_is_taken(system, supervisor):
    rows = "".join(f"BULK-{n:05d},批量商品 {n} 号 纯棉加厚款,,250,,,,12.50,5\r\n" for n in range(60_000))
    data = ("code,name,barcodes,unit_weight_g,length_mm,width_mm,height_mm,unit_cost,safety_stock\r\n" + rows).encode()

    answer = supervisor.post("/office/products/import", data={"file": (io.BytesIO(data), "skus.csv")},
                             content_type="multipart/form-data")

    assert len(data) > 3 * 1024 * 1024
    assert answer.status_code == 200 and system.app.catalogue.sku_exists("BULK-59999")


def approved_order(system) -> None:
    app = system.app
    app.purchasing.register_supplier("HZ-CUP", "杭州玻璃厂", 5, "S1")
    app.purchasing.draft_order("PO-7", "HZ-CUP", "WH1", [{"sku": CUP, "quantity": 24, "unit_cost": "7.50"}], "S1")
    app.purchasing.approve("PO-7", "S1")


def test_a_purchase_order_is_sent_as_csv_xlsx_or_a_printed_page_and_the_page_says_so(system, supervisor):
    from openpyxl import load_workbook

    approved_order(system)

    as_csv = supervisor.post("/office/purchase-orders/PO-7/send", data={"channel": "csv"})
    as_xlsx = supervisor.post("/office/purchase-orders/PO-7/send", data={"channel": "xlsx"})
    printed = supervisor.post("/office/purchase-orders/PO-7/send", data={"channel": "print"})
    page = supervisor.get("/office/purchase-orders/PO-7").get_data(as_text=True)

    assert as_csv.headers["Content-Disposition"] == 'attachment; filename="PO-7.csv"'
    header, line = as_csv.get_data(as_text=True).lstrip("\ufeff").splitlines()[:2]
    assert header.split(",")[:6] == ["purchase_order", "supplier", "supplier_name", "warehouse", "sku", "name"]
    assert line.split(",")[:8] == ["PO-7", "HZ-CUP", "杭州玻璃厂", "WH1", CUP, "Glass tea cup", CUP_EAN, "24"]
    sheet = load_workbook(io.BytesIO(as_xlsx.data)).active
    assert [c.value for c in sheet[2]][4:8] == [CUP, "Glass tea cup", CUP_EAN, 24]
    text = printed.get_data(as_text=True)
    assert "PO-7" in text and "杭州玻璃厂" in text and re.search(r'<td class="number">24</td>', text)
    assert 'data-key="sent">PRINT' in page


def test_a_draft_is_not_sent_and_an_auditor_cannot_send(system, supervisor, web):
    approved_order(system)
    system.app.purchasing.draft_order("PO-8", "HZ-CUP", "WH1", [{"sku": CUP, "quantity": 1}], "S1")

    draft = supervisor.post("/office/purchase-orders/PO-8/send", data={"channel": "csv"})
    auditor = signed_in(web, "A1").post("/office/purchase-orders/PO-7/send", data={"channel": "csv"})

    assert draft.status_code == 409 and "must be approved" in draft.get_data(as_text=True)
    assert auditor.status_code == 403
    system.catch_up()
    assert system.app.purchasing.purchase_order("PO-7")["status"] == "approved"


def test_a_supplier_s_page_edits_its_name_contact_and_lead_time(system, supervisor):
    approved_order(system)

    saved = supervisor.post("/office/purchase-orders/suppliers/HZ-CUP",
                            data={"name": "杭州玻璃二厂", "contact": "李经理 13900001111", "lead_time_days": "8"})
    refused = supervisor.post("/office/purchase-orders/suppliers/HZ-CUP",
                              data={"name": "杭州玻璃二厂", "contact": "", "lead_time_days": "-1"})

    assert saved.status_code == 303
    assert system.app.purchasing.supplier("HZ-CUP") == {"code": "HZ-CUP", "name": "杭州玻璃二厂",
                                                        "contact": "李经理 13900001111", "lead_time_days": 8}
    assert refused.status_code == 422 and "lead time" in refused.get_data(as_text=True)
    listed = supervisor.get("/office/purchase-orders").get_data(as_text=True)
    assert "李经理 13900001111" in listed
