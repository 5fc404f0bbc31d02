"""What-if replay: the log replayed in memory under other channel-stock rules (share and buffer per channel), another
courier policy and a wave rule, with what each channel would have had (sales, oversells, refused sales, orders left
waiting for stock, margin), each courier's parcels and postage, and the waves. The live log is only read: the
replay's store is its own aggregates in memory, never saved.

The replay keeps its own stock (the domain's `Stock` and `Warehouse` aggregates) and follows the log in order:

- facts stay facts: stock received, moved, returned and scrapped, counts (booked as counted against the replay's
  own figures), listings mapped, every push's moment, every platform sale;
- a push tells each listing what it showed live, moved by the difference the other rules make to the figure
  (`publishable` with the other share and buffer, minus with the live ones, both on the replay's free stock), so
  under the live rules every push shows exactly what it showed;
- a sale the live listing could show but the other rules' figure could not is refused (a lost sale), and nothing
  of that order happens afterwards; any other sale is taken and lowers what its listing shows;
- wherever the live log tried to reserve an order (reserved or short), the replay tries the same with its own stock,
  the way `Orders` does; an order whose first try finds too little is an oversell. The order's later stock events
  (picks, shipments, releases) apply only while the replay holds its reservation;
- a parcel handed over counts for the courier that took it. With another courier policy, its courier and postage
  are chosen again from the facts the live decision recorded (destination, weight, volume, COD, couriers that were
  down); without one, and for a waybill assigned by hand, the live courier and the live decision's estimate stay.
- margin, per channel, over the orders imported in the period that were handed over: revenue − discounts − platform
  fee − cost of goods shipped (the SKU's unit cost then) − the courier's postage;
- waves: with a wave rule, the orders holding stock are cut into waves on the clock (`WaveRule`); without one, the
  waves the log made.

Under the live rules the replay is the log, so its figures are the live figures (`live_figures`).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable
from uuid import UUID

from eventsourcing.utils import get_topic

from domain import ids
from domain.catalogue import Sku
from domain.courier_choice import CourierRules, InvalidPackageFacts, NoCourierAvailable, PackageFacts, choose
from domain.errors import InvalidInput
from domain.fulfilment import Package
from domain.limits import MAX_UNITS
from domain.listing import Listing, listing_id, platform_key, publishable
from domain.order import Order
from domain.stock import Stock
from domain.warehouse import Warehouse

from .backoffice import business_day, day_range, fen
from .invariants import STOCK_TOPICS, order_topics, log_pages
from .tracking import topics_of

stock_id, known_listing_id = lru_cache(maxsize=100_000)(ids.stock_id), lru_cache(maxsize=100_000)(listing_id)
LISTING_TOPICS = (get_topic(Listing.Mapped), get_topic(Listing.Remapped), get_topic(Listing.Published))
PARCEL_TOPICS = topics_of([Package.Opened, Package.WaybillAssigned, Package.HandedOver])
COST_TOPICS = topics_of([Sku.Registered, Sku.Revised])
ATTEMPTS = (Order.Reserved, Order.StockShort)
EPOCH = datetime(2000, 1, 3, tzinfo=timezone.utc)  # wave cuts fall on whole multiples of their minutes from here
NO_COURIER = "-"  # a parcel no courier of the other policy could take
UNRESOLVED = ("cancelled", "held", "released")  # not waiting for stock, whatever the replay holds


@dataclass
class Figures:
    """One channel's orders imported in the period: sales taken, short of stock at their first reservation, refused,
    still waiting for stock at the end, and the margin of those handed over (yuan)."""

    sales: int = 0
    oversells: int = 0
    refused: int = 0
    waiting: int = 0
    margin: Decimal = Decimal("0.00")
    oversold_orders: list[str] = field(default_factory=list)


@dataclass
class Parcels:
    """One courier's parcels handed over for the orders of the period, and their postage (yuan)."""

    parcels: int = 0
    postage: Decimal = Decimal("0.00")


@dataclass
class Waves:
    """The waves the orders of the period were picked in, and how long they waited for one after their stock was
    reserved (minutes)."""

    waves: int = 0
    orders: int = 0
    mean_wait_minutes: Decimal = Decimal("0.0")
    longest_wait_minutes: Decimal = Decimal("0.0")


@dataclass(frozen=True)
class WaveRule:
    """Waves cut every `every_minutes` (on the clock: :00, :30, …) with the orders reserved by then, at most
    `most_orders` each; the rest wait for the next cut."""

    every_minutes: int
    most_orders: int


def parse_wave_rule(text: str) -> WaveRule:
    """A wave rule written MINUTES:ORDERS (30:50: a wave every 30 minutes of at most 50 orders)."""
    every, _, most = text.strip().partition(":")
    if not (every.isdigit() and most.isdigit() and 1 <= int(every) <= 24 * 60 and 1 <= int(most) <= 10_000):
        raise InvalidInput(f"{text.strip()[:40]!r}: a wave rule is MINUTES:ORDERS, a wave every 1-1440 minutes of at "
                           "most 1-10000 orders (e.g. 30:50)")
    return WaveRule(int(every), int(most))


@dataclass
class Report:
    channels: dict[str, Figures] = field(default_factory=dict)
    couriers: dict[str, Parcels] = field(default_factory=dict)
    waves: Waves = field(default_factory=Waves)


class _WaveBook:
    """When each order of the period had its stock and when it joined a wave (as the log says, or by a rule)."""

    def __init__(self):
        self.reserved_at: dict[UUID, datetime] = {}
        self.waved: dict[UUID, tuple[UUID, datetime]] = {}
        self.cancelled_at: dict[UUID, datetime] = {}

    def reserved(self, order: UUID, at: datetime) -> None:
        self.reserved_at.setdefault(order, at)

    def follow(self, e: Any, status: str) -> None:
        """An order event the log recorded (and the order's status after it): its wave, or its cancellation."""
        if isinstance(e, Order.Waved) and e.originator_id in self.reserved_at:
            self.waved.setdefault(e.originator_id, (e.wave_id, e.timestamp))
        elif status == "cancelled":
            self.cancelled_at.setdefault(e.originator_id, e.timestamp)

    def close(self, rule: WaveRule | None) -> Waves:
        waved = self.waved if rule is None else self._cut(rule)
        waits = [(at - self.reserved_at[order]).total_seconds() / 60 for order, (_, at) in waved.items()]
        if not waits:
            return Waves()
        tenth = Decimal("0.1")
        return Waves(len({wave for wave, _ in waved.values()}), len(waits),
                     Decimal(sum(waits) / len(waits)).quantize(tenth), Decimal(max(waits)).quantize(tenth))

    def _cut(self, rule: WaveRule) -> dict[UUID, tuple[int, datetime]]:
        step = timedelta(minutes=rule.every_minutes)
        waved: dict[UUID, tuple[int, datetime]] = {}
        filled: dict[datetime, int] = {}
        for order, at in sorted(self.reserved_at.items(), key=lambda item: (item[1], str(item[0]))):
            cut = EPOCH + ((at - EPOCH) // step + 1) * step
            while filled.get(cut, 0) >= rule.most_orders:
                cut += step
            if order in self.cancelled_at and self.cancelled_at[order] <= cut:
                continue  # cancelled before its wave was cut
            filled[cut] = filled.get(cut, 0) + 1
            waved[order] = (int((cut - EPOCH) / step), cut)
        return waved


class _Books:
    """Margin and parcels of the orders imported in the period, as the events say (live) or the replay has them."""

    def __init__(self, couriers: CourierRules | None = None):
        self.rules = couriers
        self.unit_cost: dict[str, Decimal] = {}
        self.stream_sku: dict[UUID, str] = {}
        self.net: dict[UUID, int] = {}  # fen, per counted order: revenue − discounts − platform fee
        self.cogs: dict[UUID, int] = {}
        self.package_order: dict[UUID, UUID] = {}
        self.courier: dict[UUID, tuple[str, int]] = {}  # per order: courier and postage in fen
        self.shipped: set[UUID] = set()

    def sku(self, e: Any) -> None:
        self.unit_cost[e.code] = e.unit_cost

    def count(self, e: Any) -> None:
        revenue = sum(fen(line["unit_price"] * line["quantity"]) - fen(line["discount"]) for line in e.lines)
        self.net[e.originator_id] = revenue - fen(e.discount) - fen(e.platform_fee)
        self.cogs[e.originator_id] = 0

    def stock_shipped(self, stock_sku: str, e: Any) -> None:
        if e.order_id in self.cogs:
            self.cogs[e.order_id] += fen(self.unit_cost.get(stock_sku, Decimal(0)) * e.quantity)

    def parcel(self, e: Any) -> UUID | None:
        """The order of a package event it touches among the counted ones."""
        if isinstance(e, Package.Opened):
            self.package_order[e.originator_id] = e.order_id
            return None
        order = self.package_order.get(e.originator_id)
        if order not in self.net:
            return None
        if isinstance(e, Package.WaybillAssigned):
            self.courier[order] = self._chosen(e)
        return order

    def handed_over(self, order: UUID) -> None:
        self.shipped.add(order)

    def _chosen(self, e: Any) -> tuple[str, int]:
        decision = e.decision or {}
        live = (e.courier, fen(Decimal(decision.get("estimated_postage") or 0)))
        inputs = decision.get("inputs")
        if self.rules is None or not inputs:
            return live
        try:
            facts = PackageFacts(inputs["province"], inputs["city"], int(inputs["weight_grams"]),
                                 int(inputs.get("volume_cm3") or 0), Decimal(inputs.get("cod_amount") or 0))
            again = choose(facts, self.rules, frozenset(filter(None, inputs.get("unavailable", "").split(","))))
        except (InvalidPackageFacts, KeyError, ValueError):
            return live
        except NoCourierAvailable:
            return NO_COURIER, 0
        return again.courier, fen(again.estimated_postage or Decimal(0))

    def close(self, report: Report, channel_of: dict[UUID, str]) -> None:
        for order in sorted(self.shipped, key=str):
            courier, postage = self.courier.get(order, (NO_COURIER, 0))
            parcels = report.couriers.setdefault(courier, Parcels())
            parcels.parcels += 1
            parcels.postage += Decimal(postage) / 100
            figures = report.channels.setdefault(channel_of[order], Figures())
            figures.margin += Decimal(self.net[order] - self.cogs[order] - postage) / 100


@dataclass(frozen=True)
class Rule:
    share: Decimal
    buffer: int


def parse_rule(text: str) -> tuple[str, Rule]:
    """A channel-stock rule written CHANNEL:SHARE[:BUFFER] (jd:0.5:2); refused with how to write it."""
    channel, _, rest = text.strip().partition(":")
    share, _, buffer = rest.partition(":")
    try:
        rule = Rule(Decimal(share), int(buffer or 0))
    except (ArithmeticError, ValueError):
        rule = None
    if not channel or rule is None or not rule.share.is_finite() or not Decimal(0) < rule.share <= 1 \
            or not 0 <= rule.buffer <= MAX_UNITS:
        raise InvalidInput(f"{text.strip()[:40]!r}: a rule is CHANNEL:SHARE[:BUFFER], share above 0 and at most 1, "
                           "buffer a whole number ≥ 0 (e.g. jd:0.5:2)")
    return channel, rule


class _Replay:
    def __init__(self, rules: dict[str, Rule], first: str | None, last: str | None, books: _Books,
                 wave_rule: WaveRule | None = None):
        self.rules, self.first, self.last, self.books = rules, first, last, books
        self.wave_rule, self.wave_book = wave_rule, _WaveBook()
        self.stocks: dict[UUID, Stock] = {}
        self.sites: dict[str, Warehouse] = {}
        self.sites_by_id: dict[UUID, Warehouse] = {}
        self.orders: dict[UUID, Order] = {}
        self.listings: dict[UUID, dict] = {}
        self.live_shown: dict[UUID, int] = {}
        self.shown: dict[UUID, int] = {}
        self.refused: set[UUID] = set()
        self.held: set[UUID] = set()  # orders the replay holds stock for
        self.tried: set[UUID] = set()
        self.counted: set[UUID] = set()  # orders imported in the period
        self.figures: dict[str, Figures] = {}

    def _in_period(self, e: Any) -> bool:
        day = business_day(e.timestamp)
        return (not self.first or day >= self.first) and (not self.last or day <= self.last)

    def free(self) -> dict[str, int]:
        """Units per SKU free in storage bins over all warehouses, as the channel-stock job reads them."""
        free: dict[str, int] = {}
        for stock in self.stocks.values():
            site = self.sites.get(stock.warehouse)
            bins = site.pick_order("storage") if site else {}
            free[stock.sku] = free.get(stock.sku, 0) + sum(stock.free_in(b) for b in stock.on_hand if b in bins)
        return free

    # Listings and sales

    def listing(self, e: Any) -> None:
        if isinstance(e, Listing.Mapped):
            self.listings[e.originator_id] = {"channel": e.channel, "components": e.components, "share": e.share,
                                              "buffer": e.buffer, "minimum": e.minimum, "maximum": e.maximum}
            return
        config = self.listings[e.originator_id]
        if isinstance(e, Listing.Remapped):
            config["components"] = e.components
            return
        rule = self.rules.get(config["channel"]) if self._in_period(e) else None
        shifted = 0
        if rule is not None:
            free, bounds = self.free(), (config["minimum"], config["maximum"])
            shifted = (publishable(free, config["components"], rule.share, rule.buffer, *bounds)
                       - publishable(free, config["components"], config["share"], config["buffer"], *bounds))
        self.live_shown[e.originator_id] = e.quantity
        self.shown[e.originator_id] = max(e.quantity + shifted, 0)

    def imported(self, e: Any) -> None:
        order = self.orders[e.originator_id] = e.mutate(None)
        lines = [(known_listing_id(e.channel, e.shop, platform_key(line["platform_sku"], line.get("item_id", ""))),
                  line["quantity"]) for line in e.lines]
        counted = self._in_period(e)
        figures = self.figures.setdefault(e.channel, Figures()) if counted else Figures()
        if any(self.shown.get(lid, units) < units <= self.live_shown.get(lid, units) for lid, units in lines):
            self.refused.add(order.id)
            figures.refused += 1
            return
        for lid, units in lines:
            for shown in (self.shown, self.live_shown):
                if lid in shown:
                    shown[lid] = max(shown[lid] - units, 0)
        figures.sales += 1
        if counted:
            self.counted.add(order.id)
            self.books.count(e)

    # Orders' reservations, the way `Orders` reserves

    def attempt(self, e: Any) -> None:
        order = e.mutate(self.orders[e.originator_id])
        if order.id in self.refused:
            return
        if order.id in self.held:
            if isinstance(e, Order.Reserved):  # a held order released again: topped up to what the log shows
                self._follow(order.id, e.warehouse, e.allocations)
            elif not self.holds(order):  # its units went (a count took them): it waits for stock again
                self.held.discard(order.id)
            return
        first = order.id not in self.tried
        self.tried.add(order.id)
        site = self.sites[e.warehouse]
        bins = site.pick_order("storage")
        wanted, missing = order.quantities(), {}
        for sku, quantity in wanted.items():
            stock = self.stocks.get(stock_id(site.code, sku))
            available = stock.available(bins) if stock is not None else 0
            if available < quantity:
                missing[sku] = quantity - available
        if not missing:
            if isinstance(e, Order.Reserved):
                self._follow(order.id, e.warehouse, e.allocations)  # the bins the log chose
            else:
                for sku, quantity in wanted.items():
                    stock = self.stocks[stock_id(site.code, sku)]
                    stock.reserve(order.id, quantity, bins, "what-if")
                    stock.collect_events()
            self.held.add(order.id)
            if order.id in self.counted:
                self.wave_book.reserved(order.id, e.timestamp)
        elif first and order.id in self.counted:
            figures = self.figures.setdefault(order.channel, Figures())
            figures.oversells += 1
            figures.oversold_orders.append(f"{order.channel}/{order.shop}/{order.platform_order_no}")

    def holds(self, order: Order) -> bool:
        """Whether the replay's stock holds any unit for the order."""
        return any(stock.reserved_for(order.id) for sku in order.quantities()
                   if (stock := self.stocks.get(stock_id(order.warehouse, sku))) is not None)

    def waiting(self, order_id: UUID) -> bool:
        """An order of the period the replay tried to reserve and holds no stock for at the end (cancelled, held
        and released orders aside)."""
        order = self.orders[order_id]
        return (order_id in self.tried and order.status not in UNRESOLVED
                and (order_id not in self.held or order.status == "awaiting_stock" and not self.holds(order)))

    def _follow(self, order_id: UUID, warehouse: str, allocations: dict[str, dict[str, int]]) -> None:
        """Hold, per bin, what the log's reservation holds (the units the replay does not hold yet)."""
        for sku, allocation in allocations.items():
            stock = self.stocks[stock_id(warehouse, sku)]
            holds = stock.reserved_for(order_id)
            for b, n in allocation.items():
                if n > holds.get(b, 0):  # what Stock.Reserved does, without making an event the replay never keeps
                    stock._allocate(order_id, b, n - holds.get(b, 0))

    def site(self, e: Any) -> None:
        if isinstance(e, Warehouse.Opened):
            site = self.sites_by_id[e.originator_id] = e.mutate(None)
            self.sites[site.code] = site
        else:
            e.mutate(self.sites_by_id[e.originator_id])

    def order(self, e: Any) -> None:
        if e.originator_id in self.orders:
            order = self.orders[e.originator_id] = e.mutate(self.orders[e.originator_id])
            self.wave_book.follow(e, order.status)

    # Stock

    def stock(self, e: Any) -> None:
        if isinstance(e, Stock.Opened):
            self.stocks[e.originator_id] = e.mutate(None)
            return
        stock = self.stocks[e.originator_id]
        if isinstance(e, Stock.Reserved):
            return  # the replay reserves by itself where the log tried to
        if isinstance(e, Stock.Adjusted):
            stock.count(e.bin, e.counted, e.reason, e.by)  # the count is the fact; the difference is the replay's
            stock.collect_events()
            return
        order = getattr(e, "order_id", None)
        if order is not None and order not in self.held:
            return  # the replay never held this order's stock: its picks, shipments and returns did not happen
        e.apply(stock)
        if isinstance(e, Stock.Shipped):
            self.books.stock_shipped(stock.sku, e)

    def parcel(self, e: Any) -> None:
        order = self.books.parcel(e)
        if order is not None and isinstance(e, Package.HandedOver) and order in self.held:
            self.books.handed_over(order)

    def report(self) -> Report:
        report = Report(self.figures)
        for order_id in self.counted:
            if self.waiting(order_id):
                report.channels[self.orders[order_id].channel].waiting += 1
        self.books.close(report, {o: self.orders[o].channel for o in self.books.shipped})
        report.waves = self.wave_book.close(self.wave_rule)
        return report


def replay(app, since=None, until=None, rules: dict[str, Rule] | None = None,
           progress: Callable[[int], None] | None = None, couriers: CourierRules | None = None,
           waves: WaveRule | None = None) -> Report:
    """Each channel's figures for the orders imported in the period (business days), each courier's parcels and
    the waves, replayed under the rules (channel → share and buffer; channels not named keep their listings' own),
    the courier policy (the live decisions when none is given) and the wave rule (the live waves when none)."""
    first, last = day_range(since, until)
    run = _Replay(rules or {}, first, last, _Books(couriers), waves)
    stock, listing, parcel, cost = set(STOCK_TOPICS), set(LISTING_TOPICS), set(PARCEL_TOPICS), set(COST_TOPICS)
    warehouse = tuple(get_topic(k) for k in (Warehouse.Opened, Warehouse.LocationAdded))
    topics = STOCK_TOPICS + order_topics() + LISTING_TOPICS + warehouse + PARCEL_TOPICS + COST_TOPICS
    for page in log_pages(app, topics, app.recorder.max_notification_id() or 0):
        for n in page:
            e = app.mapper.to_domain_event(n)
            if n.topic in stock:
                run.stock(e)
            elif n.topic in listing:
                run.listing(e)
            elif n.topic in parcel:
                run.parcel(e)
            elif n.topic in cost:
                run.books.sku(e)
            elif n.topic in warehouse:
                run.site(e)
            elif isinstance(e, Order.Imported):
                run.imported(e)
            elif e.originator_id in run.refused:
                continue
            elif isinstance(e, ATTEMPTS):
                run.attempt(e)
            else:
                run.order(e)
        if progress:
            progress(len(page))
    return run.report()


def live_figures(app, since=None, until=None) -> Report:
    """The live log's own figures: per channel, the orders imported in the period, those whose first reservation
    found too little stock, those still waiting for stock, the margin of those handed over; per courier, their
    parcels and postage as decided."""
    first, last = day_range(since, until)
    report, books, wave_book = Report(), _Books(), _WaveBook()
    orders: dict[UUID, Order] = {}
    tried: set[UUID] = set()
    streams: dict[UUID, str] = {}
    parcel, cost = set(PARCEL_TOPICS), set(COST_TOPICS)
    topics = order_topics() + PARCEL_TOPICS + COST_TOPICS + topics_of([Stock.Opened, Stock.Shipped])
    for page in log_pages(app, topics, app.recorder.max_notification_id() or 0):
        for n in page:
            e = app.mapper.to_domain_event(n)
            if n.topic in cost:
                books.sku(e)
            elif n.topic in parcel:
                order = books.parcel(e)
                if order is not None and isinstance(e, Package.HandedOver):
                    books.handed_over(order)
            elif isinstance(e, Stock.Opened):
                streams[e.originator_id] = e.sku
            elif isinstance(e, Stock.Shipped):
                books.stock_shipped(streams[e.originator_id], e)
            elif isinstance(e, Order.Imported):
                day = business_day(e.timestamp)
                if (not first or day >= first) and (not last or day <= last):
                    report.channels.setdefault(e.channel, Figures()).sales += 1
                    orders[e.originator_id] = e.mutate(None)
                    books.count(e)
            elif e.originator_id in orders:
                order = orders[e.originator_id] = e.mutate(orders[e.originator_id])
                if isinstance(e, Order.Reserved):
                    wave_book.reserved(order.id, e.timestamp)
                wave_book.follow(e, order.status)
                if isinstance(e, ATTEMPTS) and order.id not in tried:
                    tried.add(order.id)
                    if isinstance(e, Order.StockShort):
                        channel = report.channels[order.channel]
                        channel.oversells += 1
                        channel.oversold_orders.append(f"{order.channel}/{order.shop}/{order.platform_order_no}")
    for order in orders.values():
        if order.status == "awaiting_stock":
            report.channels[order.channel].waiting += 1
    books.close(report, {o: orders[o].channel for o in books.shipped})
    report.waves = wave_book.close(None)
    return report
