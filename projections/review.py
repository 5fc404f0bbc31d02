"""What review (审单) reads from the views: the held orders waiting for a ship-from date."""

from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from domain.review import PRESALE

from .order_desk import desk_orders


def presale_orders(engine: Engine) -> list[str]:
    """Ids of held orders one of whose reasons is a presale ship-from date."""
    c = desk_orders.c
    query = (select(c.order_id).where(and_(c.status == "held", c.hold_reasons.contains(PRESALE)))
             .order_by(c.order_id))
    with engine.connect() as conn:
        return [row.order_id for row in conn.execute(query)]
