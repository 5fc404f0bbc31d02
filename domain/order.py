"""Orders imported from a marketplace shop, and their path through the warehouse."""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from . import ids
from .errors import InvalidInput, InvalidOrderState, InvalidQuantity
from .limits import MAX_MONEY, MAX_NAME, MAX_ORDER_LINES, MAX_UNITS

# Where an order can go from each status. Cancelling and refunding are checked separately.
FULFILMENT_STATUSES = ("released", "awaiting_stock", "reserved", "waved", "picked", "packed")
RETURNABLE_STATUSES = ("shipped", "delivered")
# Orders not yet on the floor may share one parcel (合单), and be split apart again.
MERGEABLE_STATUSES = ("released", "awaiting_stock", "reserved")


class ReturnExceedsShipment(InvalidQuantity):
    """More units of a SKU are coming back than the order shipped and has not yet had back."""

    code = "return_exceeds_shipment"

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.params = {k: str(v) for k, v in params.items()}
        if self.params.get("left") == "0":
            self.code = "return_complete"


@dataclass(frozen=True)
class Buyer:
    """The buyer's personal data; encrypted at rest when a cipher key is set."""

    nickname: str
    name: str
    phone: str
    address: str
    # the platform's ciphertexts or OAID of the receiver, as it handed them out (name, phone and address are then
    # its masked text): only the platform reads them, through its decrypt API or its own e-waybill
    protected: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return "Buyer(<personal data>)"


@dataclass(frozen=True)
class OrderLine:
    line_no: int
    platform_sku: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal("0")
    item_id: str = ""

    def as_event_data(self) -> dict:
        return {
            "line_no": self.line_no,
            "platform_sku": self.platform_sku,
            "sku": self.sku,
            "title": self.title,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "discount": self.discount,
            "item_id": self.item_id,
        }


def components_of(line: dict) -> dict[str, int]:
    """The SKUs one unit of an order line is made of: a kit's components, or the line's own SKU.

    Lines imported before mapping existed carry no components and stand for their own SKU; a line whose
    platform SKU matched nothing carries none ({}) until it is mapped.
    """
    components = line.get("components")
    return {line["sku"]: 1} if components is None else components


def unmapped(line: dict) -> bool:
    return line.get("components") == {}


def dropship_supplier(line: dict) -> str:
    """The supplier that ships this line straight to the buyer (代发), or "" for a line we fulfil ourselves."""
    return line.get("dropship", "")


def imported_status(lines: list[dict], hold_reasons: list[str]) -> str:
    """An order's status as imported: held for review, with suppliers (every line dropship), or released."""
    if hold_reasons:
        return "held"
    return "dropship" if lines and all(dropship_supplier(line) for line in lines) else "released"


UNKNOWN_SKU = "unknown SKU"
PRESALE = "presale until"


def buyer_ref(channel: str, shop: str, nickname: str) -> str:
    """The buyer's reference within a shop: a digest of the nickname, never the nickname itself."""
    return hashlib.sha256(f"{channel}:{shop}:{nickname}".encode()).hexdigest()[:16]


def check_lines(lines: list[OrderLine]) -> None:
    if not lines:
        raise InvalidInput("an order needs at least one line")
    if len(lines) > MAX_ORDER_LINES:
        raise InvalidInput(f"an order has at most {MAX_ORDER_LINES} lines, this one {len(lines)}")
    seen = set()
    for line in lines:
        if line.line_no in seen:
            raise InvalidInput(f"line number {line.line_no} appears twice")
        seen.add(line.line_no)
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or not 0 < line.quantity <= MAX_UNITS:
            raise InvalidQuantity(f"line {line.line_no}: quantity must be a whole number from 1 to {MAX_UNITS:,}, "
                                  f"got {line.quantity!r}", key="refusal:line_quantity_range", line=line.line_no,
                                  most=f"{MAX_UNITS:,}", got=repr(line.quantity))
        for label, amount in (("unit price", line.unit_price), ("discount", line.discount)):
            amount = Decimal(amount)
            if not amount.is_finite() or not 0 <= amount <= MAX_MONEY:
                raise InvalidInput(f"line {line.line_no}: {label} must be from 0 to {MAX_MONEY:,} yuan, got {amount}")
        if len(line.title or "") > MAX_NAME:
            raise InvalidInput(f"line {line.line_no}: a title has at most {MAX_NAME} characters")
        for label, code in (("SKU code", line.sku), ("platform SKU", line.platform_sku), ("item id", line.item_id)):
            if len(code or "") > 64:
                raise InvalidInput(f"line {line.line_no}: a {label} has at most 64 characters")
        if not (line.sku or line.platform_sku or line.item_id):
            raise InvalidInput(f"line {line.line_no}: it names no SKU, platform SKU or item")


class Order(Aggregate):
    """A marketplace order: imported once (held or released by review), reserved, picked, packed, shipped.

    It can be cancelled or refunded (whole or per line) on the way.
    """

    @staticmethod
    def create_id(channel: str, shop: str, platform_order_no: str, **_) -> UUID:
        return ids.order_id(channel, shop, platform_order_no)

    @event("Imported")
    def __init__(
        self,
        channel: str,
        shop: str,
        platform_order_no: str,
        lines: list[dict],
        buyer: Buyer,
        buyer_ref: str,
        region: dict,
        paid_amount: Decimal,
        discount: Decimal,
        platform_fee: Decimal,
        postage: Decimal,
        ordered_at: datetime,
        remark: str,
        hold_reasons: list[str],
        review: dict | None = None,
    ):
        self.channel = channel
        self.shop = shop
        self.platform_order_no = platform_order_no
        self.lines = {line["line_no"]: dict(line, refunded=0) for line in lines}
        self.buyer = buyer
        self.buyer_ref = buyer_ref
        self.region = region
        self.paid_amount = paid_amount
        self.discount = discount
        self.platform_fee = platform_fee
        self.postage = postage
        self.ordered_at = ordered_at
        self.remark = remark
        self.hold_reasons = list(hold_reasons)
        self.status = imported_status(lines, hold_reasons)
        # What the review rules decided on arrival (rule set version, each rule that acted with its version and
        # inputs); orders imported before review rules were data carry none.
        self.review = review
        self.ship_from = (review or {}).get("ship_from")
        self.warehouse = ""
        self.picked: dict[str, int] = {}
        self.wave_id: UUID | None = None
        self.tracking_no = ""
        self.courier = ""
        self.confirmed_on_channel = False
        self.returned: dict[str, int] = {}

    # Reading

    def quantities(self, own: bool = False) -> dict[str, int]:
        """Units still to fulfil per SKU (refunded lines excluded), with the lines of orders merged into its parcel
        unless `own`."""
        wanted: dict[str, int] = {}
        for line in self.lines.values():
            if own and "from_order" in line:
                continue
            left = line["quantity"] - line["refunded"] - line.get("moved", 0)
            if left and not dropship_supplier(line):
                for sku, units in components_of(line).items():
                    wanted[sku] = wanted.get(sku, 0) + left * units
        return wanted

    def shipped_units(self) -> dict[str, int]:
        """Units per SKU that left in the parcel (what was to fulfil when it shipped)."""
        if self.status not in RETURNABLE_STATUSES:
            return {}
        shipped = getattr(self, "shipped", None)
        return dict(shipped) if shipped is not None else self.quantities()

    def returnable(self, sku: str) -> int:
        """Units of a SKU that may still come back: shipped minus already returned."""
        return self.shipped_units().get(sku, 0) - getattr(self, "returned", {}).get(sku, 0)

    def open_dropship_lines(self, supplier: str = "") -> list[dict]:
        """Lines a supplier ships (that one, or any) not refunded and not yet shipped by it."""
        return [line for line in self.lines.values() if dropship_supplier(line)
                and (not supplier or dropship_supplier(line) == supplier)
                and line["quantity"] > line["refunded"] and not line.get("shipped_by_supplier")]

    def all_dropship(self) -> bool:
        """Every line is shipped by a supplier: nothing of the order passes through our warehouses."""
        return all(dropship_supplier(line) for line in self.lines.values())

    def _released_status(self) -> str:
        return imported_status(list(self.lines.values()), [])

    def skus(self) -> set[str]:
        """Every SKU the order's lines are made of (a kit line's components)."""
        return {sku for line in self.lines.values() for sku in components_of(line)}

    def unmapped_lines(self) -> list[dict]:
        """Lines whose platform SKU matched no SKU and no listing when the order arrived, and still do not."""
        return [line for line in self.lines.values() if unmapped(line)]

    def fully_picked(self) -> bool:
        return all(self.picked.get(sku, 0) >= n for sku, n in self.quantities().items())

    def _require(self, *statuses: str, doing: str) -> None:
        if self.status not in statuses:
            raise InvalidOrderState(
                f"order {self.platform_order_no} is {self.status}; cannot {doing} (needs {' or '.join(statuses)})",
                key="refusal:order_state", order=self.platform_order_no, status=self.status, doing=doing,
                needs=" or ".join(statuses),
            )

    # Commands

    def hold(self, reason: str, by: str) -> None:
        self.check_own("hold")
        if not (reason or "").strip() or len(reason) > MAX_NAME:
            raise InvalidInput(f"a hold needs a reason of 1-{MAX_NAME} characters")
        self._require("released", "awaiting_stock", "reserved", "waved", doing="hold")
        self._held([reason], by)

    def release(self, by: str) -> None:
        self._require("held", doing="release")
        if self.unmapped_lines():
            waiting = ", ".join(line_label(line) for line in self.unmapped_lines())
            raise InvalidOrderState(f"order {self.platform_order_no} waits for platform SKU {waiting} to be mapped; "
                                    f"map it first")
        self._release(by)

    def release_presale(self, rule_set_version: int, decision: dict, now: datetime, by: str) -> bool:
        """A presale order whose ship-from date has come is released (or stays held for its other reasons);
        False when it is not waiting for a ship-from date that has come."""
        ship_from = getattr(self, "ship_from", None)
        if self.status != "held" or ship_from is None or ship_from > now or not any(
                r.startswith(PRESALE) for r in self.hold_reasons):
            return False
        self._reviewed(rule_set_version, [decision], None, by)
        rest = [r for r in self.hold_reasons if not r.startswith(PRESALE)]
        if rest:
            self._held(rest, by)
        else:
            self._release(by)
        return True

    def parcel_key(self) -> tuple:
        """What orders must share to go in one parcel: shop, buyer and the whole delivery address."""
        b = self.buyer
        return (self.channel, self.shop, self.buyer_ref, b.name, b.phone, b.address,
                tuple(sorted(self.region.items())))

    def parcel_digest(self) -> str:
        """The parcel key as a digest, so an index of open orders keeps no personal data."""
        return hashlib.sha256(repr(self.parcel_key()).encode()).hexdigest()[:32]

    def merged_orders(self) -> list[dict]:
        """The orders merged into this one's parcel: their ids, numbers and the line numbers they took here."""
        return list(getattr(self, "members", []))

    def _require_mergeable(self) -> None:
        if getattr(self, "merged_into", None) is not None:
            raise InvalidOrderState(f"order {self.platform_order_no} is already merged into order "
                                    f"{self.merged_into_no}")
        self._require(*MERGEABLE_STATUSES, doing="merge (it must not be on the floor yet)")
        if getattr(self, "split_from", None) is not None or getattr(self, "parts", None):
            raise InvalidOrderState(f"order {self.platform_order_no} was split by stock; a split order is not merged")

    def may_merge(self) -> bool:
        """Whether this order may still share a parcel (open, not on the floor, not merged or split)."""
        try:
            self._require_mergeable()
        except InvalidOrderState:
            return False
        return not self.unmapped_lines()

    def merge(self, others: list["Order"], rule: dict, by: str) -> None:
        """Take other open orders of the same shop, buyer and address into this order's parcel: their lines are
        picked, packed and shipped here; each of them is marked merged into this one."""
        members, taken = self.check_merge(others)
        self._merged(members, taken, rule, by)
        for other in others:
            other._merged_into(self.id, self.platform_order_no, rule, by)

    def check_merge(self, others: list["Order"]) -> tuple[list[dict], list[dict]]:
        """Refuse, naming why, a merge that cannot be made; else the merged orders and the lines they bring."""
        self._require_mergeable()
        if not others:
            raise InvalidInput("choose at least one other order to merge")
        members, taken, first = [], [], max(self.lines) + 1
        for other in others:
            if other.id == self.id:
                raise InvalidInput(f"order {self.platform_order_no} cannot be merged into itself")
            other._require_mergeable()
            if other.merged_orders():
                raise InvalidOrderState(f"order {other.platform_order_no} carries merged orders; undo that first")
            if other.parcel_key() != self.parcel_key():
                raise InvalidOrderState(f"order {other.platform_order_no} is not the same shop, buyer and address as "
                                        f"order {self.platform_order_no}")
            if other.unmapped_lines() or self.unmapped_lines():
                raise InvalidOrderState("an order waiting for a platform SKU mapping cannot be merged")
            lines = []
            for line in other.lines.values():
                left = line["quantity"] - line["refunded"] - line.get("moved", 0)
                if left:
                    lines.append({**{k: v for k, v in line.items() if k not in ("refunded", "moved")},
                                  "line_no": first,
                                  "quantity": left, "from_order": other.platform_order_no,
                                  "from_line": line["line_no"]})
                    first += 1
            taken.extend(lines)
            members.append({"order_id": other.id, "platform_order_no": other.platform_order_no,
                            "lines": [line["line_no"] for line in lines]})
        if len(self.lines) + len(taken) > MAX_ORDER_LINES:
            raise InvalidInput(f"a parcel has at most {MAX_ORDER_LINES} lines")
        return members, taken

    def unmerge(self, others: list["Order"], by: str) -> None:
        """Undo a merge: the merged orders leave this parcel and go their own way again (released)."""
        if not self.merged_orders():
            raise InvalidOrderState(f"order {self.platform_order_no} has no merged orders to split off")
        self._require(*MERGEABLE_STATUSES, doing="undo the merge (its parcel is already on the floor)")
        ids_ = {m["order_id"] for m in self.merged_orders()}
        if {o.id for o in others} != ids_:
            raise InvalidInput("undoing a merge takes every order merged into the parcel")
        lines = [{k: v for k, v in self.lines[no].items() if k != "refunded"}
                 for m in self.merged_orders() for no in m["lines"]]
        self._unmerged([m["order_id"] for m in self.merged_orders()], lines, by)
        for other in others:
            other._merge_undone(self.id, by)

    def check_own(self, doing: str) -> None:
        """A merged order's units travel in another order's parcel: act on that one, or undo the merge first."""
        if self.status == "merged":
            raise InvalidOrderState(f"order {self.platform_order_no} is merged into order {self.merged_into_no}; "
                                    f"undo the merge to {doing} it", key="refusal:order_merged",
                                    order=self.platform_order_no, into=self.merged_into_no, doing=doing)

    def split_by_stock(self, missing: dict[str, int], rule: dict, by: str) -> list[dict]:
        """Lines that can go now stay; those needing a SKU that is short move to a part of their own that waits
        for stock (拆单). Returns the moved lines (none when the order cannot be split: all or none would wait)."""
        self._require("released", "awaiting_stock", doing="split by stock")
        if self.merged_orders() or getattr(self, "split_from", None) is not None:
            return []
        open_lines = [line for line in self.lines.values()
                      if line["quantity"] - line["refunded"] - line.get("moved", 0) > 0]
        waiting = [line for line in open_lines if set(components_of(line)) & set(missing)]
        if not waiting or len(waiting) == len(open_lines) or self.unmapped_lines():
            return []
        moved = [{**{k: v for k, v in line.items() if k not in ("refunded", "moved")},
                  "quantity": line["quantity"] - line["refunded"] - line.get("moved", 0)} for line in waiting]
        part_no = f"{self.platform_order_no}-{len(getattr(self, 'parts', [])) + 2}"
        if len(part_no) > 64:
            return []
        self._split(part_no, moved, rule, by)
        return moved

    def record_split_from(self, order: "Order", rule: dict, by: str) -> None:
        """This order is the waiting part split off another (its money stays on that one)."""
        self._split_from(order.id, order.platform_order_no, rule, by)

    def ship_with(self, lead: "Order", by: str) -> None:
        """The parcel this order was merged into was handed over: this order shipped in it."""
        self._require("merged", doing="ship with another order's parcel")
        self._shipped(lead.courier, lead.tracking_no, by)

    def map_lines(self, mapped: dict[int, tuple], by: str) -> bool:
        """Give unmapped lines their SKU and components (line no → (sku, components[, (supplier, supplier price)]
        when a supplier ships them)); a held order whose only reason was an unknown SKU is released. False when none
        of the given lines was waiting."""
        waiting = {line["line_no"] for line in self.unmapped_lines()}
        chosen = []
        for no, (sku, components, *route) in sorted(mapped.items()):
            if no in waiting and components:
                chosen.append({"line_no": no, "sku": sku, "components": dict(components),
                               "quantity": self.lines[no]["quantity"] - self.lines[no]["refunded"]})
                if route and route[0]:
                    chosen[-1].update(dropship=route[0][0], supplier_price=route[0][1])
        if not chosen or self.status == "cancelled":
            return False
        self._lines_mapped(chosen, self.ordered_at, by)
        if self.status == "held" and not self.hold_reasons:
            self._release(by)
        return True

    def mark_reserved(self, warehouse: str, allocations: dict[str, dict[str, int]], by: str) -> None:
        self._require("released", "awaiting_stock", doing="reserve stock")
        self._reserved(warehouse, allocations, by)

    @property
    def routed(self) -> dict | None:
        """The routing rules' latest decision for this order (warehouse, rules' version, and the split per warehouse
        when a split is allowed and no warehouse had it all), or None when it was never routed."""
        decision = self.__dict__.get("routing_decision")
        return None if decision is None else {**decision, "split": {w: dict(s) for w, s in decision["split"].items()}}

    def route(self, warehouse: str, rule_version: int, available: dict[str, dict[str, int]], reason: str,
              split: dict[str, dict[str, int]], by: str) -> None:
        """Record the warehouse the routing rules chose, with the rules' version and the stock they saw."""
        self._require("released", "awaiting_stock", doing="be routed to a warehouse")
        self._warehouse_chosen(warehouse, rule_version, self.region.get("province", ""), available, reason, split, by)

    def mark_short(self, warehouse: str, missing: dict[str, int]) -> None:
        self._require("released", "awaiting_stock", doing="wait for stock")
        if self.status != "awaiting_stock":
            self._stock_short(warehouse, missing)

    def lose_stock(self, warehouse: str, missing: dict[str, int]) -> None:
        """A count found the order's units gone and none free elsewhere: it waits for stock again, out of its wave."""
        self._require("reserved", "waved", doing="go back to awaiting stock")
        if self.picked:
            raise InvalidOrderState(f"order {self.platform_order_no} is partly picked; hold it instead")
        self._stock_short(warehouse, missing)

    def add_to_wave(self, wave_id: UUID) -> None:
        self._require("reserved", doing="join a wave")
        self._waved(wave_id)

    def record_pick(self, sku: str, quantity: int, by: str) -> None:
        self._require("reserved", "waved", doing="pick")
        still = self.quantities().get(sku, 0) - self.picked.get(sku, 0)
        if quantity > still:
            raise InvalidQuantity(f"order {self.platform_order_no} needs {still} more of {sku}, not {quantity}",
                                  key="refusal:order_needs_fewer", order=self.platform_order_no, still=still, sku=sku,
                                  quantity=quantity)
        self._item_picked(sku, quantity, by)

    def mark_packed(self, package_id: UUID, by: str) -> None:
        self._require("picked", doing="pack")
        self._packed(package_id, by)

    def mark_shipped(self, courier: str, tracking_no: str, by: str) -> None:
        self._require("packed", doing="ship")
        self._shipped(courier, tracking_no, by)

    def ship_dropship(self, supplier: str, courier: str, tracking_no: str, by: str) -> list[dict]:
        """The supplier shipped its open lines of this order with a tracking number; an order all of whose lines
        suppliers ship is shipped once the last of them is. Returns the lines shipped (with their supplier cost)."""
        if self.status in ("held", "cancelled"):
            raise InvalidOrderState(f"order {self.platform_order_no} is {self.status}; a supplier cannot ship it")
        courier, tracking_no = (courier or "").strip(), (tracking_no or "").strip()
        if not courier or not tracking_no or len(courier) > 64 or len(tracking_no) > 64 \
                or any(c.isspace() for c in tracking_no):
            raise InvalidInput("a shipment needs a courier and a tracking number (each 1-64 characters, "
                               "the tracking number without spaces)")
        lines = self.open_dropship_lines(supplier)
        if not lines:
            raise InvalidOrderState(f"order {self.platform_order_no} has nothing left for supplier {supplier} to ship")
        shipped = [{"line_no": line["line_no"], "sku": line["sku"], "units": line["quantity"] - line["refunded"],
                    "cost": (Decimal(line.get("supplier_price", 0)) * (line["quantity"] - line["refunded"]))}
                   for line in lines]
        self._dropship_shipped(supplier, shipped, courier, tracking_no, by)
        if self.status == "dropship" and not self.open_dropship_lines():
            self._shipped(courier, tracking_no, by)
        return shipped

    def record_return(self, sku: str, quantity: int, resaleable: bool, case: str, by: str) -> None:
        """Units came back from the buyer; at most what shipped and has not come back already."""
        self.check_return(sku, quantity)
        self._return_received(sku, quantity, bool(resaleable), case or "", by)

    def check_return(self, sku: str, quantity: int) -> None:
        """Refuse a return of more units than shipped and not yet back, naming the range."""
        self._require(*RETURNABLE_STATUSES, doing="take a return")
        shipped = self.shipped_units().get(sku, 0)
        if not shipped:
            raise ReturnExceedsShipment(f"order {self.platform_order_no} shipped no {sku}",
                                        order=self.platform_order_no, sku=sku, shipped=0, returned=0, left=0)
        left = self.returnable(sku)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= left:
            raise ReturnExceedsShipment(
                f"order {self.platform_order_no} shipped {shipped} of {sku} and {shipped - left} came back already: "
                f"a return takes 1 to {left}, not {quantity}" if left else
                f"order {self.platform_order_no} shipped {shipped} of {sku} and all came back already",
                order=self.platform_order_no, sku=sku, shipped=shipped, returned=shipped - left, left=left)

    def confirm_on_channel(self, source_event: str) -> bool:
        """Record that the channel accepted the shipment; False when it was already recorded."""
        if self.confirmed_on_channel:
            return False
        self._require("shipped", "delivered", doing="confirm the shipment on the channel")
        self._shipment_confirmed(self.courier, self.tracking_no, source_event)
        return True

    def change_address(self, buyer: "Buyer", region: dict, by: str) -> bool:
        """The buyer changed the delivery address on the channel; False when nothing changed."""
        region = {k: region.get(k, "") for k in ("province", "city", "district")}
        if buyer == self.buyer and region == self.region:
            return False
        if self.status in ("packed", "shipped", "delivered", "cancelled"):
            raise InvalidOrderState(f"order {self.platform_order_no} is {self.status}; its address can no longer change")
        self._address_changed(buyer, region, by)
        return True

    def require_decryptable(self) -> None:
        """The receiver may be decrypted through the platform only to print the waybill of a packed parcel."""
        self._require("packed", doing="decrypt the receiver for a waybill")
        if not self.buyer.protected:
            raise InvalidOrderState(f"order {self.platform_order_no} has no platform-protected receiver to decrypt")

    def record_receiver_decrypted(self, fields: list[str], purpose: str, by: str) -> None:
        """The platform decrypted the receiver for a waybill: who asked, for what, which fields (never the text)."""
        self.require_decryptable()
        self._receiver_decrypted(sorted(fields), purpose, by)

    def correct_address(self, name: str, phone: str, address: str, region: dict, by: str) -> None:
        """Back-office staff correct the delivery address (before the parcel is packed and waybilled)."""
        fields = {"name": name, "phone": phone, "address": address}
        for label, value in fields.items():
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
                raise InvalidInput(f"the buyer's {label} must be 1-{MAX_NAME} characters")
        region = {k: str(region.get(k, "") or "").strip() for k in ("province", "city", "district")}
        if not region["province"] or any(len(v) > 64 for v in region.values()):
            raise InvalidInput("an address needs a province (each of province, city, district at most 64 characters)")
        buyer = Buyer(self.buyer.nickname, name.strip(), phone.strip(), address.strip())
        if not self.change_address(buyer, region, by):
            raise InvalidInput(f"order {self.platform_order_no} already has this address")

    def add_note(self, text: str, by: str) -> None:
        """A note from the back office, kept on the order's timeline."""
        text = (text or "").strip()
        if not text or len(text) > MAX_NAME:
            raise InvalidInput(f"a note is 1-{MAX_NAME} characters")
        self._note_added(text, by)

    def reveal_buyer(self, by: str, purpose: str) -> Buyer:
        """The buyer's unmasked name, phone and address; every look is recorded with who and why."""
        purpose = (purpose or "").strip()
        if not purpose or len(purpose) > MAX_NAME:
            raise InvalidInput(f"say why the buyer's details are needed (1-{MAX_NAME} characters)")
        self._buyer_revealed(purpose, by)
        return self.buyer

    def mark_delivered(self) -> None:
        if self.status == "shipped":
            self._delivered()

    def cancel(self, reason: str, by: str) -> None:
        self.check_own("cancel")
        if self.merged_orders() and self.status not in ("shipped", "delivered", "cancelled"):
            raise InvalidOrderState(f"order {self.platform_order_no} carries merged orders; undo the merge first")
        if self.status in ("shipped", "delivered", "cancelled"):
            raise InvalidOrderState(f"order {self.platform_order_no} is {self.status}; cannot cancel")
        self._cancelled(reason, by)

    def refund(self, line_nos: list[int] | None, reason: str, by: str) -> list[dict]:
        """Refund whole lines (all open lines when line_nos is None); returns what was refunded."""
        if self.status == "cancelled":
            raise InvalidOrderState(f"order {self.platform_order_no} is cancelled; nothing to refund")
        if self.status not in RETURNABLE_STATUSES:
            self.check_own("refund")
            if self.merged_orders():
                raise InvalidOrderState(f"order {self.platform_order_no} carries merged orders; undo the merge "
                                        f"before refunding it")
        chosen = list(self.lines) if line_nos is None else line_nos
        refunded = []
        for no in chosen:
            line = self.lines.get(no)
            if line is None:
                raise InvalidInput(f"order {self.platform_order_no} has no line {no}")
            if line.get("moved") and line_nos is None:
                continue
            if line.get("moved"):
                raise InvalidOrderState(f"line {no} of order {self.platform_order_no} waits in its part "
                                        f"{', '.join(getattr(self, 'parts', []))}; refund it there")
            left = line["quantity"] - line["refunded"]
            if left:
                amount = (line["unit_price"] * left - line["discount"] * left / line["quantity"]).quantize(
                    Decimal("0.01")
                )
                refunded.append({"line_no": no, "sku": line["sku"], "quantity": left, "amount": amount})
                if "components" in line:
                    refunded[-1]["components"] = dict(line["components"])
        if not refunded:
            raise InvalidOrderState(f"order {self.platform_order_no}: those lines are already refunded")
        before_shipment = self.status not in ("shipped", "delivered")
        self._refunded(refunded, reason, before_shipment, by)
        return refunded

    def refuse_intercept(self, reason: str, refused: str, by: str) -> bool:
        """A refund before shipping that could not be applied because the order shares a parcel already on the floor
        (a merge cannot be undone there): said on the order, once, until it is cancelled, refunded or shipped."""
        if self.status in ("shipped", "delivered", "cancelled"):
            return False
        if self.status == "merged":
            parcel = self.merged_into_no
        elif self.merged_orders():
            parcel = self.platform_order_no
        else:
            return False
        if getattr(self, "intercept_refused", None) == reason:
            return False
        self._intercept_refused(reason, refused[:MAX_NAME], parcel, by)
        return True

    # Events

    @event("InterceptRefused")
    def _intercept_refused(self, reason: str, refused: str, parcel_order_no: str, by: str) -> None:
        self.intercept_refused = reason

    @event("Held")
    def _held(self, reasons: list[str], by: str) -> None:
        self.status = "held"
        self.hold_reasons = list(reasons)

    @event("Reviewed")
    def _reviewed(self, rule_set_version: int, decisions: list[dict], ship_from: datetime | None, by: str) -> None:
        self.ship_from = ship_from

    @event("SplitByStock")
    def _split(self, part: str, lines: list[dict], rule: dict, by: str) -> None:
        for line in lines:
            self.lines[line["line_no"]]["moved"] = self.lines[line["line_no"]].get("moved", 0) + line["quantity"]
        self.parts = [*getattr(self, "parts", []), part]

    @event("SplitFrom")
    def _split_from(self, order_id: UUID, platform_order_no: str, rule: dict, by: str) -> None:
        self.split_from = order_id
        self.split_from_no = platform_order_no

    @event("Merged")
    def _merged(self, members: list[dict], lines: list[dict], rule: dict, by: str) -> None:
        self.members = [*self.merged_orders(), *members]
        for line in lines:
            self.lines[line["line_no"]] = dict(line, refunded=0)
        if self.status != "held":
            self.status = "released"

    @event("Unmerged")
    def _unmerged(self, orders: list[UUID], lines: list[dict], by: str) -> None:
        for line in lines:
            self.lines.pop(line["line_no"], None)
        self.members = []
        if self.status != "held":
            self.status = "released"

    @event("MergedInto")
    def _merged_into(self, order_id: UUID, platform_order_no: str, rule: dict, by: str) -> None:
        self.status = "merged"
        self.merged_into = order_id
        self.merged_into_no = platform_order_no
        self.warehouse = ""

    @event("MergeUndone")
    def _merge_undone(self, order_id: UUID, by: str) -> None:
        self.status = "released"
        self.merged_into = None

    def _release(self, by: str) -> None:
        self._released(by)
        if self.status == "dropship":
            # said apart so that views which do not keep the lines see where the order went
            self._gone_to_suppliers(sorted({dropship_supplier(line) for line in self.lines.values()}))

    @event("GoneToSuppliers")
    def _gone_to_suppliers(self, suppliers: list[str]) -> None:
        pass

    @event("Released")
    def _released(self, by: str) -> None:
        self.status = self._released_status()
        self.hold_reasons = []

    @event("Reserved")
    def _reserved(self, warehouse: str, allocations: dict[str, dict[str, int]], by: str) -> None:
        self.status = "reserved"
        self.warehouse = warehouse

    @event("WarehouseChosen")
    def _warehouse_chosen(self, warehouse: str, rule_version: int, province: str, available: dict[str, dict[str, int]],
                          reason: str, split: dict[str, dict[str, int]], by: str) -> None:
        self.routing_decision = {"warehouse": warehouse, "rule_version": rule_version,
                                 "split": {w: dict(skus) for w, skus in split.items()}}

    @event("StockShort")
    def _stock_short(self, warehouse: str, missing: dict[str, int]) -> None:
        self.status = "awaiting_stock"
        self.warehouse = warehouse
        self.wave_id = None

    @event("Waved")
    def _waved(self, wave_id: UUID) -> None:
        self.status = "waved"
        self.wave_id = wave_id

    @event("ItemPicked")
    def _item_picked(self, sku: str, quantity: int, by: str) -> None:
        self.picked[sku] = self.picked.get(sku, 0) + quantity
        if self.fully_picked():
            self.status = "picked"

    @event("Packed")
    def _packed(self, package_id: UUID, by: str) -> None:
        self.status = "packed"

    @event("Shipped")
    def _shipped(self, courier: str, tracking_no: str, by: str) -> None:
        self.status = "shipped"
        self.courier = courier
        self.tracking_no = tracking_no
        self.shipped = self.quantities(own=True)
        self.intercept_refused = None

    @event("DropshipShipped")
    def _dropship_shipped(self, supplier: str, lines: list[dict], courier: str, tracking_no: str, by: str) -> None:
        for shipped in lines:
            self.lines[shipped["line_no"]]["shipped_by_supplier"] = tracking_no

    @event("ReturnReceived")
    def _return_received(self, sku: str, quantity: int, resaleable: bool, case: str, by: str) -> None:
        self.returned = dict(getattr(self, "returned", {}))
        self.returned[sku] = self.returned.get(sku, 0) + quantity

    @event("ShipmentConfirmed")
    def _shipment_confirmed(self, courier: str, tracking_no: str, source_event: str) -> None:
        self.confirmed_on_channel = True

    @event("AddressChanged")
    def _address_changed(self, buyer: "Buyer", region: dict, by: str) -> None:
        self.buyer = buyer
        self.region = region

    @event("ReceiverDecrypted")
    def _receiver_decrypted(self, fields: list[str], purpose: str, by: str) -> None:
        self.decryptions = getattr(self, "decryptions", 0) + 1

    @event("NoteAdded")
    def _note_added(self, text: str, by: str) -> None:
        pass

    @event("BuyerRevealed")
    def _buyer_revealed(self, purpose: str, by: str) -> None:
        pass

    @event("Delivered")
    def _delivered(self) -> None:
        self.status = "delivered"

    @event("LinesMapped")
    def _lines_mapped(self, lines: list[dict], ordered_at: datetime, by: str) -> None:
        for mapped in lines:
            self.lines[mapped["line_no"]].update(sku=mapped["sku"], components=dict(mapped["components"]))
            if mapped.get("dropship"):
                self.lines[mapped["line_no"]].update(dropship=mapped["dropship"],
                                                     supplier_price=mapped["supplier_price"])
        reasons = [r for r in self.hold_reasons if not r.startswith(UNKNOWN_SKU)]
        if self.unmapped_lines():
            reasons.append(unknown_reason(self.unmapped_lines()))
        self.hold_reasons = reasons

    @event("Cancelled")
    def _cancelled(self, reason: str, by: str) -> None:
        self.status = "cancelled"
        self.intercept_refused = None

    @event("Refunded")
    def _refunded(self, lines: list[dict], reason: str, before_shipment: bool, by: str) -> None:
        self.intercept_refused = None
        for refunded in lines:
            self.lines[refunded["line_no"]]["refunded"] += refunded["quantity"]
        if before_shipment and not self.quantities() and not any(
                line["quantity"] > line["refunded"] for line in self.lines.values() if dropship_supplier(line)):
            self.status = "cancelled"
        elif before_shipment and self.status in ("reserved", "waved") and self.fully_picked():
            self.status = "picked"


def line_label(line: dict) -> str:
    """How a person recognises an order line's platform SKU: its merchant code, else the platform's ids."""
    return line["sku"] or line["platform_sku"] or line.get("item_id", "")


def unknown_reason(lines: list[dict]) -> str:
    return f"{UNKNOWN_SKU} " + ", ".join(sorted({line_label(line) for line in lines}))
