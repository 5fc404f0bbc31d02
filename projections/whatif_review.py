"""What-if for the review rules (审单): each order of the log reviewed again, in memory, under another rule set with
the domain's own `RuleBook.review`, beside what the live review decided, per channel: orders held (and by which kind
of hold), presale holds, gift lines and units given, orders joined to another's parcel by the merge rule (parcels
saved) and orders split by stock. The live log is only read.

Live figures come from the decisions recorded on the orders: the review on `Order.Imported`, the merge rule's
`Order.MergedInto`, and the split rule's `Order.SplitByStock` made while the order was imported.

The replay reviews each order with what the live review looked at: its lines, amount, remark, address and buyer as
imported, the lines whose SKU was unknown and the SKUs that were retired (as the always-on rules recorded them), at
the moment it was imported. Facts the replay cannot know come from the log:

- whether a gift's units were free: the live decision's answer when a live gift rule looked at that SKU for the
  order; otherwise the units free in the storage bins of the warehouse the order was reserved in, as the log's stock
  stood before the order's import was saved (less what the order itself needs), or, for an order never reserved on
  arrival, taken as free (counted in `gifts_assumed`);
- what an order was short of: the live import's first reservation (`Order.StockShort`); an order held live (never
  reserved on arrival) is taken as not short;
- a candidate parcel's progress (reserved, on the floor, shipped, cancelled) as the log has it; an order the other
  rules hold is taken as held for as long as it had not gone to the floor live.

The other rules stand for the whole log (the parcels open before the period count as they would have); orders
imported before review rules were data (no recorded review) and parts split off other orders are not reviewed.
Under the live rule set (unchanged over the log) the replay's figures are the live figures.
"""

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable
from uuid import UUID

from domain import ids
from domain.limits import MAX_ORDER_LINES
from domain.order import MERGEABLE_STATUSES, Order, components_of, dropship_supplier, line_label, unmapped
from domain.review import OpenParcels, RuleBook
from domain.stock import Stock
from domain.warehouse import Warehouse

from .backoffice import business_day, day_range
from .invariants import log_pages, order_topics
from .tracking import topics_of

PRESALE_HOLD = "hold until ship date"


def _event_topics(aggregate: type) -> tuple[str, ...]:
    return topics_of([v for v in vars(aggregate).values() if isinstance(v, type) and issubclass(v, aggregate.Event)])


@dataclass
class ReviewFigures:
    """One channel's orders imported in the period as reviewed: how many, held (any reason; per kind of hold),
    held until a presale date, gift lines and units added, joined to an earlier order's parcel by the merge rule
    (each one parcel saved) and split by stock on arrival."""

    orders: int = 0
    held: int = 0
    holds: dict[str, int] = field(default_factory=dict)
    presale: int = 0
    gift_lines: int = 0
    gift_units: int = 0
    merged: int = 0
    split: int = 0


@dataclass
class ReviewReport:
    live: dict[str, ReviewFigures] = field(default_factory=dict)
    again: dict[str, ReviewFigures] = field(default_factory=dict)
    gifts_assumed: int = 0  # gifts of the replay no live decision or reservation tells about: taken as in stock


def _tally(figures: ReviewFigures, decisions: list[dict]) -> None:
    """Count one order's review decisions (recorded live, or made again) into its channel's figures."""
    figures.orders += 1
    kinds = {d["kind"] for d in decisions if d["outcome"] == "hold"}
    presale = any(d["outcome"] == PRESALE_HOLD for d in decisions)
    figures.held += bool(kinds or presale)
    figures.presale += presale
    for kind in sorted(kinds):
        figures.holds[kind] = figures.holds.get(kind, 0) + 1
    for d in decisions:
        if d["outcome"] == "gift":
            figures.gift_lines += 1
            figures.gift_units += int(d["inputs"]["units"])


@dataclass
class _Arrival:
    """An order's import as the log recorded it: the event, then what its import did to it (first reservation,
    split by stock, merged by rule) while the same transaction wrote it."""

    event: Any
    last: int  # notification id of its latest event in the import
    attempted: bool = False
    warehouse: str = ""
    missing: dict[str, int] = field(default_factory=dict)
    split: bool = False
    merged: bool = False


class _ReviewReplay:
    def __init__(self, book: RuleBook, first: str | None, last: str | None):
        self.book, self.first, self.last = book, first, last
        self.merge, self.split_rule = book.rule("merge"), book.rule("split_stock")
        self.report = ReviewReport()
        self.live: dict[UUID, Order] = {}  # every reviewed order as the log has it
        self.held_live: dict[UUID, bool] = {}  # held on arrival, live
        self.held_again: dict[UUID, bool] = {}  # held on arrival, replayed
        self.merged_again: set[UUID] = set()
        self.split_again: set[UUID] = set()
        self.split_by_hand: set[UUID] = set()
        self.merged_by_hand: set[UUID] = set()
        self.lines_again: dict[UUID, int] = {}
        self.index: dict[str, OpenParcels] = {}
        self.arrival: _Arrival | None = None
        self.stocks: dict[UUID, Stock] = {}
        self.sites: dict[str, Warehouse] = {}
        self.sites_by_id: dict[UUID, Warehouse] = {}

    def _settle(self, n: Any, e: Any) -> _Arrival | None:
        """The arriving order still being written (None once this notification is not part of its import)."""
        arrival = self.arrival
        if arrival is not None and (e.originator_id != arrival.event.originator_id or n.id != arrival.last + 1):
            self._arrived(arrival)
            arrival = self.arrival = None
        return arrival

    def stock(self, n: Any, e: Any) -> None:
        """The log's stock and warehouses, as they stood when each order arrived (for gifts no live rule priced)."""
        self._settle(n, e)
        if isinstance(e, Warehouse.Event):
            site = self.sites_by_id[e.originator_id] = e.mutate(self.sites_by_id.get(e.originator_id))
            self.sites[site.code] = site
        else:
            self.stocks[e.originator_id] = e.mutate(self.stocks.get(e.originator_id))

    def follow(self, n: Any, e: Any) -> None:
        arrival = self._settle(n, e)
        if isinstance(e, Order.Imported):
            if e.review is not None:
                self.live[e.originator_id] = e.mutate(None)
                self.arrival = _Arrival(e, n.id)
            return
        order = self.live.get(e.originator_id)
        if order is None:
            return
        self.live[e.originator_id] = e.mutate(order)
        if arrival is not None:
            arrival.last = n.id
            if isinstance(e, (Order.Reserved, Order.StockShort)) and not arrival.attempted:
                arrival.attempted, arrival.warehouse = True, e.warehouse
                arrival.missing = dict(getattr(e, "missing", {}))
            elif isinstance(e, Order.SplitByStock):
                arrival.split = True
            elif isinstance(e, Order.MergedInto) and e.rule.get("kind") == "merge" and e.rule.get("rule"):
                arrival.merged = True
        elif isinstance(e, Order.SplitByStock):
            self.split_by_hand.add(e.originator_id)
        elif isinstance(e, Order.MergedInto) and not e.rule.get("rule"):
            self.merged_by_hand.add(e.originator_id)

    def close(self) -> ReviewReport:
        if self.arrival is not None:
            self._arrived(self.arrival)
            self.arrival = None
        return self.report

    def _arrived(self, arrival: _Arrival) -> None:
        e = arrival.event
        decisions = e.review.get("decisions") or []
        day = business_day(e.timestamp)
        counted = (not self.first or day >= self.first) and (not self.last or day <= self.last)
        self.held_live[e.originator_id] = bool(e.hold_reasons)
        review = self._review(e, decisions, counted, arrival.warehouse)
        held = bool(review.reasons)
        self.held_again[e.originator_id] = held
        own = [line for line in e.lines if "gift" not in line]
        lines = own + [{"line_no": max(line["line_no"] for line in e.lines) + 1 + k, "sku": gift["sku"],
                        "platform_sku": "", "quantity": gift["units"], "components": {gift["sku"]: 1},
                        "gift": gift["rule"]} for k, gift in enumerate(review.gifts)]
        self.lines_again[e.originator_id] = len(lines)
        split = merged = False
        if not held and not all(dropship_supplier(line) for line in lines):
            split = self._split(e, lines, arrival.missing)
            if not split and not any(unmapped(line) for line in lines) and self.merge is not None:
                merged = self._merge(e, len(lines))
        if not counted:
            return
        live = self.report.live.setdefault(e.channel, ReviewFigures())
        _tally(live, decisions)
        live.split += arrival.split
        live.merged += arrival.merged
        again = self.report.again.setdefault(e.channel, ReviewFigures())
        _tally(again, review.decisions)
        again.split += split
        again.merged += merged

    def _review(self, e: Any, decisions: list[dict], counted: bool, warehouse: str):
        """The order reviewed again under the other rules, with the facts the live review had."""
        own = [line for line in e.lines if "gift" not in line]
        site = self.sites.get(warehouse)
        needs: dict[str, int] = {}
        for line in own:
            if not dropship_supplier(line):
                for sku, each in components_of(line).items():
                    needs[sku] = needs.get(sku, 0) + line["quantity"] * each
        recorded = {d["kind"]: d["inputs"] for d in decisions}
        gifts_seen = [(d["inputs"]["sku"], int(d["inputs"]["units"]), d["outcome"] == "gift")
                      for d in decisions if d["kind"] == "gift" and "sku" in d.get("inputs", {})]

        def gift_stock(sku: str, units: int) -> bool:
            for seen_sku, seen_units, given in gifts_seen:
                if seen_sku == sku and (units <= seen_units if given else units >= seen_units):
                    return given
            if site is not None:
                stock = self.stocks.get(ids.stock_id(site.code, sku))
                return stock is not None and stock.available(site.pick_order("storage")) - needs.get(sku, 0) >= units
            if counted:
                self.report.gifts_assumed += 1
            return True

        skus = {sku for line in own for sku in components_of(line) if sku} | {line["sku"] for line in own
                                                                              if line["sku"]}
        new = SimpleNamespace(remark=e.remark, paid_amount=e.paid_amount, region=e.region, buyer=e.buyer,
                              shop=e.shop, lines=own)
        unknown = sorted({line_label(line) for line in own if unmapped(line)})
        retired = list(recorded.get("retired_sku", {}).get("skus", []))
        return self.book.review(new, e.buyer_ref, unknown, retired, skus, gift_stock, e.timestamp)

    def _split(self, e: Any, lines: list[dict], missing: dict[str, int]) -> bool:
        """Whether the split rule would have split the arriving order (short of `missing` on arrival)."""
        if self.split_rule is None or not missing:
            return False
        order = e.mutate(None)
        order.status, order.hold_reasons = "released", []
        order.lines = {line["line_no"]: dict(line, refunded=0) for line in lines}
        if order.split_by_stock(missing, {}, "what-if"):
            self.split_again.add(e.originator_id)
            return True
        return False

    def _merge(self, e: Any, lines: int) -> bool:
        """Whether the merge rule would have joined the arriving order to an open parcel of the same buyer and
        address (the earliest that may take it), as `Orders` does on import."""
        digest = self.live[e.originator_id].parcel_digest()
        index = self.index.setdefault(digest, OpenParcels(digest))
        for candidate in index.orders:
            if self._may_take(candidate, lines):
                self.merged_again.add(e.originator_id)
                self.lines_again[candidate] += lines
                return True
        index.note(e.originator_id)
        return False

    def _may_take(self, candidate: UUID, lines: int) -> bool:
        """Whether an earlier order may still take another into its parcel, as the replay has it now."""
        order = self.live[candidate]
        if (candidate in self.merged_again or candidate in self.split_again or candidate in self.split_by_hand
                or order.unmapped_lines() or self.lines_again[candidate] + lines > MAX_ORDER_LINES):
            return False
        status = order.status
        if status == "merged":
            if candidate in self.merged_by_hand:
                return False
            status = self.live[order.merged_into].status if order.merged_into in self.live else "released"
        if self.held_again[candidate] and not self.held_live[candidate]:
            return False  # held under the other rules: nobody released it
        if status == "held":  # held on arrival live but not by the other rules: open, as released
            return self.held_live[candidate] and not self.held_again[candidate] and bool(order.hold_reasons)
        return status in MERGEABLE_STATUSES


def review_what_if(app, book: RuleBook, since=None, until=None,
                   progress: Callable[[int], None] | None = None) -> ReviewReport:
    """Per channel, the review figures of the orders imported in the period (business days) as recorded live and
    as the rule set `book` would have made them."""
    first, last = day_range(since, until)
    run = _ReviewReplay(book, first, last)
    head, read = app.recorder.max_notification_id() or 0, 0
    stock = set(_event_topics(Stock) + _event_topics(Warehouse)) if book.enabled("gift") else set()
    for page in log_pages(app, order_topics() + tuple(stock), head):
        for n in page:
            if n.topic in stock:
                run.stock(n, app.mapper.to_domain_event(n))
            else:
                run.follow(n, app.mapper.to_domain_event(n))
        if progress:  # as far into the log as it has read (it reads only the orders' events)
            progress(page[-1].id - read)
            read = page[-1].id
    if progress and head > read:
        progress(head - read)
    return run.close()

