"""The product master as a list: every SKU with its current details, barcodes and whether it is retired."""

from typing import Any, Callable

from sqlalchemy import BigInteger, Boolean, Column, MetaData, Numeric, String, Table, Text, func, or_, select
from sqlalchemy.engine import Connection, Engine

from domain.catalogue import DETAILS, Sku
from domain.errors import UnknownSku

from .backoffice import BatchRows, Instant, Listing, aware, text_id
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

catalogue_skus = Table(
    "catalogue_sku",
    metadata,
    Column("sku_id", String(36), primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("barcodes", Text, nullable=False),
    Column("unit_weight_g", BigInteger, nullable=False),
    Column("length_mm", BigInteger, nullable=False),
    Column("width_mm", BigInteger, nullable=False),
    Column("height_mm", BigInteger, nullable=False),
    Column("unit_cost", Numeric(14, 4), nullable=False),
    Column("safety_stock", BigInteger, nullable=False),
    Column("lot_tracked", Boolean, nullable=False),
    Column("shelf_life_days", BigInteger, nullable=False),
    Column("retired", Boolean, nullable=False),
    Column("retired_reason", String(200), nullable=False),
    Column("updated_at", Instant(), nullable=False),
    Column("updated_by", Text, nullable=False),
)

SKU_EVENTS = (Sku.Registered, Sku.Revised, Sku.BarcodeAdded, Sku.BarcodeRemoved, Sku.Retired, Sku.Reinstated)


class CatalogueProjection(Projection):
    name = "catalogue"
    metadata = metadata
    topics = topics_of(SKU_EVENTS)

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        rows = BatchRows(catalogue_skus, ("sku_id",), dict)
        new = created_in((e for _, e in events), Sku.Registered)
        rows.load(conn, {(text_id(e.originator_id),) for _, e in events} - {(key,) for key in new})
        for _, e in events:
            key = (text_id(e.originator_id),)
            if isinstance(e, Sku.Registered):
                row = rows.row(key, code=e.code, barcodes=";".join(e.barcodes), retired=False, retired_reason="")
            else:
                row = rows.rows[key]
            if isinstance(e, (Sku.Registered, Sku.Revised)):
                row.update({field: getattr(e, field) for field in DETAILS})
            elif isinstance(e, Sku.BarcodeAdded):
                row["barcodes"] = ";".join(filter(None, (*row["barcodes"].split(";"), e.barcode)))
            elif isinstance(e, Sku.BarcodeRemoved):
                row["barcodes"] = ";".join(b for b in row["barcodes"].split(";") if b and b != e.barcode)
            elif isinstance(e, Sku.Retired):
                row.update(retired=True, retired_reason=e.reason)
            elif isinstance(e, Sku.Reinstated):
                row.update(retired=False, retired_reason="")
            row.update(updated_at=e.timestamp, updated_by=getattr(e, "by", ""))
        rows.write(conn)


def shown(row: dict) -> dict:
    found = dict(row)
    del found["sku_id"]
    found["barcodes"] = [b for b in found["barcodes"].split(";") if b]
    found["updated_at"] = aware(found["updated_at"])
    return found


def skus(engine: Engine, search: str | None = None, retired: bool | None = False, limit: int = 1000,
         offset: int = 0) -> list[dict]:
    return sku_listing(engine, search, retired).page(limit, offset)


def sku_listing(engine: Engine, search: str | None = None, retired: bool | None = False,
                shape: Callable[[dict], dict] = shown) -> Listing:
    """SKUs by code, read a page at a time: those whose code, name or a barcode holds the search text; current ones
    only, retired ones only, or all (None)."""
    query = select(catalogue_skus).order_by(catalogue_skus.c.code)
    if retired is not None:
        query = query.where(catalogue_skus.c.retired == retired)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(*(func.lower(catalogue_skus.c[name]).like(pattern.lower(), escape="\\")
                                  for name in ("code", "name", "barcodes"))))
    return Listing(engine, query, shape)


def sku_record(engine: Engine, code: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(catalogue_skus).where(catalogue_skus.c.code == code)).first()
    if row is None:
        raise UnknownSku(f"unknown SKU {str(code)[:64]!r}", key="refusal:unknown_sku", sku=str(code)[:64])
    return shown(row._mapping)


def retired_codes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(catalogue_skus.c.code).where(catalogue_skus.c.retired)))
