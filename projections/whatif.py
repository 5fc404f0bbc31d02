"""What-if replay: the log replayed in memory under other channel-stock rules (share and buffer per channel), with
the sales, oversells and refused sales each channel would have had. The live log is only read.

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
  (picks, shipments, releases) apply only while the replay holds its reservation.

Under the live rules the replay is the log, so its figures are the live figures (`live_figures`).
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable
from uuid import UUID

from eventsourcing.utils import get_topic

from domain import ids
from domain.listing import Listing, listing_id, platform_key, publishable
from domain.order import Order
from domain.stock import Stock
from domain.warehouse import Warehouse

from .backoffice import business_day, day_range
from .invariants import STOCK_TOPICS, order_topics, log_pages

LISTING_TOPICS = (get_topic(Listing.Mapped), get_topic(Listing.Remapped), get_topic(Listing.Published))
ATTEMPTS = (Order.Reserved, Order.StockShort)


@dataclass
class Figures:
    """One channel's sales in the period: taken, short of stock at their first reservation, and refused."""

    sales: int = 0
    oversells: int = 0
    refused: int = 0
    oversold_orders: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    share: Decimal
    buffer: int


class _Replay:
    def __init__(self, rules: dict[str, Rule], first: str | None, last: str | None):
        self.rules, self.first, self.last = rules, first, last
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
        lines = [(listing_id(e.channel, e.shop, platform_key(line["platform_sku"], line.get("item_id", ""))),
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

    # Orders' reservations, the way `Orders` reserves

    def attempt(self, e: Any) -> None:
        order = e.mutate(self.orders[e.originator_id])
        if order.id in self.refused:
            return
        if order.id in self.held:
            if isinstance(e, Order.Reserved):  # a held order released again: topped up to what the log shows
                self._follow(order.id, e.warehouse, e.allocations)
            return
        first = order.id not in self.tried
        self.tried.add(order.id)
        site = self.sites[e.warehouse]
        bins = site.pick_order("storage")
        wanted, missing = order.quantities(), {}
        for sku, quantity in wanted.items():
            stock = self.stocks.get(ids.stock_id(site.code, sku))
            available = stock.available(bins) if stock is not None else 0
            if available < quantity:
                missing[sku] = quantity - available
        if not missing:
            if isinstance(e, Order.Reserved):
                self._follow(order.id, e.warehouse, e.allocations)  # the bins the log chose
            else:
                for sku, quantity in wanted.items():
                    stock = self.stocks[ids.stock_id(site.code, sku)]
                    stock.reserve(order.id, quantity, bins, "what-if")
                    stock.collect_events()
            self.held.add(order.id)
        elif first and order.id in self.counted:
            figures = self.figures.setdefault(order.channel, Figures())
            figures.oversells += 1
            figures.oversold_orders.append(f"{order.channel}/{order.shop}/{order.platform_order_no}")

    def _follow(self, order_id: UUID, warehouse: str, allocations: dict[str, dict[str, int]]) -> None:
        """Hold, per bin, what the log's reservation holds (the units the replay does not hold yet)."""
        for sku, allocation in allocations.items():
            stock = self.stocks[ids.stock_id(warehouse, sku)]
            holds = stock.reserved_for(order_id)
            added = {b: n - holds.get(b, 0) for b, n in allocation.items() if n > holds.get(b, 0)}
            if added:
                stock._reserved(order_id, added, "what-if")
                stock.collect_events()

    def site(self, e: Any) -> None:
        if isinstance(e, Warehouse.Opened):
            site = self.sites_by_id[e.originator_id] = e.mutate(None)
            self.sites[site.code] = site
        else:
            e.mutate(self.sites_by_id[e.originator_id])

    def order(self, e: Any) -> None:
        if e.originator_id in self.orders:
            self.orders[e.originator_id] = e.mutate(self.orders[e.originator_id])

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


def replay(app, since=None, until=None, rules: dict[str, Rule] | None = None,
           progress: Callable[[int], None] | None = None) -> dict[str, Figures]:
    """Each channel's figures for the orders imported in the period (business days), replayed under the rules
    (channel → share and buffer; channels not named keep their listings' own)."""
    first, last = day_range(since, until)
    run = _Replay(rules or {}, first, last)
    stock, listing = set(STOCK_TOPICS), set(LISTING_TOPICS)
    warehouse = tuple(get_topic(k) for k in (Warehouse.Opened, Warehouse.LocationAdded))
    topics = STOCK_TOPICS + order_topics() + LISTING_TOPICS + warehouse
    for page in log_pages(app, topics, app.recorder.max_notification_id() or 0):
        for n in page:
            e = app.mapper.to_domain_event(n)
            if n.topic in stock:
                run.stock(e)
            elif n.topic in listing:
                run.listing(e)
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
    return run.figures


def live_figures(app, since=None, until=None) -> dict[str, Figures]:
    """The live log's own figures: per channel, the orders imported in the period, and those whose first
    reservation found too little stock."""
    first, last = day_range(since, until)
    figures: dict[str, Figures] = {}
    seen: dict[UUID, tuple[Figures, str] | None] = {}
    for page in log_pages(app, (get_topic(Order.Imported), *(get_topic(k) for k in ATTEMPTS)),
                       app.recorder.max_notification_id() or 0):
        for n in page:
            e = app.mapper.to_domain_event(n)
            if isinstance(e, Order.Imported):
                day = business_day(e.timestamp)
                if (not first or day >= first) and (not last or day <= last):
                    channel = figures.setdefault(e.channel, Figures())
                    channel.sales += 1
                    seen[e.originator_id] = (channel, f"{e.channel}/{e.shop}/{e.platform_order_no}")
                else:
                    seen[e.originator_id] = None
            elif seen.get(e.originator_id):
                channel, number = seen.pop(e.originator_id)
                if isinstance(e, Order.StockShort):
                    channel.oversells += 1
                    channel.oversold_orders.append(number)
            else:
                seen.pop(e.originator_id, None)
    return figures
