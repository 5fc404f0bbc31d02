"""Finance: revenue, discounts, platform fees, postage, packaging, refunds, cost of goods and margin.

Per order, per SKU and per business day (in the shop's zone, see `backoffice.BusinessCalendar`). Each figure is
booked on the day of the event behind it: sales on the day ordered, cost of goods and packaging on the day shipped,
refunds on the day refunded (an after-sales case's refund on the day the platform refunded it).

- revenue: unit price × quantity of every line; discounts: line discounts plus the order's own discount;
- postage: what the buyer paid for delivery (income); platform fee: the marketplace's commission (cost);
- packaging: the price of the box a parcel was packed in (`PackagingPrices`, as it stood when the parcel shipped),
  else a constant per parcel we packed, passed in from the settings; nothing for a parcel a supplier shipped;
- courier fee: per parcel shipped, the courier's fee from its uploaded bill, else the estimate the courier rule's
  tariff gave when the waybill was assigned (kept per parcel in `finance_parcel`, billed fees in
  `finance_bill_line`, and added up when read);
- cost of goods: the SKU's unit cost × units shipped; for lines a supplier ships (dropship), the supplier's price ×
  units, on the day the supplier shipped them;
- margin = revenue − discounts + postage − platform fee − packaging − courier fee − refunds − cost of goods.

Per SKU, the order's own discount and platform fee are shared over its lines in proportion to their revenue;
postage and packaging stay with the order. Amounts are kept in whole fen.

An order cancelled before shipping (cancelled, or every line refunded before shipping) was never a sale: its
revenue, discounts, platform fee, postage, units and its count among the day's orders are withdrawn from the day it
was ordered, its order row and its SKUs. A line refunded before the cancellation keeps its revenue and its refund,
which cancel out.
"""

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    MetaData,
    Numeric,
    String,
    Table,
    case,
    cast,
    func,
    select,
)
from sqlalchemy.engine import Connection, Engine

from domain import ids
from domain.after_sales import AfterSalesCase
from domain.catalogue import Sku
from domain.costs import CourierBill, PackagingPrices
from domain.errors import UnknownOrder, UnknownSku
from domain.fulfilment import Package
from domain.history import SALES, HistoricOrder
from domain.order import Order
from domain.stock import Stock

from .backoffice import BatchRows, Listing, as_uuid, business_day, day_range, fen, text_id, yuan
from .tracking import Projection, created_in, topics_of

metadata = MetaData()

MONEY = ("revenue", "discounts", "platform_fee", "postage", "packaging", "refunds", "cogs")


PARCEL_COST_EVENTS = (Package.Opened, Package.WaybillAssigned, Package.WaybillCancelled, Package.BoxChosen,
                      PackagingPrices.PriceSet, PackagingPrices.Removed, CourierBill.Uploaded)


def money_columns(*names: str) -> list[Column]:
    return [Column(name, BigInteger, nullable=False, default=0) for name in names]


finance_orders = Table(
    "finance_order",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("shop", String(64), nullable=False),
    Column("platform_order_no", String(64), nullable=False),
    Column("ordered_on", String(10), nullable=False, index=True),
    Column("shipped_on", String(10), nullable=True, index=True),
    Column("paid", BigInteger, nullable=False),
    *money_columns(*MONEY),
    Column("units_ordered", BigInteger, nullable=False),
    Column("units_shipped", BigInteger, nullable=False),
    Column("units_refunded", BigInteger, nullable=False),
)

finance_skus = Table(
    "finance_sku",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("unit_cost", String(24), nullable=False),
    *money_columns("revenue", "discounts", "platform_fee", "refunds", "cogs"),
    Column("units_ordered", BigInteger, nullable=False),
    Column("units_shipped", BigInteger, nullable=False),
    Column("units_refunded", BigInteger, nullable=False),
)

finance_days = Table(
    "finance_day",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("orders", BigInteger, nullable=False),
    *money_columns(*MONEY),
    Column("units_shipped", BigInteger, nullable=False),
)

finance_lines = Table(
    "finance_order_line",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("line_no", BigInteger, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("units", BigInteger, nullable=False),
    *money_columns("revenue", "line_discount", "discount_share", "fee_share"),
    Column("refunded", Boolean, nullable=False),
)

finance_parcels = Table(
    "finance_parcel",
    metadata,
    Column("package_id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False),
    Column("channel", String(64), nullable=True),
    Column("courier", String(64), nullable=False),
    Column("tracking_no", String(64), nullable=False, index=True),
    Column("box_type", String(32), nullable=False),
    Column("estimated", BigInteger, nullable=False),
    Column("packaging", BigInteger, nullable=False),
    Column("shipped_on", String(10), nullable=True, index=True),
)

finance_bill_lines = Table(
    "finance_bill_line",
    metadata,
    Column("tracking_no", String(64), primary_key=True),
    Column("courier", String(32), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("billed_on", String(10), nullable=False),
)

finance_box_prices = Table(
    "finance_box_price",
    metadata,
    Column("box_type", String(32), primary_key=True),
    Column("price", BigInteger, nullable=True),
)

# the new outbound orders of exchanges and reshipments: shipped at a cost, but no sale
finance_replacements = Table(
    "finance_replacement_order",
    metadata,
    Column("order_id", String(36), primary_key=True),
)

finance_streams = Table(
    "finance_stream",
    metadata,
    Column("stock_id", String(36), primary_key=True),
    Column("sku", String(64), nullable=False),
)


def _zeroes(*names: str) -> dict[str, int]:
    return {name: 0 for name in names}


def order_defaults() -> dict[str, Any]:
    return {**_zeroes(*MONEY, "paid", "units_ordered", "units_shipped", "units_refunded"), "shipped_on": None}


def sku_defaults() -> dict[str, Any]:
    return {"unit_cost": "0", **_zeroes("revenue", "discounts", "platform_fee", "refunds", "cogs",
                                         "units_ordered", "units_shipped", "units_refunded")}


def day_defaults() -> dict[str, Any]:
    return _zeroes(*MONEY, "orders", "units_shipped")


def shares(total: int, weights: list[int]) -> list[int]:
    """Split whole fen over weights; the rounding remainder goes to the last share so the parts add up."""
    whole = sum(weights)
    if not whole:
        return [0] * (len(weights) - 1) + [total] if weights else []
    parts = [total * w // whole for w in weights[:-1]]
    return parts + [total - sum(parts)]


def shop_day(moment, order: dict) -> str:
    """The business day of an instant in the zone of the order's shop."""
    return business_day(moment, order["channel"], order["shop"])


class FinanceProjection(Projection):
    name = "finance"
    metadata = metadata
    topics = topics_of([Sku.Registered, Sku.Revised, Stock.Opened, Stock.Shipped, Order.Imported, Order.Shipped,
                        Order.Refunded, Order.Cancelled, HistoricOrder.Recorded, Order.DropshipShipped,
                        AfterSalesCase.Refunded, AfterSalesCase.ReplacementCreated],
                       [Package.Opened, Package.WaybillAssigned, Package.WaybillCancelled, Package.BoxChosen,
                        PackagingPrices.PriceSet, PackagingPrices.Removed, CourierBill.Uploaded])

    def __init__(self, packaging_per_package: Decimal = Decimal("0")):
        self.packaging = fen(packaging_per_package)
        self.streams: dict[str, str] = {}

    def reset_memory(self) -> None:
        self.streams = {}

    def apply(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        orders = BatchRows(finance_orders, ("order_id",), order_defaults)
        skus = BatchRows(finance_skus, ("sku",), sku_defaults)
        days = BatchRows(finance_days, ("day",), day_defaults)
        lines = BatchRows(finance_lines, ("order_id", "line_no"), dict)
        parcels = BatchRows(finance_parcels, ("package_id",), dict)
        bills = BatchRows(finance_bill_lines, ("tracking_no",), dict)
        boxes = BatchRows(finance_box_prices, ("box_type",), lambda: {"price": None})
        new_streams = []
        replacements = self._replacements(conn, events)
        self._load(conn, events, orders, skus, days, lines)
        self._load_costs(conn, events, parcels, bills, boxes)
        by_order: dict[str, list[dict]] = {}
        for (order_id, _), row in lines.rows.items():
            by_order.setdefault(order_id, []).append(row)
        for _, e in events:
            if isinstance(e, (Sku.Registered, Sku.Revised)):
                skus.row((e.code,))["unit_cost"] = str(e.unit_cost)
            elif isinstance(e, Stock.Opened):
                self.streams[text_id(e.originator_id)] = e.sku
                new_streams.append({"stock_id": text_id(e.originator_id), "sku": e.sku})
            elif isinstance(e, Stock.Shipped):
                sku = skus.row((self.streams[text_id(e.originator_id)],))
                cost = fen(Decimal(sku["unit_cost"]) * e.quantity)
                order = orders.rows[(text_id(e.order_id),)]
                day = days.row((shop_day(e.timestamp, order),))
                for row in (sku, day, order):
                    row["cogs"] += cost
                    row["units_shipped"] += e.quantity
            elif isinstance(e, Order.Imported):
                self._imported(e, orders, skus, days, lines)
                if text_id(e.originator_id) in replacements:
                    self._no_sale(e, orders, skus, days)
                by_order[text_id(e.originator_id)] = [lines.rows[(text_id(e.originator_id), line["line_no"])]
                                                      for line in e.lines]
            elif isinstance(e, Order.Shipped):
                order = orders.rows[(text_id(e.originator_id),)]
                day = days.row((shop_day(e.timestamp, order),))
                order["shipped_on"] = shop_day(e.timestamp, order)
                parcel = parcels.get((text_id(ids.package_id(e.originator_id)),))
                if parcel is not None:  # a parcel we packed (a supplier packs its own)
                    price = boxes.get((parcel["box_type"],)) if parcel["box_type"] else None
                    cost = price["price"] if price is not None and price["price"] is not None else self.packaging
                    parcel.update(shipped_on=order["shipped_on"], channel=order["channel"], packaging=cost)
                    order["packaging"] += cost
                    day["packaging"] += cost
            elif isinstance(e, Order.DropshipShipped):
                order = orders.rows[(text_id(e.originator_id),)]
                day = days.row((shop_day(e.timestamp, order),))
                for line in e.lines:
                    cost = fen(line["cost"])
                    for row in (skus.row((line["sku"],)), day, order):
                        row["cogs"] += cost
                        row["units_shipped"] += line["units"]
            elif isinstance(e, Package.Opened):
                parcels.row((text_id(e.originator_id),), order_id=text_id(e.order_id), channel=None, courier="",
                            tracking_no="", box_type="", estimated=0, packaging=0, shipped_on=None)
            elif isinstance(e, (Package.WaybillAssigned, Package.WaybillCancelled, Package.BoxChosen)):
                parcel = parcels.get((text_id(e.originator_id),))
                if parcel is None:
                    continue  # packed before this view kept parcels: a rebuild books it
                if isinstance(e, Package.WaybillAssigned):
                    estimate = (e.decision or {}).get("estimated_postage")
                    parcel.update(courier=e.courier[:64], tracking_no=e.tracking_no[:64],
                                  estimated=fen(Decimal(estimate)) if estimate else 0)
                elif isinstance(e, Package.WaybillCancelled):
                    parcel.update(tracking_no="", estimated=0)
                else:
                    parcel["box_type"] = e.box_type
            elif isinstance(e, PackagingPrices.PriceSet):
                boxes.row((e.box_type,))["price"] = fen(e.price)
            elif isinstance(e, PackagingPrices.Removed):
                boxes.row((e.box_type,))["price"] = None
            elif isinstance(e, CourierBill.Uploaded):
                billed_on = business_day(e.timestamp)
                for line in e.lines:
                    bills.row((line["tracking_no"],)).update(courier=e.courier, reference=e.reference,
                                                              fee=fen(line["fee"]), billed_on=billed_on)
            elif isinstance(e, Order.Refunded):
                order = orders.rows[(text_id(e.originator_id),)]
                day = days.row((shop_day(e.timestamp, order),))
                for line in e.lines:
                    amount = fen(line["amount"])
                    for row in (order, day, skus.row((line["sku"],))):
                        row["refunds"] += amount
                    for row in (order, skus.row((line["sku"],))):
                        row["units_refunded"] += line["quantity"]
                    found = lines.get((text_id(e.originator_id), line["line_no"]))
                    if found is not None:
                        found["refunded"] = True
                order_lines = by_order.get(text_id(e.originator_id), [])
                if e.before_shipment and order_lines and all(line["refunded"] for line in order_lines):
                    self._withdraw(order, order_lines, skus, days)
            elif isinstance(e, Order.Cancelled):
                order = orders.rows[(text_id(e.originator_id),)]
                self._withdraw(order, by_order.get(text_id(e.originator_id), []), skus, days)
            elif isinstance(e, HistoricOrder.Recorded):
                self._historic(e, orders, skus, days)
            elif isinstance(e, AfterSalesCase.Refunded):
                # an after-sales refund lands on the day the platform refunded, in the shop's zone
                order = orders.rows[(text_id(e.order_id),)]
                day = days.row((business_day(e.refunded_at, e.channel, e.shop),))
                for row in (order, day):
                    row["refunds"] += fen(e.amount)
                for line in e.lines:
                    sku = skus.row((line["sku"],))
                    sku["refunds"] += fen(line["amount"])
                    for row in (order, sku):
                        row["units_refunded"] += line["quantity"]
        if new_streams:
            conn.execute(finance_streams.insert(), new_streams)
        for rows in (orders, skus, days, lines, parcels, bills, boxes):
            rows.write(conn)

    @staticmethod
    def _load_costs(conn, events, parcels: BatchRows, bills: BatchRows, boxes: BatchRows) -> None:
        opened = created_in((e for _, e in events), Package.Opened)
        parcels.load(conn, {(text_id(e.originator_id),) for _, e in events
                            if isinstance(e, (Package.WaybillAssigned, Package.WaybillCancelled, Package.BoxChosen))}
                     | {(text_id(ids.package_id(e.originator_id)),) for _, e in events if isinstance(e, Order.Shipped)}
                     - {(key,) for key in opened})
        bills.load(conn, {(line["tracking_no"],) for _, e in events if isinstance(e, CourierBill.Uploaded)
                          for line in e.lines})
        boxes.load(conn, {(e.box_type,) for _, e in events
                          if isinstance(e, (PackagingPrices.PriceSet, PackagingPrices.Removed))})
        boxes.load(conn, {(parcel["box_type"],) for parcel in parcels.rows.values() if parcel["box_type"]}
                   | {(e.box_type,) for _, e in events if isinstance(e, Package.BoxChosen)})

    @staticmethod
    def _replacements(conn, events: list[tuple[int, Any]]) -> set[str]:
        """The replacement orders among those this batch imports (their case's record comes first), kept."""
        made = [text_id(e.order_id) for _, e in events if isinstance(e, AfterSalesCase.ReplacementCreated)]
        if made:
            conn.execute(finance_replacements.insert(), [{"order_id": order_id} for order_id in made])
        imported = [text_id(e.originator_id) for _, e in events if isinstance(e, Order.Imported)]
        earlier = set()
        if imported and len(made) < len(imported):
            query = select(finance_replacements.c.order_id).where(finance_replacements.c.order_id.in_(imported))
            earlier = {row.order_id for row in conn.execute(query)}
        return set(made) | earlier

    @staticmethod
    def _no_sale(e: Any, orders: BatchRows, skus: BatchRows, days: BatchRows) -> None:
        """A replacement order is no sale: it leaves the day's order count and its SKUs' units ordered (it has no
        revenue); its postage, packaging and cost of goods stay, as they are real costs."""
        order = orders.rows[(text_id(e.originator_id),)]
        days.row((order["ordered_on"],))["orders"] -= 1
        for line in e.lines:
            skus.row((line["sku"],))["units_ordered"] -= line["quantity"]
        order["units_ordered"] = 0

    @staticmethod
    def _withdraw(order: dict, order_lines: list[dict], skus: BatchRows, days: BatchRows) -> None:
        """Take a sale that never happened off its order, the day it was ordered and its SKUs."""
        if not order_lines or not order["units_ordered"]:
            return  # imported before the view kept its lines (a rebuild books it), or no sale already
        day = days.row((order["ordered_on"],))
        open_lines = [line for line in order_lines if not line["refunded"]]
        withdrawn = {"revenue": sum(line["revenue"] for line in open_lines),
                     "discounts": sum(line["line_discount"] for line in open_lines)
                     + sum(line["discount_share"] for line in order_lines),
                     "platform_fee": order["platform_fee"], "postage": order["postage"]}
        for name, amount in withdrawn.items():
            order[name] -= amount
            day[name] -= amount
        order["units_ordered"] = 0  # marks the order as no sale (sales_by_channel does not count it)
        day["orders"] -= 1
        for line in order_lines:
            sku = skus.row((line["sku"],))
            sku["discounts"] -= line["discount_share"]
            sku["platform_fee"] -= line["fee_share"]
            if not line["refunded"]:
                sku["revenue"] -= line["revenue"]
                sku["discounts"] -= line["line_discount"]
                sku["units_ordered"] -= line["units"]
            line["revenue"] = line["line_discount"] = line["discount_share"] = line["fee_share"] = 0

    def _load(self, conn, events, orders: BatchRows, skus: BatchRows, days: BatchRows, lines: BatchRows) -> None:
        order_keys, sku_keys, day_keys, unknown_streams = set(), set(), set(), set()
        shops: dict[str, dict] = {}  # the shop of each order this batch imports, for the business day of its events
        later: list[tuple[str, Any]] = []  # events booked on a day of their order's shop
        for _, e in events:
            if isinstance(e, PARCEL_COST_EVENTS):
                continue
            if isinstance(e, (Sku.Registered, Sku.Revised)):
                sku_keys.add((e.code,))
            elif isinstance(e, Stock.Opened):
                self.streams[text_id(e.originator_id)] = e.sku
            elif isinstance(e, Stock.Shipped):
                order_keys.add((text_id(e.order_id),))
                later.append((text_id(e.order_id), e.timestamp))
                if text_id(e.originator_id) not in self.streams:
                    unknown_streams.add(text_id(e.originator_id))
            elif isinstance(e, AfterSalesCase.ReplacementCreated):
                continue
            elif isinstance(e, AfterSalesCase.Refunded):
                order_keys.add((text_id(e.order_id),))
                day_keys.add((business_day(e.refunded_at, e.channel, e.shop),))
                sku_keys.update((line["sku"],) for line in e.lines)
            elif isinstance(e, Order.Imported):
                shops[text_id(e.originator_id)] = {"channel": e.channel, "shop": e.shop}
                day_keys.add((business_day(e.ordered_at, e.channel, e.shop),))
                sku_keys.update((line["sku"],) for line in e.lines)
            elif isinstance(e, HistoricOrder.Recorded):
                day_keys.update((business_day(moment, e.channel, e.shop),) for moment in (e.ordered_at, e.refunded_at)
                                if moment is not None)
                sku_keys.update((line["sku"],) for line in e.lines)
            else:
                order_keys.add((text_id(e.originator_id),))
                later.append((text_id(e.originator_id), e.timestamp))
                sku_keys.update((line["sku"],) for line in getattr(e, "lines", ()))
        if unknown_streams:
            query = select(finance_streams).where(finance_streams.c.stock_id.in_(unknown_streams))
            self.streams.update({r.stock_id: r.sku for r in conn.execute(query)})
        sku_keys.update((self.streams[text_id(e.originator_id)],) for _, e in events if isinstance(e, Stock.Shipped))
        imported = created_in((e for _, e in events), Order.Imported)
        orders.load(conn, order_keys - {(key,) for key in imported})
        for order_id, moment in later:
            day_keys.add((shop_day(moment, orders.get((order_id,)) or shops[order_id]),))
        ending = {text_id(e.originator_id) for _, e in events if isinstance(e, (Order.Refunded, Order.Cancelled))}
        lines.load_by(conn, "order_id", ending - imported)
        sku_keys.update((row["sku"],) for row in lines.rows.values())
        day_keys.update((orders.rows[(key,)]["ordered_on"],) for key in ending - imported if (key,) in orders.rows)
        skus.load(conn, sku_keys)
        days.load(conn, day_keys)

    @staticmethod
    def _imported(e: Any, orders: BatchRows, skus: BatchRows, days: BatchRows, lines: BatchRows) -> None:
        revenues = [fen(line["unit_price"] * line["quantity"]) for line in e.lines]
        line_discounts = [fen(line["discount"]) for line in e.lines]
        order_discount, fee = fen(e.discount), fen(e.platform_fee)
        units = sum(line["quantity"] for line in e.lines)
        figures = {"revenue": sum(revenues), "discounts": sum(line_discounts) + order_discount,
                   "platform_fee": fee, "postage": fen(e.postage)}
        orders.row((text_id(e.originator_id),), channel=e.channel, shop=e.shop, platform_order_no=e.platform_order_no,
                   ordered_on=business_day(e.ordered_at, e.channel, e.shop), paid=fen(e.paid_amount),
                   units_ordered=units, **figures)
        day = days.row((business_day(e.ordered_at, e.channel, e.shop),))
        day["orders"] += 1
        for name, amount in figures.items():
            day[name] += amount
        parts = zip(e.lines, revenues, line_discounts, shares(order_discount, revenues), shares(fee, revenues))
        for line, revenue, discount, discount_share, fee_share in parts:
            sku = skus.row((line["sku"],))
            sku["revenue"] += revenue
            sku["discounts"] += discount + discount_share
            sku["platform_fee"] += fee_share
            sku["units_ordered"] += line["quantity"]
            lines.row((text_id(e.originator_id), line["line_no"]), sku=line["sku"], units=line["quantity"],
                      revenue=revenue, line_discount=discount, discount_share=discount_share, fee_share=fee_share,
                      refunded=False)

    @staticmethod
    def _historic(e: Any, orders: BatchRows, skus: BatchRows, days: BatchRows) -> None:
        """A past order: its sale on the day it was ordered (none when cancelled or a credit note), its refunds on
        the day refunded. Its cost of goods is not known, and it shipped nothing from this warehouse."""
        ordered_on = business_day(e.ordered_at, e.channel, e.shop)
        order = orders.row((text_id(e.originator_id),), channel=e.channel, shop=e.shop, platform_order_no=e.order_no,
                           ordered_on=ordered_on)
        if e.status in SALES:
            day = days.row((ordered_on,))
            day["orders"] += 1
            for line in e.lines:
                revenue = fen(Decimal(line["unit_price"]) * line["quantity"])
                sku = skus.row((line["sku"],))
                for row in (order, day, sku):
                    row["revenue"] += revenue
                for row in (order, sku):
                    row["units_ordered"] += line["quantity"]
                order["paid"] += revenue
        if e.refunded_at is None:
            return
        day = days.row((business_day(e.refunded_at, e.channel, e.shop),))
        for line in e.lines:
            amount = fen(Decimal(line["refunded_amount"]))
            sku = skus.row((line["sku"],))
            for row in (order, day, sku):
                row["refunds"] += amount
            for row in (order, sku):
                row["units_refunded"] += line["refunded_quantity"]


# Queries: plain dicts with amounts in yuan (Decimal).


def _margin(row) -> Any:
    """In fen, of a row (a dict) or, given a table's columns, as an SQL expression to sort by."""
    get = row.get if isinstance(row, dict) else (lambda name, default=None: row[name] if name in row else default)
    return (get("revenue") - get("discounts") + get("postage", 0) - get("platform_fee")
            - get("packaging", 0) - get("courier_fee", 0) - get("refunds") - get("cogs"))


def _courier_fee():
    """Each shipped parcel's courier fee: the billed one when its bill is in, else the estimate."""
    return func.coalesce(finance_bill_lines.c.fee, finance_parcels.c.estimated)


def _shipped_parcels(*columns, first=None, last=None):
    query = (select(*columns)
             .select_from(finance_parcels.outerjoin(finance_bill_lines, (finance_parcels.c.tracking_no != "")
                                                    & (finance_bill_lines.c.tracking_no
                                                       == finance_parcels.c.tracking_no)))
             .where(finance_parcels.c.shipped_on.is_not(None)))
    if first:
        query = query.where(finance_parcels.c.shipped_on >= first)
    if last:
        query = query.where(finance_parcels.c.shipped_on <= last)
    return query


def courier_fees_by_day(conn, first=None, last=None) -> dict[str, int]:
    day = finance_parcels.c.shipped_on
    query = _shipped_parcels(day, func.sum(_courier_fee()).label("fee"), first=first, last=last).group_by(day)
    return {r.shipped_on: int(r.fee or 0) for r in conn.execute(query)}


def _money(row: dict, *names: str) -> dict:
    shown = dict(row)
    for name in names:
        if name in shown:
            shown[name] = yuan(shown[name])
    shown["margin"] = yuan(_margin(row))
    return shown


def order_finance(engine: Engine, order_id) -> dict:
    """One order's figures; an unknown id raises UnknownOrder."""
    missing = UnknownOrder(f"unknown order {str(order_id)[:64]}")
    key = str(as_uuid(order_id, missing))
    with engine.connect() as conn:
        row = conn.execute(select(finance_orders).where(finance_orders.c.order_id == key)).first()
        if row is None:
            raise missing
        [shown] = _orders_with_fees(conn, [dict(row._mapping)])
    return shown


def orders_finance(engine: Engine, channel: str | None = None, shop: str | None = None, since=None,
                   until=None, limit: int = 1000) -> list[dict]:
    """Orders' figures, by the day ordered."""
    return orders_finance_listing(engine, channel, shop, since, until).page(limit)


def orders_finance_listing(engine: Engine, channel: str | None = None, shop: str | None = None, since=None,
                           until=None) -> Listing:
    """Orders' figures, by the day ordered, read a page at a time."""
    first, last = day_range(since, until)
    query = select(finance_orders).order_by(finance_orders.c.ordered_on, finance_orders.c.platform_order_no)
    if channel:
        query = query.where(finance_orders.c.channel == channel)
    if shop:
        query = query.where(finance_orders.c.shop == shop)
    if first:
        query = query.where(finance_orders.c.ordered_on >= first)
    if last:
        query = query.where(finance_orders.c.ordered_on <= last)
    return Listing(engine, query, shape_rows=_orders_with_fees, sort_keys={"margin": _margin(finance_orders.c)})


def _orders_with_fees(conn, rows: list[dict]) -> list[dict]:
    """Orders' figures with the courier fee of their shipped parcel (billed, else estimated) and the margin after it."""
    wanted = [row["order_id"] for row in rows]
    query = _shipped_parcels(finance_parcels.c.order_id, _courier_fee().label("fee")).where(
        finance_parcels.c.order_id.in_(wanted))
    fees = {r.order_id: int(r.fee or 0) for r in conn.execute(query)}
    return [_money({**row, "courier_fee": fees.get(row["order_id"], 0)}, "paid", *MONEY, "courier_fee")
            for row in rows]


def sales_by_channel(engine: Engine, since=None, until=None) -> list[dict]:
    """Orders, revenue and discounts per day ordered and channel, oldest first."""
    first, last = day_range(since, until)
    day, channel = finance_orders.c.ordered_on, finance_orders.c.channel
    sold = func.sum(case((finance_orders.c.units_ordered > 0, 1), else_=0))
    query = (select(day.label("day"), channel, sold.label("orders"),
                    *(func.sum(finance_orders.c[n]).label(n) for n in ("revenue", "discounts", "paid")))
             .group_by(day, channel).order_by(day, channel))
    if first:
        query = query.where(day >= first)
    if last:
        query = query.where(day <= last)
    with engine.connect() as conn:
        return [{"day": r.day, "channel": r.channel, "orders": int(r.orders), "revenue": yuan(int(r.revenue)),
                 "discounts": yuan(int(r.discounts)), "paid": yuan(int(r.paid))} for r in conn.execute(query)]


def sku_finance(engine: Engine, sku: str | None = None) -> list[dict]:
    """Figures per SKU (all SKUs, or one: an unknown code raises UnknownSku)."""
    return list(sku_finance_listing(engine, sku))


def sku_finance_listing(engine: Engine, sku: str | None = None) -> Listing:
    """Figures per SKU, read a page at a time (an unknown SKU asked for raises UnknownSku)."""
    query = select(finance_skus).order_by(finance_skus.c.sku)
    if sku is not None:
        query = query.where(finance_skus.c.sku == sku)
        with engine.connect() as conn:
            if conn.execute(query.limit(1)).first() is None:
                raise UnknownSku(f"unknown SKU {sku[:64]!r}", key="refusal:unknown_sku", sku=sku[:64])
    return Listing(engine, query, _sku_figures, sort_keys={"margin": _margin(finance_skus.c),
                                                           "unit_cost": cast(finance_skus.c.unit_cost, Numeric)})


def _sku_figures(row: dict) -> dict:
    row["unit_cost"] = Decimal(row["unit_cost"])
    return _money(row, "revenue", "discounts", "platform_fee", "refunds", "cogs")


def daily_finance(engine: Engine, since=None, until=None) -> list[dict]:
    """Figures per business day, oldest first."""
    first, last = day_range(since, until)
    query = select(finance_days).order_by(finance_days.c.day)
    if first:
        query = query.where(finance_days.c.day >= first)
    if last:
        query = query.where(finance_days.c.day <= last)
    with engine.connect() as conn:
        fees = courier_fees_by_day(conn, first, last)
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["courier_fee"] = fees.get(row["day"], 0)
    return [_money(row, *MONEY, "courier_fee") for row in rows]


def totals(engine: Engine, since=None, until=None) -> dict:
    """All days of a range added up."""
    first, last = day_range(since, until)
    query = select(*(func.coalesce(func.sum(finance_days.c[n]), 0).label(n) for n in (*MONEY, "orders",
                                                                                      "units_shipped")))
    if first:
        query = query.where(finance_days.c.day >= first)
    if last:
        query = query.where(finance_days.c.day <= last)
    with engine.connect() as conn:
        row = {k: int(v) for k, v in conn.execute(query).one()._mapping.items()}
        row["courier_fee"] = sum(courier_fees_by_day(conn, first, last).values())
    return _money(row, *MONEY, "courier_fee")


def margin_by_day_and_channel(engine: Engine, since=None, until=None) -> list[dict]:
    """Per business day and channel: sales (revenue, discounts, postage, platform fee, refunds) on the day
    ordered, and costs (cost of goods, packaging, courier fee) on the day shipped, with the margin; oldest first.

    Refunds stand on the day their order was ordered here (the daily figures book them on the day refunded)."""
    first, last = day_range(since, until)
    o = finance_orders.c
    figures: dict[tuple[str, str], dict] = {}

    def row(day, channel) -> dict:
        return figures.setdefault((day, channel), {"day": day, "channel": channel, "orders": 0, **_zeroes(
            "revenue", "discounts", "postage", "platform_fee", "refunds", "cogs", "packaging", "courier_fee")})

    def within(column):
        return [c for c in ((column >= first) if first else None, (column <= last) if last else None)
                if c is not None]

    sold = func.sum(case((o.units_ordered > 0, 1), else_=0))
    sales = (select(o.ordered_on, o.channel, sold.label("orders"),
                    *(func.sum(o[n]).label(n) for n in ("revenue", "discounts", "postage", "platform_fee", "refunds")))
             .where(*within(o.ordered_on)).group_by(o.ordered_on, o.channel))
    costs = (select(o.shipped_on, o.channel, func.sum(o.cogs).label("cogs"), func.sum(o.packaging).label("packaging"))
             .where(o.shipped_on.is_not(None), *within(o.shipped_on)).group_by(o.shipped_on, o.channel))
    p = finance_parcels.c
    fees = _shipped_parcels(p.shipped_on, p.channel, func.sum(_courier_fee()).label("fee"), first=first,
                            last=last).group_by(p.shipped_on, p.channel)
    with engine.connect() as conn:
        for r in conn.execute(sales):
            shown = row(r.ordered_on, r.channel)
            shown["orders"] = int(r.orders)
            for name in ("revenue", "discounts", "postage", "platform_fee", "refunds"):
                shown[name] = int(getattr(r, name))
        for r in conn.execute(costs):
            shown = row(r.shipped_on, r.channel)
            shown["cogs"], shown["packaging"] = int(r.cogs), int(r.packaging)
        for r in conn.execute(fees):
            row(r.shipped_on, r.channel or "")["courier_fee"] = int(r.fee or 0)
    return [_money(figures[key], *MONEY, "courier_fee") for key in sorted(figures)]


def courier_reconciliation(engine: Engine, since=None, until=None) -> dict[str, Listing]:
    """Couriers' bills against the parcels we shipped (days shipped, or billed for unknown numbers): parcels
    billed other than estimated, bill lines for tracking numbers we never shipped, and shipped parcels no bill
    has charged yet."""
    first, last = day_range(since, until)
    p, b = finance_parcels.c, finance_bill_lines.c
    columns = (p.shipped_on, p.channel, p.courier, p.tracking_no, p.order_id, p.estimated, b.fee.label("billed"),
               b.reference)
    differences = (_shipped_parcels(*columns, first=first, last=last)
                   .where(b.fee.is_not(None), b.fee != p.estimated).order_by(p.shipped_on, p.tracking_no))
    unbilled = (_shipped_parcels(*columns, first=first, last=last)
                .where(b.fee.is_(None)).order_by(p.shipped_on, p.tracking_no))
    unknown = (select(b.billed_on, b.courier, b.tracking_no, b.fee.label("billed"), b.reference)
               .where(~b.tracking_no.in_(select(p.tracking_no).where(p.shipped_on.is_not(None))))
               .order_by(b.billed_on, b.tracking_no))
    if first:
        unknown = unknown.where(b.billed_on >= first)
    if last:
        unknown = unknown.where(b.billed_on <= last)

    def shown(row: dict) -> dict:
        row = dict(row)
        for name in ("estimated", "billed"):
            if name in row:
                row[name] = None if row[name] is None else yuan(row[name])
        known = row.get("estimated") is not None and row.get("billed") is not None
        row["difference"] = row["billed"] - row["estimated"] if known else None
        return row

    return {"differences": Listing(engine, differences, shown), "unknown": Listing(engine, unknown, shown),
            "unbilled": Listing(engine, unbilled, shown)}


def box_prices(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(finance_box_prices).where(finance_box_prices.c.price.is_not(None))
                            .order_by(finance_box_prices.c.box_type))
        return [{"box_type": r.box_type, "price": yuan(r.price)} for r in rows]


def stock_valuation(engine: Engine, warehouse: str | None = None) -> dict:
    """On hand × unit cost per SKU and warehouse, read from the inventory view, with the total."""
    from .inventory import catalogue, stock_bins

    query = (select(stock_bins.c.warehouse, stock_bins.c.sku, func.sum(stock_bins.c.on_hand).label("on_hand"))
             .group_by(stock_bins.c.warehouse, stock_bins.c.sku)
             .order_by(stock_bins.c.warehouse, stock_bins.c.sku))
    if warehouse:
        query = query.where(stock_bins.c.warehouse == warehouse)
    with engine.connect() as conn:
        costs = {r.code: Decimal(r.unit_cost) for r in conn.execute(select(catalogue.c.code, catalogue.c.unit_cost))}
        held = [r for r in conn.execute(query) if r.on_hand]
    lines = []
    for r in held:
        cost = costs.get(r.sku, Decimal("0"))
        lines.append({"warehouse": r.warehouse, "sku": r.sku, "on_hand": int(r.on_hand), "unit_cost": cost,
                      "value": yuan(fen(cost * r.on_hand))})
    return {"lines": lines, "total": sum((line["value"] for line in lines), Decimal("0.00"))}
