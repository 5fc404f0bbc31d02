"""The demo: a small warehouse pulling orders from the five marketplace simulators and shipping them."""

import time
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

from domain.staff import NotAllowed
from projections.inventory import stock_by_bin
from workers.pull import pull_shop

from .bootstrap import start_simulators
from .commands import say as words
from adapters.imports import import_locations, import_skus, import_stock

WAREHOUSE = "WH1"
# One member of staff per role, for trying the scanner screens after the demo (their PINs are printed, so they are
# for a demo database only).
DEMO_STAFF = (("P1", "李拣货", "picker", "2468"), ("K1", "吴打包", "packer", "3579"),
              ("R1", "周收货", "receiver", "1357"), ("S1", "赵主管", "supervisor", "8642"),
              ("A1", "钱审计", "auditor", "9753"), ("ADMIN", "管理员", "admin", "7531"))


def run_demo(system, say, orders_per_shop: int = 4) -> None:
    """Pull, reserve, wave, pick, pack, label, hand over, confirm and track; then print the stock, now and before."""
    app = system.app
    load_demo_catalogue(app, say)
    before_orders = datetime.now(timezone.utc)
    time.sleep(0.01)

    shops, couriers, courier_clock = start_simulators(system, orders_per_shop)
    system.start_jobs(shops=shops, couriers=couriers)
    system.start_followers(interval=0.05)
    for (channel, shop), client in shops.items():
        pulled = pull_shop(app, client, channel, shop, WAREHOUSE)
        say(words("cli:demo:pulled", channel=channel, shop=shop, seen=pulled["seen"], imported=pulled["imported"]))

    board = {}
    ready = []
    marketplaces = system.simulators.marketplaces.simulators
    for channel, shop in shops:
        for number in list(marketplaces[channel].orders):
            order = app.orders.find_order(channel, shop, number)
            board[order.status] = board.get(order.status, 0) + 1
            if order.status == "reserved":
                ready.append(order.id)
    say(words("cli:demo:by_status", counts=", ".join(f"{status} {n}" for status, n in sorted(board.items()))))
    if not ready:
        say(words("cli:demo:nothing_reserved"))
        return
    wave_no = f"W{datetime.now():%H%M%S}"
    wave_id = app.fulfilment.create_wave(WAREHOUSE, wave_no, ready, "supervisor")
    wave = app.fulfilment.wave(wave_id)
    say(words("cli:demo:wave", wave=wave_no, orders=len(ready), lines=len(wave.lines),
              bins=" → ".join(dict.fromkeys(line["bin"] for line in wave.lines))))
    for index, line in enumerate(wave.lines):
        app.fulfilment.pick(wave_id, index, line["bin"], line["sku"], line["quantity"], "picker-01")
    for n, order_id in enumerate(ready, start=1):
        for sku, quantity in app.orders.order(order_id).quantities().items():
            barcode = app.catalogue.get_sku(sku)["barcodes"][0]
            for _ in range(quantity):
                app.fulfilment.verify_item(order_id, barcode, "packer-01")
        app.fulfilment.close_package(order_id, "packer-01")
        app.fulfilment.weigh(order_id, 400 + 50 * n, "packer-01")
    wait_for(lambda: all(app.fulfilment.label_printed_count(o) for o in ready))
    chosen = {}
    for order_id in ready:
        package = app.fulfilment.package(order_id)
        chosen[package.courier] = chosen.get(package.courier, 0) + 1
    say(words("cli:demo:waybills", couriers=", ".join(f"{c} {n}" for c, n in sorted(chosen.items())),
              printed=len(ready)))
    for order_id in ready:
        app.fulfilment.hand_over(order_id, "dock-01")
    confirmed = lambda: sum(len(s.shipments) for s in marketplaces.values())  # noqa: E731
    wait_for(lambda: confirmed() >= len(ready))
    say(words("cli:demo:shipped", orders=len(ready), confirmed=confirmed()))
    system.catch_up()
    courier_clock.advance(days=3)
    system.jobs.track_parcels.send()
    wait_for(lambda: all(app.orders.order(o).status == "delivered" for o in ready))
    say(words("cli:demo:delivered", parcels=len(ready)))

    system.catch_up()
    say(words("cli:demo:stock_now"))
    for row in stock_by_bin(system.engine, WAREHOUSE):
        say(words("cli:demo:stock_row", **row))
    past = app.inventory.stock_at(WAREHOUSE, "TEA-LJ-250", before_orders, "A-01-01")
    say(words("cli:demo:before", on_hand=past["on_hand"], events=len(past["events"])))
    instant = (before_orders + timedelta(milliseconds=1)).astimezone().isoformat(timespec="milliseconds")
    say(words("cli:demo:try", at=instant))
    register_demo_staff(app, say, f"http://{system.settings.host}:{system.settings.port}/")


def register_demo_staff(app, say, url: str) -> None:
    """One member of staff per role (unless there already), and how to sign in as each."""
    for badge, name, role, pin in DEMO_STAFF:
        try:
            app.staff.staff_member(badge)
        except NotAllowed:
            app.staff.register_staff(badge, name, role, pin, "demo")
    say(words("cli:demo:screens", url=url))
    for badge, name, role, pin in DEMO_STAFF:
        say(words("cli:demo:badge", role=role, badge=badge, pin=pin, name=name))


def load_demo_catalogue(app, say) -> None:
    """The demo's SKUs, bins and opening stock, unless they are there already."""
    data = Path(str(resources.files("cangku") / "demo_data"))
    if not app.catalogue.sku_exists("TEA-LJ-250"):
        say(words("cli:demo:catalogue", skus=import_skus(app, data / "skus.csv", by="demo")["registered"]))
        say(words("cli:demo:bins", bins=import_locations(app, data / "locations.csv")))
        say(words("cli:demo:opening_stock", rows=import_stock(app, data / "stock.csv", "demo")))


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the demo's jobs did not finish in time")
        time.sleep(0.05)
