"""The back-office mapping page over HTTP (Flask test client) on the SQLite file store."""

import io

import pytest

from domain.errors import InvalidInput
from scanner_ui import create_app
from tests.builders import CUP, TEA
from tests.integration.test_backoffice_pages import signed_in, table_rows
from tests.integration.test_mapping_api import system  # noqa: F401  (two orders wait for the gift box)
from tests.unit.test_platform_sku_mapping import GIFT_BOX


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True})


FORM = {"channel": "taobao", "shop": "flagship", "platform_sku": GIFT_BOX, "item_id": "",
        "components": f"{TEA}*1\n{CUP} 2\n"}


def test_the_page_lists_the_platform_sku_and_how_many_orders_wait(web):
    page = signed_in(web, "S1").get("/office/mapping").get_data(as_text=True)

    assert table_rows(page, "unmapped-skus")[0][:7] == ["taobao", "flagship", GIFT_BOX, f"item-{GIFT_BOX}",
                                                        "BOX-TEA", f"title {GIFT_BOX}", "2"]
    assert 'id="map"' in page


def test_mapping_from_the_form_releases_the_orders_and_empties_the_list(system, web):
    client = signed_in(web, "S1")

    answer = client.post("/office/mapping", data=FORM, headers={"Sec-Fetch-Site": "same-origin"})
    page = client.get(answer.headers["Location"]).get_data(as_text=True)

    assert answer.status_code == 303
    assert "2 个订单已放行, 2 个已预占库存" in page
    assert table_rows(page, "unmapped-skus") == []
    assert system.app.orders.find_order("taobao", "flagship", "T1").quantities() == {TEA: 2, CUP: 4}


def test_an_unknown_sku_in_the_form_is_refused_by_name_and_maps_nothing(system, web):
    client = signed_in(web, "S1")

    answer = client.post("/office/mapping", data={**FORM, "components": "NO-SUCH*1"})

    assert answer.status_code == 404
    assert "NO-SUCH" in answer.get_data(as_text=True)
    assert len(table_rows(client.get("/office/mapping").get_data(as_text=True), "unmapped-skus")) == 1


def test_a_form_sent_from_another_site_is_refused(web):
    client = signed_in(web, "S1")

    answer = client.post("/office/mapping", data=FORM, headers={"Sec-Fetch-Site": "cross-site"})

    assert answer.status_code == 403
    assert len(table_rows(client.get("/office/mapping").get_data(as_text=True), "unmapped-skus")) == 1


def test_an_auditor_reads_the_list_but_may_not_map(web):
    client = signed_in(web, "A1")

    assert 'id="map"' not in client.get("/office/mapping").get_data(as_text=True)
    assert client.post("/office/mapping", data=FORM).status_code == 403


def upload(client, text: str, encoding: str = "utf-8"):
    return client.post("/office/mapping/file", data={"file": (io.BytesIO(text.encode(encoding)), "匹配.csv")},
                       content_type="multipart/form-data")


def test_a_file_of_mappings_in_gb18030_maps_the_kit_and_releases_its_orders(system, web):
    client = signed_in(web, "S1")

    answer = upload(client, "channel,shop,platform_sku,sku,quantity\n"
                            f"taobao,flagship,{GIFT_BOX},{TEA},1\ntaobao,flagship,{GIFT_BOX},{CUP},2\n", "gb18030")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)

    assert answer.status_code == 303
    assert "已匹配 1 个平台商品: 2 个订单已放行, 2 个已预占库存" in page
    assert system.app.orders.find_order("taobao", "flagship", "T2").quantities() == {TEA: 1, CUP: 2}


def test_a_file_with_a_bad_row_maps_nothing_and_the_page_names_the_row(system, web):
    client = signed_in(web, "S1")

    answer = upload(client, "channel,shop,platform_sku,sku,quantity\n"
                            f"taobao,flagship,777,{CUP},1\ntaobao,flagship,{GIFT_BOX},NO-SUCH,1\n")

    rejected = answer.get_data(as_text=True).split('id="rejected"')[1]
    assert answer.status_code == 422
    assert '<td class="number">3</td><td>unknown SKU &#39;NO-SUCH&#39;</td>' in rejected
    with pytest.raises(InvalidInput):
        system.app.channels.listing("taobao", "flagship", "777")
