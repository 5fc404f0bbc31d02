"""Opening a wave reads its orders, items and barcodes ahead in one query each (PostgreSQL), and what another
process changes afterwards still reaches the floor: a read-ahead copy is never a stale one."""

import pytest

from domain.ids import barcode_id, sku_id
from scanner_ui import create_app
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, warehouse_with_catalogue

PIN = "2468"

pytestmark = pytest.mark.postgres


def picker_on(system, badge: str, device: str):
    client = create_app(system, {"TESTING": True}).test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = device
    assert client.post("/login", data={"badge": badge, "pin": PIN}).status_code == 303
    return client


def scan(client, system, device: str, value: str, kind: str = "scan"):
    answer = client.post("/scan", json={"screen": "pick", "seq": system.app.floor.next_sequence(device),
                                        "kind": kind, "value": value})
    assert answer.status_code == 200, answer.json
    return answer.json


def test_a_wave_s_streams_are_read_ahead_and_a_later_change_elsewhere_still_shows(make_system, postgres_url):
    office, floor = make_system(postgres_url), make_system(postgres_url)
    warehouse_with_catalogue(office.app, {(TEA, "A-01-01"): 5, (CUP, "A-01-02"): 5})
    office.app.staff.register_staff("P1", "P1", "picker", PIN, "admin")
    placed = office.app.orders.import_orders([order("T1", (TEA, 1)), order("T2", (CUP, 1))], warehouse="WH1")
    first, second = (r["order_id"] for r in placed)
    office.app.fulfilment.create_wave("WH1", "W1", [first, second], "S1")

    picker = picker_on(floor, "P1", "pda-1")
    scan(picker, floor, "pda-1", "W1", kind="action")
    cached = floor.app.store.repository.floor.aggregates
    assert {first, second, sku_id(TEA), sku_id(CUP), barcode_id(TEA_EAN), barcode_id(CUP_EAN)} <= set(cached)

    office.app.orders.hold_order(second, "buyer asked to wait", "S1")
    with floor.app.store.floor_reads():
        assert floor.app.orders.order(second).status == "held"
    scan(picker, floor, "pda-1", "A-01-01")
    picked = scan(picker, floor, "pda-1", TEA_EAN)
    assert picked["scan"]["key"] == "picked"
    with floor.app.store.floor_reads():
        assert floor.app.orders.order(first).status == "picked"
