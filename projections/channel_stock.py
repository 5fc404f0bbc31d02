"""Channel stock: every listing's mapping, what it should show now, and what it last showed."""

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    Numeric,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from domain.listing import Listing, publishable

from .backoffice import text_id
from .inventory import sellable
from .tracking import Projection, topics_of

metadata = MetaData()

listings = Table(
    "channel_listing",
    metadata,
    Column("listing_id", String(36), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("shop", String(64), nullable=False),
    Column("platform_sku", String(64), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("components", String(2000), nullable=False),
    Column("share", Numeric(5, 4), nullable=False),
    Column("buffer", BigInteger, nullable=False),
    Column("minimum", BigInteger, nullable=False),
    Column("maximum", BigInteger, nullable=True),
    Column("published", BigInteger, nullable=True),
)


def stored_components(components: dict[str, int]) -> str:
    # Unescaped, so a kit of the most SKUs with the longest Chinese codes fits the column.
    return json.dumps(components, sort_keys=True, ensure_ascii=False)


class ChannelStockProjection(Projection):
    name = "channel_stock"
    metadata = metadata
    topics = topics_of([Listing.Mapped, Listing.Remapped, Listing.Published])

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        for _, e in events:
            if isinstance(e, Listing.Mapped):
                conn.execute(insert(listings).values(
                    listing_id=text_id(e.originator_id), channel=e.channel, shop=e.shop, platform_sku=e.platform_sku,
                    item_id=e.item_id, components=stored_components(e.components), share=e.share,
                    buffer=e.buffer, minimum=e.minimum, maximum=e.maximum, published=None))
            elif isinstance(e, Listing.Remapped):
                conn.execute(update(listings).where(listings.c.listing_id == text_id(e.originator_id))
                             .values(item_id=e.item_id, components=stored_components(e.components)))
            else:
                conn.execute(update(listings).where(listings.c.listing_id == text_id(e.originator_id))
                             .values(published=e.quantity))


def channel_stock(engine: Engine) -> list[dict]:
    """Each listing with what it should show (from sellable stock) and what it last showed."""
    free = sellable(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(listings).order_by(listings.c.channel, listings.c.shop, listings.c.platform_sku))
        return [
            {"channel": r.channel, "shop": r.shop, "platform_sku": r.platform_sku, "item_id": r.item_id,
             "published": r.published,
             "should_show": publishable(free, json.loads(r.components), Decimal(r.share), r.buffer, r.minimum,
                                        r.maximum)}
            for r in rows
        ]


def listings_to_push(engine: Engine) -> list[dict]:
    """Only the listings whose shown quantity differs from what they should show."""
    return [row for row in channel_stock(engine) if row["published"] != row["should_show"]]
