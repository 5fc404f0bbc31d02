"""Stock of one SKU in one warehouse: how many units lie in each bin, and which orders have claimed them."""

from copy import deepcopy
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from . import ids
from .errors import (
    AlreadyReserved,
    BinEmpty,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
    NotReserved,
)
from .limits import MAX_UNITS


def check_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_UNITS:
        raise InvalidQuantity(f"quantity must be a whole number from 1 to {MAX_UNITS:,}, got {quantity!r}")
    return quantity


class Stock(Aggregate):
    """On hand per bin and reservations per order (each an allocation of units to bins).

    Invariants: no bin is ever negative, a bin's reservations never exceed what lies in it, and one order
    reserves at most once.
    """

    @staticmethod
    def create_id(warehouse: str, sku: str) -> UUID:
        return ids.stock_id(warehouse, sku)

    @event("Opened")
    def __init__(self, warehouse: str, sku: str):
        self.warehouse = warehouse
        self.sku = sku
        self.on_hand: dict[str, int] = {}
        self.reservations: dict[str, dict[str, int]] = {}
        self.reserved: dict[str, int] = {}

    def __deepcopy__(self, memo: dict) -> "Stock":
        """Bins and reservations hold only strings and numbers: copying their dicts is enough, and far cheaper than
        a generic deep copy of a best-seller with thousands of open reservations."""
        copy = object.__new__(type(self))
        memo[id(self)] = copy
        for name, value in self.__dict__.items():
            if name == "reservations":
                copy.__dict__[name] = {order: dict(allocation) for order, allocation in value.items()}
            elif name in ("on_hand", "reserved"):
                copy.__dict__[name] = dict(value)
            else:
                copy.__dict__[name] = deepcopy(value, memo)
        return copy

    # Reading

    def reserved_in(self, bin: str) -> int:
        return self.reserved.get(bin, 0)

    def free_in(self, bin: str) -> int:
        return self.on_hand.get(bin, 0) - self.reserved_in(bin)

    def total_on_hand(self) -> int:
        return sum(self.on_hand.values())

    def reserved_for(self, order_id: UUID) -> dict[str, int]:
        return dict(self.reservations.get(str(order_id), {}))

    def available(self, pick_order: dict[str, int]) -> int:
        """Free units in the given bins (bin → pick sequence)."""
        return sum(max(self.free_in(b), 0) for b in self.on_hand if b in pick_order)

    # Commands

    def receive(self, bin: str, quantity: int, reference: str, by: str) -> None:
        self._received(bin, check_quantity(quantity), reference or "", by)

    def put_away(self, from_bin: str, to_bin: str, quantity: int, by: str) -> None:
        self._check_movable(from_bin, to_bin, quantity)
        self._put_away(from_bin, to_bin, quantity, by)

    def move(self, from_bin: str, to_bin: str, quantity: int, by: str) -> None:
        self._check_movable(from_bin, to_bin, quantity)
        self._moved(from_bin, to_bin, quantity, by)

    def reserve(self, order_id: UUID, quantity: int, pick_order: dict[str, int], by: str) -> dict[str, int]:
        """Allocate units to the order from the given bins (bin → pick sequence), earliest in the walk first."""
        check_quantity(quantity)
        if str(order_id) in self.reservations:
            raise AlreadyReserved(f"order {order_id} already holds a reservation of SKU {self.sku}")
        allocation = self._allocation(quantity, pick_order)
        self._reserved(order_id, allocation, by)
        return allocation

    def reserve_more(self, order_id: UUID, quantity: int, pick_order: dict[str, int], by: str) -> dict[str, int]:
        """Add free units to what the order already holds (a held order released again), never more than is free."""
        allocation = self._allocation(check_quantity(quantity), pick_order)
        self._reserved(order_id, allocation, by)
        return allocation

    def _allocation(self, quantity: int, pick_order: dict[str, int]) -> dict[str, int]:
        available = self.available(pick_order)
        if available < quantity:
            raise InsufficientStock(
                f"SKU {self.sku} in {self.warehouse}: {quantity} wanted, {available} available"
            )
        allocation, wanted = {}, quantity
        for bin in sorted((b for b in self.on_hand if b in pick_order), key=lambda b: (pick_order[b], b)):
            take = min(max(self.free_in(bin), 0), wanted)
            if take:
                allocation[bin] = take
                wanted -= take
            if not wanted:
                break
        return allocation

    def release(self, order_id: UUID, reason: str, by: str, quantity: int | None = None,
                bins: list[str] | None = None) -> None:
        """Release the order's reservation: all of it, or the given units (from the last bins first, only from the
        given bins when named)."""
        allocation = self.reservations.get(str(order_id))
        if not allocation:
            raise NotReserved(f"order {order_id} holds no reservation of SKU {self.sku}")
        if quantity is not None:
            check_quantity(quantity)
            partial, wanted = {}, quantity
            for bin, allocated in reversed(list(allocation.items())):
                if wanted and (bins is None or bin in bins):
                    partial[bin] = min(allocated, wanted)
                    wanted -= partial[bin]
            allocation = partial
        self._released(order_id, dict(allocation), reason, by)

    def pick(self, order_id: UUID, from_bin: str, to_bin: str, quantity: int, by: str) -> None:
        """Take reserved units out of a bin into the packing area.

        Picking from a bin other than the allocated one (a short bin) moves the allocation with the units.
        """
        check_quantity(quantity)
        allocation = self.reservations.get(str(order_id), {})
        if sum(allocation.values()) < quantity:
            raise NotReserved(
                f"order {order_id} has {sum(allocation.values())} of SKU {self.sku} left to pick, not {quantity}"
            )
        here = min(allocation.get(from_bin, 0), quantity)
        if self.on_hand.get(from_bin, 0) < quantity or self.free_in(from_bin) < quantity - here:
            raise BinEmpty(f"bin {from_bin} holds no free {self.sku} for this pick")
        taken, wanted = ({from_bin: here} if here else {}), quantity - here
        for bin, allocated in allocation.items():
            if wanted and bin != from_bin:
                take = min(allocated, wanted)
                taken[bin] = take
                wanted -= take
        self._picked(order_id, from_bin, to_bin, quantity, taken, by)

    def count(self, bin: str, counted: int, reason: str, by: str) -> int:
        """Record a counted quantity; returns the difference. Reservations that no longer fit are dropped."""
        if isinstance(counted, bool) or not isinstance(counted, int) or not 0 <= counted <= MAX_UNITS:
            raise InvalidQuantity(f"a counted quantity must be a whole number from 0 to {MAX_UNITS:,}, got {counted!r}")
        if not (reason or "").strip():
            raise InvalidInput("a count adjustment needs a reason")
        difference = counted - self.on_hand.get(bin, 0)
        if difference == 0:
            return 0
        excess, dropped = self.reserved_in(bin) - counted, {}
        for order, alloc in reversed(list(self.reservations.items())):
            if excess <= 0:
                break
            take = min(alloc.get(bin, 0), excess)
            if take:
                dropped[order] = take
                excess -= take
        self._adjusted(bin, counted, difference, reason.strip(), dropped, by)
        return difference

    def ship(self, order_id: UUID, bin: str, quantity: int, by: str) -> None:
        check_quantity(quantity)
        if self.reservations.get(str(order_id), {}).get(bin, 0) < quantity:
            raise NotReserved(f"order {order_id} has fewer than {quantity} of SKU {self.sku} packed in {bin}")
        self._shipped(order_id, bin, quantity, by)

    def return_(self, order_id: UUID, bin: str, quantity: int, by: str) -> None:
        self._returned(order_id, bin, check_quantity(quantity), by)

    def scrap(self, bin: str, quantity: int, reason: str, by: str) -> None:
        check_quantity(quantity)
        if not (reason or "").strip():
            raise InvalidInput("scrapping needs a reason")
        if self.free_in(bin) < quantity:
            raise BinEmpty(f"bin {bin} holds {max(self.free_in(bin), 0)} free {self.sku}, cannot scrap {quantity}")
        self._scrapped(bin, quantity, reason.strip(), by)

    def _check_movable(self, from_bin: str, to_bin: str, quantity: int) -> None:
        check_quantity(quantity)
        if from_bin == to_bin:
            raise InvalidInput(f"moving from {from_bin} to itself")
        if self.free_in(from_bin) < quantity:
            raise BinEmpty(f"bin {from_bin} holds {max(self.free_in(from_bin), 0)} free {self.sku}, not {quantity}")

    # Events: each applies exactly the effect it names, so replays need no guards.

    def _add(self, bin: str, quantity: int) -> None:
        left = self.on_hand.get(bin, 0) + quantity
        if left:
            self.on_hand[bin] = left
        else:
            self.on_hand.pop(bin, None)

    def _allocate(self, order_id: UUID, bin: str, quantity: int) -> None:
        alloc = self.reservations.setdefault(str(order_id), {})
        left = alloc.get(bin, 0) + quantity
        if left:
            alloc[bin] = left
        else:
            alloc.pop(bin, None)
        if not alloc:
            del self.reservations[str(order_id)]
        in_bin = self.reserved.get(bin, 0) + quantity
        if in_bin:
            self.reserved[bin] = in_bin
        else:
            self.reserved.pop(bin, None)

    @event("Received")
    def _received(self, bin: str, quantity: int, reference: str, by: str) -> None:
        self._add(bin, quantity)

    @event("PutAway")
    def _put_away(self, from_bin: str, to_bin: str, quantity: int, by: str) -> None:
        self._add(from_bin, -quantity)
        self._add(to_bin, quantity)

    @event("Moved")
    def _moved(self, from_bin: str, to_bin: str, quantity: int, by: str) -> None:
        self._add(from_bin, -quantity)
        self._add(to_bin, quantity)

    @event("Reserved")
    def _reserved(self, order_id: UUID, allocation: dict[str, int], by: str) -> None:
        for bin, quantity in allocation.items():
            self._allocate(order_id, bin, quantity)

    @event("Released")
    def _released(self, order_id: UUID, allocation: dict[str, int], reason: str, by: str) -> None:
        for bin, quantity in allocation.items():
            self._allocate(order_id, bin, -quantity)

    @event("Picked")
    def _picked(self, order_id: UUID, from_bin: str, to_bin: str, quantity: int, taken: dict[str, int], by: str):
        for bin, n in taken.items():
            self._allocate(order_id, bin, -n)
        self._add(from_bin, -quantity)
        self._add(to_bin, quantity)
        self._allocate(order_id, to_bin, quantity)

    @event("Adjusted")
    def _adjusted(self, bin: str, counted: int, difference: int, reason: str, dropped: dict[str, int], by: str):
        self._add(bin, difference)
        for order, n in dropped.items():
            self._allocate(UUID(order), bin, -n)

    @event("Shipped")
    def _shipped(self, order_id: UUID, bin: str, quantity: int, by: str) -> None:
        self._allocate(order_id, bin, -quantity)
        self._add(bin, -quantity)

    @event("Returned")
    def _returned(self, order_id: UUID, bin: str, quantity: int, by: str) -> None:
        self._add(bin, quantity)

    @event("Scrapped")
    def _scrapped(self, bin: str, quantity: int, reason: str, by: str) -> None:
        self._add(bin, -quantity)
