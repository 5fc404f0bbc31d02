"""Cycle counts that keep every reservation true.

A count below what a bin holds for orders takes those units from under the orders. Each order then gets the units
again from other bins, or leaves its wave and goes back to awaiting stock (reserved again at once where other bins
have its units), or, when its picking has begun, has the bin's lines marked short and is held, as a short pick would.
All of it is saved with the count, as events.
"""

from uuid import UUID

from .. import ids
from ..errors import CountBelowPicked, InsufficientStock, UnknownWave
from ..order import Order
from ..scanning import CountAdjustment, UnknownCountRequest
from ..stock import Stock
from ..warehouse import Warehouse
from .inventory import Inventory
from .orders import Orders
from .store import EventStore, retry_on_conflict


class Counts:
    """Cycle counts that keep every reservation true: no order is left holding units a count found gone."""

    def __init__(self, store: EventStore, inventory: Inventory, orders: Orders):
        self.store = store
        self.inventory = inventory
        self.orders = orders

    @retry_on_conflict
    def count(self, warehouse: str, sku: str, bin: str, counted: int, reason: str, by: str) -> int:
        """Record a cycle count; returns the difference booked as an adjustment."""
        difference, changed = self._book(warehouse, sku, bin, counted, reason, by)
        if difference:
            self.store.save(*changed)
        return difference

    @retry_on_conflict
    def approve_count_adjustment(self, request_id: UUID, by: str) -> int:
        """Book a held count: the counted quantity is set in the bin; returns the difference booked."""
        request = self.store.get(request_id, UnknownCountRequest(f"no count adjustment {request_id}"))
        if not isinstance(request, CountAdjustment):
            raise UnknownCountRequest(f"no count adjustment {request_id}")
        request.approve(by)
        difference, changed = self._book(request.warehouse, request.sku, request.bin, request.counted,
                                         f"{request.reason}, approved by {by}", by)
        self.store.save(request, *changed)
        return difference

    def _book(self, warehouse: str, sku: str, bin: str, counted: int, reason: str, by: str) -> tuple[int, list]:
        """Count the bin and see to every order that loses units in it; returns the difference and what changed."""
        site = self.inventory.warehouse(warehouse, to_change=False)
        self.inventory.check_bin(site, bin)
        stock = self.inventory.stock_of(warehouse, sku, create=True)
        held = {UUID(order): alloc[bin] for order, alloc in stock.reservations.items() if alloc.get(bin)}
        orders = {order_id: self.orders.order(order_id) for order_id in held} if counted < sum(held.values()) else {}
        picked = sorted(o.platform_order_no for o in orders.values() if o.status in ("picked", "packed"))
        if picked:
            raise CountBelowPicked(f"bin {bin} holds {sku} picked for order {', '.join(picked)}: pack or return "
                                   f"those units before counting the bin below them")
        difference = stock.count(bin, counted, reason, by)
        lost = {order_id: n - stock.reserved_for(order_id).get(bin, 0) for order_id, n in held.items()}
        stocks: dict[UUID, Stock] = {stock.id: stock}
        changed: dict[UUID, object] = {}
        for order_id, units in lost.items():
            if units > 0:
                self._see_to(orders[order_id], site, stocks, changed, sku, bin, units, by)
        return difference, [*stocks.values(), *changed.values()]

    def _see_to(self, order: Order, site: Warehouse, stocks: dict[UUID, Stock], changed: dict, sku: str, bin: str,
                units: int, by: str) -> None:
        """Give an order that lost units in a counted bin its units back from other bins, or send it back."""
        why = f"count of bin {bin} found {sku} short"
        stock = stocks[ids.stock_id(site.code, sku)]
        if order.status != "waved":
            try:
                stock.reserve_more(order.id, units, site.pick_order("storage"), by, self.inventory.business_day())
                return
            except InsufficientStock:
                self._release_all(order, site, stocks, why, by)
                if order.status == "reserved":
                    order.lose_stock(site.code, {sku: units})
                    changed[order.id] = order
                return
        wave = changed.get(order.wave_id) or self.store.get(order.wave_id, UnknownWave(f"unknown wave {order.wave_id}"))
        changed[wave.id] = wave
        changed[order.id] = order
        if order.picked:
            for index in wave.open_lines_of(order.id, sku, bin):
                line = wave.lines[index]
                wave.mark_short(index, line["quantity"] - line["picked"], by)
            left = stock.reserved_for(order.id).get(bin, 0)
            if left:
                stock.release(order.id, why, by, quantity=left, bins=[bin])
            order.hold(f"count short: {sku}×{units} in {bin}", by)
            return
        wave.withdraw_order(order.id, by)
        self._release_all(order, site, stocks, why, by)
        order.lose_stock(site.code, {sku: units})
        self.orders.reserve_among(order, site, stocks, by)

    def _release_all(self, order: Order, site: Warehouse, stocks: dict[UUID, Stock], reason: str, by: str) -> None:
        for sku in order.quantities():
            key = ids.stock_id(site.code, sku)
            if key not in stocks:
                try:
                    stocks[key] = self.inventory.stock_of(site.code, sku)
                except InsufficientStock:
                    continue
            if stocks[key].reserved_for(order.id):
                stocks[key].release(order.id, reason, by)

