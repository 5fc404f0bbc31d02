"""Actor index: every event that names who did it (a badge, a job, an import), keyed by that actor, so what one
person did over every kind of event is a page of one indexed query, however long the log.

An API call acts as its token (`S1#a1b2c3d4`): its events are found under the token, and under the token's badge too,
where each row says which token did it."""

import importlib
import inspect
import json
import pkgutil
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from sqlalchemy import BigInteger, Column, MetaData, String, Table, select
from sqlalchemy.engine import Connection, Engine

import domain
from domain.staff import badge_of

from .audit import chain_table, event_data
from .backoffice import Instant, Listing, aware, business_calendar, day_range, insert_tuples, text_id
from .tracking import Projection, topics_of

metadata = MetaData()

ACTOR_FIELDS = ("by", "staff", "picker")
MAX_ACTOR = 200

actors = Table(
    "audit_actor",
    metadata,
    Column("actor", String(MAX_ACTOR), primary_key=True),
    Column("notification_id", BigInteger, primary_key=True, autoincrement=False),
    Column("event", String(64), nullable=False),
    Column("originator_id", String(36), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("at", Instant(), nullable=False),
)


def _domain_modules() -> list:
    """Every module of the domain's aggregates, so a new aggregate's events are indexed without being listed here."""
    return [importlib.import_module(f"domain.{info.name}") for info in pkgutil.iter_modules(domain.__path__)
            if not info.ispkg]


def _event_classes() -> list[type]:
    """Every event class of the domain's aggregates that names who did it."""
    found = []
    for module in _domain_modules():
        for aggregate in vars(module).values():
            if not (isinstance(aggregate, type) and issubclass(aggregate, Aggregate)
                    and aggregate.__module__ == module.__name__):
                continue
            for kind in vars(aggregate).values():
                if (isinstance(kind, type) and issubclass(kind, Aggregate.Event)
                        and set(ACTOR_FIELDS) & set(inspect.signature(kind.__init__).parameters)):
                    found.append(kind)
    return found


class ActorIndexProjection(Projection):
    name = "actors"
    metadata = metadata
    topics = topics_of(_event_classes())

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        rows = []
        for n, e in events:
            named = {str(v)[:MAX_ACTOR] for v in (getattr(e, f, None) for f in ACTOR_FIELDS) if v}
            named |= {badge_of(actor) for actor in named}
            kind, originator = type(e).__qualname__[:64], text_id(e.originator_id)
            rows.extend((actor, n, kind, originator, e.originator_version, e.timestamp) for actor in named)
        insert_tuples(conn, actors, ("actor", "notification_id", "event", "originator_id", "version", "at"), rows)


def _window(query, since, until):
    first, last = day_range(since, until)
    if first:
        query = query.where(actors.c.at >= datetime.combine(datetime.fromisoformat(first).date(), time(),
                                                            business_calendar.zone))
    if last:
        query = query.where(actors.c.at < datetime.combine(datetime.fromisoformat(last).date() + timedelta(days=1),
                                                           time(), business_calendar.zone))
    return query


def actor_listing(engine: Engine, actor: str, since=None, until=None, app=None) -> Listing:
    """What an actor did, newest first, each event with its place in the chain (and, given the application, its
    fields as JSON and who it names as acting, a badge or one of its API tokens, read from the log for the rows of
    each page)."""
    query = _window(select(actors.c.notification_id, actors.c.at, actors.c.event, actors.c.originator_id,
                           actors.c.version, chain_table.c.hash)
                    .outerjoin(chain_table, chain_table.c.notification_id == actors.c.notification_id)
                    .where(actors.c.actor == str(actor)[:MAX_ACTOR]), since, until)

    def shown(_conn, rows: list[dict]) -> list[dict]:
        for row in rows:
            row["at"], row["hash"] = aware(row["at"]), row["hash"] or ""
            if app is not None:
                found = list(app.events.get(UUID(row["originator_id"]), gt=row["version"] - 1, lte=row["version"]))
                data = event_data(found[0]) if found else {}
                row["data"] = json.dumps(data, ensure_ascii=False, sort_keys=True)
                row["acted_as"] = next((str(data[f]) for f in ACTOR_FIELDS if data.get(f)), "")
        return rows

    return Listing(engine, query.order_by(actors.c.notification_id.desc()), shape_rows=shown)
