"""Customers per platform buyer: orders, spend, returns, RFM segment, repeat rate, and flags for brushing (刷单)
and abusive returns, each with the rule that raised it (the after-sales rule counts the buyer's own after-sales
cases: refunds, returns and exchanges asked for on the platform).

A customer is the order's `buyer_ref` (a digest of channel, shop and buyer nickname): no name, phone or address
ever reaches these tables.

An order cancelled before shipping (cancelled, or every line refunded before shipping) is no purchase: it leaves
the customer's orders, spend and refunds, and stays counted among the cancelled (or refunded) orders.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.engine import Connection, Engine

from domain.after_sales import AfterSalesCase
from domain.history import SALES, HistoricOrder
from domain.order import Order
from domain.stock import Stock

from .backoffice import (BatchRows, Instant, Listing, UnknownCustomer, aware, business_day, choice, fen, insert_rows,
                         parse_day, text_id, today, yuan)
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

customers_table = Table(
    "crm_customer",
    metadata,
    Column("buyer_ref", String(64), primary_key=True),
    Column("channel", String(64), nullable=False, index=True),
    Column("shop", String(64), nullable=False),
    Column("orders", BigInteger, nullable=False),
    Column("spend", BigInteger, nullable=False),
    Column("refunds", BigInteger, nullable=False),
    Column("shipped_orders", BigInteger, nullable=False),
    Column("cancelled_orders", BigInteger, nullable=False),
    Column("refunded_orders", BigInteger, nullable=False),
    Column("refunded_before_shipping", BigInteger, nullable=False),
    Column("returned_orders", BigInteger, nullable=False),
    Column("returned_units", BigInteger, nullable=False),
    Column("after_shipping_problems", BigInteger, nullable=False),
    Column("first_order_on", String(10), nullable=False),
    Column("last_order_on", String(10), nullable=False),
    Column("busiest_day", String(10), nullable=False),
    Column("orders_that_day", BigInteger, nullable=False),
)

customer_orders = Table(
    "crm_order",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("buyer_ref", String(64), nullable=False),
    Column("refunded", Boolean, nullable=False),
    Column("returned", Boolean, nullable=False),
    Column("problem", Boolean, nullable=False),
)

order_amounts = Table(
    "crm_order_amount",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("paid", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("lines_refunded", BigInteger, nullable=False),
    Column("withdrawn", Boolean, nullable=False),
)

flags_table = Table(
    "crm_flag",
    metadata,
    Column("buyer_ref", String(64), primary_key=True),
    Column("rule", String(40), primary_key=True),
    Column("kind", String(20), nullable=False, index=True),
    Column("detail", String(200), nullable=False),
    Column("raised_at", Instant(), nullable=False),
)

FLAG_KINDS = ("brushing", "abusive_returns")
# the buyer's own requests; a reshipment is the warehouse's doing (a lost or damaged parcel)
BUYER_CASE_KINDS = ("refund_only", "return_refund", "exchange")

case_counts = Table(
    "crm_case_count",
    metadata,
    Column("buyer_ref", String(64), primary_key=True),
    Column("cases", BigInteger, nullable=False),
)

# the new outbound orders of exchanges and reshipments: no purchase, so no order, spend or return of the customer's
replacements = Table(
    "crm_replacement_order",
    metadata,
    Column("order_id", String(36), primary_key=True),
)


@dataclass(frozen=True)
class CrmRules:
    """Thresholds of the flags; each flag names the rule that raised it."""

    same_day_orders: int = 5          # brushing: this many orders by one buyer on one day
    refunds_before_shipping: int = 3  # brushing: paid, then refunded before anything shipped, this many times
    min_problem_orders: int = 3       # abusive returns: at least this many orders returned or refunded after shipping
    problem_rate: Decimal = Decimal("0.5")  # … and at least this share of the buyer's shipped orders
    after_sales_cases: int = 3  # abusive returns: this many after-sales cases asked for by the buyer


@dataclass(frozen=True)
class RfmRules:
    """Score thresholds (5 is best): days since the last order, orders, net spend in yuan."""

    recency_days: tuple[int, int, int, int] = (30, 60, 90, 180)
    frequency: tuple[int, int, int, int] = (10, 5, 3, 2)
    monetary: tuple[int, int, int, int] = (2000, 1000, 500, 200)


SEGMENTS = ("champion", "loyal", "new", "promising", "at_risk", "lost", "hibernating")


def customer_defaults() -> dict[str, Any]:
    return {name: 0 for name in ("orders", "spend", "refunds", "shipped_orders", "cancelled_orders",
                                 "refunded_orders", "refunded_before_shipping", "returned_orders", "returned_units",
                                 "after_shipping_problems", "orders_that_day")}


class CrmProjection(Projection):
    name = "crm"
    metadata = metadata
    topics = topics_of([Order.Imported, Order.Shipped, Order.Cancelled, Order.Refunded, Stock.Returned,
                        HistoricOrder.Recorded], [AfterSalesCase.Opened, AfterSalesCase.ReplacementCreated])

    def __init__(self, rules: CrmRules | None = None):
        self.rules = rules or CrmRules()

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        customers = BatchRows(customers_table, ("buyer_ref",), customer_defaults)
        orders = BatchRows(customer_orders, ("order_id",), lambda: {"refunded": False, "returned": False,
                                                                     "problem": False})
        flags = BatchRows(flags_table, ("buyer_ref", "rule"), dict)
        amounts = BatchRows(order_amounts, ("order_id",), dict)
        counts = BatchRows(case_counts, ("buyer_ref",), lambda: {"cases": 0})
        replaced = BatchRows(replacements, ("order_id",), dict)
        replaced.load(conn, {(self._order_id(e),) for _, e in events if not isinstance(e, AfterSalesCase.Opened)})
        events = self._without_replacements(events, replaced)
        imported = created_in((e for _, e in events), Order.Imported)
        past = [e for _, e in events if isinstance(e, HistoricOrder.Recorded) and e.buyer_ref]
        events = [(n, e) for n, e in events if not isinstance(e, HistoricOrder.Recorded)]
        orders.load(conn, {(self._order_id(e),) for _, e in events
                           if not isinstance(e, Order.Imported) and self._order_id(e) not in imported})
        ending = {text_id(e.originator_id) for _, e in events if isinstance(e, (Order.Cancelled, Order.Refunded))}
        amounts.load(conn, {(order_id,) for order_id in ending - imported})
        buyers = {(e.buyer_ref,) for _, e in events if isinstance(e, Order.Imported)}
        buyers.update((r["buyer_ref"],) for r in orders.rows.values())
        buyers.update((e.buyer_ref,) for e in past)
        customers.load(conn, buyers)
        for e in past:
            self._historic(customers.row((e.buyer_ref,), channel=e.channel, shop=e.shop), e)
        counts.load(conn, {(e.buyer_ref,) for _, e in events if isinstance(e, AfterSalesCase.Opened)})
        # Only a customer already in the view can have flags.
        flags.load(conn, [(b, rule) for (b,) in customers.existing for rule in ("same_day_orders",
                                                                                "refunds_before_shipping",
                                                                                "returns_after_shipping",
                                                                                "after_sales_cases")])
        for _, e in events:
            if isinstance(e, Order.Imported):
                orders.row((text_id(e.originator_id),), buyer_ref=e.buyer_ref)
                amounts.row((text_id(e.originator_id),), paid=fen(e.paid_amount), refunded=0, lines=len(e.lines),
                            lines_refunded=0, withdrawn=False)
                self._ordered(customers.row((e.buyer_ref,), channel=e.channel, shop=e.shop), e, flags)
                continue
            order = orders.rows[(self._order_id(e),)]
            customer = customers.rows[(order["buyer_ref"],)]
            if isinstance(e, Order.Shipped):
                customer["shipped_orders"] += 1
                self._check_returns(customer, flags, e)
            elif isinstance(e, Order.Cancelled):
                customer["cancelled_orders"] += 1
                self._withdraw(customer, amounts.get((text_id(e.originator_id),)))
            elif isinstance(e, Order.Refunded):
                self._refunded(customer, order, flags, e)
                amount = amounts.get((text_id(e.originator_id),))
                if amount is not None:
                    amount["refunded"] += sum(fen(line["amount"]) for line in e.lines)
                    amount["lines_refunded"] += len(e.lines)
                    if e.before_shipment and amount["lines_refunded"] >= amount["lines"]:
                        self._withdraw(customer, amount)
            elif isinstance(e, AfterSalesCase.Opened):
                if e.kind in BUYER_CASE_KINDS:
                    count = counts.row((e.buyer_ref,))
                    count["cases"] += 1
                    if count["cases"] >= self.rules.after_sales_cases:
                        self._flag(flags, customer, "after_sales_cases", "abusive_returns",
                                   f"{count['cases']} after-sales cases (refunds, returns, exchanges)", e)
            elif isinstance(e, Stock.Returned):
                customer["returned_units"] += e.quantity
                if not order["returned"]:
                    order["returned"] = True
                    customer["returned_orders"] += 1
                self._problem(customer, order, flags, e)
        customers.write(conn)
        orders.write(conn)
        amounts.write(conn)
        flags.write(conn)
        counts.write(conn)
        new = [row for key, row in replaced.rows.items() if key not in replaced.existing]
        if new:
            insert_rows(conn, replacements, new)

    @staticmethod
    def _without_replacements(events: list[tuple[int, Any]], replaced: BatchRows) -> list[tuple[int, Any]]:
        """The batch without the events of replacement orders (recorded as such by their case, which comes first)."""
        kept = []
        for n, e in events:
            if isinstance(e, AfterSalesCase.ReplacementCreated):
                replaced.row((text_id(e.order_id),))
            elif replaced.get((CrmProjection._order_id(e),)) is None:
                kept.append((n, e))
        return kept

    @staticmethod
    def _withdraw(customer: dict, amount: dict | None) -> None:
        """An order that ended before shipping leaves the customer's orders, spend and refunds."""
        if amount is None or amount["withdrawn"]:
            return  # imported before the view kept its amounts: a rebuild withdraws it
        customer["orders"] -= 1
        customer["spend"] -= amount["paid"]
        customer["refunds"] -= amount["refunded"]
        amount["withdrawn"] = True

    @staticmethod
    def _historic(customer: dict, e: Any) -> None:
        """A past order in the customer's figures: a sale counts as an order shipped with its spend on the day
        ordered, a cancelled one as cancelled, refunds and credit notes as refunds. No flag is raised on history."""
        day = business_day(e.ordered_at, e.channel, e.shop)
        for name in ("first_order_on", "last_order_on", "busiest_day"):
            customer[name] = customer.get(name) or day  # a customer known only by a credit note still has a row
        if e.status in SALES:
            customer["orders"] += 1
            customer["shipped_orders"] += 1
            customer["spend"] += sum(fen(Decimal(line["unit_price"]) * line["quantity"]) for line in e.lines)
            customer["first_order_on"] = min(customer["first_order_on"], day)
            customer["last_order_on"] = max(customer["last_order_on"], day)
        elif e.status == "cancelled":
            customer["cancelled_orders"] += 1
        if e.refunded_at is not None:
            customer["refunds"] += sum(fen(Decimal(line["refunded_amount"])) for line in e.lines)
            customer["refunded_orders"] += 1

    @staticmethod
    def _order_id(e: Any) -> str:
        by_order = isinstance(e, (Stock.Returned, AfterSalesCase.Opened, AfterSalesCase.ReplacementCreated))
        return text_id(e.order_id) if by_order else text_id(e.originator_id)

    def _ordered(self, customer: dict, e: Any, flags: BatchRows) -> None:
        day = business_day(e.ordered_at, e.channel, e.shop)
        customer["orders"] += 1
        customer["spend"] += fen(e.paid_amount)
        customer["first_order_on"] = min(customer.get("first_order_on") or day, day)
        customer["last_order_on"] = max(customer.get("last_order_on") or day, day)
        # Orders arrive roughly in time order; a late order of an older day does not reopen that day's count.
        if day == customer.get("busiest_day"):
            customer["orders_that_day"] += 1
        elif day > (customer.get("busiest_day") or ""):
            customer.update(busiest_day=day, orders_that_day=1)
        if customer["orders_that_day"] >= self.rules.same_day_orders:
            self._flag(flags, customer, "same_day_orders", "brushing",
                       f"{customer['orders_that_day']} orders on {day}", e)

    def _refunded(self, customer: dict, order: dict, flags: BatchRows, e: Any) -> None:
        customer["refunds"] += sum(fen(line["amount"]) for line in e.lines)
        first = not order["refunded"]
        if first:
            order["refunded"] = True
            customer["refunded_orders"] += 1
        if not e.before_shipment:
            self._problem(customer, order, flags, e)
        elif first:
            customer["refunded_before_shipping"] += 1
            if customer["refunded_before_shipping"] >= self.rules.refunds_before_shipping:
                self._flag(flags, customer, "refunds_before_shipping", "brushing",
                           f"{customer['refunded_before_shipping']} orders paid and refunded before shipping", e)

    def _problem(self, customer: dict, order: dict, flags: BatchRows, e: Any) -> None:
        if not order["problem"]:
            order["problem"] = True
            customer["after_shipping_problems"] += 1
            self._check_returns(customer, flags, e)

    def _check_returns(self, customer: dict, flags: BatchRows, e: Any) -> None:
        problems, shipped = customer["after_shipping_problems"], customer["shipped_orders"]
        if problems >= self.rules.min_problem_orders and shipped and problems >= self.rules.problem_rate * shipped:
            self._flag(flags, customer, "returns_after_shipping", "abusive_returns",
                       f"{problems} of {shipped} shipped orders returned or refunded after shipping", e)

    @staticmethod
    def _flag(flags: BatchRows, customer: dict, rule: str, kind: str, detail: str, e: Any) -> None:
        key = (customer["buyer_ref"], rule)
        if flags.get(key) is None:
            flags.row(key, kind=kind, detail=detail[:200], raised_at=e.timestamp)


# Queries: plain dicts, amounts in yuan.


def _score(value, thresholds, higher_is_better: bool = True) -> int:
    for n, threshold in enumerate(thresholds):
        if (value >= threshold) if higher_is_better else (value <= threshold):
            return 5 - n
    return 1


def segment_of(recency: int, frequency: int) -> str:
    """The RFM segment from the recency and frequency scores (1-5)."""
    if recency >= 4 and frequency >= 4:
        return "champion"
    if recency >= 3 and frequency >= 3:
        return "loyal"
    if recency >= 4 and frequency == 1:
        return "new"
    if recency >= 3:
        return "promising"
    if frequency >= 3:
        return "at_risk"
    if recency == 1:
        return "lost"
    return "hibernating"


def _shown(row: dict, as_of: date, rfm: RfmRules, flags: list[dict]) -> dict:
    days = (as_of - date.fromisoformat(row["last_order_on"])).days
    net = row["spend"] - row["refunds"]
    r = _score(days, rfm.recency_days, higher_is_better=False)
    f = _score(row["orders"], rfm.frequency)
    m = _score(net / 100, rfm.monetary)
    shown = {k: v for k, v in row.items() if k not in ("busiest_day", "orders_that_day")}
    shown.update(spend=yuan(row["spend"]), refunds=yuan(row["refunds"]), net_spend=yuan(net),
                 days_since_last_order=days, rfm=f"{r}{f}{m}", segment=segment_of(r, f), flags=flags)
    return shown


def _flags_by_buyer(conn, buyers: list[str] | None = None) -> dict[str, list[dict]]:
    query = select(flags_table).order_by(flags_table.c.raised_at, flags_table.c.rule)
    if buyers is not None:
        query = query.where(flags_table.c.buyer_ref.in_(buyers))
    found: dict[str, list[dict]] = {}
    for r in conn.execute(query):
        found.setdefault(r.buyer_ref, []).append(
            {"rule": r.rule, "kind": r.kind, "detail": r.detail, "raised_at": aware(r.raised_at)})
    return found


def customers(engine: Engine, channel: str | None = None, shop: str | None = None, segment: str | None = None,
              flagged: str | None = None, as_of=None, rfm: RfmRules | None = None, limit: int = 1000) -> list[dict]:
    """Customers with their RFM segment, most spend first; filter by segment or by a flag kind."""
    return customer_listing(engine, channel, shop, segment, flagged, as_of, rfm).page(limit)


def customer_listing(engine: Engine, channel: str | None = None, shop: str | None = None, segment: str | None = None,
                     flagged: str | None = None, as_of=None, rfm: RfmRules | None = None) -> Listing:
    """Customers, most spend first, read a page at a time. A flag kind narrows the query to flagged buyers; a
    segment is computed from each row, so with one the rows are walked as a stream."""
    segment = choice(segment, SEGMENTS, "segment")
    flagged = choice(flagged, FLAG_KINDS, "flag kind")
    as_of = parse_day(as_of, "as of") or today()
    rfm = rfm or RfmRules()
    query = select(customers_table).order_by(customers_table.c.spend.desc(), customers_table.c.buyer_ref)
    if channel:
        query = query.where(customers_table.c.channel == channel)
    if shop:
        query = query.where(customers_table.c.shop == shop)
    if flagged:
        query = query.where(customers_table.c.buyer_ref.in_(
            select(flags_table.c.buyer_ref).where(flags_table.c.kind == flagged)))

    def shown(conn: Connection, rows: list[dict]) -> list[dict]:
        flags = _flags_by_buyer(conn, [r["buyer_ref"] for r in rows])
        return [_shown(row, as_of, rfm, flags.get(row["buyer_ref"], [])) for row in rows]

    return Listing(engine, query, shape_rows=shown, keep=(lambda one: one["segment"] == segment) if segment else None,
                   sort_keys={"net_spend": customers_table.c.spend - customers_table.c.refunds})


def customer(engine: Engine, buyer_ref: str, as_of=None, rfm: RfmRules | None = None) -> dict:
    """One customer; an unknown buyer reference raises UnknownCustomer."""
    as_of = parse_day(as_of, "as of") or today()
    with engine.connect() as conn:
        row = conn.execute(select(customers_table).where(customers_table.c.buyer_ref == buyer_ref)).first()
        if row is None:
            raise UnknownCustomer(f"unknown customer {str(buyer_ref)[:64]!r}")
        flags = _flags_by_buyer(conn, [buyer_ref])
    return _shown(dict(row._mapping), as_of, rfm or RfmRules(), flags.get(buyer_ref, []))


def repeat_rate(engine: Engine, channel: str | None = None, shop: str | None = None) -> dict:
    """Customers, those with two orders or more, and their share."""
    query = select(func.count().label("customers"),
                   func.coalesce(func.sum((customers_table.c.orders >= 2).cast(Integer)), 0).label("repeat"))
    if channel:
        query = query.where(customers_table.c.channel == channel)
    if shop:
        query = query.where(customers_table.c.shop == shop)
    with engine.connect() as conn:
        row = conn.execute(query).one()
    total, repeat = int(row.customers), int(row.repeat)
    rate = (Decimal(repeat) / total).quantize(Decimal("0.0001")) if total else Decimal("0")
    return {"customers": total, "repeat_customers": repeat, "repeat_rate": rate}
