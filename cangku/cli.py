"""The `cangku` command."""

import sys
from pathlib import Path

import click

from projections.backoffice import business_calendar

from .commands import DomainErrors, open_system, parse_instant

@click.group(cls=DomainErrors)
def main():
    """Cangku — event-sourced warehouse and fulfilment."""


@main.command()
def init():
    """Create the event store and the views (safe to run again)."""
    system = open_system()
    click.echo(f"database: {system.settings.database.masked_url()}")
    click.echo(f"projections: {', '.join(system.runners)}")
    system.close()


@main.group(name="import")
def import_():
    """Import SKUs, locations or opening stock from CSV or XLSX (all rows or none)."""


def _rows_bar(path: Path):
    """Progress over a file's rows, on stderr, after naming how the file is read (XLSX or the CSV's encoding): the
    rows are read, then checked, then written together at the end."""
    from tqdm import tqdm

    from adapters.imports import kind_of

    click.echo(f"reading {path.name} as {kind_of(path)}", err=True)
    return tqdm(desc="rows read", unit="row", file=sys.stderr, mininterval=0.5)


@import_.command(name="skus")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_skus(path):
    """Columns: code, and any of name,barcodes(; separated),unit_weight_g,length_mm,width_mm,height_mm,unit_cost,
    safety_stock,lot_tracked(yes/no),shelf_life_days. Existing SKUs are updated; an empty cell changes nothing."""
    from adapters.imports import import_skus as run

    system = open_system()
    with _rows_bar(path) as bar:
        counts = run(system.app, path, bar, by="import")
    counts.update(system.release_orders_for_new_skus("import"))
    click.echo(f"registered {counts['registered']}, updated {counts['updated']}, "
               f"unchanged {counts['unchanged']} SKUs; orders waiting for them released {counts['released']}, "
               f"reserved {counts['reserved']}")
    system.close()


@import_.command(name="locations")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_locations(path):
    """CSV columns: warehouse,bin,zone,area(receiving|storage|packing|returns),pick_sequence."""
    from adapters.imports import import_locations as run

    system = open_system()
    from adapters.imports import kind_of

    click.echo(f"imported {run(system.app, path)} locations (read as {kind_of(path)})")
    system.close()


@import_.command(name="stock")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="opening-stock", help="Who is recorded as having received the stock.")
def import_stock(path, by):
    """CSV columns: warehouse,sku,bin,quantity."""
    from adapters.imports import import_stock as run

    system = open_system()
    with _rows_bar(path) as bar:
        received = run(system.app, path, by, bar)
    click.echo(f"received {received} rows of opening stock")
    for runner in system.runners.values():
        _with_progress(runner)
    system.close()


@import_.command(name="history")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(["cangku", "online-retail"]), default="cangku",
              help="cangku: channel,shop,order_no,ordered_at,status,sku,quantity,unit_price,… (see README); "
                   "online-retail: InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country.")
@click.option("--channel", default="web", help="The channel of orders whose row names none.")
@click.option("--shop", default="main", help="The shop of orders whose row names none.")
@click.option("--by", default="history-import", help="Who is recorded as having imported the orders.")
def import_history(path, file_format, channel, shop, by):
    """Past orders with their lines, status, refunds and customers, at the time they happened: for finance,
    customers and replenishment, never live work (all rows or none; a file imported again adds only what is new)."""
    from .history_import import import_history as run

    system = open_system()
    with _rows_bar(path) as bar:
        counts = run(system.app, path, file_format, channel, shop, bar, by)
    click.echo(f"recorded {counts['recorded']} past orders ({counts['lines']} lines); "
               f"{counts['already_recorded']} were recorded before; {counts['skipped']} lines moved no sale")
    for name in ("finance", "crm", "replenishment", "order_desk"):
        _with_progress(system.runners[name])
    system.close()


@import_.command(name="courier-bill")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--courier", required=True, help="The courier whose bill it is (YTO, ZTO, SF, ...).")
@click.option("--reference", required=True, help="The bill's own number or period; each is taken once.")
@click.option("--by", default="bill-import", help="Who is recorded as having imported the bill.")
def import_courier_bill(path, courier, reference, by):
    """Columns: tracking_no,fee. Its fees replace the estimated courier fees in finance."""
    from adapters.imports import import_courier_bill as run

    system = open_system()
    done = run(system.app, path, courier, reference, by)
    click.echo(f"imported {done['lines']} bill lines of {courier} {reference}")
    system.close()


@import_.command(name="mappings")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="mapping-import", help="Who is recorded as having mapped the platform SKUs.")
def import_mappings(path, by):
    """CSV columns: channel,shop,platform_sku,sku,quantity[,item_id]; a kit (组合装) takes one row per SKU."""
    from .mapping_import import import_mappings as run

    system = open_system()
    done = run(system, path, by)
    click.echo(f"mapped {done['mapped']} platform SKUs; {done['released']} waiting orders released, "
               f"{done['reserved']} reserved")
    system.close()


@main.command()
@click.option("--sku", required=True, help="SKU code.")
@click.option("--bin", "bin_", default=None, help="One bin only.")
@click.option("--warehouse", default=None, help="Warehouse code (default: CANGKU_WAREHOUSE).")
@click.option("--at", "at", default=None,
              help="A past instant, e.g. 2026-11-11T20:00:03 (business time unless an offset is given).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="With --at: how many of the events behind the figure to show, the newest first.")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0),
              help="With --at: skip this many of the newest events (to page further back).")
def stock(sku, bin_, warehouse, at, limit, offset):
    """Stock of a SKU now, or at a past instant, from the inventory view and its movement ledger."""
    system = open_system()
    warehouse = warehouse or system.settings.warehouse
    if at is None:
        from projections.inventory import stock_by_bin

        system.catch_up()
        rows = [r for r in stock_by_bin(system.engine, warehouse, sku) if bin_ in (None, r["bin"])]
        click.echo(f"{'bin':<12}{'on hand':>9}{'reserved':>10}{'available':>11}")
        for r in rows:
            click.echo(f"{r['bin']:<12}{r['on_hand']:>9}{r['reserved']:>10}{r['available']:>11}")
        _echo_in_transit(system, sku, warehouse, None)
    else:
        from projections.inventory import stock_at

        figure = stock_at(system.fresh("inventory"), warehouse, sku, parse_instant(at), bin_, limit, offset)
        where = f"bin {bin_}" if bin_ else f"warehouse {warehouse}"
        click.echo(f"{sku} in {where} at {figure['at'].isoformat()}: on hand {figure['on_hand']}, "
                   f"reserved {figure['reserved']}, available {figure['on_hand'] - figure['reserved']}")
        newest, older = figure["events_total"] - offset, figure["next_offset"]
        click.echo(f"from {figure['events_total']} events; "
                   + (f"number {newest - len(figure['events']) + 1} to {newest}" if figure["events"] else "none")
                   + " shown" + (f" (older ones: --offset {older})" if older is not None else "") + ":")
        for e in figure["events"]:
            click.echo(f"  v{e['version']:<5} {business_calendar.local(e['at']).isoformat(timespec='milliseconds')} "
                       f"{e['event']:<16} by {e['by'] or '-':<12} on hand {e['before']['on_hand']} → "
                       f"{e['after']['on_hand']}, reserved {e['before']['reserved']} → {e['after']['reserved']}")
        _echo_in_transit(system, sku, warehouse, figure["at"])
    system.close()


def _echo_in_transit(system, sku: str, warehouse: str, at) -> None:
    """The SKU's units on transfers to or from the warehouse, shipped and not yet received (at the instant)."""
    from projections.transfers import in_transit

    for r in in_transit(system.fresh("transfers"), sku, warehouse, at):
        click.echo(f"in transit: {r['in_transit']} on transfer {r['number']} "
                   f"({r['from_warehouse']} → {r['to_warehouse']})")


@main.group()
def lots():
    """Lots of lot-tracked SKUs: expiring soon, and the recall report of one lot."""


@lots.command()
@click.option("--days", default=None, type=click.IntRange(0, 3650),
              help="Expiring within this many days (default: CANGKU_EXPIRY_ALERT_DAYS).")
@click.option("--warehouse", default=None, help="One warehouse only.")
def expiring(days, warehouse):
    """Lots on hand expiring within the days (or expired), first expiring first."""
    from projections.lots import expiring as expiring_lots

    system = open_system()
    days = system.settings.expiry_alert_days if days is None else days
    rows = expiring_lots(system.fresh("lots"), system.app.inventory.today(), days, warehouse).page(100_000)
    click.echo(f"{'warehouse':<10}{'sku':<20}{'lot':<21}{'expiry':<11}{'days left':>10}{'on hand':>9}{'reserved':>10}")
    for r in rows:
        click.echo(f"{r['warehouse']:<10}{r['sku']:<20}{r['lot']:<21}{r['expiry']:<11}{r['days_left']:>10}"
                   f"{r['on_hand']:>9}{r['reserved']:>10}")
    click.echo(f"{len(rows)} lots expiring within {days} days")
    system.close()


@lots.command()
@click.option("--sku", required=True, help="SKU code.")
@click.option("--lot", required=True, help="Lot (批次号).")
def recall(sku, lot):
    """Which orders shipped a lot (buyers masked), and where the rest of it lies."""
    from uuid import UUID

    from projections.lots import recall as recall_report

    system = open_system()
    if not system.app.catalogue.sku_exists(sku):
        raise click.ClickException(f"unknown SKU {sku!r}")
    report = recall_report(system.fresh("lots", "order_desk"), sku, lot)
    click.echo(f"{sku} lot {lot}, expires {report['expiry'] or '?'}: {report['shipped']} units shipped, "
               f"{report['on_hand']} still in stock")
    click.echo(f"orders ({len(report['orders'])}):")
    for o in report["orders"]:
        buyer = system.app.orders.order_details(UUID(o["order_id"]))["buyer"]
        click.echo(f"  {o['channel'] or '-'}/{o['shop'] or '-'}/{o['platform_order_no'] or o['order_id']:<24} "
                   f"{o['status'] or '-':<10} shipped {o['shipped']:>5} returned {o['returned']:>4}  "
                   f"{business_calendar.local(o['shipped_at']).isoformat(timespec='seconds')}  "
                   f"{buyer['name']} {buyer['phone']} {buyer['address']}")
    click.echo("in stock:")
    for r in report["stock"]:
        click.echo(f"  {r['warehouse']:<10}{r['bin']:<12}on hand {r['on_hand']:>6} reserved {r['reserved']:>6}")
    system.close()


@main.group()
def projections():
    """Projection status, catch-up and rebuild."""


@projections.command()
def status():
    """Position, head of the log and lag of each projection."""
    system = open_system()
    for runner in system.runners.values():
        s = runner.status()
        stuck = f"  STUCK at notification {s.stuck_at} ({s.stuck_topic}): {s.error}" if s.stuck_at else ""
        click.echo(f"{s.name:<12} position {s.position:>9}  head {s.head:>9}  lag {s.lag:>9}{stuck}")
    system.close()


def _with_progress(runner):
    from tqdm import tqdm

    with tqdm(total=runner.status().lag, desc=runner.projection.name, unit="ev", file=sys.stderr) as bar:
        runner.catch_up(progress=bar.update)


@projections.command()
@click.argument("name", required=False)
def rebuild(name):
    """Drop a projection (all when no name: one pass over the log for all of them) and fold it again."""
    from tqdm import tqdm

    from projections.tracking import rebuild_together

    system = open_system()
    runners = _chosen(system, name)
    head = system.app.store.recorder.max_notification_id() or 0
    with tqdm(total=head, desc=name or "all projections", unit="ev", file=sys.stderr) as bar:
        rebuild_together(runners, progress=bar.update, page_size=max(system.settings.projection_batch, 1000))
    system.close()


@projections.command(name="catch-up")
@click.argument("name", required=False)
def catch_up(name):
    """Apply the events recorded since each projection's position (resumes an interrupted rebuild)."""
    system = open_system()
    for runner in _chosen(system, name):
        _with_progress(runner)
    system.close()


def _chosen(system, name):
    if name and name not in system.runners:
        raise click.BadParameter(f"unknown projection {name!r}; known: {', '.join(system.runners)}")
    return [system.runners[name]] if name else list(system.runners.values())


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.option("--threads", default=8, type=int)
def serve(host, port, threads):
    """Serve the scanner UI and API (waitress), following the log for the views and the outbox."""
    from waitress import serve as waitress_serve

    from scanner_ui import create_app

    from .bootstrap import start_simulators

    system = open_system()
    if system.settings.simulators and not system.settings.shops:
        from .demo import load_demo_catalogue

        load_demo_catalogue(system.app, click.echo)
        shops, couriers, _ = start_simulators(system)
        system.start_jobs(shops=shops, couriers=couriers, retries=system.settings.job_retries)
        click.echo("simulators: " + ", ".join(f"{c}/{s}" for c, s in shops))
    else:
        system.start_jobs(retries=system.settings.job_retries)
    system.start_followers()
    if not system.settings.broker_url:
        system.start_scheduler()
    app = create_app(system)
    host = host or system.settings.host
    port = port or system.settings.port
    click.echo(f"serving on http://{host}:{port}/  (database {system.settings.database.masked_url()})")
    try:
        waitress_serve(app, host=host, port=port, threads=threads, _quiet=True,
                       max_request_body_size=app.config["MAX_UPLOAD_LENGTH"])
    finally:
        system.close()


@main.command()
@click.option("--serve/--no-serve", "then_serve", default=False, help="Keep serving the UI afterwards.")
def demo(then_serve):
    """Load the demo catalogue and bins, take orders through the whole path, and show the stock."""
    from .demo import run_demo

    system = open_system()
    run_demo(system, click.echo)
    system.close()
    if then_serve:
        serve.callback(None, None, 8)


@main.command()
@click.option("--threads", default=4, type=int, help="Worker threads.")
def worker(threads):
    """Consume the job queues on RabbitMQ, dispatch from the event log, and schedule shop pulls."""
    import logging
    import signal
    import threading

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("pika", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    system = open_system()
    if not system.settings.broker_url:
        raise click.ClickException("CANGKU_BROKER_URL is not set; without a broker, `serve` runs the jobs itself")
    system.start_jobs(in_process_worker=True, threads=threads, retries=system.settings.job_retries)
    system.start_followers()
    system.start_scheduler()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"worker consuming {', '.join(sorted(system.broker.get_declared_queues()))}")
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        system.close()


def register_commands() -> None:
    from adapters.marketplaces.simulators.cli import simulate
    from adapters.printing.cli import print_test
    from .audit_cli import audit
    from .backup_cli import backup, restore
    from cangku.staff_cli import staff

    main.add_command(print_test, "print-test")
    main.add_command(simulate, "simulate")
    main.add_command(audit, "audit")
    main.add_command(backup, "backup")
    main.add_command(restore, "restore")
    main.add_command(staff, "staff")


register_commands()
