"""Invariants an auditor checks over the event log and the views, each failure named with its events.

- stock matches movements: every bin's figure in the inventory view equals the sum of its ledger movements and
  the sum of its stock events; each ledger row starts where the bin's previous one ended;
- no bin ever below zero: folding every stock event in log order, no bin's on hand or reserved goes negative
  and no bin has more reserved than lies in it;
- reservations match orders: an order being fulfilled holds exactly the units it still needs, a shipped,
  cancelled or waiting order holds none, and nothing is reserved for an order that does not exist;
- shipped orders scanned: every shipped order was picked, its parcel verified by scan and handed over;
- refunds match cases: every refund after shipping belongs to an after-sales case of its order; a case was opened
  on an order already shipped, and the cases of an order refunded at most what it was paid;
- views match a replay: every view's rows equal those of the same views rebuilt from the log elsewhere.

The log is read a page at a time, and only the topics these checks need; what is kept in memory is one figure
per bin, order and parcel, not the events.
"""

import copy
import hashlib
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterator
from uuid import UUID

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Engine

from domain import ids
from domain.after_sales import AfterSalesCase
from domain.fulfilment import Package
from domain.order import Order
from domain.stock import Stock
from domain.transfer import Transfer

from .backoffice import aware
from .inventory import bin_changes, movements, stock_bins
from .tracking import ProjectionRunner, rebuild_together, topics_of

PAGE = 5000
NAMED = 5  # events kept per bin or order to name in a failure
FULFILLING = ("reserved", "waved", "picked", "packed")
HOLDS_NOTHING = ("awaiting_stock", "shipped", "delivered", "cancelled", "merged")
CHECKS = ("stock_matches_movements", "no_bin_below_zero", "reservations_match_orders", "shipped_orders_scanned",
          "lots_within_bins", "transfers_match_stock", "refunds_match_cases", "views_match_replay")


@dataclass
class Failure:
    """One broken invariant: which check, what it is about, what is wrong, and the events behind it."""

    check: str
    subject: str
    problem: str
    events: list[int] = field(default_factory=list)  # notification ids

    def describe(self) -> str:
        named = f" (events {', '.join(f'#{n}' for n in self.events)})" if self.events else ""
        return f"{self.check}: {self.subject}: {self.problem}{named}"


@dataclass
class Report:
    """What `check_log` and `check_views` found."""

    events: int = 0
    checked: dict[str, int] = field(default_factory=dict)  # check → how many things it looked at
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _recent() -> deque:
    return deque(maxlen=NAMED)


class _Fold:
    """The figures the log checks need, folded event by event in notification order."""

    def __init__(self, app):
        self.app = app
        self.streams: dict[UUID, tuple[str, str]] = {}
        self.bins: dict[tuple[str, str, str], list[int]] = {}  # on hand, reserved
        self.bin_events: dict[tuple, deque] = defaultdict(_recent)
        self.held: dict[str, dict[str, int]] = defaultdict(dict)  # order → sku → reserved units
        self.order_events: dict[str, deque] = defaultdict(_recent)
        self.orders: dict[UUID, Order] = {}
        self.order_state: dict[str, tuple[str, dict[str, int]]] = {}  # status, units still to fulfil
        self.shipped: dict[str, int] = {}  # order → its Shipped event
        self.carried_by: dict[str, str] = {}  # order merged into another's parcel → that order
        self.picked: dict[str, int] = Counter()
        self.packages: dict[UUID, str] = {}  # package → order
        self.verified: dict[str, int] = Counter()
        self.handed_over: dict[str, int] = {}
        # (transfer, sku) → [units the transfer says left, units its source's stock let go,
        #                    units the transfer says arrived, units the destination's stock took in]
        self.transfers: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.transfer_events: dict[str, deque] = defaultdict(_recent)
        self.paid: dict[str, Decimal] = {}  # order → what the buyer paid
        self.numbers: dict[str, str] = {}  # order → its platform number
        self.order_refunds: list[tuple[int, str]] = []  # (event, order) of each refund recorded after shipping
        self.cases: dict[str, tuple[str, int]] = {}  # case → (its order, the event that opened it)
        self.case_refunds: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)  # order → (event, amount)
        self.failures: list[Failure] = []
        self.lots: dict[tuple[str, str, str], Counter] = defaultdict(Counter)  # bin → lot → on hand
        self.lots_held: dict[tuple[str, str, str], Counter] = defaultdict(Counter)  # bin → lot → reserved

    def lots_booked(self, n: int, e: Any) -> None:
        for bin, lot, units in e.placed:
            self.lots[(e.warehouse, e.sku, bin)][lot] += units
            self.bin_events[(e.warehouse, e.sku, bin)].append(n)
        for _, bin, lot, units in e.held:
            self.lots_held[(e.warehouse, e.sku, bin)][lot] += units

    def stock(self, n: int, e: Any) -> None:
        if isinstance(e, Stock.Opened):
            self.streams[e.originator_id] = (e.warehouse, e.sku)
            return
        warehouse, sku = self.streams[e.originator_id]
        kind = type(e).__qualname__
        for bin, on_hand, reserved in bin_changes(e):
            key = (warehouse, sku, bin)
            figure = self.bins.setdefault(key, [0, 0])
            figure[0] += on_hand
            figure[1] += reserved
            self.bin_events[key].append(n)
        for bin in {b for b, _, _ in bin_changes(e)}:
            key = (warehouse, sku, bin)
            on_hand, reserved = self.bins[key]
            problem = (f"on hand {on_hand} after {kind}" if on_hand < 0 else
                       f"reserved {reserved} after {kind}" if reserved < 0 else
                       f"{reserved} reserved but {on_hand} on hand after {kind}" if reserved > on_hand else "")
            if problem:
                self.failures.append(Failure("no_bin_below_zero", f"bin {bin} of {sku} in {warehouse}", problem,
                                             list(self.bin_events[key])[-2:]))
        if isinstance(e, (Stock.TransferredOut, Stock.TransferredIn)):
            out = isinstance(e, Stock.TransferredOut)
            figure = self.transfers[(str(e.transfer_id), sku)]
            figure[1 if out else 3] += sum(e.taken.values()) if out else e.quantity
            self.transfer_events[str(e.transfer_id)].append(n)
        for order, units in self._reservation_changes(e):
            held = self.held[order]
            held[sku] = held.get(sku, 0) + units
            if not held[sku]:
                del held[sku]
            self.order_events[order].append(n)

    @staticmethod
    def _reservation_changes(e: Any) -> list[tuple[str, int]]:
        if isinstance(e, Stock.Reserved):
            return [(str(e.order_id), sum(e.allocation.values()))]
        if isinstance(e, Stock.Released):
            return [(str(e.order_id), -sum(e.allocation.values()))]
        if isinstance(e, Stock.Picked):
            return [(str(e.order_id), e.quantity - sum(e.taken.values()))]
        if isinstance(e, Stock.Shipped):
            return [(str(e.order_id), -e.quantity)]
        if isinstance(e, Stock.Adjusted):
            return [(order, -units) for order, units in e.dropped.items()]
        return []

    def order(self, n: int, e: Any) -> None:
        key = str(e.originator_id)
        aggregate = self.orders.get(e.originator_id)
        if aggregate is None and e.originator_version > 1:
            aggregate = self.app.repository.get(e.originator_id, version=e.originator_version - 1)
        aggregate = e.mutate(aggregate)
        self.order_state[key] = (aggregate.status, aggregate.quantities())
        # An order that left the floor rarely changes again: it is loaded back if it does.
        if aggregate.status in ("shipped", "delivered", "cancelled"):
            self.orders.pop(e.originator_id, None)
        else:
            self.orders[e.originator_id] = aggregate
        self.order_events[key].append(n)
        if isinstance(e, Order.Shipped) and not aggregate.all_dropship():
            self.shipped[key] = n  # an order all of whose lines suppliers shipped passed no scanner of ours
        elif isinstance(e, Order.MergedInto):
            self.carried_by[key] = str(e.order_id)  # its units are picked, packed and handed over in that parcel
        elif isinstance(e, Order.MergeUndone):
            self.carried_by.pop(key, None)
        elif isinstance(e, Order.ItemPicked):
            self.picked[key] += e.quantity
        elif isinstance(e, Order.Imported):
            self.paid[key], self.numbers[key] = e.paid_amount, e.platform_order_no
        elif isinstance(e, Order.Refunded) and not e.before_shipment:
            self.order_refunds.append((n, key))

    def case(self, n: int, e: Any) -> None:
        if isinstance(e, AfterSalesCase.Opened):
            order = str(e.order_id)
            self.cases[str(e.originator_id)] = (order, n)
            if order not in self.shipped:
                self.failures.append(Failure(
                    "refunds_match_cases", f"after-sales case {e.channel}/{e.shop}/{e.refund_id}",
                    f"was opened on order {e.order_no}, which had not shipped", [n]))
        elif isinstance(e, AfterSalesCase.Refunded):
            self.case_refunds[str(e.order_id)].append((n, e.amount))

    def transfer(self, n: int, e: Any) -> None:
        key = str(e.originator_id)
        if isinstance(e, Transfer.Shipped):
            for sku, quantity in e.shipped.items():
                self.transfers[(key, sku)][0] += quantity
        elif isinstance(e, Transfer.ItemsSent):
            self.transfers[(key, e.sku)][0] += sum(e.bins.values())
        elif isinstance(e, Transfer.Received):
            self.transfers[(key, e.sku)][2] += e.quantity
        else:
            return
        self.transfer_events[key].append(n)

    def package(self, n: int, e: Any) -> None:
        if isinstance(e, Package.Opened):
            self.packages[e.originator_id] = str(e.order_id)
        order = self.packages.get(e.originator_id)
        if order is None:
            return
        if isinstance(e, Package.ItemVerified):
            self.verified[order] += 1
        elif isinstance(e, Package.HandedOver):
            self.handed_over[order] = n


STOCK_TOPICS = topics_of([Stock.Opened, Stock.Received, Stock.PutAway, Stock.Moved, Stock.Reserved, Stock.Released,
                          Stock.Picked, Stock.Adjusted, Stock.Shipped, Stock.Returned, Stock.Scrapped,
                          Stock.TransferredOut, Stock.TransferredIn])
PACKAGE_TOPICS = topics_of([Package.Opened, Package.ItemVerified, Package.HandedOver])
LOT_TOPICS = topics_of([Stock.LotsBooked])
TRANSFER_TOPICS = topics_of([Transfer.Shipped, Transfer.ItemsSent, Transfer.Received])
CASE_TOPICS = topics_of([AfterSalesCase.Opened, AfterSalesCase.Refunded])


def order_topics() -> tuple[str, ...]:
    classes = [v for v in vars(Order).values() if isinstance(v, type) and issubclass(v, Order.Event)]
    return topics_of(classes)


def log_pages(app, topics: tuple[str, ...], up_to: int) -> Iterator[list]:
    start = 1
    while start <= up_to:
        page = app.recorder.select_notifications(start, PAGE, stop=up_to, topics=topics)
        if not page:
            return
        yield page
        start = page[-1].id + 1


def check_log(app, engine: Engine, up_to: int | None = None) -> Report:
    """Fold the log (up to a notification, or all of it) and check stock, reservations and shipments against it
    and against the inventory view."""
    up_to = up_to if up_to is not None else app.recorder.max_notification_id() or 0
    fold, report = _Fold(app), Report()
    stock, orders, lots = set(STOCK_TOPICS), set(order_topics()), set(LOT_TOPICS)
    transfers, cases = set(TRANSFER_TOPICS), set(CASE_TOPICS)
    decode = app.mapper.to_domain_event
    topics = STOCK_TOPICS + order_topics() + PACKAGE_TOPICS + LOT_TOPICS + TRANSFER_TOPICS + CASE_TOPICS
    for page in log_pages(app, topics, up_to):
        for notification in page:
            e = decode(notification)
            if notification.topic in stock:
                fold.stock(notification.id, e)
            elif notification.topic in lots:
                fold.lots_booked(notification.id, e)
            elif notification.topic in orders:
                fold.order(notification.id, e)
            elif notification.topic in transfers:
                fold.transfer(notification.id, e)
            elif notification.topic in cases:
                fold.case(notification.id, e)
            else:
                fold.package(notification.id, e)
            report.events += 1
    report.failures += fold.failures
    report.checked["no_bin_below_zero"] = len(fold.bins)
    report.failures += _reservations(fold)
    report.checked["reservations_match_orders"] = len(fold.order_state)
    report.failures += _shipments(fold)
    report.checked["shipped_orders_scanned"] = len(fold.shipped)
    report.failures += _lots(fold)
    report.checked["lots_within_bins"] = len(fold.lots)
    report.failures += _transfers(fold)
    report.checked["transfers_match_stock"] = len(fold.transfers)
    report.failures += _stock_against_view(fold, engine)
    report.checked["stock_matches_movements"] = len(fold.bins)
    report.failures += _refunds(fold)
    report.checked["refunds_match_cases"] = len(fold.order_refunds) + sum(map(len, fold.case_refunds.values()))
    return report


def _refunds(fold: _Fold) -> list[Failure]:
    """Refunds after shipping without a case of their order, and orders whose cases refunded more than was paid."""
    failures = []
    with_cases: dict[str, list[int]] = defaultdict(list)
    for case, (order, opened) in fold.cases.items():
        with_cases[order].append(opened)
    for n, order in fold.order_refunds:
        if order not in with_cases:
            failures.append(Failure("refunds_match_cases", f"order {fold.numbers.get(order, order)}",
                                    "was refunded after shipping with no after-sales case", [n]))
    for order, refunds in sorted(fold.case_refunds.items()):
        total = sum((amount for _, amount in refunds), Decimal("0"))
        paid = fold.paid.get(order)
        if paid is None:
            failures.append(Failure("refunds_match_cases", f"order {order}",
                                    "has after-sales refunds but was never imported", [n for n, _ in refunds]))
        elif total > paid:
            failures.append(Failure("refunds_match_cases", f"order {fold.numbers[order]}",
                                    f"its after-sales cases refunded {total} but it was paid {paid}",
                                    [*with_cases[order], *(n for n, _ in refunds)][-NAMED:]))
    return failures


def _units(units: dict[str, int]) -> str:
    return ", ".join(f"{sku}×{n}" for sku, n in sorted(units.items())) or "nothing"


def _reservations(fold: _Fold) -> list[Failure]:
    failures = []
    for order in sorted(set(fold.order_state) | set(fold.held)):
        held = fold.held.get(order, {})
        events = list(fold.order_events[order])
        if order not in fold.order_state:
            if held:
                failures.append(Failure("reservations_match_orders", f"order {order}",
                                        f"holds {_units(held)} but was never imported", events))
            continue
        status, wanted = fold.order_state[order]
        problem = ""
        if any(n < 0 for n in held.values()):
            problem = f"is {status} and holds a negative reservation: {_units(held)}"
        elif status in FULFILLING and held != wanted:
            problem = f"is {status} and needs {_units(wanted)} but holds {_units(held)}"
        elif status in HOLDS_NOTHING and held:
            problem = f"is {status} but still holds {_units(held)}"
        elif any(n > wanted.get(sku, 0) for sku, n in held.items()):
            problem = f"is {status} and holds {_units(held)}, more than the {_units(wanted)} it needs"
        if problem:
            failures.append(Failure("reservations_match_orders", f"order {order}", problem, events))
    return failures


def _transfers(fold: _Fold) -> list[Failure]:
    """Every unit a transfer says left its source left that warehouse's bins, and every unit it says arrived came
    into the destination's bins: no stock made or lost between warehouses."""
    failures = []
    for (transfer, sku), (sent, let_go, arrived, taken_in) in sorted(fold.transfers.items()):
        problem = (f"says {sent} {sku} left but the source's bins let go of {let_go}" if sent != let_go else
                   f"says {arrived} {sku} arrived but the destination's bins took in {taken_in}"
                   if arrived != taken_in else "")
        if problem:
            failures.append(Failure("transfers_match_stock", f"transfer {transfer}", problem,
                                    list(fold.transfer_events[transfer])))
    return failures


def _shipments(fold: _Fold) -> list[Failure]:
    failures = []
    for shipped_order, shipped_at in sorted(fold.shipped.items(), key=lambda item: item[1]):
        order = fold.carried_by.get(shipped_order, shipped_order)
        missing = [what for what, seen in (("pick", fold.picked[order]), ("pack", fold.verified[order]),
                                           ("hand-over", order in fold.handed_over)) if not seen]
        if missing:
            failures.append(Failure("shipped_orders_scanned", f"order {shipped_order}",
                                    f"shipped without {', '.join(missing)} scans", [shipped_at]))
        elif fold.verified[order] < fold.picked[order]:
            failures.append(Failure("shipped_orders_scanned", f"order {shipped_order}",
                                    f"shipped with {fold.verified[order]} of {fold.picked[order]} picked units "
                                    "verified at packing", [shipped_at]))
    return failures


def _lots(fold: _Fold) -> list[Failure]:
    """Each bin's lots are units it holds: none negative, together at most its on hand, and the lots orders hold
    are lots in the bin and together at most what it has reserved."""
    failures = []
    for key in sorted(set(fold.lots) | set(fold.lots_held)):
        warehouse, sku, bin = key
        on_hand, reserved = fold.bins.get(key, [0, 0])
        lots, held = fold.lots[key], fold.lots_held[key]
        problem = (f"lot {next(l for l, n in lots.items() if n < 0)} below zero" if any(n < 0 for n in lots.values())
                   else f"{sum(lots.values())} units in lots but {on_hand} on hand" if sum(lots.values()) > on_hand
                   else f"lot {next(l for l, n in held.items() if not 0 <= n <= lots[l])} held beyond what lies here"
                   if any(not 0 <= n <= lots[l] for l, n in held.items())
                   else f"{sum(held.values())} units of lots held but {reserved} reserved"
                   if sum(held.values()) > reserved else "")
        if problem:
            failures.append(Failure("lots_within_bins", f"bin {bin} of {sku} in {warehouse}", problem,
                                    list(fold.bin_events[key])[-2:]))
    return failures


def _stock_against_view(fold: _Fold, engine: Engine) -> list[Failure]:
    failures = []
    with engine.connect() as conn:
        view = {(r.warehouse, r.sku, r.bin): (r.on_hand, r.reserved) for r in conn.execute(select(stock_bins))}
        ledger = {(r.warehouse, r.sku, r.bin): (r.on_hand, r.reserved, r.last) for r in conn.execute(
            select(movements.c.warehouse, movements.c.sku, movements.c.bin,
                   func.sum(movements.c.on_hand_after - movements.c.on_hand_before).label("on_hand"),
                   func.sum(movements.c.reserved_after - movements.c.reserved_before).label("reserved"),
                   func.max(movements.c.notification_id).label("last"))
            .group_by(movements.c.warehouse, movements.c.sku, movements.c.bin))}
        breaks = conn.execute(_ledger_breaks()).all()
    for key in sorted(set(view) | set(ledger) | set(fold.bins)):
        warehouse, sku, bin = key
        shown = tuple(view.get(key, (0, 0)))
        summed = tuple(ledger[key][:2]) if key in ledger else (0, 0)
        replayed = tuple(fold.bins.get(key, (0, 0)))
        events = list(fold.bin_events.get(key, ()))[-3:] or ([ledger[key][2]] if key in ledger else [])
        subject = f"bin {bin} of {sku} in {warehouse}"
        if shown != summed:
            failures.append(Failure("stock_matches_movements", subject,
                                    f"the view shows {_figure(shown)} but its movements add up to {_figure(summed)}",
                                    events))
        if summed != replayed:
            failures.append(Failure("stock_matches_movements", subject,
                                    f"the movements add up to {_figure(summed)} but the stock events to "
                                    f"{_figure(replayed)}", events))
    for row in breaks:
        failures.append(Failure("stock_matches_movements", f"bin {row.bin} of {row.sku} in {row.warehouse}",
                                f"movement {row.sequence} starts at {_figure((row.on_hand_before, row.reserved_before))}"
                                f" but the one before ended at {_figure((row.prev_on_hand, row.prev_reserved))}",
                                [row.notification_id]))
    return failures


def _figure(pair) -> str:
    return f"{pair[0]} on hand, {pair[1]} reserved"


def _ledger_breaks():
    """Ledger rows whose balance before differs from the bin's previous row's balance after."""
    window = {"partition_by": (movements.c.warehouse, movements.c.sku, movements.c.bin),
              "order_by": movements.c.sequence}
    ordered = select(movements.c.warehouse, movements.c.sku, movements.c.bin, movements.c.sequence,
                     movements.c.notification_id, movements.c.on_hand_before, movements.c.reserved_before,
                     func.lag(movements.c.on_hand_after).over(**window).label("prev_on_hand"),
                     func.lag(movements.c.reserved_after).over(**window).label("prev_reserved")).subquery()
    return (select(ordered).where(ordered.c.prev_on_hand.is_not(None))
            .where((ordered.c.on_hand_before != ordered.c.prev_on_hand)
                   | (ordered.c.reserved_before != ordered.c.prev_reserved))
            .order_by(ordered.c.notification_id))


# Views against a replay

BUCKETS = 256


def replay_into(runners: list[ProjectionRunner], scratch: Engine, progress: Callable[[int], None] | None = None,
                up_to: int | None = None) -> list[ProjectionRunner]:
    """The same projections, rebuilt from the same log into another database (the live views are not touched)."""
    replayed = []
    for runner in runners:
        projection = copy.copy(runner.projection)
        projection.reset_memory()
        clone = type(runner)(runner.app, scratch, projection, runner.batch_size)
        clone.setup()
        replayed.append(clone)
    rebuild_together(replayed, progress)
    return replayed


def check_views(runners: list[ProjectionRunner], scratch: Engine,
                progress: Callable[[int], None] | None = None) -> Report:
    """Rebuild the views into the scratch database and compare every table's rows with the live ones. The live
    views are brought up to the end of the log first."""
    report = Report()
    for runner in runners:
        runner.catch_up()
    replayed = replay_into(runners, scratch, progress)
    for live, again in zip(runners, replayed):
        at_live, at_replay = live.position(), again.position()
        if at_live != at_replay:
            report.failures.append(Failure("views_match_replay", f"view {live.projection.name}",
                                           f"stands at notification {at_live}, the replay at {at_replay}", []))
            continue
        rows, failures = compare_views([live.projection], live.engine, again.engine)
        report.checked["views_match_replay"] = report.checked.get("views_match_replay", 0) + rows
        report.failures += failures
    return report


def compare_views(projections: list, engine: Engine, other: Engine) -> tuple[int, list[Failure]]:
    """Every table of the projections in one views database against another (of either dialect): how many rows
    were compared, and each row found on one side only."""
    rows, failures = 0, []
    for projection in projections:
        for table in projection.metadata.sorted_tables:
            compared, differing = _compare(table, engine, other)
            rows += compared
            failures += differing
    return rows, failures


def _columns(table: Table) -> list:
    return [c for c in table.columns if c is not table.autoincrement_column]


def _canonical(value: Any) -> Any:
    """A value as both databases hand it back: instants in UTC, decimals without trailing zeros."""
    if isinstance(value, datetime):
        return aware(value).astimezone(timezone.utc).isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _digest(row: tuple) -> bytes:
    return hashlib.sha256(repr(tuple(_canonical(v) for v in row)).encode("utf-8")).digest()


def _sums(table: Table, engine: Engine) -> tuple[int, list[int]]:
    """Rows, and per bucket the sum of the rows' digests (a multiset's fingerprint, in any order)."""
    sums, rows = [0] * BUCKETS, 0
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=PAGE).execute(select(*_columns(table)))
        for row in result:
            digest = _digest(tuple(row))
            sums[digest[0]] += int.from_bytes(digest, "big")
            rows += 1
    return rows, sums


def _rows_in(table: Table, engine: Engine, buckets: set[int]) -> Counter:
    found = Counter()
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=PAGE).execute(select(*_columns(table)))
        for row in result:
            values = tuple(_canonical(v) for v in row)
            if _digest(values)[0] in buckets:
                found[values] += 1
    return found


def _compare(table: Table, live: Engine, replayed: Engine) -> tuple[int, list[Failure]]:
    """Rows of one table in the live views against the replay: only the buckets whose fingerprints differ are
    read again, so memory holds the differing rows' neighbours, not the table."""
    rows, ours = _sums(table, live)
    _, theirs = _sums(table, replayed)
    differing = {b for b in range(BUCKETS) if ours[b] != theirs[b]}
    if not differing:
        return rows, []
    names = [c.name for c in _columns(table)]
    here, there = _rows_in(table, live, differing), _rows_in(table, replayed, differing)
    failures = []
    for values in sorted(here - there, key=repr):
        failures.append(_row_failure(table, names, values, "is in the view but not in a replay of the log"))
    for values in sorted(there - here, key=repr):
        failures.append(_row_failure(table, names, values, "is missing from the view (a replay of the log has it)"))
    return rows, failures


def _row_failure(table: Table, names: list[str], values: tuple, problem: str) -> Failure:
    row = dict(zip(names, values))
    events = [row["notification_id"]] if isinstance(row.get("notification_id"), int) else []
    shown = ", ".join(f"{k}={v}" for k, v in row.items())
    return Failure("views_match_replay", f"table {table.name}", f"row ({shown}) {problem}", events)
