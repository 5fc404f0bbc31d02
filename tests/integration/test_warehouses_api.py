"""The JSON API for routing rules and transfers: rules replaced as a new version, an order routed by them, a transfer
drafted, shipped, received and closed with its units in transit answered; a receiver cannot change the rules."""

from datetime import datetime, timezone

import pytest

from scanner_ui import create_app
from tests.builders import BINS, TEA, order, warehouse_with_catalogue


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10})
    system.app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        system.app.inventory.add_location("WH2", bin, zone, area, sequence)
    system.app.staff.register_staff("S1", "S1", "supervisor", "2468", "admin")
    system.app.staff.register_staff("R1", "R1", "receiver", "2468", "admin")
    return system


def client_of(system, badge: str):
    client = create_app(system, {"TESTING": True}).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {system.app.staff.issue_token(badge, 'tests', 'admin')}"
    return client


def test_rules_put_over_the_api_route_an_order_and_a_transfer_runs_its_course(system):
    api, receiver = client_of(system, "S1"), client_of(system, "R1")
    released, _ = system.app.orders.import_order(order("A1", (TEA, 2)))

    rules = api.put("/api/v1/routing-rules", json={"split_allowed": False, "rules": [
        {"warehouse": "WH2", "priority": 1, "provinces": ["北京市"]}, {"warehouse": "WH1", "priority": 2}]})
    refused = receiver.put("/api/v1/routing-rules", json={"split_allowed": False, "rules": []})
    routed = api.post(f"/api/v1/orders/{released}/route", json={})
    drafted = api.post("/api/v1/transfers", json={"number": "TR-A", "from_warehouse": "WH1", "to_warehouse": "WH2",
                                                  "lines": [{"sku": TEA, "quantity": 5}]})
    shipped = api.post("/api/v1/transfers/TR-A/ship", json={})
    moving = api.get(f"/api/v1/transfers/in-transit?sku={TEA}")
    received = receiver.post("/api/v1/transfers/TR-A/receive", json={"sku": TEA, "quantity": 6})
    closed = api.post("/api/v1/transfers/TR-A/close", json={})
    listed = api.get("/api/v1/transfers?warehouse=WH2")

    assert rules.status_code == 200 and rules.json["version"] == 1
    assert refused.status_code == 403
    assert routed.json["warehouse"] == "WH1" and routed.json["status"] == "reserved"  # WH2 has no tea: WH1 ships
    assert drafted.status_code == 200 and drafted.json["status"] == "draft"
    assert shipped.json["items"] == [{"sku": TEA, "quantity": 5, "shipped": 5, "received": 0, "in_transit": 5,
                                      "over": 0, "under": 0}]
    assert moving.json == [{"number": "TR-A", "sku": TEA, "from_warehouse": "WH1", "to_warehouse": "WH2",
                            "in_transit": 5}]
    assert received.status_code == 200 and received.json["items"][0]["over"] == 1
    assert closed.json["status"] == "closed"
    assert [row["number"] for row in listed.json["items"]] == ["TR-A"]
    after = api.get("/api/v1/transfers/in-transit", query_string={"at": datetime.now(timezone.utc).isoformat()})
    assert after.status_code == 200 and after.json == []
