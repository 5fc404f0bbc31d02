"""Merging, undoing a merge and splitting by stock from the order desk and the JSON API (Flask test client on the
SQLite file store): each is one command, by role, refused with the reason when the order's state does not allow it."""

import pytest

from scanner_ui import create_app
from tests.builders import CUP, PAN, TEA, order, warehouse_with_catalogue
from tests.integration.test_backoffice_pages import PIN, signed_in


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 10, (PAN, "B-02-01"): 1})
    for badge, role in (("S1", "supervisor"), ("A1", "auditor")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    system.placed = {r["order_id"] for r in system.app.orders.import_orders(
        [order("D1", (TEA, 1)), order("D2", (CUP, 2)), order("D3", (TEA, 1), (PAN, 3))], warehouse="WH1")}
    return system


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True})


def order_id(system, number):
    return str(system.app.orders.find_order("taobao", "flagship", number).id)


def test_a_supervisor_merges_an_order_into_another_s_parcel_and_undoes_it_from_the_desk(system, web):
    client = signed_in(web, "S1")
    first = order_id(system, "D1")

    merged = client.post(f"/office/orders/{first}/merge", data={"orders": "D2"})
    page = client.get(merged.headers["Location"]).get_data(as_text=True)
    member_page = client.get(f"/office/orders/{order_id(system, 'D2')}").get_data(as_text=True)
    undone = client.post(f"/office/orders/{first}/unmerge")

    assert merged.status_code == 303 and 'id="parcel-shared"' in page and ">D2</a>" in page
    assert 'data-status="merged"' in member_page and ">D1</a>" in member_page
    assert undone.status_code == 303
    assert system.app.orders.find_order("taobao", "flagship", "D2").status == "reserved"
    assert system.app.orders.find_order("taobao", "flagship", "D1").quantities() == {TEA: 1}


def test_merging_an_unknown_number_or_an_order_of_another_state_is_refused_with_the_reason(system, web):
    client = signed_in(web, "S1")
    first = order_id(system, "D1")
    system.app.orders.hold_order(system.app.orders.find_order("taobao", "flagship", "D2").id, "call the buyer", "S1")

    unknown = client.post(f"/office/orders/{first}/merge", data={"orders": "NOPE"})
    held = client.post(f"/office/orders/{first}/merge", data={"orders": "D2"})
    nothing = client.post(f"/office/orders/{first}/unmerge")

    assert unknown.status_code == 404 and "no order NOPE in taobao/flagship" in unknown.get_data(as_text=True)
    assert held.status_code == 409 and "D2 当前状态为 挂起" in held.get_data(as_text=True)
    assert nothing.status_code == 409 and "no merged orders" in nothing.get_data(as_text=True)
    assert system.app.orders.find_order("taobao", "flagship", "D1").quantities() == {TEA: 1}


def test_an_order_waiting_for_stock_is_split_from_the_desk_and_its_part_is_linked(system, web):
    client = signed_in(web, "S1")
    waiting = order_id(system, "D3")

    answer = client.post(f"/office/orders/{waiting}/split")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)

    assert answer.status_code == 303
    assert 'data-status="reserved"' in page and ">D3-2</a>" in page
    again = client.post(f"/office/orders/{waiting}/split")
    assert again.status_code == 409 and "only an order waiting for stock" in again.get_data(as_text=True)


def test_an_auditor_may_not_merge(system, web):
    answer = signed_in(web, "A1").post(f"/office/orders/{order_id(system, 'D1')}/merge", data={"orders": "D2"})

    assert answer.status_code == 403
    assert system.app.orders.find_order("taobao", "flagship", "D2").status == "reserved"


def test_the_api_merges_unmerges_and_splits_and_documents_them(system, web):
    client = web.test_client()
    headers = {"Authorization": f"Bearer {system.app.staff.issue_token('S1', 'tests', 'admin')}"}
    first, second = order_id(system, "D1"), order_id(system, "D2")

    merged = client.post(f"/api/v1/orders/{first}/merge", json={"order_ids": [second]}, headers=headers)
    refused = client.post(f"/api/v1/orders/{second}/split", json={}, headers=headers)
    undone = client.post(f"/api/v1/orders/{first}/unmerge", json={}, headers=headers)
    split = client.post(f"/api/v1/orders/{order_id(system, 'D3')}/split", json={}, headers=headers)
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    assert merged.status_code == 200 and merged.get_json()["status"] == "reserved"
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "invalid_order_state"
    assert undone.status_code == 200
    assert split.status_code == 200 and split.get_json()["status"] == "reserved"
    assert {"/api/v1/orders/{order_id}/merge", "/api/v1/orders/{order_id}/unmerge",
            "/api/v1/orders/{order_id}/split"} <= set(paths)


def test_the_api_reads_and_edits_the_review_rules_by_version(system, web):
    client = web.test_client()
    supervisor = {"Authorization": f"Bearer {system.app.staff.issue_token('S1', 'tests', 'admin')}"}
    auditor = {"Authorization": f"Bearer {system.app.staff.issue_token('A1', 'tests', 'admin')}"}

    added = client.post("/api/v1/review-rules", json={"kind": "presale", "params": {
        "skus": [PAN], "ship_from": "2030-01-01T00:00"}}, headers=supervisor)
    changed = client.post("/api/v1/review-rules/R2", json={"enabled": True, "params": {"above": "99.5"}},
                          headers=supervisor)
    refused = client.post("/api/v1/review-rules/R4", json={"enabled": False}, headers=supervisor)
    read_only = client.post("/api/v1/review-rules/R2/remove", json={}, headers=auditor)
    listed = client.get("/api/v1/review-rules", headers=auditor).get_json()

    assert added.status_code == 200 and added.get_json()["version"] == 2
    presale = added.get_json()["rules"][-1]
    assert presale["params"] == {"skus": [PAN], "ship_from": "2030-01-01T00:00:00+08:00"}
    assert changed.status_code == 200 and listed["version"] == 3
    assert next(r for r in listed["rules"] if r["id"] == "R2")["params"] == {"above": "99.50"}
    assert refused.status_code == 422 and "cannot be switched off" in refused.get_json()["error"]["message"]
    assert read_only.status_code == 403


def test_registering_a_missing_sku_through_the_api_or_the_product_page_releases_its_waiting_orders(system, web):
    system.app.orders.import_orders([order("U1", ("MUG-NEW", 1)), order("U2", ("BOWL-NEW", 1))], warehouse="WH1")
    client = web.test_client()
    headers = {"Authorization": f"Bearer {system.app.staff.issue_token('S1', 'tests', 'admin')}"}

    by_api = client.post("/api/v1/skus", json={"code": "MUG-NEW", "name": "New mug"}, headers=headers)
    by_page = signed_in(web, "S1").post("/office/products", data={"code": "BOWL-NEW", "name": "New bowl"})

    assert by_api.status_code == 200 and by_page.status_code == 303
    for number in ("U1", "U2"):
        found = system.app.orders.find_order("taobao", "flagship", number)
        assert (found.status, found.hold_reasons) == ("awaiting_stock", [])
