"""Platform SKU mapping over the JSON API on the SQLite file store: the unmapped list, and a mapping that
releases and reserves the orders waiting for it."""

import pytest

from scanner_ui import create_app
from tests.builders import CUP, TEA, warehouse_with_catalogue
from tests.unit.test_platform_sku_mapping import GIFT_BOX, platform_order

PIN = "2468"


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 10, (TEA, "A-01-01"): 20})
    for badge, role in (("S1", "supervisor"), ("A1", "auditor")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    system.app.orders.import_orders([platform_order("T1", (GIFT_BOX, "BOX-TEA", 2)),
                                     platform_order("T2", (GIFT_BOX, "BOX-TEA", 1))], warehouse="WH1")
    return system


@pytest.fixture
def as_(system):
    web = create_app(system, {"TESTING": True})

    def client(badge: str):
        browser = web.test_client()
        browser.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {system.app.staff.issue_token(badge, 'tests', 'admin')}"
        return browser

    return client


KIT = {"channel": "taobao", "shop": "flagship", "platform_sku": GIFT_BOX,
       "components": [{"sku": TEA, "quantity": 1}, {"sku": CUP, "quantity": 2}]}


def test_the_unmapped_list_shows_what_orders_wait_for(as_):
    answer = as_("A1").get("/api/v1/unmapped-skus")

    assert answer.status_code == 200
    [row] = answer.json["items"]
    assert (row["platform_sku"], row["outer_id"], row["orders"]) == (GIFT_BOX, "BOX-TEA", 2)


def test_mapping_a_kit_releases_and_reserves_the_waiting_orders(system, as_):
    answer = as_("S1").post("/api/v1/mappings", json=KIT)

    assert answer.status_code == 200
    assert (answer.json["released"], answer.json["reserved"]) == (2, 2)
    assert sorted(o["status"] for o in answer.json["orders"]) == ["reserved", "reserved"]
    assert as_("A1").get("/api/v1/unmapped-skus").json["items"] == []
    order = system.app.orders.find_order("taobao", "flagship", "T1")
    assert order.quantities() == {TEA: 2, CUP: 4}


@pytest.mark.parametrize("body, status", [
    ({**KIT, "components": [{"sku": "NO-SUCH", "quantity": 1}]}, 404),
    ({**KIT, "components": [{"sku": TEA, "quantity": 0}]}, 422),
    ({**KIT, "components": [{"sku": TEA, "quantity": 1}, {"sku": TEA, "quantity": 2}]}, 422),
    ({**KIT, "components": [{"sku": TEA}]}, 422),
    ({**KIT, "components": []}, 422),
])
def test_a_bad_mapping_is_refused_and_maps_nothing(system, as_, body, status):
    answer = as_("S1").post("/api/v1/mappings", json=body)

    assert answer.status_code == status and answer.json["error"]["message"]
    assert len(as_("A1").get("/api/v1/unmapped-skus").json["items"]) == 1


def test_an_auditor_may_read_the_list_but_not_map(as_):
    assert as_("A1").post("/api/v1/mappings", json=KIT).status_code == 403
