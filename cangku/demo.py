"""The demo: a small warehouse taking three marketplace orders from import to hand-over."""

import time
from datetime import datetime, timezone
from decimal import Decimal
from importlib import resources
from pathlib import Path

from domain.application import NewOrder
from domain.order import Buyer, OrderLine
from projections.inventory import stock_by_bin

from .csv_import import import_locations, import_skus, import_stock

WAREHOUSE = "WH1"

DEMO_ORDERS = [
    ("taobao", "cangku-flagship", "TB2026111100001", [("TEA-LJ-250", 2, "128.00"), ("CUP-GL-01", 2, "19.90")],
     Buyer("tb_buyer_01", "王小明", "13812345678", "文三路 90 号"), ("浙江省", "杭州市", "西湖区")),
    ("jd", "cangku-jd", "JD300000000001", [("PAN-ST-28", 1, "239.00")],
     Buyer("jd_buyer_07", "李华", "13987654321", "建国路 88 号"), ("北京市", "北京市", "朝阳区")),
    ("pinduoduo", "cangku-pdd", "261111-000000001", [("CUP-GL-01", 6, "15.00")],
     Buyer("pdd_buyer_3", "陈静", "13700001111", "天河路 385 号"), ("广东省", "广州市", "天河区")),
]


def demo_orders() -> list[NewOrder]:
    orders = []
    for channel, shop, number, lines, buyer, (province, city, district) in DEMO_ORDERS:
        order_lines = [OrderLine(i + 1, f"{channel}-{sku}", sku, sku, qty, Decimal(price))
                       for i, (sku, qty, price) in enumerate(lines)]
        paid = sum((line.unit_price * line.quantity for line in order_lines), Decimal("0"))
        orders.append(NewOrder(channel, shop, number, order_lines, buyer,
                               {"province": province, "city": city, "district": district}, paid))
    return orders


def run_demo(system, say) -> None:
    """Run the whole order path once on the configured database and print what happened."""
    app = system.app
    data = Path(str(resources.files("cangku") / "demo_data"))
    if not app.sku_exists("TEA-LJ-250"):
        say(f"catalogue: {import_skus(app, data / 'skus.csv')} SKUs")
        say(f"bins: {import_locations(app, data / 'locations.csv')} locations")
        say(f"opening stock: {import_stock(app, data / 'stock.csv', 'demo')} rows")
    before_orders = datetime.now(timezone.utc)
    time.sleep(0.01)
    results = app.import_orders(demo_orders(), by="demo-pull", warehouse=WAREHOUSE)
    for result in results:
        order = app.get_order(result["order_id"])
        say(f"order {order['channel']}/{order['platform_order_no']}: {result['status']}")
    reserved = [r["order_id"] for r in results if r["status"] == "reserved"]
    if not reserved:
        say("no new orders to fulfil (the demo orders were imported before)")
        return
    wave_no = f"W{datetime.now():%H%M%S%f}"
    wave_id = app.create_wave(WAREHOUSE, wave_no, reserved, "supervisor")
    wave = app.wave(wave_id)
    say(f"wave {wave_no}: {len(wave.lines)} pick lines in bin order: " + ", ".join(l["bin"] for l in wave.lines))
    for index, line in enumerate(wave.lines):
        app.pick(wave_id, index, line["bin"], line["sku"], line["quantity"], "picker-01")
    for n, order_id in enumerate(reserved, start=1):
        order = app.get_order(order_id)
        for line in order["lines"]:
            barcode = app.get_sku(line["sku"])["barcodes"][0]
            for _ in range(line["quantity"]):
                app.verify_item(order_id, barcode, "packer-01")
        app.close_package(order_id, "packer-01")
        app.weigh(order_id, 500 + 100 * n, "packer-01")
        app.assign_waybill(order_id, "SF", f"SF{1400000000000 + n}", "755-W")
        app.record_label_printed(order_id, "packing-desk", "packer-01")
        app.hand_over(order_id, "dock-01")
        say(f"order {order['platform_order_no']}: {app.get_order(order_id)['status']}")
    system.catch_up()
    say("stock by bin now:")
    for row in stock_by_bin(system.engine, WAREHOUSE):
        say(f"  {row['sku']:<12} {row['bin']:<9} on hand {row['on_hand']:>4}  reserved {row['reserved']:>3}")
    past = app.stock_at(WAREHOUSE, "CUP-GL-01", before_orders, "A-01-02")
    say(f"CUP-GL-01 in A-01-02 before these orders ({before_orders:%H:%M:%S} UTC): on hand {past['on_hand']}, "
        f"from {len(past['events'])} event(s)")
    say("try: cangku stock --sku CUP-GL-01 --at " + before_orders.astimezone().isoformat(timespec="seconds"))
