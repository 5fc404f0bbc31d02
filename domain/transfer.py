"""Transfers between warehouses (调拨): drafted, shipped from the source (units leave its bins and are in transit),
received at the destination by scan (more or fewer than shipped is recorded), closed."""

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import Conflict, InvalidInput, InvalidQuantity, NotFound
from .ids import NAMESPACE
from .limits import MAX_ORDER_LINES
from .stock import check_quantity


class UnknownTransfer(NotFound):
    code = "unknown_transfer"


class TransferExists(Conflict):
    code = "transfer_exists"


class InvalidTransferState(Conflict):
    code = "invalid_transfer_state"


def transfer_id(number: str) -> UUID:
    return uuid5(NAMESPACE, f"transfer:{number}")


def check_number(number) -> str:
    number = number.strip() if isinstance(number, str) else ""
    if not number or len(number) > 64 or not number.isprintable() or any(c.isspace() for c in number):
        raise InvalidInput(f"a transfer number {number[:70]!r} must be 1-64 printable characters without spaces")
    return number


class Transfer(Aggregate):
    """Units of some SKUs sent from one warehouse to another. In transit: shipped, not yet received, not closed."""

    @staticmethod
    def create_id(number: str, **_) -> UUID:
        return transfer_id(number)

    @event("Drafted")
    def __init__(self, number: str, from_warehouse: str, to_warehouse: str, lines: dict[str, int], by: str):
        self.number = number
        self.from_warehouse = from_warehouse
        self.to_warehouse = to_warehouse
        self.lines = dict(lines)
        self.status = "draft"
        self.shipped: dict[str, int] = {}
        self.received: dict[str, int] = {}

    @classmethod
    def draft(cls, number: str, from_warehouse: str, to_warehouse: str, lines: dict[str, int],
              by: str) -> "Transfer":
        if from_warehouse == to_warehouse:
            raise InvalidInput(f"a transfer goes to another warehouse, not from {from_warehouse} to itself")
        if not lines or len(lines) > MAX_ORDER_LINES:
            raise InvalidInput(f"a transfer has 1 to {MAX_ORDER_LINES} SKUs")
        for quantity in lines.values():
            check_quantity(quantity)
        return cls(check_number(number), from_warehouse, to_warehouse, dict(lines), by)

    def _require(self, *statuses: str, doing: str) -> None:
        if self.status not in statuses:
            raise InvalidTransferState(f"transfer {self.number} is {self.status}; cannot {doing}")

    def in_transit(self) -> dict[str, int]:
        """Units shipped and neither received nor written off at close."""
        if self.status not in ("shipping", "shipped", "receiving"):
            return {}
        left = {sku: n - self.received.get(sku, 0) for sku, n in self.shipped.items()}
        return {sku: n for sku, n in left.items() if n > 0}

    def check_shippable(self) -> None:
        self._require("draft", doing="ship")

    def ship(self, taken: dict[str, dict[str, int]], by: str) -> None:
        """Record the units taken out of the source's bins (per SKU, per bin): they are in transit from now on."""
        self.check_shippable()
        self._shipped({sku: sum(bins.values()) for sku, bins in taken.items()}, taken, by)

    def send(self, sku: str, taken: dict[str, int], by: str) -> None:
        """Units of a SKU scanned out of the source's bins onto the transfer: in transit from now on."""
        self._require("draft", "shipping", doing="send units")
        if sku not in self.lines:
            raise InvalidInput(f"transfer {self.number} carries no {sku}")
        quantity = sum(taken.values())
        left = self.lines[sku] - self.shipped.get(sku, 0)
        if quantity > left:
            raise InvalidQuantity(f"transfer {self.number} needs {left} more {sku}, not {quantity}",
                                  key="refusal:transfer_needs_fewer", transfer=self.number, left=left, sku=sku,
                                  quantity=quantity)
        self._items_sent(sku, dict(taken), by)

    def finish_shipping(self, by: str) -> None:
        """Everything scanned out has left: the transfer is shipped (lines sent short stay short)."""
        self._require("shipping", doing="finish shipping")
        self._shipping_finished(by)

    def receive(self, sku: str, quantity: int, bin: str, by: str) -> None:
        """Units of a SKU arriving at the destination (more than shipped is recorded as over-received)."""
        self._require("shipping", "shipped", "receiving", doing="receive")
        if sku not in self.lines:
            raise InvalidInput(f"transfer {self.number} carries no {sku}")
        self._received(sku, check_quantity(quantity), bin, by)

    def close(self, by: str) -> dict[str, dict[str, int]]:
        """Close receiving: what never arrived is under-received (written off), what came beyond is over-received."""
        self._require("shipped", "receiving", doing="close")
        under = {s: n - self.received.get(s, 0) for s, n in self.shipped.items() if n > self.received.get(s, 0)}
        over = {s: n - self.shipped.get(s, 0) for s, n in self.received.items() if n > self.shipped.get(s, 0)}
        self._closed(under, over, by)
        return {"under": under, "over": over}

    def cancel(self, by: str) -> None:
        self._require("draft", doing="cancel")
        self._cancelled(by)

    @event("Shipped")
    def _shipped(self, shipped: dict[str, int], bins: dict[str, dict[str, int]], by: str) -> None:
        self.shipped = dict(shipped)
        self.status = "shipped"

    @event("ItemsSent")
    def _items_sent(self, sku: str, bins: dict[str, int], by: str) -> None:
        self.shipped[sku] = self.shipped.get(sku, 0) + sum(bins.values())
        self.status = "shipping"

    @event("ShippingFinished")
    def _shipping_finished(self, by: str) -> None:
        self.status = "shipped"

    @event("Received")
    def _received(self, sku: str, quantity: int, bin: str, by: str) -> None:
        self.received[sku] = self.received.get(sku, 0) + quantity
        self.status = "receiving"

    @event("Closed")
    def _closed(self, under: dict[str, int], over: dict[str, int], by: str) -> None:
        self.status = "closed"

    @event("Cancelled")
    def _cancelled(self, by: str) -> None:
        self.status = "cancelled"
