"""`cangku backup FILE` and `cangku restore FILE`: the event log to a compressed file and back, in either database."""

import sys
from pathlib import Path

import click

from projections.backoffice import business_calendar

from .commands import open_system, parse_instant, progress_bar, say


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def backup(path):
    """Stream every stored event, from one consistent read, into a gzip file with the hash chain's head over them
    (exit status 1 when the log no longer matches the audit chain)."""
    from sqlalchemy import select

    from projections.audit import chain_table

    from .backup import BackupRefused, events_table, write_backup

    system = open_system()
    try:
        store = system.app.store
        table = events_table(store, system.settings.database)
        system.runners["audit"].catch_up()
        try:
            with progress_bar(store.recorder.max_notification_id() or 0, "cli:events_backed_up") as bar:
                written = write_backup(system.settings.database, table, path, bar.update)
        except OSError as error:
            raise BackupRefused(f"cannot write {path}: {error.strerror or error}") from None
        with system.engine.connect() as conn:
            chained = conn.execute(select(chain_table.c.hash)
                                   .where(chain_table.c.notification_id == written.position)).scalar()
    finally:
        system.close()
    click.echo(say("cli:backup_written", events=f"{written.events:,}", position=written.position, path=path))
    click.echo(say("cli:head", position=written.position, hash=written.head))
    if chained is not None and chained != written.head:
        click.echo(say("cli:backup_tampered", chained=chained, position=written.position), err=True)
        sys.exit(1)


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to-position", type=click.IntRange(min=1), default=None,
              help="Restore the events up to this notification id.")
@click.option("--to-time", default=None, help="Restore the events recorded up to this instant (ISO 8601; China "
                                              "time without an offset).")
def restore(path, to_position, to_time):
    """Fill an EMPTY store from a backup (SQLite or PostgreSQL, whichever made it): check the file's chain, write
    its events (or those up to a position or instant), rebuild the views and check the chain again."""
    from projections.audit import hash_at, verify_chain
    from projections.tracking import rebuild_together

    from .backup import BackupRefused, check_backup, events_table, restore_events

    if to_position and to_time:
        raise click.UsageError(say("cli:position_or_time"))
    until = parse_instant(to_time) if to_time else None
    system = open_system()
    try:
        store = system.app.store
        table = events_table(store, system.settings.database)
        held = store.recorder.max_notification_id() or 0
        if held:
            raise BackupRefused(f"a restore fills an empty store; this one already holds events up to "
                                f"notification {held}")
        stop = None
        if to_position:
            def stop(n, _event):
                return n > to_position
        elif until:
            def stop(_n, event):
                return store.mapper.to_domain_event(event).timestamp > until
        trailer = check_backup(path, stop)
        up_to = trailer["last"] if stop else trailer["position"]
        expected = trailer["last_head"] if stop else trailer["head"]
        click.echo(say("cli:backup_intact", events=f"{trailer['events']:,}", position=trailer["position"],
                       hash=trailer["head"]))
        with progress_bar(up_to, "cli:events_restored") as bar:
            restored = restore_events(system.settings.database, table, path, up_to, bar.update)
        with progress_bar(up_to, "cli:views_rebuilt") as bar:
            rebuild_together(list(system.runners.values()), bar.update)
        head = hash_at(store, up_to) if up_to else expected
        verdict = verify_chain(store, system.engine)
    finally:
        system.close()
    click.echo(say("cli:restored", events=f"{restored:,}", position=up_to)
               + (say("cli:recorded_by", at=business_calendar.local(until).isoformat()) if until else ""))
    if head != expected or not verdict.intact:
        click.echo(say("cli:restore_tampered", head=head, expected=expected), err=True)
        sys.exit(1)
    click.echo(say("cli:chain_verified", position=up_to, hash=head))
