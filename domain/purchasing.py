"""Purchasing: the suppliers goods are bought from, and purchase orders drafted, approved, received against and
closed."""

from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import Conflict, InvalidInput, InvalidQuantity, NotFound
from .ids import NAMESPACE
from .limits import MAX_MONEY, MAX_NAME, MAX_ORDER_LINES, MAX_UNITS

MAX_LEAD_TIME_DAYS = 3650
COST_PLACES = Decimal("0.0001")
SEND_CHANNELS = ("csv", "xlsx", "print", "api")


class UnknownSupplier(NotFound):
    code = "unknown_supplier"


class UnknownPurchaseOrder(NotFound):
    code = "unknown_purchase_order"


class SupplierAlreadyRegistered(Conflict):
    code = "supplier_already_registered"


class PurchaseOrderExists(Conflict):
    code = "purchase_order_exists"


class InvalidPurchaseOrderState(Conflict):
    code = "invalid_purchase_order_state"


def supplier_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"supplier:{code}")


def purchase_order_id(number: str) -> UUID:
    return uuid5(NAMESPACE, f"purchase-order:{number}")


def _code(value, label: str) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value or len(value) > 64 or not value.isprintable() or any(c.isspace() for c in value):
        raise InvalidInput(f"{label} {value[:70]!r} must be 1-64 printable characters without spaces")
    return value


def _lead_time(days) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_LEAD_TIME_DAYS:
        raise InvalidInput(f"a lead time is a whole number of days from 0 to {MAX_LEAD_TIME_DAYS}, got {days!r}")
    return days


class Supplier(Aggregate):
    """A company goods are bought from, with the days its deliveries take (lead time)."""

    @staticmethod
    def create_id(code: str, **_) -> UUID:
        return supplier_id(code)

    @event("Registered")
    def __init__(self, code: str, name: str, lead_time_days: int, by: str):
        self.code = code
        self.name = name
        self.lead_time_days = lead_time_days

    @classmethod
    def register(cls, code: str, name: str, lead_time_days: int, by: str) -> "Supplier":
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > MAX_NAME:
            raise InvalidInput(f"a supplier's name has 1 to {MAX_NAME} characters")
        return cls(code=_code(code, "supplier code"), name=name, lead_time_days=_lead_time(lead_time_days), by=by)

    def change_lead_time(self, days: int, by: str) -> None:
        self._lead_time_changed(code=self.code, lead_time_days=_lead_time(days), by=by)

    @event("LeadTimeChanged")
    def _lead_time_changed(self, code: str, lead_time_days: int, by: str) -> None:
        self.lead_time_days = lead_time_days

    @property
    def contact(self) -> str:
        return self.__dict__.get("_contact", "")  # suppliers registered before contacts have none

    def revise(self, name: str, contact: str, lead_time_days: int, by: str) -> bool:
        """Change the supplier's name, contact (person, phone, e-mail) and lead time; False when nothing changed."""
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > MAX_NAME:
            raise InvalidInput(f"a supplier's name has 1 to {MAX_NAME} characters")
        contact = contact.strip() if isinstance(contact, str) else ""
        if len(contact) > MAX_NAME or not all(c.isprintable() for c in contact):
            raise InvalidInput(f"a supplier's contact has at most {MAX_NAME} printable characters")
        days = _lead_time(lead_time_days)
        if (name, contact, days) == (self.name, self.contact, self.lead_time_days):
            return False
        self._revised(code=self.code, name=name, contact=contact, lead_time_days=days, by=by)
        return True

    @event("Revised")
    def _revised(self, code: str, name: str, contact: str, lead_time_days: int, by: str) -> None:
        self.name = name
        self._contact = contact
        self.lead_time_days = lead_time_days


class PurchaseOrder(Aggregate):
    """What was ordered from a supplier for a warehouse, line by line with the agreed unit cost; drafted, approved,
    received against (more or fewer units than ordered are recorded as such), then closed."""

    @staticmethod
    def create_id(number: str, **_) -> UUID:
        return purchase_order_id(number)

    @event("Drafted")
    def __init__(self, number: str, supplier: str, warehouse: str, lines: list[dict], by: str):
        self.number = number
        self.supplier = supplier
        self.warehouse = warehouse
        self.lines = {line["sku"]: dict(line, received=0) for line in lines}
        self.status = "draft"

    @classmethod
    def draft(cls, number: str, supplier: str, warehouse: str, lines: list[dict], by: str) -> "PurchaseOrder":
        if not lines or len(lines) > MAX_ORDER_LINES:
            raise InvalidInput(f"a purchase order has 1 to {MAX_ORDER_LINES} lines")
        checked, seen = [], set()
        for line in lines:
            sku, quantity, cost = line.get("sku"), line.get("quantity"), Decimal(line.get("unit_cost", 0))
            if sku in seen:
                raise InvalidInput(f"SKU {sku} appears twice on the purchase order")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_UNITS:
                raise InvalidQuantity(f"{sku}: ordered quantity must be from 1 to {MAX_UNITS:,}, got {quantity!r}")
            if not cost.is_finite() or not 0 <= cost <= MAX_MONEY:
                raise InvalidInput(f"{sku}: unit cost must be from 0 to {MAX_MONEY:,} yuan, got {cost}")
            seen.add(sku)
            checked.append({"sku": sku, "quantity": quantity, "unit_cost": cost.quantize(COST_PLACES, ROUND_HALF_UP)})
        return cls(number=_code(number, "purchase order number"), supplier=supplier, warehouse=warehouse,
                   lines=checked, by=by)

    def approve(self, by: str) -> None:
        self._in("draft", "approved")
        self._approved(by=by)

    @event("Approved")
    def _approved(self, by: str) -> None:
        self.status = "approved"

    def receive(self, sku: str, quantity: int, by: str) -> dict:
        """Record units received; returns the line's cost and how many units went past the ordered quantity."""
        self._in("approved", "received against")
        if sku not in self.lines:
            raise InvalidInput(f"SKU {sku} is not on purchase order {self.number}")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_UNITS:
            raise InvalidQuantity(f"received quantity must be from 1 to {MAX_UNITS:,}, got {quantity!r}")
        line = self.lines[sku]
        over = max(line["received"] + quantity - max(line["quantity"], line["received"]), 0)
        self._received(sku=sku, quantity=quantity, unit_cost=line["unit_cost"], over=over, by=by)
        return {"unit_cost": line["unit_cost"], "over": over}

    @event("Received")
    def _received(self, sku: str, quantity: int, unit_cost: Decimal, over: int, by: str) -> None:
        self.lines[sku]["received"] += quantity

    def send(self, channel: str, by: str) -> None:
        """Record that the approved order went to the supplier: as a CSV or XLSX file, or printed."""
        if channel not in SEND_CHANNELS:
            raise InvalidInput(f"a purchase order is sent as {', '.join(SEND_CHANNELS)}, not {str(channel)[:10]!r}")
        self._in("approved", "sent")
        self._sent(channel=channel, by=by)

    @event("Sent")
    def _sent(self, channel: str, by: str) -> None:
        self.sent = channel

    def close(self, by: str) -> dict[str, int]:
        """Close the order; returns the units ordered but not received, per SKU (the under-receipt)."""
        self._in("approved", "closed")
        short = {sku: line["quantity"] - line["received"] for sku, line in self.lines.items()
                 if line["received"] < line["quantity"]}
        self._closed(short=short, by=by)
        return short

    @event("Closed")
    def _closed(self, short: dict, by: str) -> None:
        self.status = "closed"

    def _in(self, status: str, doing: str) -> None:
        if self.status != status:
            raise InvalidPurchaseOrderState(f"purchase order {self.number} is {self.status}; it must be {status} to "
                                            f"be {doing}")


def moving_average(on_hand: int, unit_cost: Decimal, received: int, received_cost: Decimal) -> Decimal:
    """The unit cost after a receipt: what is on hand at its cost and what came in at its cost, per unit."""
    on_hand = max(on_hand, 0)
    total = Decimal(on_hand) * unit_cost + Decimal(received) * received_cost
    return (total / (on_hand + received)).quantize(COST_PLACES, ROUND_HALF_UP)
