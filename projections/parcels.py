"""Parcels: each package's courier, tracking number and latest route status, and the logistics exceptions."""

from typing import Any

from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.engine import Connection, Engine

from domain.fulfilment import Package

from .backoffice import BatchRows, Instant, text_id
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

parcels = Table(
    "parcel",
    metadata,
    Column("package_id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False, index=True),
    Column("courier", String(16), nullable=False, default=""),
    Column("tracking_no", String(40), nullable=False, default="", index=True),
    Column("status", String(24), nullable=False),
    Column("exception", String(200), nullable=False, default=""),
    Column("updated_at", Instant(), nullable=False),
)

IN_TRANSIT = ("handed_over", "collected", "in_transit", "delivering")


class ParcelsProjection(Projection):
    name = "parcels"
    metadata = metadata
    topics = topics_of([Package.Opened, Package.WaybillAssigned, Package.WaybillCancelled, Package.HandedOver,
                        Package.RouteUpdated, Package.LogisticsException])

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        rows = BatchRows(parcels, ("package_id",), dict)
        opened = created_in((e for _, e in events), Package.Opened)
        rows.load(conn, {(text_id(e.originator_id),) for _, e in events if text_id(e.originator_id) not in opened})
        for _, e in events:
            key = (text_id(e.originator_id),)
            if isinstance(e, Package.Opened):
                rows.row(key, order_id=text_id(e.order_id), status="open", courier="", tracking_no="", exception="",
                         updated_at=e.timestamp)
                continue
            row = rows.get(key)
            if row is None:
                continue
            row["updated_at"] = e.timestamp
            if isinstance(e, Package.WaybillAssigned):
                row.update(courier=e.courier, tracking_no=e.tracking_no, status="waybilled")
            elif isinstance(e, Package.WaybillCancelled):
                row.update(tracking_no="", status="waybill_cancelled")
            elif isinstance(e, Package.HandedOver):
                row.update(status="handed_over")
            elif isinstance(e, Package.RouteUpdated):
                row.update(status=e.status)
            elif isinstance(e, Package.LogisticsException):
                row.update(exception=e.reason)
        rows.write(conn)


def parcels_in_transit(engine: Engine) -> list[dict]:
    """Parcels handed to a courier and not yet delivered or returned: what tracking polls."""
    with engine.connect() as conn:
        rows = conn.execute(select(parcels).where(parcels.c.status.in_(IN_TRANSIT)).order_by(parcels.c.updated_at))
        return [dict(r._mapping) for r in rows]


def logistics_exceptions(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(parcels).where(parcels.c.exception != "").order_by(parcels.c.updated_at))
        return [dict(r._mapping) for r in rows]
