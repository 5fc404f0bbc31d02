"""Marketplace orders: imported a page at a time, reviewed, held or released, reserved, cancelled, refunded."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from .. import ids
from ..dropship import DropshipOrder
from ..errors import (AlreadyReserved, DomainError, InsufficientStock, InvalidInput, InvalidOrderState,
                      UnknownOrder)
from ..history import HistoricOrder
from ..limits import MAX_MONEY, MAX_ORDER_AMOUNT
from ..listing import Listing, kit_label, listing_id, platform_key
from ..order import Buyer, Order, OrderLine, buyer_ref, check_lines, components_of, line_label, unmapped
from ..printing import mask_phone
from ..order import MERGEABLE_STATUSES
from ..review import OpenParcels, RuleBook
from ..stock import Stock
from ..warehouse import Warehouse
from .catalogue import Catalogue
from .inventory import Inventory
from .review import ReviewRules
from .routing import Routing
from .store import EventStore, KnownIds, ids_of, retry_on_conflict


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


class Orders:
    """Marketplace orders: imported a page at a time, reviewed, held or released, reserved, cancelled, refunded."""

    def __init__(self, store: EventStore, catalogue: Catalogue, inventory: Inventory,
                 review_rules: ReviewRules | None = None, routing: Routing | None = None):
        self.store = store
        self.catalogue = catalogue
        self.inventory = inventory
        self.review_rules = review_rules or ReviewRules(store, catalogue)
        self.routing = routing or Routing(store, inventory)
        self._known_orders: KnownIds = KnownIds(200_000)

    def import_order(self, new: NewOrder, by: str = "import") -> tuple[UUID, bool]:
        """Import one order; a second import of the same platform order is a no-op. Returns (id, created)."""
        results = self.import_orders([new], by=by)
        return results[0]["order_id"], results[0]["created"]

    def import_orders(self, page: list[NewOrder], by: str = "import", warehouse: str = "", also: tuple = ()
                      ) -> list[dict]:
        """Import a page of orders, review each and, when a warehouse is given, reserve their stock: in the warehouse
        the routing rules choose when the merchant has rules, else in the one given.

        The whole page is saved in one transaction, after the changed aggregates `also` given (an after-sales case
        recording the replacement it sends). Orders already imported are left as they are.
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
            return self._import_page(page, by, warehouse, look_up=False, also=also)
        except (IntegrityError, AlreadyReserved):
            if also:
                raise  # the aggregates given gave up their events to the failed save: their command runs again
            # AlreadyReserved: an order of the page was imported and reserved before this process knew it (a pull
            # again after a crash that came before its checkpoint was saved).
            return retry_on_conflict(self._import_page)(page, by, warehouse, look_up=True)

    def _import_page(self, page: list[NewOrder], by: str, warehouse: str, look_up: bool, also: tuple = ()
                     ) -> list[dict]:
        rules = self.routing.rules() if warehouse else None
        site = self.inventory.warehouse(warehouse) if warehouse and rules is None else None
        stocks: dict[UUID, Stock] = {}
        book = self.review_rules.book()
        listings = self._listings((new.channel, new.shop, line.platform_sku, line.item_id, line.sku)
                                  for new in page for line in new.lines)
        if site is not None or rules is not None:
            # One look at the store for every stock stream the page may reserve from, not one per stream.
            wanted: set[str] = {rule.params["sku"] for rule in book.enabled("gift")}
            for new in page:
                for line in new.lines:
                    listing = listings.get(self._key(new.channel, new.shop, line))
                    wanted.update(listing.components if listing else (line.sku,))
            if rules is not None:
                self.routing.load_stocks(rules, wanted, stocks)
            else:
                stocks.update(self.store.load_many(ids_of(ids.stock_id, ((site.code, sku) for sku in wanted))))
        codes = {line.sku for new in page for line in new.lines}
        codes.update(sku for listing in listings.values() for sku in listing.components)
        skus = self.catalogue.skus_among(codes)
        retired = {code for code, sku in skus.items() if sku.retired}
        dropship = {code: (sku.dropship_supplier, sku.supplier_price) for code, sku in skus.items()
                    if getattr(sku, "dropship_supplier", "")}
        orders, results, seen, dropships = [], [], set(), []
        sites: dict = {}  # the warehouses the rules name, read once a page
        for new in page:
            order_id = ids.order_id(new.channel, new.shop, new.platform_order_no)
            if order_id in seen or order_id in self._known_orders or (look_up and order_id in self.store.repository):
                results.append({"order_id": order_id, "created": False, "status": "duplicate"})
                continue
            seen.add(order_id)
            order = self._new_order(new, listings, book, site, stocks, by, retired, dropship)
            part = None
            if order.status == "released" and (site is not None or rules is not None):
                chosen = site if rules is None else self.routing.route(order, rules, stocks, by, loaded=True,
                                                                        sites=sites)
                missing = self._reserve(order, chosen, stocks, by)
                split = book.rule("split_stock")
                if missing and split is not None:
                    part = self._split_by_stock(order, missing, split, book.version, chosen, stocks, by)
            if order.status != "held":
                dropships.extend(DropshipOrder.for_order(order))
            orders.append(order)
            results.append({"order_id": order.id, "created": True, "status": order.status})
            if part is not None:
                orders.append(part)
                results[-1]["part"] = {"order_id": part.id, "platform_order_no": part.platform_order_no,
                                       "status": part.status}
        merge = book.rule("merge")
        touched = self._auto_merge(orders, merge, book.version, stocks, by) if merge and orders else []
        for result in results:
            merged = next((o for o in orders if o.id == result["order_id"] and o.status == "merged"), None)
            if merged is not None:
                result["status"] = "merged"
        if orders or also:
            self.store.save(*also, *orders, *touched, *dropships, *stocks.values())
            self._known_orders.update(o.id for o in orders)
        return results

    def _auto_merge(self, orders: list[Order], rule, version: int, stocks: dict[UUID, Stock], by: str) -> list:
        """Each new open order joins the parcel of an open order of the same shop, buyer and address (the earliest
        still open), as the merge rule says; returns the other aggregates changed (earlier orders, the indexes)."""
        page = {order.id: order for order in orders}
        digests = {order.id: order.parcel_digest() for order in orders}
        indexes = self.store.load_many({OpenParcels.create_id(d) for d in digests.values()})
        touched: dict[UUID, object] = {}
        for order in orders:
            if not order.may_merge():
                continue  # held, split, or already merged: it keeps its own parcel
            key = OpenParcels.create_id(digests[order.id])
            index = indexes.get(key) or indexes.setdefault(key, OpenParcels(digests[order.id]))
            lead = None
            for candidate_id in index.orders:
                candidate = page.get(candidate_id) or touched.get(candidate_id)
                if candidate is None:
                    try:
                        candidate = self.order(candidate_id)
                    except UnknownOrder:
                        continue
                try:
                    candidate.check_merge([order])
                except DomainError:
                    continue
                lead = candidate
                break
            if lead is None:
                index.note(order.id)
            else:
                decision = {"rule": rule.id, "kind": "merge", "rule_version": rule.version,
                            "rule_set_version": version, "inputs": {"parcel": digests[order.id]}}
                self._merge(lead, [order], decision, stocks, by)
                if lead.id not in page:
                    touched[lead.id] = lead
            touched[key] = index
        return list(touched.values())

    def _split_by_stock(self, order: Order, missing: dict[str, int], rule, version: int, site: Warehouse,
                        stocks: dict[UUID, Stock], by: str, part_site: Warehouse | None = None) -> Order | None:
        """Ship what is here: the lines whose SKUs are short move to a new part that waits for stock, the rest of
        the order is reserved now. None when the order cannot be split (every line, or none, waits)."""
        decision = {"rule": rule.id, "kind": "split_stock", "rule_version": rule.version,
                    "rule_set_version": version, "inputs": {"missing": dict(missing)}}
        if part_site is not None:
            decision["inputs"]["part_warehouse"] = part_site.code
        moved = order.split_by_stock(missing, decision, by)
        if not moved:
            return None
        part = Order(order.channel, order.shop, order.parts[-1],
                     [dict(line, unit_price=Decimal("0"), discount=Decimal("0")) for line in moved],
                     order.buyer, order.buyer_ref, dict(order.region), Decimal("0"), Decimal("0"), Decimal("0"),
                     Decimal("0"), order.ordered_at, "", [])
        part.record_split_from(order, decision, by)
        self._reserve(order, site, stocks, by)
        self._reserve(part, part_site or site, stocks, by)
        return part

    @retry_on_conflict
    def split_order(self, order_id: UUID, by: str, warehouse: str = "") -> dict:
        """Split an order waiting for stock by hand: what is here goes ahead, the rest waits as a part of its own;
        with a warehouse (split by warehouse), the part is reserved there instead (or waits there)."""
        order = self.order(order_id)
        if order.status != "awaiting_stock":
            raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; only an order waiting for "
                                    f"stock is split by stock")
        site = self.inventory.warehouse(order.warehouse)
        other = self.inventory.warehouse(warehouse) if warehouse and warehouse != order.warehouse else None
        stocks: dict[UUID, Stock] = {}
        missing = self._reserve(order, site, stocks, by)
        if not missing:
            self.store.save(order, *stocks.values())
            return {"order_id": order.id, "status": order.status, "part": None}
        book = self.review_rules.book()
        part = self._split_by_stock(order, missing, book.rule("split_stock") or _ByHand(), book.version, site,
                                    stocks, by, other)
        if part is None:
            raise InvalidOrderState(f"order {order.platform_order_no} cannot be split: nothing of it is here to go "
                                    f"ahead")
        self.store.save(order, part, *stocks.values())
        return {"order_id": order.id, "status": order.status,
                "part": {"order_id": part.id, "platform_order_no": part.platform_order_no, "status": part.status,
                         "warehouse": part.warehouse}}

    def _release_among(self, order: Order, stocks: dict[UUID, Stock], reason: str, by: str) -> None:
        """Release all of the order's reservations on these loaded stocks (loading any other)."""
        if not order.warehouse:
            return
        for sku in order.quantities():
            key = ids.stock_id(order.warehouse, sku)
            if key not in stocks:
                try:
                    stocks[key] = self.store.repository.get(key)
                except AggregateNotFoundError:
                    continue
            if stocks[key].reserved_for(order.id):
                stocks[key].release(order.id, reason, by)

    def _merge(self, lead: Order, others: list[Order], decision: dict, stocks: dict[UUID, Stock], by: str) -> None:
        lead.check_merge(others)  # refused before any stock is released
        warehouse = lead.warehouse or next((o.warehouse for o in others if o.warehouse), "")
        for order in (lead, *others):
            self._release_among(order, stocks, f"merged into {lead.platform_order_no}", by)
        lead.merge(others, decision, by)
        if warehouse:
            self._reserve(lead, self.inventory.warehouse(warehouse), stocks, by)

    @retry_on_conflict
    def merge_orders(self, order_id: UUID, others: list[UUID], by: str) -> dict:
        """Merge other open orders of the same shop, buyer and address into this order's parcel (合单), by hand:
        one parcel is reserved, picked, packed and shipped for all of them."""
        lead = self.order(order_id)
        members = [self.order(other) for other in dict.fromkeys(others)]
        stocks: dict[UUID, Stock] = {}
        self._merge(lead, members, {"rule": "", "kind": "merge", "inputs": {"by_hand": True}}, stocks, by)
        self.store.save(lead, *members, *stocks.values())
        return {"order_id": lead.id, "status": lead.status, "merged": [m.platform_order_no for m in members]}

    @retry_on_conflict
    def unmerge_order(self, order_id: UUID, by: str) -> dict:
        """Undo a merge: the merged orders leave the parcel and each is reserved on its own again."""
        lead = self.order(order_id)
        members = [self.order(m["order_id"]) for m in lead.merged_orders()]
        stocks: dict[UUID, Stock] = {}
        warehouse = lead.warehouse
        self._release_among(lead, stocks, "merge undone", by)
        lead.unmerge(members, by)
        if warehouse:
            site = self.inventory.warehouse(warehouse)
            for order in (lead, *members):
                self._reserve(order, site, stocks, by)
        self.store.save(lead, *members, *stocks.values())
        return {"order_id": lead.id, "status": lead.status,
                "orders": {m.platform_order_no: m.status for m in members}}

    def _check_new_order(self, new: NewOrder) -> None:
        for label in ("channel", "shop", "platform_order_no"):
            value = getattr(new, label)
            if not isinstance(value, str) or not value.strip() or len(value) > 64:
                raise InvalidInput(f"{label} must be 1-64 characters")
        check_lines(new.lines)
        for label, most in (("paid_amount", MAX_ORDER_AMOUNT), ("discount", MAX_ORDER_AMOUNT),
                            ("platform_fee", MAX_MONEY), ("postage", MAX_MONEY)):
            amount = Decimal(getattr(new, label))
            if not amount.is_finite() or not 0 <= amount <= most:
                raise InvalidInput(f"{label} must be from 0 to {most:,} yuan, got {amount}")

    def _new_order(self, new: NewOrder, listings: dict[UUID, Listing], book: RuleBook | None = None,
                   site: Warehouse | None = None, stocks: dict[UUID, Stock] | None = None, by: str = "import",
                   retired: set[str] = frozenset(), dropship: dict[str, tuple[str, Decimal]] | None = None) -> Order:
        """The order as imported, reviewed against this version of the rules (holds, gifts, presale), with the
        review's decisions recorded on it."""
        book = book or self.review_rules.book()
        stocks = {} if stocks is None else stocks
        digest = buyer_ref(new.channel, new.shop, new.buyer.nickname)
        lines = [self._line_data(new.channel, new.shop, line, listings) for line in new.lines]
        for line in lines:
            routed = dropship_route(line, dropship or {})
            if routed:
                line.update(dropship=routed[0], supplier_price=routed[1])
        skus = {sku for line in lines for sku in components_of(line) if sku} | {l["sku"] for l in lines if l["sku"]}
        own: dict[str, int] = {}
        for line in lines:
            if "dropship" in line:
                continue  # a supplier ships it: it takes none of our stock
            for sku, each in components_of(line).items():
                own[sku] = own.get(sku, 0) + line["quantity"] * each

        def gift_stock(sku: str, units: int) -> bool:
            if site is None:
                return False  # no warehouse to look at: no gift promised that stock may not cover
            stock = stocks.get(ids.stock_id(site.code, sku))
            return stock is not None and stock.available(site.pick_order("storage")) - own.get(sku, 0) >= units

        review = book.review(new, digest, sorted({line_label(line) for line in lines if unmapped(line)}),
                             sorted({line.sku for line in new.lines if line.sku in retired}), skus, gift_stock,
                             datetime.now().astimezone())
        first = max(line["line_no"] for line in lines) + 1
        for n, gift in enumerate(review.gifts):
            lines.append({"line_no": first + n, "platform_sku": "", "sku": gift["sku"], "title": "赠品 gift",
                          "quantity": gift["units"], "unit_price": Decimal("0"), "discount": Decimal("0"),
                          "item_id": "", "components": {gift["sku"]: 1}, "gift": gift["rule"]})
        return Order(
            new.channel,
            new.shop,
            new.platform_order_no,
            lines,
            new.buyer,
            digest,
            {k: new.region.get(k, "") for k in ("province", "city", "district")},
            Decimal(new.paid_amount),
            Decimal(new.discount),
            Decimal(new.platform_fee),
            Decimal(new.postage),
            new.ordered_at or datetime.now().astimezone(),
            new.remark or "",
            review.reasons,
            {"rule_set_version": review.rule_set_version, "decisions": review.decisions,
             "ship_from": review.ship_from},
        )

    @staticmethod
    def _key(channel: str, shop: str, line: OrderLine) -> UUID:
        return listing_id(channel, shop, platform_key(line.platform_sku, line.item_id, line.sku))

    def _listings(self, lines) -> dict[UUID, Listing]:
        """The listings mapping these (channel, shop, platform SKU, item, merchant code) lines, looked up together."""
        wanted = {listing_id(channel, shop, platform_key(platform_sku, item_id, outer))
                  for channel, shop, platform_sku, item_id, outer in lines}
        recorded = self.store.recorded(wanted)
        return {key: self.store.peek(key) for key in wanted if key in recorded}

    def _line_data(self, channel: str, shop: str, line: OrderLine, listings: dict[UUID, Listing]) -> dict:
        """An order line as imported: a mapped platform SKU takes its listing's SKUs (a kit its components); a
        line matching no listing and no SKU code waits, unmapped, for a person to map it."""
        data = line.as_event_data()
        listing = listings.get(self._key(channel, shop, line))
        if listing is not None:
            key = platform_key(line.platform_sku, line.item_id, line.sku)
            data.update(sku=kit_label(listing.components, line.sku, key), components=dict(listing.components))
        elif not line.sku or not self.catalogue.sku_exists(line.sku):
            data["components"] = {}
        return data

    def map_waiting_orders(self, order_ids, warehouse: str, by: str) -> list[dict]:
        """Orders waiting for unmapped platform SKUs take the SKUs mapped since; an order that no longer waits
        for anything is released and, when a warehouse is given, reserved there."""
        return [self._map_waiting(order_id, warehouse, by) for order_id in order_ids]

    @retry_on_conflict
    def _map_waiting(self, order_id: UUID, warehouse: str, by: str) -> dict:
        order = self.order(order_id)
        waiting = order.unmapped_lines()
        keys = {line["line_no"]: platform_key(line["platform_sku"], line.get("item_id", ""), line["sku"])
                for line in waiting}
        listings = self._listings((order.channel, order.shop, key, "", "") for key in keys.values())
        mapped = {}
        for line in waiting:
            key = keys[line["line_no"]]
            listing = listings.get(listing_id(order.channel, order.shop, key))
            if listing is not None:
                mapped[line["line_no"]] = (kit_label(listing.components, line["sku"], key), listing.components)
            elif line["sku"] and self.catalogue.sku_exists(line["sku"]):
                mapped[line["line_no"]] = (line["sku"], {line["sku"]: 1})
        skus = self.catalogue.skus_among({sku for _, components in mapped.values() for sku in components})
        dropship = {code: (sku.dropship_supplier, sku.supplier_price) for code, sku in skus.items()
                    if getattr(sku, "dropship_supplier", "")}
        mapped = {no: (sku, components, dropship_route({"sku": sku, "components": components}, dropship))
                  for no, (sku, components) in mapped.items()}
        changed = order.map_lines(mapped, by)
        stocks: dict[UUID, Stock] = {}
        if changed and order.status == "released" and warehouse:
            self._reserve(order, self._site_for(order, warehouse, stocks, by), stocks, by)
        if changed:
            self.store.save(order, *stocks.values(), *self.dropship_orders_for(order))
        return {"order_id": order.id, "platform_order_no": order.platform_order_no, "mapped": changed,
                "status": order.status}

    def release_due_presales(self, order_ids, warehouse: str, by: str, now: datetime | None = None) -> dict:
        """Presale orders whose ship-from date has come: the review records it and releases them (they stay held
        when another reason holds them) and, when a warehouse is given, reserves them there."""
        now = now or datetime.now().astimezone()
        outcomes = [self._release_presale(order_id, warehouse, by, now) for order_id in order_ids]
        return {"released": sum(o in ("released", "reserved", "awaiting_stock") for o in outcomes),
                "reserved": outcomes.count("reserved")}

    @retry_on_conflict
    def _release_presale(self, order_id: UUID, warehouse: str, by: str, now: datetime) -> str:
        order = self.order(order_id)
        book = self.review_rules.book()
        rule = book.rule("presale")
        decision = {"rule": rule.id if rule else "", "kind": "presale", "rule_version": rule.version if rule else 0,
                    "outcome": "ship-from date reached",
                    "inputs": {"ship_from": str(getattr(order, "ship_from", "")), "now": str(now)}}
        if not order.release_presale(book.version, decision, now, by):
            return ""
        stocks: dict[UUID, Stock] = {}
        if order.status == "released" and warehouse:
            self._reserve(order, self._site_for(order, warehouse, stocks, by), stocks, by)
        self.store.save(order, *stocks.values())
        return order.status

    def _reserve(self, order: Order, site: Warehouse, stocks: dict[UUID, Stock], by: str) -> dict[str, int]:
        """Reserve every SKU of the order or none; returns what is missing (nothing when reserved)."""
        bins = site.pick_order("storage")
        wanted = order.quantities()
        chosen, missing = {}, {}
        for sku, quantity in wanted.items():
            key = ids.stock_id(site.code, sku)
            if key not in stocks:
                try:
                    stocks[key] = self.inventory.stock_of(site.code, sku)
                except InsufficientStock:
                    missing[sku] = quantity
                    continue
            available = stocks[key].available(bins, self.inventory.business_day())
            if available < quantity:
                missing[sku] = quantity - available
            chosen[sku] = stocks[key]
        if missing:
            order.mark_short(site.code, missing)
            return missing
        today = self.inventory.business_day()
        allocations = {sku: stock.reserve(order.id, wanted[sku], bins, by, today) for sku, stock in chosen.items()}
        order.mark_reserved(site.code, allocations, by)
        return {}

    def _site_for(self, order: Order, warehouse: str, stocks: dict[UUID, Stock], by: str) -> Warehouse:
        """The warehouse the routing rules choose for the order (the decision recorded on it), or, with no rules,
        the one given."""
        rules = self.routing.rules()
        if rules is None:
            return self.inventory.warehouse(warehouse)
        return self.routing.route(order, rules, stocks, by)

    @retry_on_conflict
    def route_order(self, order_id: UUID, by: str) -> dict:
        """Choose a released or waiting order's warehouse by the routing rules again and reserve its stock there if
        it is all free; the decision is recorded either way."""
        order = self.order(order_id)
        if order.status not in ("released", "awaiting_stock"):
            raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; cannot route it")
        rules = self.routing.check_routable()
        stocks: dict[UUID, Stock] = {}
        site = self.routing.route(order, rules, stocks, by)
        missing = self._reserve(order, site, stocks, by)
        self.store.save(order, *([] if missing else stocks.values()))
        return {"order_id": order.id, "warehouse": site.code, "status": order.status, "missing": missing}

    def reserve_among(self, order: Order, site: Warehouse, stocks: dict[UUID, Stock], by: str) -> dict[str, int]:
        """Reserve the order's stock from these loaded stocks (loading any other); returns what is missing."""
        return self._reserve(order, site, stocks, by)

    def order(self, order_id: UUID) -> Order:
        order = self.store.get(order_id, UnknownOrder(f"unknown order {order_id}", key="refusal:unknown_order",
                                                      order=order_id))
        if isinstance(order, HistoricOrder):
            raise InvalidOrderState(f"order {order.order_no} is a past order ({order.status}, imported as history): "
                                    f"it is read, never worked on")
        return order

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
            self.store.save(order)
        return changed

    @retry_on_conflict
    def record_receiver_decrypted(self, order_id: UUID, fields: list[str], purpose: str, by: str) -> None:
        """Record that the platform decrypted the order's receiver (who, for what, which fields; never the text)."""
        order = self.order(order_id)
        order.record_receiver_decrypted(fields, purpose, by)
        self.store.save(order)

    @retry_on_conflict
    def release_order(self, order_id: UUID, by: str) -> None:
        order = self.order(order_id)
        order.release(by)
        self.store.save(order, *self.dropship_orders_for(order))

    def dropship_orders_for(self, order: Order) -> list[DropshipOrder]:
        """The dropship orders a released order's supplier-shipped lines still need (none exist yet for them)."""
        if order.status == "held":
            return []
        wanted = DropshipOrder.for_order(order)
        recorded = self.store.recorded([d.id for d in wanted]) if wanted else ()
        return [d for d in wanted if d.id not in recorded]

    @retry_on_conflict
    def hold_order(self, order_id: UUID, reason: str, by: str) -> None:
        order = self.order(order_id)
        order.hold(reason, by)
        self.store.save(order)

    @retry_on_conflict
    def reserve_order(self, order_id: UUID, warehouse: str, by: str) -> dict[str, dict[str, int]]:
        """Reserve all of an order's stock in one warehouse, or raise InsufficientStock and write nothing."""
        order = self.order(order_id)
        if order.status not in ("released", "awaiting_stock"):
            raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; cannot reserve stock")
        stocks: dict[UUID, Stock] = {}
        missing = self._reserve(order, self.inventory.warehouse(warehouse), stocks, by)
        if missing:
            short = ", ".join(f"{s}×{n}" for s, n in missing.items())
            raise InsufficientStock(f"order {order.platform_order_no} cannot be reserved: short of {short}",
                                    key="refusal:order_short", order=order.platform_order_no, short=short)
        self.store.save(order, *stocks.values())
        return {sku: stock.reserved_for(order.id) for sku, stock in ((s.sku, s) for s in stocks.values())}

    def release_stock(self, order: Order, skus: dict[str, int] | None, reason: str, by: str) -> list[Stock]:
        """Release the order's reservations (all, or the given units per SKU)."""
        released = []
        if not order.warehouse:
            return released
        for sku in (skus or order.quantities()):
            try:
                stock = self.store.repository.get(ids.stock_id(order.warehouse, sku))
            except AggregateNotFoundError:
                continue
            if stock.reserved_for(order.id):
                stock.release(order.id, reason, by, quantity=(skus or {}).get(sku))
                released.append(stock)
        return released

    def cancel_order(self, order_id: UUID, reason: str, by: str) -> None:
        """Cancel an order that has not shipped; its reserved stock is released (a merged parcel it is part of is
        split apart first)."""
        self._leave_parcel(order_id, by)
        self._cancel_order(order_id, reason, by)

    def _leave_parcel(self, order_id: UUID, by: str) -> None:
        """An order leaving the warehouse's path (cancelled, refunded before shipping) takes its parcel apart first:
        the merge it is in is undone (refused while that parcel is on the floor)."""
        order = self.order(order_id)
        if order.status == "merged":
            self.unmerge_order(order.merged_into, by)
        elif order.merged_orders() and order.status in MERGEABLE_STATUSES:
            self.unmerge_order(order.id, by)

    @retry_on_conflict
    def _cancel_order(self, order_id: UUID, reason: str, by: str) -> None:
        order = self.order(order_id)
        stocks = self.release_stock(order, None, f"cancelled: {reason}", by)
        order.cancel(reason, by)
        self.store.save(order, *stocks)

    def refund_order(self, order_id: UUID, by: str, reason: str, line_nos: list[int] | None = None) -> list[dict]:
        """Refund whole order or given lines; before shipping this intercepts them and releases their stock (a
        merged parcel it is part of is split apart first)."""
        self._leave_parcel(order_id, by)
        return self._refund_order(order_id, by, reason, line_nos)

    def intercept_order(self, order_id: UUID, by: str, reason: str) -> bool:
        """A platform's refund before shipping: the order is refunded and its stock freed. When it shares a parcel
        already on the floor, the refusal is recorded on the order so the back office intercepts it by hand."""
        try:
            self.refund_order(order_id, by, reason)
        except InvalidOrderState as refused:
            self._refuse_intercept(order_id, reason, str(refused), by)
            return False
        return True

    @retry_on_conflict
    def _refuse_intercept(self, order_id: UUID, reason: str, refused: str, by: str) -> None:
        order = self.order(order_id)
        if order.refuse_intercept(reason, refused, by):
            self.store.save(order)

    @retry_on_conflict
    def _refund_order(self, order_id: UUID, by: str, reason: str, line_nos: list[int] | None = None) -> list[dict]:
        order = self.order(order_id)
        refunded = order.refund(line_nos, reason, by)
        stocks = []
        if order.status != "shipped":
            units: dict[str, int] = {}
            for line in refunded:
                for sku, each in components_of(order.lines[line["line_no"]]).items():
                    units[sku] = units.get(sku, 0) + line["quantity"] * each
            # A line never mapped reserved nothing: an empty `units` would otherwise release the whole order.
            stocks = self.release_stock(order, units, f"refunded: {reason}", by) if units else []
        self.store.save(order, *stocks)
        return refunded

    # The order desk: one order's whole record, and the back office's corrections.

    def order_details(self, order_id: UUID) -> dict:
        """Lines, amounts, fees and the buyer masked (name's first character, phone's ends, address's region)."""
        order = self.store.get(order_id, UnknownOrder(f"unknown order {order_id}", key="refusal:unknown_order",
                                                      order=order_id), to_change=False)
        return {
            **self.get_order(order_id),
            "paid_amount": order.paid_amount, "discount": order.discount, "platform_fee": order.platform_fee,
            "postage": order.postage, "ordered_at": order.ordered_at, "region": dict(order.region),
            "has_remark": bool((order.remark or "").strip()), "buyer_ref": order.buyer_ref,
            "buyer": masked_buyer(order.buyer, order.region),
            "parcel": self.parcel_of(order),
        }

    @staticmethod
    def parcel_of(order: Order) -> dict:
        """How the order shares or splits its parcel: merged into another, carrying others, split off, or parts."""
        merged_into = getattr(order, "merged_into", None) if order.status == "merged" else None
        return {"merged_into": {"order_id": merged_into, "platform_order_no": order.merged_into_no}
                if merged_into else None,
                "merged_orders": [{"order_id": m["order_id"], "platform_order_no": m["platform_order_no"]}
                                  for m in order.merged_orders()],
                "split_from": {"order_id": order.split_from, "platform_order_no": order.split_from_no}
                if getattr(order, "split_from", None) else None,
                "parts": [{"order_id": ids.order_id(order.channel, order.shop, no), "platform_order_no": no}
                          for no in getattr(order, "parts", [])]}

    @retry_on_conflict
    def reveal_buyer(self, order_id: UUID, by: str, purpose: str, masked_only: bool = False) -> dict:
        """The buyer's full name, phone, address and remark; the look is recorded on the order (who, why).
        `masked_only`: the shop forbids decryption, so the look shows the buyer masked (and says so)."""
        order = self.order(order_id)
        buyer = order.reveal_buyer(by, purpose)
        self.store.save(order)
        if masked_only:
            return {**masked_buyer(buyer, order.region), "region": dict(order.region), "remark": order.remark,
                    "decryption_forbidden": True}
        return {"nickname": buyer.nickname, "name": buyer.name, "phone": buyer.phone, "address": buyer.address,
                "region": dict(order.region), "remark": order.remark, "masked": False, "decryption_forbidden": False}

    @retry_on_conflict
    def correct_address(self, order_id: UUID, name: str, phone: str, address: str, region: dict, by: str) -> None:
        """Correct the delivery address from the back office, before the parcel is packed."""
        order = self.order(order_id)
        order.correct_address(name, phone, address, region, by)
        self.store.save(order)

    @retry_on_conflict
    def add_note(self, order_id: UUID, text: str, by: str) -> None:
        order = self.order(order_id)
        order.add_note(text, by)
        self.store.save(order)


class _ByHand:
    """A split or merge asked for by a person, not by a rule."""

    id = ""
    version = 0


def masked_buyer(buyer: Buyer, region: dict) -> dict:
    """What anyone reading an order may see of its buyer."""
    def initial(text: str) -> str:
        return (text[:1] + "*" * min(max(len(text) - 1, 1), 3)) if text and text != "<sealed>" else "***"

    place = " ".join(v for v in (region.get("province"), region.get("city"), region.get("district")) if v)
    return {"nickname": initial(buyer.nickname), "name": initial(buyer.name),
            "phone": mask_phone(buyer.phone) if buyer.phone and buyer.phone != "<sealed>" else "***",
            "address": f"{place} ****".strip(), "masked": True}


def dropship_route(line: dict, dropship: dict[str, tuple[str, Decimal]]) -> tuple[str, Decimal] | None:
    """(supplier, supplier price per unit of the line) when every SKU the line is made of is shipped by one
    supplier; None when any of them is ours to ship (a kit mixing the two is fulfilled from our warehouses)."""
    components = components_of(line)
    routes = [dropship.get(sku) for sku in components]
    if not components or None in routes or len({supplier for supplier, _ in routes}) != 1:
        return None
    price = sum((routes[i][1] * units for i, units in enumerate(components.values())), Decimal("0"))
    return routes[0][0], price
