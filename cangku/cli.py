"""The `cangku` command."""

import sys
from pathlib import Path

import click

from projections.backoffice import business_calendar

from .commands import DomainErrors, open_system, parse_instant, said_bar, say

@click.group(cls=DomainErrors)
def main():
    """Cangku — event-sourced warehouse and fulfilment."""


@main.command()
def init():
    """Create the event store and the views (safe to run again)."""
    system = open_system()
    click.echo(say("cli:database", url=system.settings.database.masked_url()))
    click.echo(say("cli:projections", names=", ".join(system.runners)))
    system.close()


@main.group(name="import")
def import_():
    """Import SKUs, locations or opening stock from CSV or XLSX (all rows or none)."""


def _rows_bar(path: Path):
    """Progress over a file's rows, on stderr, after naming how the file is read (XLSX or the CSV's encoding): the
    rows are read, then checked, then written together at the end."""
    from adapters.imports import kind_of

    click.echo(say("cli:reading", file=path.name, kind=kind_of(path)), err=True)
    return said_bar(desc=say("cli:rows_read"), unit="row", mininterval=0.5)


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
    click.echo(say("cli:skus_imported", **counts))
    system.close()


@import_.command(name="locations")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_locations(path):
    """CSV columns: warehouse,bin,zone,area(receiving|storage|packing|returns),pick_sequence."""
    from adapters.imports import import_locations as run

    system = open_system()
    from adapters.imports import kind_of

    click.echo(say("cli:locations_imported", count=run(system.app, path), kind=kind_of(path)))
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
    click.echo(say("cli:stock_imported", count=received))
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
    click.echo(say("cli:history_imported", **counts))
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
    click.echo(say("cli:bill_imported", lines=done["lines"], courier=courier, reference=reference))
    system.close()


@import_.command(name="mappings")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="mapping-import", help="Who is recorded as having mapped the platform SKUs.")
def import_mappings(path, by):
    """CSV columns: channel,shop,platform_sku,sku,quantity[,item_id]; a kit (组合装) takes one row per SKU."""
    from .mapping_import import import_mappings as run

    system = open_system()
    done = run(system, path, by)
    click.echo(say("cli:mappings_imported", **done))
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
        click.echo(f"{say('cli:col:bin'):<12}{say('cli:col:on_hand'):>9}{say('cli:col:reserved'):>10}"
                   f"{say('cli:col:available'):>11}")
        for r in rows:
            click.echo(f"{r['bin']:<12}{r['on_hand']:>9}{r['reserved']:>10}{r['available']:>11}")
        _echo_in_transit(system, sku, warehouse, None)
    else:
        from projections.inventory import stock_at

        figure = stock_at(system.fresh("inventory"), warehouse, sku, parse_instant(at), bin_, limit, offset)
        where = say("cli:in_bin", bin=bin_) if bin_ else say("cli:in_warehouse", warehouse=warehouse)
        click.echo(say("cli:stock_at", sku=sku, where=where, at=figure["at"].isoformat(), on_hand=figure["on_hand"],
                       reserved=figure["reserved"], available=figure["on_hand"] - figure["reserved"]))
        newest, older = figure["events_total"] - offset, figure["next_offset"]
        shown = (say("cli:events_shown", total=figure["events_total"], first=newest - len(figure["events"]) + 1,
                     last=newest) if figure["events"] else say("cli:events_none", total=figure["events_total"]))
        click.echo(shown + (say("cli:older_events", offset=older) if older is not None else "") + ":")
        for e in figure["events"]:
            click.echo(say("cli:stock_event", version=e["version"], event=e["event"], by=e["by"] or "-",
                           at=business_calendar.local(e["at"]).isoformat(timespec="milliseconds"),
                           on_hand_before=e["before"]["on_hand"], on_hand_after=e["after"]["on_hand"],
                           reserved_before=e["before"]["reserved"], reserved_after=e["after"]["reserved"]))
        _echo_in_transit(system, sku, warehouse, figure["at"])
    system.close()


def _echo_in_transit(system, sku: str, warehouse: str, at) -> None:
    """The SKU's units on transfers to or from the warehouse, shipped and not yet received (at the instant)."""
    from projections.transfers import in_transit

    for r in in_transit(system.fresh("transfers"), sku, warehouse, at):
        click.echo(say("cli:in_transit", **r))


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
    click.echo(f"{say('cli:col:warehouse'):<10}{say('cli:col:sku'):<20}{say('cli:col:lot'):<21}"
               f"{say('cli:col:expiry'):<11}{say('cli:col:days_left'):>10}{say('cli:col:on_hand'):>9}"
               f"{say('cli:col:reserved'):>10}")
    for r in rows:
        click.echo(f"{r['warehouse']:<10}{r['sku']:<20}{r['lot']:<21}{r['expiry']:<11}{r['days_left']:>10}"
                   f"{r['on_hand']:>9}{r['reserved']:>10}")
    click.echo(say("cli:lots_expiring", count=len(rows), days=days))
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
        raise click.ClickException(say("refusal:unknown_sku", sku=sku))
    report = recall_report(system.fresh("lots", "order_desk"), sku, lot)
    click.echo(say("cli:recall", sku=sku, lot=lot, expiry=report["expiry"] or "?", shipped=report["shipped"],
                   on_hand=report["on_hand"]))
    click.echo(say("cli:recall_orders", count=len(report["orders"])))
    for o in report["orders"]:
        buyer = system.app.orders.order_details(UUID(o["order_id"]))["buyer"]
        click.echo(say("cli:recall_order", channel=o["channel"] or "-", shop=o["shop"] or "-",
                       order=o["platform_order_no"] or o["order_id"], status=o["status"] or "-", shipped=o["shipped"],
                       returned=o["returned"],
                       at=business_calendar.local(o["shipped_at"]).isoformat(timespec="seconds"),
                       name=buyer["name"], phone=buyer["phone"], address=buyer["address"]))
    click.echo(say("cli:in_stock"))
    for r in report["stock"]:
        click.echo(say("cli:recall_stock", **r))
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
        stuck = say("cli:stuck", at=s.stuck_at, topic=s.stuck_topic, error=s.error) if s.stuck_at else ""
        click.echo(say("cli:projection_status", name=s.name, position=s.position, head=s.head, lag=s.lag, stuck=stuck))
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
    with tqdm(total=head, desc=name or say("cli:all_projections"), unit="ev", file=sys.stderr) as bar:
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
        raise click.BadParameter(say("cli:unknown_projection", name=repr(name), known=", ".join(system.runners)))
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
        click.echo(say("cli:simulators", shops=", ".join(f"{c}/{s}" for c, s in shops)))
    else:
        system.start_jobs(retries=system.settings.job_retries)
    system.start_followers()
    if not system.settings.broker_url:
        system.start_scheduler()
    app = create_app(system)
    host = host or system.settings.host
    port = port or system.settings.port
    click.echo(say("cli:serving", host=host, port=port, url=system.settings.database.masked_url()))
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
        raise click.ClickException(say("cli:no_broker"))
    system.start_jobs(in_process_worker=True, threads=threads, retries=system.settings.job_retries)
    system.start_followers()
    system.start_scheduler()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(say("cli:worker", queues=", ".join(sorted(system.broker.get_declared_queues()))))
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        system.close()


def register_commands() -> None:
    from adapters.marketplaces.simulators.cli import simulate
    from cangku.printing_cli import print_test
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
