"""Warehouses, their bins, and the stock of each SKU in them: every movement, and stock at a past instant."""

from datetime import date, datetime, timedelta
from typing import Callable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from .. import ids
from ..errors import (
    BinEmpty,
    CountBelowReserved,
    InsufficientStock,
    InvalidInput,
    LotRequired,
    SkuRetired,
    UnknownBin,
    UnknownSku,
    UnknownWarehouse,
    WarehouseAlreadyExists,
)
from ..scanning import CountAdjustment, UnknownCountRequest
from ..stock import Stock
from ..warehouse import Warehouse
from .catalogue import Catalogue
from .store import EventStore, Recorded, each_row, ids_of, retry_on_conflict

MAX_LOT = 20  # a GS1 lot (AI 10) has at most 20 characters


def _day(text, what: str) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise InvalidInput(f"the {what} is a date like 2027-06-30, got {str(text)[:20]!r}") from None


class Inventory:
    """Warehouses, their bins, and the stock of each SKU in them: every movement, and stock at a past instant."""

    def __init__(self, store: EventStore, catalogue: Catalogue, today: Callable[[], date] = date.today):
        self.store = store
        self.catalogue = catalogue
        # The business day (the shop's zone, from the composition root): a lot expired before it is never reserved.
        self.today = today

    def business_day(self) -> str:
        return self.today().isoformat()

    def receipt_lot(self, sku: str, lot: str = "", expiry: str = "", produced: str = "") -> tuple[str, str]:
        """The lot and expiry date (ISO) a receipt of the SKU books. A lot-tracked SKU needs its lot and expiry (or
        its production date, the expiry then being that plus the SKU's shelf life); another SKU books none."""
        details = self.catalogue.get_sku(sku)
        if not details.get("lot_tracked"):
            return "", ""
        lot = str(lot or "").strip()
        if not lot:
            raise LotRequired(f"SKU {sku} is lot tracked (批次管理): scan its GS1 label or type its lot")
        if len(lot) > MAX_LOT or not lot.isprintable():
            raise InvalidInput(f"a lot has 1 to {MAX_LOT} printable characters, got {lot[:40]!r}")
        if expiry:
            return lot, _day(expiry, "expiry date").isoformat()
        if produced and details.get("shelf_life_days"):
            return lot, (_day(produced, "production date") + timedelta(days=details["shelf_life_days"])).isoformat()
        raise LotRequired(f"lot {lot} of {sku} needs its expiry date (保质期至)"
                          + ("" if details.get("shelf_life_days") else "; the SKU has no shelf life to count it from "
                             "a production date"))

    def open_warehouse(self, code: str, name: str = "") -> UUID:
        warehouse = Warehouse.open(code, name)
        self.store.check_new(warehouse.id, WarehouseAlreadyExists(f"warehouse {warehouse.code} already exists"))
        self.store.save_new(warehouse, conflict=WarehouseAlreadyExists(f"warehouse {warehouse.code} already exists"))
        return warehouse.id

    def warehouse(self, code: str, to_change: bool = True) -> Warehouse:
        unknown = UnknownWarehouse(f"unknown warehouse {code!r}", key="refusal:unknown_warehouse", warehouse=code)
        return self.store.get(ids.warehouse_id(code), unknown, to_change)

    @retry_on_conflict
    def set_warehouse_sender(self, code: str, sender: dict, by: str) -> None:
        """Set the sender (name, phone, province, city, district, address) of parcels shipped from a warehouse."""
        site = self.warehouse(code)
        site.set_sender(sender, by)
        self.store.save(site)

    def sender_of(self, code: str) -> dict[str, str]:
        """The warehouse's own sender ({} when it has none or the warehouse is unknown: the configured one ships)."""
        try:
            return self.warehouse(code, to_change=False).sender if code else {}
        except UnknownWarehouse:
            return {}

    @retry_on_conflict
    def add_location(self, warehouse: str, bin: str, zone: str, area: str, pick_sequence: int) -> None:
        site = self.warehouse(warehouse)
        site.add_location(bin, zone, area, pick_sequence)
        self.store.save(site)

    def add_locations(self, rows: dict[int, tuple[str, str, str, str, int]]) -> int:
        """Add numbered (warehouse, bin, zone, area, pick sequence) rows, opening unknown warehouses: all or none."""
        sites: dict[str, Warehouse] = {}

        def add(warehouse, bin, zone, area, pick_sequence):
            if warehouse not in sites:
                try:
                    sites[warehouse] = self.warehouse(warehouse)
                except UnknownWarehouse:
                    sites[warehouse] = Warehouse.open(warehouse, warehouse)
            sites[warehouse].add_location(bin, zone, area, pick_sequence)

        each_row(rows, add)
        self.store.save(*sites.values())
        return len(rows)

    def locations(self, warehouse: str) -> dict[str, dict]:
        return dict(self.warehouse(warehouse).locations)

    def stock_of(self, warehouse: str, sku: str, create: bool = False, recorded: Recorded | None = None) -> Stock:
        if not self.catalogue.sku_exists(sku):
            raise UnknownSku(f"unknown SKU {sku!r}", key="refusal:unknown_sku", sku=sku)
        if create and recorded is not None and ids.stock_id(warehouse, sku) not in recorded:
            return Stock(warehouse, sku)
        try:
            return self.store.repository.get(ids.stock_id(warehouse, sku))
        except AggregateNotFoundError:
            if not create:
                raise InsufficientStock(f"there is no {sku} in warehouse {warehouse}", key="refusal:none_in_warehouse",
                                        sku=sku, warehouse=warehouse) from None
            return Stock(warehouse, sku)

    def check_bin(self, site: Warehouse, bin: str, *areas: str) -> str:
        location = site.location(bin)
        if areas and location.area not in areas:
            raise UnknownBin(f"bin {bin} is a {location.area} bin; this needs a {' or '.join(areas)} bin")
        return bin

    @retry_on_conflict
    def receive(self, warehouse: str, sku: str, quantity: int, by: str, bin: str = "", reference: str = "",
                lot: str = "", expiry: str = "", produced: str = "") -> None:
        """Receive units into a receiving bin (the warehouse's first one unless named); a lot-tracked SKU's with
        their lot and expiry date."""
        site = self.warehouse(warehouse)
        bin = self.check_bin(site, bin, "receiving") if bin else site.first_bin_in("receiving")
        self.catalogue.check_receivable(sku)
        lot, expiry = self.receipt_lot(sku, lot, expiry, produced)
        stock = self.stock_of(warehouse, sku, create=True)
        stock.receive(bin, quantity, reference, by, lot=lot, expiry=expiry)
        self.store.save(stock)

    @retry_on_conflict
    def put_away(self, warehouse: str, sku: str, to_bin: str, quantity: int, by: str, from_bin: str = "",
                 lot: str = "") -> None:
        site = self.warehouse(warehouse)
        self.check_bin(site, to_bin, "storage")
        stock = self.stock_of(warehouse, sku)
        if not from_bin:
            holding = [b for b in self.put_away_sources(warehouse) if stock.free_in(b) >= quantity]
            from_bin = holding[0] if holding else site.first_bin_in("receiving")
        self.check_bin(site, from_bin)
        stock.put_away(from_bin, to_bin, quantity, by, lot=lot)
        self.store.save(stock)

    def put_away_sources(self, warehouse: str) -> list[str]:
        """Bins whose units wait to be put away: receiving first, then returns (resaleable units sent back)."""
        site = self.warehouse(warehouse, to_change=False)
        return list(site.bins_in("receiving")) + list(site.bins_in("returns"))

    @retry_on_conflict
    def move(self, warehouse: str, sku: str, from_bin: str, to_bin: str, quantity: int, by: str,
             lot: str = "") -> None:
        site = self.warehouse(warehouse)
        self.check_bin(site, from_bin)
        self.check_bin(site, to_bin)
        stock = self.stock_of(warehouse, sku)
        stock.move(from_bin, to_bin, quantity, by, lot=lot)
        self.store.save(stock)

    @retry_on_conflict
    def count(self, warehouse: str, sku: str, bin: str, counted: int, reason: str, by: str) -> int:
        """Record a cycle count; returns the difference booked as an adjustment."""
        self.check_bin(self.warehouse(warehouse), bin)
        stock = self.stock_of(warehouse, sku, create=True)
        self._check_keeps_reservations(stock, bin, counted)
        difference = stock.count(bin, counted, reason, by)
        if difference:
            self.store.save(stock)
        return difference

    @staticmethod
    def _check_keeps_reservations(stock: Stock, bin: str, counted: int) -> None:
        """A count here cannot see to orders; one below what the bin holds for them goes through `Counts`."""
        if isinstance(counted, int) and counted < stock.reserved_in(bin):
            raise CountBelowReserved(f"bin {bin} holds {stock.reserved_in(bin)} {stock.sku} reserved for orders: "
                                     f"count it through the counts service, which sees to those orders")

    @retry_on_conflict
    def scrap(self, warehouse: str, sku: str, bin: str, quantity: int, reason: str, by: str, lot: str = "") -> None:
        self.check_bin(self.warehouse(warehouse), bin)
        stock = self.stock_of(warehouse, sku)
        stock.scrap(bin, quantity, reason, by, lot=lot)
        self.store.save(stock)

    @retry_on_conflict
    def scrap_lot(self, warehouse: str, sku: str, lot: str, reason: str, by: str) -> dict[str, int]:
        """Scrap every free unit of a lot in the warehouse (expired, or recalled), bin by bin in one save; units held
        for orders stay. Returns the units scrapped per bin."""
        stock = self.stock_of(warehouse, sku)
        bins = {bin: n for bin in sorted(stock.on_hand) for free_lot, n in stock.free_lots(bin)
                if lot and free_lot == lot}
        if not bins:
            raise BinEmpty(f"no free {sku} of lot {str(lot)[:20]!r} lies in warehouse {warehouse}")
        for bin, units in bins.items():
            stock.scrap(bin, units, reason, by, lot=lot)
        self.store.save(stock)
        return bins

    def load_opening_stock(self, rows: dict[int, tuple[str, str, str, int]], by: str,
                           progress: Callable[[int], None] | None = None) -> int:
        """Receive numbered (warehouse, sku, bin, quantity) rows into their bins: all in one transaction, or none."""
        stocks: dict[UUID, Stock] = {}
        sites: dict[str, Warehouse] = {}
        keys = {(row[0], row[1]) for row in rows.values()}
        self.catalogue.look_up({sku for _, sku in keys})
        retired = self.catalogue.retired_among({sku for _, sku in keys})
        recorded = self.store.recorded(ids_of(ids.stock_id, keys))

        def receive(warehouse, sku, bin, quantity):
            if sku in retired:
                raise SkuRetired(f"SKU {sku} is retired (已停用): it is not received any more")
            if warehouse not in sites:
                sites[warehouse] = self.warehouse(warehouse)
            self.check_bin(sites[warehouse], bin)
            key = ids.stock_id(warehouse, sku)
            if key not in stocks:
                stocks[key] = self.stock_of(warehouse, sku, create=True, recorded=recorded)
            stocks[key].receive(bin, quantity, "opening stock", by)

        each_row(rows, receive, progress)
        self.store.save(*stocks.values())
        return len(rows)

    def stock_levels(self, warehouse: str, sku: str) -> dict[str, dict[str, int]]:
        """Current on hand and reserved per bin, straight from the stream (for commands and checks)."""
        try:
            stock = self.stock_of(warehouse, sku)
        except InsufficientStock:
            return {}
        bins = set(stock.on_hand) | {b for alloc in stock.reservations.values() for b in alloc}
        return {b: {"on_hand": stock.on_hand.get(b, 0), "reserved": stock.reserved_in(b)} for b in sorted(bins)}

    def stock_at(self, warehouse: str, sku: str, at: datetime, bin: str | None = None) -> dict:
        """Stock as it stood at a past instant, replayed from the events, with the events that made it."""
        if at.tzinfo is None:
            raise InvalidInput("a point in time needs a time zone (or is read as local time by the caller)")
        if not self.catalogue.sku_exists(sku):
            raise UnknownSku(f"unknown SKU {sku!r}", key="refusal:unknown_sku", sku=sku)
        stock, history = None, []
        for domain_event in self.store.events.get(ids.stock_id(warehouse, sku)):
            if domain_event.timestamp > at:
                break
            before = self._figure(stock, bin)
            stock = domain_event.mutate(stock)
            after = self._figure(stock, bin)
            if bin is None or before != after:
                history.append({
                    "version": domain_event.originator_version,
                    "at": domain_event.timestamp,
                    "event": type(domain_event).__qualname__,
                    "by": getattr(domain_event, "by", ""),
                    "before": before,
                    "after": after,
                })
        return {"warehouse": warehouse, "sku": sku, "bin": bin, "at": at, **self._figure(stock, bin),
                "events": history}

    @staticmethod
    def _figure(stock: Stock | None, bin: str | None) -> dict:
        if stock is None:
            return {"on_hand": 0, "reserved": 0}
        if bin is None:
            reserved = sum(sum(a.values()) for a in stock.reservations.values())
            return {"on_hand": stock.total_on_hand(), "reserved": reserved}
        return {"on_hand": stock.on_hand.get(bin, 0), "reserved": stock.reserved_in(bin)}

    def request_count_adjustment(self, warehouse: str, bin: str, sku: str, counted: int, reason: str,
                                 by: str) -> UUID:
        """Hold a large counted difference for a supervisor's approval."""
        self.check_bin(self.warehouse(warehouse), bin)
        on_hand = self.stock_levels(warehouse, sku).get(bin, {}).get("on_hand", 0)
        request = CountAdjustment(warehouse, bin, sku, counted, on_hand, counted - on_hand, reason, by)
        self.store.save(request)
        return request.id

    def _count_request(self, request_id: UUID) -> CountAdjustment:
        try:
            return self.store.repository.get(request_id)
        except AggregateNotFoundError:
            raise UnknownCountRequest(f"no count adjustment {request_id}") from None

    @retry_on_conflict
    def reject_count_adjustment(self, request_id: UUID, by: str) -> None:
        request = self._count_request(request_id)
        request.reject(by)
        self.store.save(request)
