"""Fixed, memorable test data: one warehouse in Hangzhou, three SKUs, and orders for them."""

from datetime import datetime, timezone
from decimal import Decimal

from domain.services import NewOrder
from domain.order import Buyer, OrderLine

TEA, CUP, PAN = "TEA-LJ-250", "CUP-GL-01", "PAN-ST-28"
TEA_EAN, CUP_EAN, PAN_EAN = "6901234567892", "6923450657713", "6920202888883"
BINS = [
    ("RCV-01", "R", "receiving", 0),
    ("A-01-01", "A", "storage", 10),
    ("A-01-02", "A", "storage", 20),
    ("B-02-01", "B", "storage", 30),
    ("PACK-01", "P", "packing", 0),
    ("RET-01", "R", "returns", 0),
]


def warehouse_with_catalogue(app, stock: dict[tuple[str, str], int] | None = None) -> None:
    """WH1 with its bins, the three SKUs, and the given opening stock per (sku, bin)."""
    app.catalogue.register_sku(TEA, "龙井茶 250g", [TEA_EAN], 260, Decimal("35.50"), 5)
    app.catalogue.register_sku(CUP, "Glass tea cup", [CUP_EAN], 180, Decimal("8.20"), 10)
    app.catalogue.register_sku(PAN, "不锈钢炒锅 28cm", [PAN_EAN], 1450, Decimal("62.00"), 2)
    app.inventory.open_warehouse("WH1", "Hangzhou")
    for bin, zone, area, sequence in BINS:
        app.inventory.add_location("WH1", bin, zone, area, sequence)
    rows = {n: ("WH1", sku, bin, qty) for n, ((sku, bin), qty) in enumerate((stock or {}).items(), start=2)}
    if rows:
        app.inventory.load_opening_stock(rows, "opening")


def order(number: str, *lines: tuple[str, int], channel: str = "taobao", shop: str = "flagship",
          remark: str = "") -> NewOrder:
    return NewOrder(
        channel,
        shop,
        number,
        [OrderLine(i + 1, f"p-{sku}", sku, sku, qty, Decimal("20.00")) for i, (sku, qty) in enumerate(lines)],
        Buyer("buyer_wang", "王小明", "13812345678", "文三路 90 号"),
        {"province": "浙江省", "city": "杭州市", "district": "西湖区"},
        Decimal("20.00") * sum(q for _, q in lines),
        remark=remark,
    )


def shipped(app, number: str, sku: str, barcode: str, units: int, tracking: str, delivered: bool = False):
    """An order of `units` of one SKU picked from its bin, packed, waybilled and handed over (and delivered)."""
    [result] = app.orders.import_orders([order(number, (sku, units))], warehouse="WH1")
    order_id = result["order_id"]
    wave = app.fulfilment.create_wave("WH1", f"W-{number}"[:40], [order_id], "S1")
    line = app.fulfilment.wave(wave).lines[0]
    app.fulfilment.pick(wave, 0, line["bin"], barcode, units, "P1")
    for _ in range(units):
        app.fulfilment.verify_item(order_id, barcode, "K1")
    app.fulfilment.close_package(order_id, "K1")
    app.fulfilment.weigh(order_id, 400, "K1")
    app.fulfilment.assign_waybill(order_id, "LOCAL", tracking, "HZ")
    app.fulfilment.hand_over(order_id, "K1")
    if delivered:
        at = datetime(2026, 11, 12, 9, 30, tzinfo=timezone.utc)
        app.fulfilment.record_route(order_id, [{"key": "d1", "status": "delivered", "at": at, "location": "杭州",
                                                "description": "签收"}])
    return order_id
