"""`cangku audit`: verify the hash chain over the event log, show its head, browse the events behind a figure."""

import json
import sys

import click

from cangku.commands import DomainErrors, open_system, progress_bar, say
from projections.backoffice import business_calendar


@click.group(cls=DomainErrors)
def audit():
    """Tamper evidence over the event log, and the events behind an order, a SKU or a bin."""


@audit.command()
@click.option("--head", "kept", default=None, metavar="N:HASH",
              help="A head printed earlier by `cangku audit head` and kept outside the database: the stored events "
                   "must still lead to it (a log rewritten together with its chain does not).")
def verify(kept):
    """Recompute the chain from the stored events; exit status 1 names the first altered or missing event."""
    from projections.audit import hash_at, verify_chain, verify_snapshots

    position, expected = _kept_head(kept) if kept else (0, "")
    system = open_system()
    try:
        verdict = verify_chain(system.app.store, system.engine)
        recomputed = hash_at(system.app.store, position) if kept else None
        snapshots, differing = verify_snapshots(system.app.store)
    finally:
        system.close()
    for snapshot in differing:
        click.echo(say("cli:snapshot_tampered", id=snapshot["originator_id"], version=snapshot["originator_version"]),
                   err=True)
    if differing:
        sys.exit(1)
    if not verdict.intact:
        click.echo(say("cli:tampered", what=verdict.describe()), err=True)
        click.echo(say("cli:matched_before", count=verdict.checked), err=True)
        sys.exit(1)
    if kept and recomputed != expected:
        found = say("cli:no_such_notification") if recomputed is None else say("cli:now_lead_to", hash=recomputed)
        click.echo(say("cli:kept_head_tampered", position=position, hash=expected, found=found), err=True)
        sys.exit(1)
    if kept:
        click.echo(say("cli:kept_head_matches", position=position))
    click.echo(say("cli:intact", what=verdict.describe(), snapshots=snapshots))
    click.echo(say("cli:head_hash", hash=verdict.head_hash or "-"))
    if verdict.unchained:
        click.echo(say("cli:unchained", count=verdict.unchained))


def _kept_head(text: str) -> tuple[int, str]:
    number, _, digest = text.partition(":")
    if not number.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise click.BadParameter(say("cli:head_shape"),
                                 param_hint="--head")
    return int(number), digest


@audit.command()
def head():
    """The chain's latest link, to publish elsewhere so the chain itself is pinned."""
    from projections.audit import chain_head

    system = open_system()
    try:
        found = chain_head(system.engine)
    finally:
        system.close()
    click.echo(say("cli:chain_head", position=found["notification_id"], hash=found["hash"]))
    click.echo(say("cli:keep_head", position=found["notification_id"], hash=found["hash"]))


@audit.command()
@click.option("--order", default=None, help="Order id, or channel/shop/platform order number.")
@click.option("--sku", default=None, help="SKU code.")
@click.option("--bin", "bin_", default=None, help="Bin code (in --warehouse).")
@click.option("--warehouse", default=None, help="Warehouse of the bin (default: CANGKU_WAREHOUSE).")
@click.option("--since", default=None, help="First day, e.g. 2026-11-01 (China time).")
@click.option("--until", default=None, help="Last day, e.g. 2026-11-11 (China time).")
@click.option("--limit", default=200, type=int, show_default=True)
def events(order, sku, bin_, warehouse, since, until, limit):
    """The events behind an order, a SKU or a bin, with their notification ids and chain hashes."""
    from projections.audit import bin_events, order_events, sku_events

    chosen = [name for name, value in (("--order", order), ("--sku", sku), ("--bin", bin_)) if value]
    if len(chosen) != 1:
        raise click.UsageError(say("cli:one_of_order_sku_bin"))
    system = open_system()
    try:
        system.catch_up()
        if order:
            found = order_events(system.app.store, system.engine, order, since, until, limit)
        elif sku:
            found = sku_events(system.app.store, system.engine, sku, since, until, limit)
        else:
            found = bin_events(system.app.store, system.engine, warehouse or system.settings.warehouse, bin_, since,
                               until, limit)
    finally:
        system.close()
    for e in found:
        at = business_calendar.local(e["at"]).isoformat(timespec="milliseconds")
        data = json.dumps(e["data"], ensure_ascii=False, sort_keys=True)
        click.echo(say("cli:audit_event", position=e["notification_id"] or "-", at=at, event=e["event"],
                       version=e["version"], by=e["by"] or "-", hash=e["hash"][:16] or say("cli:not_chained"),
                       data=data))
    click.echo(say("cli:events_count", count=len(found)))


@audit.command()
@click.option("--no-replay", is_flag=True, help="Skip rebuilding the views elsewhere to compare them (the slowest "
                                                 "check).")
def check(no_replay):
    """Check the invariants: stock equals its movements, no bin below zero, reservations match the orders, every
    shipped order was picked, packed and handed over by scan, every refund after shipping matches an after-sales case,
    and the views equal a replay of the log. Each failure
    is named with its events (#notification); exit status 1 when any fails."""
    from projections.invariants import CHECKS, check_log, check_views

    from .scratch import scratch_views

    system = open_system()
    try:
        system.catch_up()
        report = check_log(system.app.store, system.engine)
        checked, failures = dict(report.checked), list(report.failures)
        if not no_replay:
            with scratch_views(system.settings.database) as scratch, \
                    progress_bar(system.app.store.recorder.max_notification_id() or 0, "cli:replaying_views") as bar:
                views = check_views(list(system.runners.values()), scratch, bar.update)
            checked.update(views.checked)
            failures += views.failures
    finally:
        system.close()
    for failure in failures:
        click.echo(say("cli:check_failed", what=failure.describe()), err=True)
    for name in CHECKS:
        if name in checked:
            broken = sum(f.check == name for f in failures)
            click.echo(f"{say('cli:failed') if broken else say('cli:ok'):<8}{name:<28}"
                       + say("cli:checked", count=f"{checked[name]:>10,}")
                       + (say("cli:failures", count=broken) if broken else ""))
        else:
            click.echo(f"{say('cli:skipped'):<8}{name}")
    click.echo(say("cli:events_read", count=f"{report.events:,}"))
    if failures:
        sys.exit(1)


@audit.command()
@click.argument("actor")
@click.option("--since", default=None, help="First day, e.g. 2026-11-01 (China time).")
@click.option("--until", default=None, help="Last day, e.g. 2026-11-11 (China time).")
@click.option("--limit", default=50, type=int, show_default=True)
@click.option("--offset", default=0, type=int, show_default=True)
def actor(actor, since, until, limit, offset):
    """Everything a badge (or a job, an import) did, over every kind of event, newest first, a page at a time.
    API calls act as their token's badge."""
    from projections.actors import actor_listing

    system = open_system()
    try:
        listed = actor_listing(system.fresh("actors", "audit"), actor, since, until, system.app.store)
        total, rows = listed.count(), listed.page(limit, offset)
    finally:
        system.close()
    for e in rows:
        at = business_calendar.local(e["at"]).isoformat(timespec="milliseconds")
        click.echo(say("cli:actor_event", position=e["notification_id"], at=at, event=e["event"], version=e["version"],
                       hash=e["hash"][:16] or say("cli:not_chained"), data=e["data"]))
    click.echo(say("cli:actor_page", first=offset + 1 if rows else 0, last=offset + len(rows), total=total,
                   actor=actor))


@audit.command()
@click.option("--order", default=None, help="An order that went short: its id, or channel/shop/platform order number.")
@click.option("--channel", default=None, help="Or a channel: its orders waiting for stock, newest first.")
@click.option("--shop", default=None, help="With --channel: only this shop.")
@click.option("--sku", default=None, help="With --channel: only orders wanting this SKU.")
@click.option("--limit", default=5, type=int, show_default=True, help="With --channel: at most this many orders.")
def oversell(order, channel, shop, sku, limit):
    """Why a channel sold stock we did not have: what its listing showed at the sale, when free stock fell below
    that and what took it, whether a push followed, and the timeline of reservations, releases, pushes and sales."""
    from projections.audit import order_id_of
    from projections.forensics import oversells, short_orders

    if bool(order) == bool(channel):
        raise click.UsageError(say("cli:order_or_channel"))
    system = open_system()
    try:
        engine = system.fresh("inventory", "channel_stock", "orders_board", "audit")
        chosen = ([order_id_of(order)] if order else
                  [r["order_id"] for r in short_orders(engine, channel, shop, sku, limit)])
        found = [o for order_id in chosen for o in oversells(system.app.store, engine, order_id)
                 if not sku or o.sku == sku]
    finally:
        system.close()
    for o in found:
        click.echo(say("cli:oversold", order=o.order, missing=o.missing, wanted=o.wanted, sku=o.sku,
                       warehouse=o.warehouse))
        click.echo(say("cli:gap", gap=o.gap))
        for m in o.timeline:
            at = business_calendar.local(m.at).isoformat(timespec="milliseconds")
            free = "" if m.free_after is None else say("cli:free_after", free=m.free_after)
            click.echo(f"  #{m.notification_id:<8} {at} {m.kind:<9} {m.detail}{free}")
    if not found:
        click.echo(say("cli:no_short_order"))


def _rule(text: str):
    from domain.errors import InvalidInput
    from projections.whatif import parse_rule

    try:
        return parse_rule(text)
    except InvalidInput as refused:
        raise click.BadParameter(str(refused), param_hint="--rule") from None


def _courier_rules(path: str | None):
    from domain.courier_choice import rules_from_data

    if not path:
        return None
    try:
        return rules_from_data(json.loads(open(path, encoding="utf-8").read()))
    except (OSError, ValueError) as error:
        raise click.BadParameter(f"{path}: {error}", param_hint="--courier-rules") from None


def _review_rules(path: str | None):
    from domain.errors import InvalidInput
    from domain.review import book_from_data

    if not path:
        return None
    try:
        return book_from_data(json.loads(open(path, encoding="utf-8").read()))
    except (OSError, ValueError, InvalidInput) as error:
        raise click.BadParameter(f"{path}: {error}", param_hint="--review-rules") from None


@audit.command(name="what-if")
@click.option("--since", default=None, help="First day of the period, e.g. 2026-11-01 (China time).")
@click.option("--until", default=None, help="Last day of the period, e.g. 2026-11-30 (China time).")
@click.option("--rule", "rules", multiple=True, metavar="CHANNEL:SHARE[:BUFFER]",
              help="Another channel-stock rule for a channel's listings, e.g. jd:0.5:2 (repeatable).")
@click.option("--courier-rules", "courier_rules", default=None, metavar="FILE.json",
              help="Another courier policy (as `cangku audit courier-rules` prints the live one).")
@click.option("--waves", "wave_rule", default=None, metavar="MINUTES:ORDERS",
              help="Waves cut by a rule instead of as they were made: every MINUTES, at most ORDERS each (e.g. 30:50).")
@click.option("--review-rules", "review_rules", default=None, metavar="FILE.json",
              help="Another review rule set (as `cangku audit review-rules` prints the live one): each order of the "
                   "period reviewed again under it.")
def what_if(since, until, rules, courier_rules, wave_rule, review_rules):
    """Replay the log in memory under other channel-stock rules, courier policy, wave rule and review rules, and
    compare each channel's sales, oversells, refused sales, orders waiting for stock and margin, each courier's
    parcels and postage, the waves, and each channel's holds, gifts, merges and splits, in the period with the live
    ones (the live log is only read)."""
    from projections.whatif import Figures, Parcels, live_figures, replay

    chosen = dict(_rule(text) for text in rules)
    couriers = _courier_rules(courier_rules)
    waves = _wave_rule(wave_rule) if wave_rule else None
    book = _review_rules(review_rules)
    reviewed = None
    system = open_system()
    try:
        store = system.app.store
        live = live_figures(store, since, until)
        with progress_bar(store.recorder.max_notification_id() or 0, "cli:replaying") as bar:
            again = replay(store, since, until, chosen, bar.update, couriers, waves)
        if book is not None:
            from projections.whatif_review import review_what_if

            with progress_bar(store.recorder.max_notification_id() or 0, "reviewing") as bar:
                reviewed = review_what_if(store, book, since, until, bar.update)
    finally:
        system.close()
    click.echo(f"{say('cli:col:channel'):<12}{say('cli:col:sales'):>14}{say('cli:col:oversells'):>14}"
               f"{say('cli:col:refused'):>12}{say('cli:col:waiting'):>12}{say('cli:col:margin'):>19}"
               + say("cli:live_to_whatif"))
    for channel in sorted(set(live.channels) | set(again.channels)):
        a, b = live.channels.get(channel, Figures()), again.channels.get(channel, Figures())
        pairs = [(getattr(a, k), getattr(b, k)) for k in ("sales", "oversells", "refused", "waiting")]
        margins = f"{a.margin:.2f} → {b.margin:.2f}"
        click.echo(f"{channel:<12}" + "".join(f"{f'{x} → {y}':>{w}}" for (x, y), w in zip(pairs, (14, 14, 12, 12)))
                   + f"{margins:>19}")
    click.echo(f"{say('cli:col:courier'):<12}{say('cli:col:parcels'):>14}{say('cli:col:postage'):>20}")
    for courier in sorted(set(live.couriers) | set(again.couriers)):
        a, b = live.couriers.get(courier, Parcels()), again.couriers.get(courier, Parcels())
        parcels, postage = f"{a.parcels} → {b.parcels}", f"{a.postage:.2f} → {b.postage:.2f}"
        click.echo(f"{courier:<12}{parcels:>14}{postage:>20}")


    a, b = live.waves, again.waves
    click.echo(say("cli:waves", waves=f"{a.waves} → {b.waves}", orders=f"{a.orders} → {b.orders}",
                   mean=f"{a.mean_wait_minutes} → {b.mean_wait_minutes}",
                   longest=f"{a.longest_wait_minutes} → {b.longest_wait_minutes}"))
    if reviewed is not None:
        _echo_review(reviewed)


def _echo_review(report) -> None:
    from projections.whatif_review import ReviewFigures

    headings = {"orders": "cli:review:col:orders", "held": "cli:review:col:held", "presale": "cli:review:col:presale",
                "gift_lines": "cli:review:col:gift_lines", "gift_units": "cli:review:col:gift_units",
                "merged": "cli:review:col:merged", "split": "cli:review:col:split"}
    columns = tuple(headings)
    click.echo(f"{say('cli:review:col:review'):<12}" + "".join(f"{say(key):>12}" for key in headings.values())
               + f"   {say('cli:review:col:holds')}")
    for channel in sorted(set(report.live) | set(report.again)):
        a, b = report.live.get(channel, ReviewFigures()), report.again.get(channel, ReviewFigures())
        kinds = ", ".join(f"{k} {a.holds.get(k, 0)} → {b.holds.get(k, 0)}" for k in sorted(set(a.holds) | set(b.holds)))
        click.echo(f"{channel:<12}" + "".join(f"{f'{getattr(a, k)} → {getattr(b, k)}':>12}" for k in columns)
                   + f"   {kinds or '-'}")
    if report.gifts_assumed:
        click.echo(say("cli:review:gifts_assumed", count=report.gifts_assumed))


def _wave_rule(text: str):
    from domain.errors import InvalidInput
    from projections.whatif import parse_wave_rule

    try:
        return parse_wave_rule(text)
    except InvalidInput as refused:
        raise click.BadParameter(str(refused), param_hint="--waves") from None


@audit.command(name="courier-rules")
def courier_rules():
    """The live courier policy as JSON: a starting point for `cangku audit what-if --courier-rules`."""
    from domain.courier_choice import rules_as_data, standard_rules

    click.echo(json.dumps(rules_as_data(standard_rules()), ensure_ascii=False, indent=2))


@audit.command(name="review-rules")
def review_rules():
    """The live review rule set as JSON: a starting point for `cangku audit what-if --review-rules`."""
    from domain.review import book_as_data

    system = open_system()
    try:
        book = system.app.review.book()
    finally:
        system.close()
    click.echo(json.dumps(book_as_data(book), ensure_ascii=False, indent=2))
