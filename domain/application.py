"""The Cangku application: every command loads aggregates, calls one method on each, and saves them together."""

import functools
import hashlib
import json
import random
import time
from base64 import b64decode, b64encode
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Iterable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from . import ids
from .catalogue import BarcodeClaim, Sku
from .errors import (
    BarcodeTaken,
    BinEmpty,
    ConcurrentUpdate,
    DomainError,
    InsufficientStock,
    InvalidInput,
    InvalidOrderState,
    NotReserved,
    RowsRejected,
    SkuAlreadyRegistered,
    UnknownBarcode,
    UnknownBin,
    UnknownOrder,
    UnknownSku,
    UnknownWarehouse,
    UnknownWave,
    WarehouseAlreadyExists,
    WrongItemScanned,
)
from .fulfilment import Package, Wave
from .order import Buyer, Order, OrderLine, ReviewRules, check_lines
from .printing import Contact, WaybillLabel
from .listing import Listing, listing_id
from .shop import Shop, shop_id
from .scanner_commands import ScannerCommands
from .stock import Stock, check_quantity
from .warehouse import Warehouse

CONFLICT_RETRIES = 40


def retry_on_conflict(command: Callable) -> Callable:
    """Re-run a command whose save lost an optimistic-concurrency race, a bounded number of times."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        for attempt in range(CONFLICT_RETRIES):
            try:
                return command(*args, **kwargs)
            except IntegrityError:
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise ConcurrentUpdate(f"{command.__name__} kept meeting concurrent updates; try again")

    return wrapper


class KnownIds:
    """Ids known to exist, most recent kept: aggregates are never deleted, so a hit needs no query."""

    def __init__(self, size: int):
        self.size = size
        self.ids: dict[UUID, None] = {}

    def __contains__(self, item: UUID) -> bool:
        return item in self.ids

    def update(self, items) -> None:
        for item in items:
            self.ids[item] = None
        while len(self.ids) > self.size:
            del self.ids[next(iter(self.ids))]


@dataclass(frozen=True)
class Recorded:
    """Aggregates known to be recorded among the ids asked about; any other id is looked up when asked."""

    asked: set[UUID]
    found: set[UUID]
    repository: Any

    def __contains__(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self.asked:
            return aggregate_id in self.found
        return aggregate_id in self.repository


class BuyerAsJSON(Transcoding):
    """Buyer personal data, sealed with AES-GCM when a cipher is given."""

    type = Buyer
    name = "buyer"

    def __init__(self, cipher=None):
        self.cipher = cipher

    def encode(self, obj: Buyer) -> Any:
        data = {"nickname": obj.nickname, "name": obj.name, "phone": obj.phone, "address": obj.address}
        if self.cipher is None:
            return data
        plain = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return {"sealed": b64encode(self.cipher.encrypt(plain)).decode("ascii")}

    def decode(self, data: Any) -> Buyer:
        if "sealed" in data:
            if self.cipher is None:
                return Buyer("<sealed>", "<sealed>", "<sealed>", "<sealed>")
            data = json.loads(self.cipher.decrypt(b64decode(data["sealed"])))
        return Buyer(**data)


@dataclass(frozen=True)
class NewOrder:
    """An order as it arrives from a channel, before it is imported."""

    channel: str
    shop: str
    platform_order_no: str
    lines: list[OrderLine]
    buyer: Buyer
    region: dict = field(default_factory=dict)
    paid_amount: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")
    platform_fee: Decimal = Decimal("0")
    postage: Decimal = Decimal("0")
    ordered_at: datetime | None = None
    remark: str = ""


class Cangku(ScannerCommands, Application):
    """Commands of the warehouse: catalogue, bins, stock movements, orders, waves and packages."""

    name = "Cangku"
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000", "DEEPCOPY_FROM_AGGREGATE_CACHE": "y"}
    snapshotting_intervals = {Stock: 50}

    def __init__(self, env=None, review_rules: ReviewRules | None = None):
        super().__init__(env)
        self.review_rules = review_rules or ReviewRules()
        self._known_skus: set[str] = set()
        self._known_orders: KnownIds = KnownIds(200_000)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        cipher = None
        if self.env.get("BUYER_CIPHER_KEY"):
            from eventsourcing.cipher import AESCipher
            from eventsourcing.utils import Environment

            cipher = AESCipher(Environment(env={"CIPHER_KEY": self.env.get("BUYER_CIPHER_KEY")}))
        transcoder.register(BuyerAsJSON(cipher))

    def _get(self, aggregate_id: UUID, missing: Exception, to_change: bool = True):
        try:
            return self.repository.get(aggregate_id, deepcopy_from_cache=to_change)
        except AggregateNotFoundError:
            raise missing from None

    # Catalogue

    def register_sku(self, code, name, barcodes=(), unit_weight_g=0, unit_cost=Decimal("0"), safety_stock=0) -> UUID:
        """Register a SKU with its barcodes; each barcode may belong to one SKU only."""
        sku = Sku.register(code, name, list(barcodes), unit_weight_g, unit_cost, safety_stock)
        self._check_new(sku.id, SkuAlreadyRegistered(f"SKU {sku.code} is already registered"))
        claims = [self._claim_barcode(b, sku.code) for b in sku.barcodes]
        self._save_new(sku, *claims, conflict=SkuAlreadyRegistered(f"SKU {sku.code} is already registered"))
        return sku.id

    def _claim_barcode(self, barcode: str, sku: str, recorded: Recorded | None = None) -> BarcodeClaim:
        claim = BarcodeClaim(barcode, sku)
        if claim.id in recorded if recorded is not None else claim.id in self.repository:
            owner = self.repository.get(claim.id).sku
            raise BarcodeTaken(f"barcode {barcode} already belongs to SKU {owner}")
        return claim

    def add_barcode(self, code: str, barcode: str) -> None:
        sku = self._get(ids.sku_id(code), UnknownSku(f"unknown SKU {code!r}"))
        sku.add_barcode(barcode)
        self._save_new(sku, self._claim_barcode(sku.barcodes[-1], sku.code), conflict=BarcodeTaken(
            f"barcode {barcode} was claimed at the same moment by another SKU"
        ))

    def get_sku(self, code: str) -> dict:
        sku = self._get(ids.sku_id(code), UnknownSku(f"unknown SKU {code!r}"), to_change=False)
        return {
            "code": sku.code,
            "name": sku.name,
            "barcodes": list(sku.barcodes),
            "unit_weight_g": sku.unit_weight_g,
            "unit_cost": sku.unit_cost,
            "safety_stock": sku.safety_stock,
        }

    def sku_exists(self, code: str) -> bool:
        if code in self._known_skus:
            return True
        if ids.sku_id(code) in self.repository:
            self._known_skus.add(code)
            return True
        return False

    def sku_for_barcode(self, barcode: str) -> str:
        """The SKU code a scanned barcode (or the SKU code itself) stands for."""
        scanned = (barcode or "").strip()
        try:
            return self.repository.get(ids.barcode_id(scanned), deepcopy_from_cache=False).sku
        except (AggregateNotFoundError, ValueError):
            pass
        if scanned and self.sku_exists(scanned):
            return scanned
        raise UnknownBarcode(f"barcode {scanned[:64]!r} belongs to no SKU")

    # Warehouses and bins

    def open_warehouse(self, code: str, name: str = "") -> UUID:
        warehouse = Warehouse.open(code, name)
        self._check_new(warehouse.id, WarehouseAlreadyExists(f"warehouse {warehouse.code} already exists"))
        self._save_new(warehouse, conflict=WarehouseAlreadyExists(f"warehouse {warehouse.code} already exists"))
        return warehouse.id

    def warehouse(self, code: str, to_change: bool = True) -> Warehouse:
        return self._get(ids.warehouse_id(code), UnknownWarehouse(f"unknown warehouse {code!r}"), to_change)

    @retry_on_conflict
    def add_location(self, warehouse: str, bin: str, zone: str, area: str, pick_sequence: int) -> None:
        site = self.warehouse(warehouse)
        site.add_location(bin, zone, area, pick_sequence)
        self.save(site)

    def locations(self, warehouse: str) -> dict[str, dict]:
        return dict(self.warehouse(warehouse).locations)

    # Stock movements

    def _stock(self, warehouse: str, sku: str, create: bool = False, recorded: Recorded | None = None) -> Stock:
        if not self.sku_exists(sku):
            raise UnknownSku(f"unknown SKU {sku!r}")
        if create and recorded is not None and ids.stock_id(warehouse, sku) not in recorded:
            return Stock(warehouse, sku)
        try:
            return self.repository.get(ids.stock_id(warehouse, sku))
        except AggregateNotFoundError:
            if not create:
                raise InsufficientStock(f"there is no {sku} in warehouse {warehouse}") from None
            return Stock(warehouse, sku)

    def _bin(self, site: Warehouse, bin: str, *areas: str) -> str:
        location = site.location(bin)
        if areas and location.area not in areas:
            raise UnknownBin(f"bin {bin} is a {location.area} bin; this needs a {' or '.join(areas)} bin")
        return bin

    @retry_on_conflict
    def receive(self, warehouse: str, sku: str, quantity: int, by: str, bin: str = "", reference: str = "") -> None:
        """Receive units into a receiving bin (the warehouse's first one unless named)."""
        site = self.warehouse(warehouse)
        bin = self._bin(site, bin, "receiving") if bin else site.first_bin_in("receiving")
        stock = self._stock(warehouse, sku, create=True)
        stock.receive(bin, quantity, reference, by)
        self.save(stock)

    @retry_on_conflict
    def put_away(self, warehouse: str, sku: str, to_bin: str, quantity: int, by: str, from_bin: str = "") -> None:
        site = self.warehouse(warehouse)
        self._bin(site, to_bin, "storage")
        stock = self._stock(warehouse, sku)
        if not from_bin:
            holding = [b for b in site.bins_in("receiving") if stock.free_in(b) >= quantity]
            from_bin = holding[0] if holding else site.first_bin_in("receiving")
        self._bin(site, from_bin)
        stock.put_away(from_bin, to_bin, quantity, by)
        self.save(stock)

    @retry_on_conflict
    def move(self, warehouse: str, sku: str, from_bin: str, to_bin: str, quantity: int, by: str) -> None:
        site = self.warehouse(warehouse)
        self._bin(site, from_bin)
        self._bin(site, to_bin)
        stock = self._stock(warehouse, sku)
        stock.move(from_bin, to_bin, quantity, by)
        self.save(stock)

    @retry_on_conflict
    def count(self, warehouse: str, sku: str, bin: str, counted: int, reason: str, by: str) -> int:
        """Record a cycle count; returns the difference booked as an adjustment."""
        self._bin(self.warehouse(warehouse), bin)
        stock = self._stock(warehouse, sku, create=True)
        difference = stock.count(bin, counted, reason, by)
        if difference:
            self.save(stock)
        return difference

    @retry_on_conflict
    def scrap(self, warehouse: str, sku: str, bin: str, quantity: int, reason: str, by: str) -> None:
        self._bin(self.warehouse(warehouse), bin)
        stock = self._stock(warehouse, sku)
        stock.scrap(bin, quantity, reason, by)
        self.save(stock)

    def load_opening_stock(self, rows: dict[int, tuple[str, str, str, int]], by: str,
                           progress: Callable[[int], None] | None = None) -> int:
        """Receive numbered (warehouse, sku, bin, quantity) rows into their bins: all in one transaction, or none."""
        stocks: dict[UUID, Stock] = {}
        sites: dict[str, Warehouse] = {}
        keys = {(row[0], row[1]) for row in rows.values()}
        self._known_skus.update(self._recorded_codes({sku for _, sku in keys}))
        recorded = self.recorded(self._ids_of(ids.stock_id, keys))

        def receive(warehouse, sku, bin, quantity):
            if warehouse not in sites:
                sites[warehouse] = self.warehouse(warehouse)
            self._bin(sites[warehouse], bin)
            key = ids.stock_id(warehouse, sku)
            if key not in stocks:
                stocks[key] = self._stock(warehouse, sku, create=True, recorded=recorded)
            stocks[key].receive(bin, quantity, "opening stock", by)

        self._each_row(rows, receive, progress)
        self.save(*stocks.values())
        return len(rows)

    def recorded(self, aggregate_ids: Iterable[UUID]) -> Recorded:
        """Which aggregates have been recorded: these ids looked up together (in one query where the recorder can),
        any other id one look each."""
        asked = set(aggregate_ids)
        in_bulk = getattr(self.recorder, "recorded_originators", None)
        if in_bulk is not None:
            return Recorded(asked, set(in_bulk(list(asked))), self.repository)
        return Recorded(asked, {aggregate_id for aggregate_id in asked if aggregate_id in self.repository},
                        self.repository)

    def _recorded_codes(self, codes: set[str]) -> set[str]:
        by_id = {}
        for code in codes:
            try:
                by_id[ids.sku_id(code)] = code
            except (ValueError, TypeError):
                continue
        return {by_id[found] for found in self.recorded(by_id).found}

    @staticmethod
    def _ids_of(make_id: Callable, keys: Iterable) -> list[UUID]:
        """The ids of the keys that make one (a malformed key is left to the row's own check)."""
        made = []
        for key in keys:
            try:
                made.append(make_id(*key) if isinstance(key, tuple) else make_id(key))
            except (ValueError, TypeError):
                continue
        return made

    def register_skus(self, rows: dict[int, dict], progress: Callable[[int], None] | None = None) -> int:
        """Register numbered SKU rows (keyword arguments of register_sku): all in one transaction, or none."""
        new: list = []
        codes: set[str] = set()
        claimed: set[str] = set()
        recorded = self.recorded([
            *self._ids_of(ids.sku_id, (row.get("code") for row in rows.values())),
            *self._ids_of(ids.barcode_id, (b for row in rows.values() for b in row.get("barcodes", ()))),
        ])

        def register(code, name, barcodes=(), unit_weight_g=0, unit_cost=Decimal("0"), safety_stock=0):
            sku = Sku.register(code, name, list(barcodes), unit_weight_g, unit_cost, safety_stock)
            if sku.code in codes:
                raise SkuAlreadyRegistered(f"SKU {sku.code} appears twice in this file")
            if sku.id in recorded:
                raise SkuAlreadyRegistered(f"SKU {sku.code} is already registered")
            twice = claimed.intersection(sku.barcodes)
            if twice:
                raise BarcodeTaken(f"barcode {twice.pop()} appears twice in this file")
            new.extend([sku, *(self._claim_barcode(b, sku.code, recorded) for b in sku.barcodes)])
            codes.add(sku.code)
            claimed.update(sku.barcodes)

        self._each_row(rows, register, progress)
        self._save_new(*new, conflict=SkuAlreadyRegistered("some of these SKUs were registered at the same moment"))
        self._known_skus.update(codes)
        return len(codes)

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

        self._each_row(rows, add)
        self.save(*sites.values())
        return len(rows)

    @staticmethod
    def _each_row(rows: dict, command: Callable, progress: Callable[[int], None] | None = None) -> None:
        errors = {}
        for done, (number, row) in enumerate(rows.items(), 1):
            try:
                command(**row) if isinstance(row, dict) else command(*row)
            except (DomainError, ValueError, TypeError, ArithmeticError) as error:
                errors[number] = str(error)
            if progress is not None and done % 1000 == 0:
                progress(1000)
        if progress is not None and len(rows) % 1000:
            progress(len(rows) % 1000)
        if errors:
            raise RowsRejected(errors)

    def stock_levels(self, warehouse: str, sku: str) -> dict[str, dict[str, int]]:
        """Current on hand and reserved per bin, straight from the stream (for commands and checks)."""
        try:
            stock = self._stock(warehouse, sku)
        except InsufficientStock:
            return {}
        bins = set(stock.on_hand) | {b for alloc in stock.reservations.values() for b in alloc}
        return {b: {"on_hand": stock.on_hand.get(b, 0), "reserved": stock.reserved_in(b)} for b in sorted(bins)}

    # Orders

    def import_order(self, new: NewOrder, by: str = "import") -> tuple[UUID, bool]:
        """Import one order; a second import of the same platform order is a no-op. Returns (id, created)."""
        results = self.import_orders([new], by=by)
        return results[0]["order_id"], results[0]["created"]

    def import_orders(self, page: list[NewOrder], by: str = "import", warehouse: str = "") -> list[dict]:
        """Import a page of orders, review each and, when a warehouse is given, reserve their stock.

        The whole page is saved in one transaction. Orders already imported are left as they are.
        """
        problems = []
        for new in page:
            try:
                self._check_new_order(new)
            except InvalidInput as error:
                problems.append((new, error))
        if len(problems) == 1:
            raise problems[0][1]
        if problems:
            raise InvalidInput("; ".join(f"{n.channel}/{n.shop}/{n.platform_order_no}: {e}" for n, e in problems))
        try:
            # Most pages are new orders: write without asking the store about each, and look up only on a clash.
            return self._import_page(page, by, warehouse, look_up=False)
        except IntegrityError:
            return retry_on_conflict(self._import_page)(page, by, warehouse, look_up=True)

    def _import_page(self, page: list[NewOrder], by: str, warehouse: str, look_up: bool) -> list[dict]:
        site = self.warehouse(warehouse) if warehouse else None
        stocks: dict[UUID, Stock] = {}
        orders, results, seen = [], [], set()
        for new in page:
            order_id = ids.order_id(new.channel, new.shop, new.platform_order_no)
            if order_id in seen or order_id in self._known_orders or (look_up and order_id in self.repository):
                results.append({"order_id": order_id, "created": False, "status": "duplicate"})
                continue
            seen.add(order_id)
            order = self._new_order(new)
            if order.status == "released" and site is not None:
                self._reserve(order, site, stocks, by)
            orders.append(order)
            results.append({"order_id": order.id, "created": True, "status": order.status})
        if orders:
            self.save(*orders, *stocks.values())
            self._known_orders.update(o.id for o in orders)
        return results

    def _check_new_order(self, new: NewOrder) -> None:
        for label in ("channel", "shop", "platform_order_no"):
            value = getattr(new, label)
            if not isinstance(value, str) or not value.strip() or len(value) > 64:
                raise InvalidInput(f"{label} must be 1-64 characters")
        check_lines(new.lines)
        for label in ("paid_amount", "discount", "platform_fee", "postage"):
            if Decimal(getattr(new, label)) < 0:
                raise InvalidInput(f"{label} must be ≥ 0")

    def _new_order(self, new: NewOrder) -> Order:
        digest = hashlib.sha256(f"{new.channel}:{new.shop}:{new.buyer.nickname}".encode()).hexdigest()[:16]
        return Order(
            new.channel,
            new.shop,
            new.platform_order_no,
            [line.as_event_data() for line in new.lines],
            new.buyer,
            digest,
            {k: new.region.get(k, "") for k in ("province", "city", "district")},
            Decimal(new.paid_amount),
            Decimal(new.discount),
            Decimal(new.platform_fee),
            Decimal(new.postage),
            new.ordered_at or datetime.now().astimezone(),
            new.remark or "",
            self.review_rules.reasons_to_hold(new, self.sku_exists),
        )

    def _reserve(self, order: Order, site: Warehouse, stocks: dict[UUID, Stock], by: str) -> dict[str, int]:
        """Reserve every SKU of the order or none; returns what is missing (nothing when reserved)."""
        bins = site.pick_order("storage")
        wanted = order.quantities()
        chosen, missing = {}, {}
        for sku, quantity in wanted.items():
            key = ids.stock_id(site.code, sku)
            if key not in stocks:
                try:
                    stocks[key] = self._stock(site.code, sku)
                except InsufficientStock:
                    missing[sku] = quantity
                    continue
            available = stocks[key].available(bins)
            if available < quantity:
                missing[sku] = quantity - available
            chosen[sku] = stocks[key]
        if missing:
            order.mark_short(site.code, missing)
            return missing
        allocations = {sku: stock.reserve(order.id, wanted[sku], bins, by) for sku, stock in chosen.items()}
        order.mark_reserved(site.code, allocations, by)
        return {}

    def order(self, order_id: UUID) -> Order:
        return self._get(order_id, UnknownOrder(f"unknown order {order_id}"))

    def find_order(self, channel: str, shop: str, platform_order_no: str) -> Order:
        return self.order(ids.order_id(channel, shop, platform_order_no))

    def get_order(self, order_id: UUID) -> dict:
        order = self.order(order_id)
        return {
            "id": order.id,
            "channel": order.channel,
            "shop": order.shop,
            "platform_order_no": order.platform_order_no,
            "status": order.status,
            "hold_reasons": list(order.hold_reasons),
            "warehouse": order.warehouse,
            "lines": [dict(line) for line in order.lines.values()],
            "picked": dict(order.picked),
            "courier": order.courier,
            "tracking_no": order.tracking_no,
        }

    @retry_on_conflict
    def change_address(self, order_id: UUID, buyer: Buyer, region: dict, by: str) -> bool:
        """Take a new delivery address from the channel (before packing); True when it changed."""
        order = self.order(order_id)
        changed = order.change_address(buyer, region, by)
        if changed:
            self.save(order)
        return changed

    @retry_on_conflict
    def release_order(self, order_id: UUID, by: str) -> None:
        order = self.order(order_id)
        order.release(by)
        self.save(order)

    @retry_on_conflict
    def hold_order(self, order_id: UUID, reason: str, by: str) -> None:
        order = self.order(order_id)
        order.hold(reason, by)
        self.save(order)

    @retry_on_conflict
    def reserve_order(self, order_id: UUID, warehouse: str, by: str) -> dict[str, dict[str, int]]:
        """Reserve all of an order's stock in one warehouse, or raise InsufficientStock and write nothing."""
        order = self.order(order_id)
        if order.status not in ("released", "awaiting_stock"):
            raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; cannot reserve stock")
        stocks: dict[UUID, Stock] = {}
        missing = self._reserve(order, self.warehouse(warehouse), stocks, by)
        if missing:
            short = ", ".join(f"{s}×{n}" for s, n in missing.items())
            raise InsufficientStock(f"order {order.platform_order_no} cannot be reserved: short of {short}")
        self.save(order, *stocks.values())
        return {sku: stock.reserved_for(order.id) for sku, stock in ((s.sku, s) for s in stocks.values())}

    def _release_stock(self, order: Order, skus: dict[str, int] | None, reason: str, by: str) -> list[Stock]:
        """Release the order's reservations (all, or the given units per SKU)."""
        released = []
        if not order.warehouse:
            return released
        for sku in (skus or order.quantities()):
            try:
                stock = self.repository.get(ids.stock_id(order.warehouse, sku))
            except AggregateNotFoundError:
                continue
            if stock.reserved_for(order.id):
                stock.release(order.id, reason, by, quantity=(skus or {}).get(sku))
                released.append(stock)
        return released

    @retry_on_conflict
    def cancel_order(self, order_id: UUID, reason: str, by: str) -> None:
        """Cancel an order that has not shipped; its reserved stock is released."""
        order = self.order(order_id)
        stocks = self._release_stock(order, None, f"cancelled: {reason}", by)
        order.cancel(reason, by)
        self.save(order, *stocks)

    @retry_on_conflict
    def refund_order(self, order_id: UUID, by: str, reason: str, line_nos: list[int] | None = None) -> list[dict]:
        """Refund whole order or given lines; before shipping this intercepts them and releases their stock."""
        order = self.order(order_id)
        refunded = order.refund(line_nos, reason, by)
        stocks = []
        if order.status != "shipped":
            units: dict[str, int] = {}
            for line in refunded:
                units[line["sku"]] = units.get(line["sku"], 0) + line["quantity"]
            stocks = self._release_stock(order, units, f"refunded: {reason}", by)
        self.save(order, *stocks)
        return refunded

    # Waves, picks, packages

    @retry_on_conflict
    def create_wave(self, warehouse: str, number: str, order_ids: list[UUID], by: str) -> UUID:
        """Group reserved orders into a wave whose pick list runs in bin pick-sequence order."""
        site = self.warehouse(warehouse)
        if ids.wave_id(warehouse, number) in self.repository:
            raise InvalidInput(f"wave {number} already exists in {warehouse}")
        orders = [self.order(i) for i in order_ids]
        if not orders:
            raise InvalidInput("a wave needs at least one order")
        lines = []
        for order in orders:
            if order.warehouse != warehouse:
                raise InvalidOrderState(f"order {order.platform_order_no} is not reserved in {warehouse}")
            order.add_to_wave(ids.wave_id(warehouse, number))
            for sku in order.quantities():
                stock = self._stock(warehouse, sku)
                for bin, quantity in stock.reserved_for(order.id).items():
                    sequence = site.location(bin).pick_sequence
                    lines.append({"sequence": sequence, "bin": bin, "sku": sku, "quantity": quantity,
                                  "order_id": order.id})
        lines.sort(key=lambda line: (line["sequence"], line["bin"], line["sku"], str(line["order_id"])))
        wave = Wave(warehouse, number, [o.id for o in orders], lines, by)
        self.save(wave, *orders)
        return wave.id

    def wave(self, wave_id: UUID) -> Wave:
        return self._get(wave_id, UnknownWave(f"unknown wave {wave_id}"))

    @retry_on_conflict
    def pick(self, wave_id: UUID, index: int, bin: str, barcode: str, quantity: int, by: str) -> dict:
        """Pick units of one wave line from a bin into the packing area, checked against the scanned item."""
        wave = self.wave(wave_id)
        line = wave.line(index)
        sku = self.sku_for_barcode(barcode)
        if sku != line["sku"]:
            raise WrongItemScanned(f"scanned {sku}; this line needs {line['sku']}")
        site = self.warehouse(wave.warehouse, to_change=False)
        self._bin(site, bin, "storage", "receiving")
        order = self.order(line["order_id"])
        stock = self._stock(wave.warehouse, sku)
        stock.pick(order.id, bin, site.first_bin_in("packing"), check_quantity(quantity), by)
        wave.record_pick(index, bin, quantity, by)
        order.record_pick(sku, quantity, by)
        self.save(stock, wave, order)
        return {"order_status": order.status, "wave_status": wave.status}

    @retry_on_conflict
    def short_pick(self, wave_id: UUID, index: int, by: str) -> dict:
        """Mark a line short: its unpicked units are released and the order waits for stock."""
        wave = self.wave(wave_id)
        line = wave.line(index)
        missing = line["quantity"] - line["picked"]
        order = self.order(line["order_id"])
        stocks = self._release_stock(order, {line["sku"]: missing}, "short pick", by) if missing else []
        wave.mark_short(index, missing, by)
        order.hold(f"short pick: {line['sku']}×{missing}", by)
        self.save(wave, order, *stocks)
        return {"missing": missing}

    def _package(self, order: Order, by: str) -> Package:
        try:
            return self.repository.get(ids.package_id(order.id))
        except AggregateNotFoundError:
            if order.status != "picked":
                raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; pick it first") from None
            return Package(order.id, order.quantities(), by)

    @retry_on_conflict
    def verify_item(self, order_id: UUID, barcode: str, by: str) -> dict:
        """Scan one unit into the order's package; a wrong or surplus item is refused."""
        order = self.order(order_id)
        package = self._package(order, by)
        package.verify(self.sku_for_barcode(barcode), barcode, by)
        self.save(package)
        return {"outstanding": package.outstanding()}

    @retry_on_conflict
    def close_package(self, order_id: UUID, by: str) -> None:
        order = self.order(order_id)
        package = self._package(order, by)
        package.close(by)
        order.mark_packed(package.id, by)
        self.save(package, order)

    @retry_on_conflict
    def weigh(self, order_id: UUID, grams: int, by: str) -> None:
        package = self._package(self.order(order_id), by)
        package.weigh(grams, by)
        self.save(package)

    @retry_on_conflict
    def assign_waybill(self, order_id: UUID, courier: str, tracking_no: str, sort_code: str = "",
                       decision: dict | None = None) -> None:
        """Attach the courier's waybill number (and the courier choice behind it) to the order's package."""
        package = self._package(self.order(order_id), "courier")
        package.assign_waybill(courier, tracking_no, sort_code, decision)
        if package.pending_events:
            self.save(package)

    def package(self, order_id: UUID) -> Package:
        return self._package(self.order(order_id), "")

    @retry_on_conflict
    def cancel_waybill(self, order_id: UUID, reason: str) -> None:
        package = self._package(self.order(order_id), "courier")
        package.cancel_waybill(reason)
        self.save(package)

    @retry_on_conflict
    def record_route(self, order_id: UUID, updates: list[dict], stale_after=None, now=None) -> dict:
        """Record a parcel's new route updates; delivered closes the order, returned or stale raises an exception."""
        order = self.order(order_id)
        package = self._package(order, "courier")
        new = [u for u in updates if package.record_route(u["key"], u["status"], u["at"], u["location"],
                                                           u["description"])]
        if package.route_status == "delivered":
            order.mark_delivered()
        elif package.route_status in ("returned", "exception"):
            package.raise_exception(f"courier reports {package.route_status}")
        elif stale_after and now and updates and now - max(u["at"] for u in updates) > stale_after:
            package.raise_exception(f"no movement for {stale_after}")
        self.save(order, package)
        return {"new": len(new), "status": package.route_status, "order_status": order.status}

    @retry_on_conflict
    def record_label_printed(self, order_id: UUID, printer: str, by: str, job_id: str = "") -> bool:
        """Record a printed label; a job already recorded is not recorded twice (returns False)."""
        package = self._package(self.order(order_id), by)
        job_id = job_id or f"{package.id}:{package.version + 1}"
        printed = package.record_label_printed(printer, job_id, by)
        if printed:
            self.save(package)
        return printed

    def label_printed_count(self, order_id: UUID) -> int:
        try:
            return self.repository.get(ids.package_id(order_id)).labels_printed
        except AggregateNotFoundError:
            return 0

    def label_printed(self, order_id: UUID, job_id: str) -> bool:
        return job_id in self._package(self.order(order_id), "").printed_jobs

    @retry_on_conflict
    def record_print_failure(self, order_id: UUID, printer: str, job_id: str, reason: str, attempt: int) -> None:
        package = self._package(self.order(order_id), "printer")
        package.record_print_failure(printer, job_id, reason, attempt)
        self.save(package)

    @retry_on_conflict
    def request_reprint(self, order_id: UUID, reason: str, by: str) -> None:
        """Ask for the label again (torn, smudged, lost); the reason is kept."""
        package = self._package(self.order(order_id), by)
        package.request_reprint(reason, by)
        self.save(package)

    def waybill_label(self, order_id: UUID, sender: Contact, size: str = "76x130") -> WaybillLabel:
        """What the waybill label of an order's package shows."""
        order = self.order(order_id)
        package = self._package(order, "printer")
        region = " ".join(v for v in (order.region.get(k, "") for k in ("province", "city", "district")) if v)
        names = {}
        for line in order.lines.values():
            left = line["quantity"] - line["refunded"]
            if left:
                names[line["title"] or line["sku"]] = names.get(line["title"] or line["sku"], 0) + left
        return WaybillLabel(
            courier_name=package.courier,
            tracking_number=package.tracking_no,
            sort_code=package.sort_code,
            receiver=Contact(order.buyer.name, order.buyer.phone, f"{region} {order.buyer.address}".strip()),
            sender=sender,
            order_number=order.platform_order_no,
            item_summary="; ".join(f"{name}×{n}" for name, n in names.items()),
            qr_payload=package.tracking_no,
            size=size,
        )

    # Channels

    @retry_on_conflict
    def record_shipment_confirmed(self, order_id: UUID, source_event: str) -> bool:
        """The channel accepted the shipment; recording it twice changes nothing (returns False)."""
        order = self.order(order_id)
        confirmed = order.confirm_on_channel(source_event)
        if confirmed:
            self.save(order)
        return confirmed

    def map_listing(self, channel: str, shop: str, platform_sku: str, components: dict[str, int], item_id: str = "",
                    share: Decimal = Decimal("1"), buffer: int = 0, minimum: int = 0,
                    maximum: int | None = None) -> UUID:
        """Map a platform SKU to one of our SKUs or a kit of several, with its share of stock, buffer and bounds."""
        Listing.check(components, Decimal(share), buffer, minimum, maximum)
        for sku in components:
            if not self.sku_exists(sku):
                raise UnknownSku(f"unknown SKU {sku!r}")
        listing = Listing(channel, shop, platform_sku, item_id, dict(components), Decimal(share), buffer, minimum,
                          maximum)
        self._save_new(listing, conflict=InvalidInput(f"{channel}/{shop} {platform_sku} is already mapped"))
        return listing.id

    @retry_on_conflict
    def record_published(self, channel: str, shop: str, platform_sku: str, quantity: int, source: str) -> bool:
        listing = self._get(listing_id(channel, shop, platform_sku), InvalidInput(f"{platform_sku} is not mapped"))
        published = listing.record_published(quantity, source)
        if published:
            self.save(listing)
        return published

    def pulled_until(self, channel: str, shop: str) -> datetime | None:
        try:
            return self.repository.get(shop_id(channel, shop)).pulled_until
        except AggregateNotFoundError:
            return None

    @retry_on_conflict
    def record_pull(self, channel: str, shop: str, until: datetime, seen: int, imported: int) -> None:
        """Move a shop's pull checkpoint forward (kept as an event, so a restart continues from it)."""
        try:
            followed = self.repository.get(shop_id(channel, shop))
        except AggregateNotFoundError:
            followed = Shop(channel, shop)
        followed.checkpoint(until, seen, imported)
        self.save(followed)

    @retry_on_conflict
    def hand_over(self, order_id: UUID, by: str) -> None:
        """The courier has the parcel: the order ships and its units leave the packing area."""
        order = self.order(order_id)
        package = self._package(order, by)
        package.hand_over(by)
        stocks = []
        for sku in order.quantities():
            stock = self._stock(order.warehouse, sku)
            for bin, quantity in stock.reserved_for(order.id).items():
                stock.ship(order.id, bin, quantity, by)
            stocks.append(stock)
        order.mark_shipped(package.courier, package.tracking_no, by)
        self.save(order, package, *stocks)

    @retry_on_conflict
    def receive_return(self, order_id: UUID, barcode: str, quantity: int, resaleable: bool, by: str) -> str:
        """Receive returned units into the returns area; defective units are scrapped there. Returns the bin."""
        order = self.order(order_id)
        if order.status != "shipped":
            raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; only shipped orders return")
        sku = self.sku_for_barcode(barcode)
        if sku not in {line["sku"] for line in order.lines.values()}:
            raise WrongItemScanned(f"{sku} is not part of order {order.platform_order_no}")
        site = self.warehouse(order.warehouse)
        bin = site.first_bin_in("returns")
        stock = self._stock(site.code, sku)
        stock.return_(order.id, bin, quantity, by)
        if not resaleable:
            stock.scrap(bin, quantity, "returned defective", by)
        self.save(stock)
        return bin

    # History

    def stock_at(self, warehouse: str, sku: str, at: datetime, bin: str | None = None) -> dict:
        """Stock as it stood at a past instant, replayed from the events, with the events that made it."""
        if at.tzinfo is None:
            raise InvalidInput("a point in time needs a time zone (or is read as local time by the caller)")
        if not self.sku_exists(sku):
            raise UnknownSku(f"unknown SKU {sku!r}")
        stock, history = None, []
        for domain_event in self.events.get(ids.stock_id(warehouse, sku)):
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

    # Saving new aggregates

    def _check_new(self, aggregate_id: UUID, exists: Exception) -> None:
        if aggregate_id in self.repository:
            raise exists

    def _save_new(self, *aggregates, conflict: Exception) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError:
            raise conflict from None


__all__ = ["Cangku", "NewOrder", "Buyer", "OrderLine", "ReviewRules", "BinEmpty", "NotReserved"]
