"""Orders imported from a marketplace shop, and their path through the warehouse."""

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
                                  f"got {line.quantity!r}")
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
        self.status = "held" if hold_reasons else self._released_status()
        self.warehouse = ""
        self.picked: dict[str, int] = {}
        self.wave_id: UUID | None = None
        self.tracking_no = ""
        self.courier = ""
        self.confirmed_on_channel = False
        self.returned: dict[str, int] = {}

    # Reading

    def quantities(self) -> dict[str, int]:
        """Units still to fulfil per SKU (refunded lines excluded)."""
        wanted: dict[str, int] = {}
        for line in self.lines.values():
            left = line["quantity"] - line["refunded"]
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
        return "dropship" if self.lines and self.all_dropship() else "released"

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
                f"order {self.platform_order_no} is {self.status}; cannot {doing} (needs {' or '.join(statuses)})"
            )

    # Commands

    def hold(self, reason: str, by: str) -> None:
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
            raise InvalidQuantity(f"order {self.platform_order_no} needs {still} more of {sku}, not {quantity}")
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
        if self.status in ("shipped", "delivered", "cancelled"):
            raise InvalidOrderState(f"order {self.platform_order_no} is {self.status}; cannot cancel")
        self._cancelled(reason, by)

    def refund(self, line_nos: list[int] | None, reason: str, by: str) -> list[dict]:
        """Refund whole lines (all open lines when line_nos is None); returns what was refunded."""
        if self.status == "cancelled":
            raise InvalidOrderState(f"order {self.platform_order_no} is cancelled; nothing to refund")
        chosen = list(self.lines) if line_nos is None else line_nos
        refunded = []
        for no in chosen:
            line = self.lines.get(no)
            if line is None:
                raise InvalidInput(f"order {self.platform_order_no} has no line {no}")
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

    # Events

    @event("Held")
    def _held(self, reasons: list[str], by: str) -> None:
        self.status = "held"
        self.hold_reasons = list(reasons)

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
        self.shipped = self.quantities()

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

    @event("Refunded")
    def _refunded(self, lines: list[dict], reason: str, before_shipment: bool, by: str) -> None:
        for refunded in lines:
            self.lines[refunded["line_no"]]["refunded"] += refunded["quantity"]
        if before_shipment and not self.quantities() and not any(
                line["quantity"] > line["refunded"] for line in self.lines.values() if dropship_supplier(line)):
            self.status = "cancelled"
        elif before_shipment and self.status in ("reserved", "waved") and self.fully_picked():
            self.status = "picked"


class ReviewRules:
    """Why an arriving order should wait for a person before it is fulfilled (审单)."""

    def __init__(self, max_amount: Decimal = Decimal("20000"), hold_on_remark: bool = False):
        self.max_amount = max_amount
        self.hold_on_remark = hold_on_remark

    def reasons_to_hold(self, new, sku_exists, retired=frozenset()) -> list[str]:
        """Reasons to hold a new order (an `application.NewOrder`); none means release it.

        `sku_exists(line)` says whether an order line stands for a known SKU or a mapped platform SKU; `retired`
        names SKUs no longer sold."""
        reasons = []
        if self.hold_on_remark and (new.remark or "").strip():
            reasons.append("buyer remark")
        if Decimal(new.paid_amount) > self.max_amount:
            reasons.append(f"amount above {self.max_amount}")
        if not new.region.get("province") or not new.buyer.address.strip():
            reasons.append("incomplete address")
        unknown = [line for line in new.lines if not sku_exists(line)]
        if unknown:
            reasons.append(unknown_reason([line.as_event_data() for line in unknown]))
        stopped = sorted({line.sku for line in new.lines if line.sku in retired})
        if stopped:
            reasons.append("retired SKU " + ", ".join(stopped))
        return reasons


def line_label(line: dict) -> str:
    """How a person recognises an order line's platform SKU: its merchant code, else the platform's ids."""
    return line["sku"] or line["platform_sku"] or line.get("item_id", "")


def unknown_reason(lines: list[dict]) -> str:
    return f"{UNKNOWN_SKU} " + ", ".join(sorted({line_label(line) for line in lines}))
