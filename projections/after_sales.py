"""After-sales cases (售后单): one row per case with its kind, state, amounts and the day the platform refunded, and
the count of cases per buyer that flags abusive returns."""

from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, func, select
from sqlalchemy.engine import Connection, Engine

from domain.after_sales import KINDS, RETURNING_KINDS, AfterSalesCase, UnknownCase

from .backoffice import BatchRows, Instant, Listing, aware, business_day, choice, fen, text_id, yuan
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

STATUSES = ("requested", "approved", "awaiting_return", "returning", "received", "refunded", "refused", "closed")
# a buyer with this many after-sales cases or more is flagged on the customer list
ABUSIVE_CASES = 3

cases_table = Table(
    "after_sales_case",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("channel", String(64), nullable=False, index=True),
    Column("shop", String(64), nullable=False),
    Column("refund_id", String(64), nullable=False),
    Column("order_id", String(36), nullable=False, index=True),
    Column("order_no", String(64), nullable=False, index=True),
    Column("buyer_ref", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("refunded_on", String(10), nullable=True),
    Column("units_back", BigInteger, nullable=False),
    Column("replacement", String(64), nullable=False),
    Column("return_tracking_no", String(64), nullable=False),
    Column("requested_at", Instant(), nullable=False, index=True),
    Column("updated_at", Instant(), nullable=False),
)


class AfterSalesProjection(Projection):
    name = "after_sales"
    metadata = metadata
    topics = topics_of([AfterSalesCase.Opened, AfterSalesCase.StatusReported, AfterSalesCase.Refunded,
                        AfterSalesCase.ReturnReceived, AfterSalesCase.ReplacementCreated, AfterSalesCase.Closed])

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        cases = BatchRows(cases_table, ("case_id",), dict)
        new = {(key,) for key in created_in((e for _, e in events), AfterSalesCase.Opened)}
        cases.load(conn, {(text_id(e.originator_id),) for _, e in events} - new)
        for _, e in events:
            key = (text_id(e.originator_id),)
            if isinstance(e, AfterSalesCase.Opened):
                case = cases.row(key, channel=e.channel, shop=e.shop, refund_id=e.refund_id,
                                 order_id=text_id(e.order_id), order_no=e.order_no, buyer_ref=e.buyer_ref,
                                 kind=e.kind, status="requested", amount=fen(e.amount), refunded=0,
                                 refunded_on=None, units_back=0, replacement="", return_tracking_no="",
                                 requested_at=e.requested_at)
            else:
                case = cases.rows[key]
            if isinstance(e, AfterSalesCase.StatusReported):
                if e.return_tracking_no:
                    case["return_tracking_no"] = e.return_tracking_no
                case["status"] = _status(case, e.platform_status)
            elif isinstance(e, AfterSalesCase.Refunded):
                case.update(refunded=fen(e.amount), refunded_on=business_day(e.refunded_at, e.channel, e.shop),
                            status="refunded")
            elif isinstance(e, AfterSalesCase.ReturnReceived):
                case["units_back"] += e.quantity
                if case["status"] != "refunded":
                    case["status"] = "received"
            elif isinstance(e, AfterSalesCase.ReplacementCreated):
                case["replacement"] = e.platform_order_no
            elif isinstance(e, AfterSalesCase.Closed):
                case["status"] = "closed"
            case["updated_at"] = e.timestamp
        cases.write(conn)


def _status(case: dict, platform_status: str) -> str:
    if case["status"] in ("closed", "refunded", "received"):
        return case["status"]  # as the case itself: money or goods already settled outrank the platform's word
    if platform_status == "agreed":
        return "awaiting_return" if case["kind"] in RETURNING_KINDS else "approved"
    return platform_status if platform_status in STATUSES else case["status"]


def cases(engine: Engine, status: str | None = None, kind: str | None = None, channel: str | None = None,
          order_no: str | None = None, buyer_ref: str | None = None) -> Listing:
    """After-sales cases, the newest request first, filtered by state, kind, channel, order or buyer."""
    query = select(cases_table).order_by(cases_table.c.requested_at.desc(), cases_table.c.refund_id)
    for column, value in ((cases_table.c.status, choice(status, STATUSES, "status")),
                          (cases_table.c.kind, choice(kind, KINDS, "kind")), (cases_table.c.channel, channel),
                          (cases_table.c.order_no, order_no), (cases_table.c.buyer_ref, buyer_ref)):
        if value:
            query = query.where(column == value)
    return Listing(engine, query, _shown)


def cases_of_order(engine: Engine, order_id) -> list[dict]:
    """The after-sales cases of one order, the oldest request first."""
    query = (select(cases_table).where(cases_table.c.order_id == str(order_id))
             .order_by(cases_table.c.requested_at, cases_table.c.refund_id))
    with engine.connect() as conn:
        return [_shown(dict(row._mapping)) for row in conn.execute(query)]


def case(engine: Engine, case_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(cases_table).where(cases_table.c.case_id == str(case_id)[:36])).first()
    if row is None:
        raise UnknownCase(f"unknown after-sales case {str(case_id)[:64]}")
    return _shown(dict(row._mapping))


def cases_per_buyer(engine: Engine, buyer_refs) -> dict[str, int]:
    """How many after-sales cases each of these buyers opened (refund-only, returns, exchanges, reshipments)."""
    refs = [ref for ref in set(buyer_refs) if ref]
    if not refs:
        return {}
    query = (select(cases_table.c.buyer_ref, func.count().label("cases")).where(cases_table.c.buyer_ref.in_(refs))
             .group_by(cases_table.c.buyer_ref))
    with engine.connect() as conn:
        return {row.buyer_ref: int(row.cases) for row in conn.execute(query)}


def _shown(row: dict) -> dict:
    return {**row, "amount": yuan(row["amount"]), "refunded": yuan(row["refunded"]),
            "requested_at": aware(row["requested_at"]), "updated_at": aware(row["updated_at"]),
            "abusive_threshold": ABUSIVE_CASES}
