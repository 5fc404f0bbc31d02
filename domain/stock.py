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
    LotExpiryMismatch,
    NotReserved,
    WrongLotScanned,
)
from .limits import MAX_UNITS


NO_LOT = ""  # units of a SKU not told apart by lot: every unit of a SKU that is not lot tracked
NO_EXPIRY = "9999-12-31"  # units without a lot go after every dated lot


def check_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_UNITS:
        raise InvalidQuantity(f"quantity must be a whole number from 1 to {MAX_UNITS:,}, got {quantity!r}",
                          key="refusal:quantity_range", most=f"{MAX_UNITS:,}", got=repr(quantity))
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
            elif name in ("on_hand", "reserved", "expiry"):
                copy.__dict__[name] = dict(value)
            elif name in ("lots", "held_in", "shipped"):
                copy.__dict__[name] = {key: dict(inner) for key, inner in value.items()}
            elif name == "held":
                copy.__dict__[name] = {order: {bin: dict(lots) for bin, lots in bins.items()}
                                       for order, bins in value.items()}
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

    def available(self, pick_order: dict[str, int], today: str = "") -> int:
        """Free units in the given bins (bin → pick sequence); with `today`, none of an expired lot."""
        if today and self.has_lots():
            return sum(n for b in self.on_hand if b in pick_order for _, n in self.free_lots(b, today))
        return sum(max(self.free_in(b), 0) for b in self.on_hand if b in pick_order)

    # Lots (批次). A bin's units are told apart by lot only where a lot was received: `lots` holds the units of each
    # lot per bin and whatever else lies in the bin is of no lot, so a SKU that is not lot tracked (and a stock saved
    # before lots existed) reads and folds exactly as before. `held` says which lots an order's reserved units are
    # (`held_in` their totals per bin), `shipped` which lots left with each order. Lot state lives in `LotsBooked`
    # events, recorded beside the bin events they go with, so every view of bins folds as it always did.

    def has_lots(self) -> bool:
        return bool(self.__dict__.get("lots") or self.__dict__.get("held"))

    def lots_in(self, bin: str) -> dict[str, int]:
        return dict(self.__dict__.get("lots", {}).get(bin, {}))

    def expiry_of(self, lot: str) -> str:
        return self.__dict__.get("expiry", {}).get(lot, NO_EXPIRY) if lot else NO_EXPIRY

    def held_lots(self, order_id: UUID) -> dict[str, dict[str, int]]:
        """The lots of the order's reserved units, per bin."""
        return {b: dict(lots) for b, lots in self.__dict__.get("held", {}).get(str(order_id), {}).items()}

    def shipped_lots(self, order_id: UUID) -> dict[str, int]:
        return dict(self.__dict__.get("shipped", {}).get(str(order_id), {}))

    def _held_in(self, bin: str) -> dict[str, int]:
        """Units of each lot held for orders in a bin."""
        return dict(self.__dict__.get("held_in", {}).get(bin, {}))

    def _fefo(self, lots) -> list[str]:
        return sorted(lots, key=lambda lot: (self.expiry_of(lot), lot))

    def free_lots(self, bin: str, today: str = "") -> list[tuple[str, int]]:
        """Free units in a bin per lot, first expiring first, units of no lot last; with `today`, no expired lot."""
        lots, held = self.__dict__.get("lots", {}).get(bin, {}), self._held_in(bin)
        free = [(lot, lots[lot] - held.get(lot, 0)) for lot in self._fefo(lots)
                if lots[lot] > held.get(lot, 0) and not (today and self.expiry_of(lot) < today)]
        loose = self.on_hand.get(bin, 0) - sum(lots.values()) - (self.reserved_in(bin) - sum(held.values()))
        return free + ([(NO_LOT, loose)] if loose > 0 else [])

    @staticmethod
    def _take(offered, quantity: int) -> list[tuple[str, int]]:
        taken, wanted = [], quantity
        for lot, n in offered:
            if not wanted:
                break
            if n > 0:
                taken.append((lot, min(n, wanted)))
                wanted -= taken[-1][1]
        return taken

    def _own_in(self, order_id, bin: str) -> tuple[dict[str, int], int]:
        """The order's lots held in the bin, and its held units there of no lot."""
        own = self.__dict__.get("held", {}).get(str(order_id), {}).get(bin, {})
        return dict(own), self.reservations.get(str(order_id), {}).get(bin, 0) - sum(own.values())

    def _let_go(self, own: dict[str, int], loose: int, quantity: int) -> list[tuple[str, int]]:
        """Which held lots an order lets go of when `quantity` of its units in a bin are released: units of no lot
        first, then the latest expiring, so what it keeps is what expires first."""
        return self._take(((lot, own[lot]) for lot in reversed(self._fefo(own))), quantity - min(max(loose, 0), quantity))

    def _book_lots(self, by: str, placed=(), held=(), shipped=(), expiry=None) -> None:
        if placed or held or shipped:
            self._lots_booked(self.warehouse, self.sku, [list(p) for p in placed], [list(h) for h in held],
                              [list(s) for s in shipped], dict(expiry or {}), by)

    def _free_units(self, bin: str, quantity: int, lot: str) -> list[tuple[str, int]]:
        """The lots of `quantity` free units leaving a bin: the named lot, or first expiring first."""
        free = self.free_lots(bin)
        if lot and lot in self.lots_in(bin):
            if dict(free).get(lot, 0) < quantity:
                raise BinEmpty(f"bin {bin} holds {dict(free).get(lot, 0)} free {self.sku} of lot {lot}, not {quantity}")
            return [(lot, quantity)]
        return self._take(free, quantity)

    def _moved_lots(self, from_bin: str, to_bin: str, quantity: int, lot: str) -> list[list]:
        if not self.has_lots():
            return []
        return [p for lot, n in self._free_units(from_bin, quantity, lot) if lot
                for p in ([from_bin, lot, -n], [to_bin, lot, n])]

    # Commands

    def receive(self, bin: str, quantity: int, reference: str, by: str, lot: str = "", expiry: str = "") -> None:
        """Receive units into a bin; with a lot, as units of that lot (one lot has one expiry date)."""
        check_quantity(quantity)
        if lot and self.__dict__.get("expiry", {}).get(lot, expiry) != expiry:
            raise LotExpiryMismatch(f"lot {lot} of {self.sku} expires on {self.expiry_of(lot)}, not {expiry}")
        self._received(bin, quantity, reference or "", by)
        if lot:
            self._book_lots(by, placed=[[bin, lot, quantity]], expiry={lot: expiry})

    def put_away(self, from_bin: str, to_bin: str, quantity: int, by: str, lot: str = "") -> None:
        self._check_movable(from_bin, to_bin, quantity)
        placed = self._moved_lots(from_bin, to_bin, quantity, lot)
        self._put_away(from_bin, to_bin, quantity, by)
        self._book_lots(by, placed)

    def move(self, from_bin: str, to_bin: str, quantity: int, by: str, lot: str = "") -> None:
        self._check_movable(from_bin, to_bin, quantity)
        placed = self._moved_lots(from_bin, to_bin, quantity, lot)
        self._moved(from_bin, to_bin, quantity, by)
        self._book_lots(by, placed)

    def reserve(self, order_id: UUID, quantity: int, pick_order: dict[str, int], by: str,
                today: str = "") -> dict[str, int]:
        """Allocate units to the order from the given bins (bin → pick sequence), earliest in the walk first; of a
        lot-tracked SKU, first expiring first (FEFO), never a lot expired before `today`."""
        check_quantity(quantity)
        if str(order_id) in self.reservations:
            raise AlreadyReserved(f"order {order_id} already holds a reservation of SKU {self.sku}")
        return self._reserve_units(order_id, quantity, pick_order, by, today)

    def reserve_more(self, order_id: UUID, quantity: int, pick_order: dict[str, int], by: str,
                     today: str = "") -> dict[str, int]:
        """Add free units to what the order already holds (a held order released again), never more than is free."""
        return self._reserve_units(order_id, check_quantity(quantity), pick_order, by, today)

    def _reserve_units(self, order_id: UUID, quantity: int, pick_order: dict[str, int], by: str,
                       today: str) -> dict[str, int]:
        if not self.has_lots():
            allocation = self._allocation(quantity, pick_order)
            self._reserved(order_id, allocation, by)
            return allocation
        allocation, held = self._lot_allocation(quantity, pick_order, today)
        self._reserved(order_id, allocation, by)
        self._book_lots(by, held=[[str(order_id), bin, lot, n] for bin, lot, n in held])
        return allocation

    def _lot_allocation(self, quantity: int, pick_order: dict[str, int], today: str):
        offered = sorted((self.expiry_of(lot), pick_order[b], b, lot, n)
                         for b in self.on_hand if b in pick_order for lot, n in self.free_lots(b, today))
        available = sum(n for *_, n in offered)
        if available < quantity:
            raise InsufficientStock(f"SKU {self.sku} in {self.warehouse}: {quantity} wanted, {available} available "
                                    f"(expired lots are never reserved)", key="refusal:short_unexpired", sku=self.sku,
                                    warehouse=self.warehouse, wanted=quantity, available=available)
        allocation, held, wanted = {}, [], quantity
        for _, _, bin, lot, n in offered:
            take = min(n, wanted)
            allocation[bin] = allocation.get(bin, 0) + take
            if lot:
                held.append((bin, lot, take))
            wanted -= take
            if not wanted:
                break
        return allocation, held

    def _allocation(self, quantity: int, pick_order: dict[str, int]) -> dict[str, int]:
        available = self.available(pick_order)
        if available < quantity:
            raise InsufficientStock(
                f"SKU {self.sku} in {self.warehouse}: {quantity} wanted, {available} available",
                key="refusal:short", sku=self.sku, warehouse=self.warehouse, wanted=quantity, available=available,
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
        held = [[str(order_id), bin, lot, -n] for bin, units in allocation.items()
                for lot, n in self._let_go(*self._own_in(order_id, bin), units)]
        self._released(order_id, dict(allocation), reason, by)
        self._book_lots(by, held=held)

    def pick(self, order_id: UUID, from_bin: str, to_bin: str, quantity: int, by: str, lot: str = "",
             today: str = "") -> None:
        """Take reserved units out of a bin into the packing area.

        Picking from a bin other than the allocated one (a short bin) moves the allocation with the units. Of a
        lot-tracked SKU the units picked are the order's lots in the bin (first expiring first); a scanned lot
        must be one of those, or a free unexpired lot in the bin expiring no later.
        """
        check_quantity(quantity)
        allocation = self.reservations.get(str(order_id), {})
        if sum(allocation.values()) < quantity:
            raise NotReserved(
                f"order {order_id} has {sum(allocation.values())} of SKU {self.sku} left to pick, not {quantity}"
            )
        here = min(allocation.get(from_bin, 0), quantity)
        if self.on_hand.get(from_bin, 0) < quantity or self.free_in(from_bin) < quantity - here:
            raise BinEmpty(f"bin {from_bin} holds no free {self.sku} for this pick", key="refusal:bin_empty_for_pick",
                           bin=from_bin, sku=self.sku)
        taken, wanted = ({from_bin: here} if here else {}), quantity - here
        for bin, allocated in allocation.items():
            if wanted and bin != from_bin:
                take = min(allocated, wanted)
                taken[bin] = take
                wanted -= take
        placed, held = [], []
        if self.has_lots():
            order = str(order_id)
            out, let_go = self._picked_lots(order_id, from_bin, quantity, here, lot, today)
            for picked_lot, n in out:
                if picked_lot:
                    placed += [[from_bin, picked_lot, -n], [to_bin, picked_lot, n]]
                    held.append([order, to_bin, picked_lot, n])
            held += [[order, from_bin, held_lot, -n] for held_lot, n in let_go]
            held += [[order, bin, held_lot, -k] for bin, n in taken.items() if bin != from_bin
                     for held_lot, k in self._let_go(*self._own_in(order_id, bin), n)]
        self._picked(order_id, from_bin, to_bin, quantity, taken, by)
        self._book_lots(by, placed, held)

    def check_lot_to_pick(self, order_id: UUID, bin: str, lot: str, quantity: int, today: str = "") -> None:
        """Refuse a scanned lot the order may not take from the bin: another lot stands in for the order's only if
        it expires no later and is free there (FEFO holds). A lot the bin does not hold by name is not checked."""
        if lot not in self.lots_in(bin):
            return
        own, _ = self._own_in(order_id, bin)
        free = dict(self.free_lots(bin, today))
        first = self._fefo(own) or [l for l in free if l]
        if min(own.get(lot, 0), quantity) + free.get(lot, 0) < quantity or (
                first and self.expiry_of(lot) > self.expiry_of(first[0])):
            expected = ", ".join(f"{l} ({self.expiry_of(l)})" for l in first[:1] + [
                l for l in first[1:] if self.expiry_of(l) == self.expiry_of(first[0])])
            raise WrongLotScanned(f"scanned lot {lot} of {self.sku}; pick lot {expected} from bin {bin}",
                                  expected=expected)

    def _picked_lots(self, order_id: UUID, bin: str, quantity: int, here: int, lot: str, today: str):
        """The lots of the units leaving the bin, and the order's held lots there it no longer holds."""
        own, loose = self._own_in(order_id, bin)
        if lot and lot in self.lots_in(bin):
            self.check_lot_to_pick(order_id, bin, lot, quantity, today)
            mine = min(own.get(lot, 0), quantity)
            rest = {**own, lot: own.get(lot, 0) - mine}
            return [(lot, quantity)], ([(lot, mine)] if mine else []) + self._let_go(rest, loose, here - mine)
        mine = self._take([*((l, own[l]) for l in self._fefo(own)), (NO_LOT, loose)], here)
        free = self.free_lots(bin, today)
        if sum(n for _, n in free) < quantity - here:
            raise BinEmpty(f"bin {bin} holds {sum(n for _, n in free)} free {self.sku} of unexpired lots, "
                           f"not {quantity - here}")
        return mine + self._take(free, quantity - here), [(l, n) for l, n in mine if l]

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
        held, placed = self._counted_lots(bin, difference, dropped)
        self._adjusted(bin, counted, difference, reason.strip(), dropped, by)
        self._book_lots(by, placed, held)
        return difference

    def _counted_lots(self, bin: str, difference: int, dropped: dict[str, int]) -> tuple[list, list]:
        """Units a count finds are of no lot; units it misses are those of no lot first, then the latest expiring,
        after the orders it takes them from let go of theirs."""
        if not self.has_lots():
            return [], []
        held = [[order, bin, lot, -k] for order, n in dropped.items()
                for lot, k in self._let_go(*self._own_in(order, bin), n)]
        if difference >= 0:
            return held, []
        lots, held_in = self.lots_in(bin), self._held_in(bin)
        for _, _, lot, n in held:
            held_in[lot] += n
        free = {lot: lots[lot] - held_in.get(lot, 0) for lot in lots}
        loose = self.on_hand.get(bin, 0) - sum(lots.values()) - (
            self.reserved_in(bin) - sum(dropped.values()) - sum(held_in.values()))
        missed = self._take([(NO_LOT, loose), *((l, free[l]) for l in reversed(self._fefo(lots)))], -difference)
        return held, [[bin, lot, -n] for lot, n in missed if lot]

    def ship(self, order_id: UUID, bin: str, quantity: int, by: str) -> None:
        check_quantity(quantity)
        if self.reservations.get(str(order_id), {}).get(bin, 0) < quantity:
            raise NotReserved(f"order {order_id} has fewer than {quantity} of SKU {self.sku} packed in {bin}")
        own, loose = self._own_in(order_id, bin)
        out = [(lot, n) for lot, n in self._take([*((l, own[l]) for l in self._fefo(own)), (NO_LOT, loose)],
                                                 quantity) if lot]
        self._shipped(order_id, bin, quantity, by)
        self._book_lots(by, placed=[[bin, lot, -n] for lot, n in out],
                        held=[[str(order_id), bin, lot, -n] for lot, n in out],
                        shipped=[[str(order_id), lot, n] for lot, n in out])

    def return_(self, order_id: UUID, bin: str, quantity: int, by: str) -> list[tuple[str, int]]:
        """Units of a shipped order back into a bin: of the lots the order shipped, first expiring first. Returns
        those lots and their units."""
        shipped = self.shipped_lots(order_id)
        back = self._take(((lot, shipped[lot]) for lot in self._fefo(shipped)), check_quantity(quantity))
        self._returned(order_id, bin, quantity, by)
        self._book_lots(by, placed=[[bin, lot, n] for lot, n in back],
                        shipped=[[str(order_id), lot, -n] for lot, n in back])
        return back

    def scrap(self, bin: str, quantity: int, reason: str, by: str, lot: str = "") -> None:
        """Take free units out of stock: of the named lot, or first expiring first (expired lots go first)."""
        check_quantity(quantity)
        if not (reason or "").strip():
            raise InvalidInput("scrapping needs a reason")
        if self.free_in(bin) < quantity:
            raise BinEmpty(f"bin {bin} holds {max(self.free_in(bin), 0)} free {self.sku}, cannot scrap {quantity}",
                           key="refusal:bin_short_to_scrap", bin=bin, free=max(self.free_in(bin), 0), sku=self.sku,
                           quantity=quantity)
        out = self._free_units(bin, quantity, lot) if self.has_lots() else []
        self._scrapped(bin, quantity, reason.strip(), by)
        self._book_lots(by, placed=[[bin, l, -n] for l, n in out if l])

    def send_on_transfer(self, transfer_id: UUID, number: str, quantity: int, pick_order: dict[str, int],
                         by: str) -> dict[str, int]:
        """Take free units out of the given bins (earliest in the walk first) onto a transfer to another warehouse."""
        taken = self._allocation(check_quantity(quantity), pick_order)
        self._transferred_out(transfer_id, f"transfer {number}", taken, by)
        return taken

    def receive_from_transfer(self, transfer_id: UUID, number: str, bin: str, quantity: int, by: str) -> None:
        self._transferred_in(transfer_id, f"transfer {number}", bin, check_quantity(quantity), by)

    def _check_movable(self, from_bin: str, to_bin: str, quantity: int) -> None:
        check_quantity(quantity)
        if from_bin == to_bin:
            raise InvalidInput(f"moving from {from_bin} to itself")
        if self.free_in(from_bin) < quantity:
            raise BinEmpty(f"bin {from_bin} holds {max(self.free_in(from_bin), 0)} free {self.sku}, not {quantity}",
                           key="refusal:bin_short_to_move", bin=from_bin, free=max(self.free_in(from_bin), 0),
                           sku=self.sku, quantity=quantity)

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

    @event("TransferredOut")
    def _transferred_out(self, transfer_id: UUID, reference: str, taken: dict[str, int], by: str) -> None:
        for bin, quantity in taken.items():
            self._add(bin, -quantity)

    @event("TransferredIn")
    def _transferred_in(self, transfer_id: UUID, reference: str, bin: str, quantity: int, by: str) -> None:
        self._add(bin, quantity)

    @event("Scrapped")
    def _scrapped(self, bin: str, quantity: int, reason: str, by: str) -> None:
        self._add(bin, -quantity)

    @event("LotsBooked")
    def _lots_booked(self, warehouse: str, sku: str, placed: list, held: list, shipped: list, expiry: dict,
                     by: str) -> None:
        """Which lots the units of the bin event before it are: `placed` [bin, lot, units], `held` [order, bin, lot,
        units], `shipped` [order, lot, units], each a change."""
        state = self.__dict__
        state.setdefault("expiry", {}).update(expiry)
        lots, orders, gone = state.setdefault("lots", {}), state.setdefault("held", {}), state.setdefault("shipped", {})
        for bin, lot, n in placed:
            _bump(lots, bin, lot, n)
        held_in = state.setdefault("held_in", {})
        for order, bin, lot, n in held:
            _bump(orders.setdefault(order, {}), bin, lot, n)
            _bump(held_in, bin, lot, n)
            if not orders[order]:
                del orders[order]
        for order, lot, n in shipped:
            _bump(gone, order, lot, n)


def _bump(table: dict[str, dict[str, int]], key: str, lot: str, n: int) -> None:
    inner = table.setdefault(key, {})
    left = inner.get(lot, 0) + n
    if left:
        inner[lot] = left
    else:
        inner.pop(lot, None)
    if not inner:
        del table[key]
