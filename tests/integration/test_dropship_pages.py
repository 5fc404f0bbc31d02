"""The dropship pages over HTTP (Flask test client): the supplier's page link is throttled like a PIN, ends when
revoked, shows and ships only that supplier's orders, refuses cross-site posts; auditors only read the back office."""

import io
from uuid import UUID

import pytest

from openpyxl import load_workbook

from projections.dropship import dropship_listing, open_dropship_ids
from scanner_ui import create_app
from tests.builders import order
from tests.integration.test_backoffice_pages import PIN, signed_in, table_rows
from tests.unit.test_dropship import GIFT, dropship_world

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def system(make_system, sqlite_url):
    built = make_system(sqlite_url)
    dropship_world(built.app)
    built.app.purchasing.register_supplier("NB-CUP", "宁波杯厂", 3, "S1")
    for badge, role in (("S1", "supervisor"), ("A1", "auditor")):
        built.app.staff.register_staff(badge, badge, role, PIN, "admin")
    built.app.orders.import_orders([order("DS-1", (GIFT, 1)), order("DS-2", (GIFT, 2))], warehouse="WH1")
    return built


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True, "LOGIN_MAX_FAILURES": 3})


def supplier_client(web, system, supplier="HZ-GIFT"):
    token = system.app.dropship.issue_token(supplier, "S1")
    client = web.test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = "supplier-pc"
    answer = client.get(f"/supplier/{supplier}/{token}")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/supplier/{supplier}")
    return client, token


def test_a_supplier_sees_only_its_open_orders_with_the_receiver_and_no_amounts(system, web):
    client, token = supplier_client(web, system)

    page = client.get("/supplier/HZ-GIFT").get_data(as_text=True)

    assert [row[0] for row in table_rows(page, "supplier-orders")] == ["DS-1", "DS-2"]
    assert 'data-order="DS-1"' in page and 'data-order="DS-2"' in page
    assert "13812345678" in page and "buyer_wang" not in page and "20.00" not in page
    assert token not in page
    system.catch_up()
    assert {r["status"] for r in dropship_listing(system.engine, "HZ-GIFT").page(10)} == {"sent"}


def test_wrong_links_lock_the_suppliers_page_like_wrong_pins(system, web):
    token = system.app.dropship.issue_token("HZ-GIFT", "S1")
    client = web.test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = "guesser"

    wrong = [client.get(f"/supplier/HZ-GIFT/guess{n}").status_code for n in range(3)]
    locked = client.get(f"/supplier/HZ-GIFT/{token}")

    assert wrong == [404, 404, 404]
    assert locked.status_code == 429
    assert client.get("/supplier/HZ-GIFT").status_code == 404


def test_a_revoked_or_replaced_link_ends_the_open_page_at_once(system, web):
    client, _ = supplier_client(web, system)

    system.app.dropship.issue_token("HZ-GIFT", "S1")

    assert client.get("/supplier/HZ-GIFT").status_code == 404
    assert client.post("/supplier/HZ-GIFT/ship", data={"dropship_id": "x"}, headers=SAME_SITE).status_code == 404


def test_a_supplier_ships_by_form_and_by_file_and_cannot_ship_another_suppliers_order(system, web):
    client, _ = supplier_client(web, system)
    other, _ = supplier_client(web, system, "NB-CUP")
    system.catch_up()
    first, second = open_dropship_ids(system.engine, "HZ-GIFT")

    stolen = other.post("/supplier/NB-CUP/ship", data={"dropship_id": first, "courier": "ZTO", "tracking_no": "X1"},
                        headers=SAME_SITE)
    cross = client.post("/supplier/HZ-GIFT/ship", data={"dropship_id": first, "courier": "ZTO", "tracking_no": "X2"},
                        headers={"Sec-Fetch-Site": "cross-site"})
    shipped = client.post("/supplier/HZ-GIFT/ship", data={"dropship_id": first, "courier": "ZTO",
                                                          "tracking_no": "ZT100"}, headers=SAME_SITE)
    bad_file = client.post("/supplier/HZ-GIFT/tracking", headers=SAME_SITE, data={
        "file": (io.BytesIO(b"platform_order_no,courier,tracking_no\nDS-2,YTO,\nDS-9,YTO,YT9\n"), "t.csv")})
    good_file = client.post("/supplier/HZ-GIFT/tracking", headers=SAME_SITE, data={
        "file": (io.BytesIO(b"platform_order_no,courier,tracking_no\nDS-2,YTO,YT200\n"), "t.csv")})

    assert stolen.status_code == 404 and cross.status_code == 403
    assert shipped.status_code == 303
    assert bad_file.status_code == 422 and "DS-9" in bad_file.get_data(as_text=True)
    assert good_file.status_code == 303
    orders = {no: system.app.orders.find_order("taobao", "flagship", no) for no in ("DS-1", "DS-2")}
    assert {no: (o.status, o.tracking_no) for no, o in orders.items()} == {
        "DS-1": ("shipped", "ZT100"), "DS-2": ("shipped", "YT200")}
    assert system.app.dropship.dropship_order(UUID(second)).courier == "YTO"


def test_an_auditor_reads_the_dropship_page_but_cannot_issue_a_link(system, web):
    auditor = signed_in(web, "A1")

    page = auditor.get("/office/dropship").get_data(as_text=True)
    refused = auditor.post("/office/dropship/token", data={"supplier": "HZ-GIFT"}, headers=SAME_SITE)

    assert [row[0] for row in table_rows(page, "dropship")] == ["DS-1", "DS-2"]
    assert [row[:3] for row in table_rows(page, "routed")] == [[GIFT, "HZ-GIFT", "¥30.50"]]
    assert refused.status_code == 403
    assert not system.app.dropship.has_token("HZ-GIFT")


def test_the_sheet_export_lists_each_line_with_its_receiver_and_marks_the_orders_sent(system, web):
    supervisor = signed_in(web, "S1")

    answer = supervisor.post("/office/dropship/sheet", data={"supplier": "HZ-GIFT", "format": "xlsx"},
                             headers=SAME_SITE)

    rows = list(load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("platform_order_no", "channel", "shop", "sku")
    assert [(r[0], r[5], r[7]) for r in rows[1:]] == [("DS-1", 1, "王小明"), ("DS-2", 2, "王小明")]
    system.catch_up()
    assert [r["status"] for r in dropship_listing(system.engine, "HZ-GIFT").page(5)] == ["sent", "sent"]
