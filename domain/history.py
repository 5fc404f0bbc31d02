"""Orders from before Cangku (a spreadsheet, an old system's export): recorded for the reports, never worked on.

A `HistoricOrder` is one past order with its lines, status, refunds and customer, recorded once with the time it
happened (its business time) beside the time it was recorded (the event's timestamp). It has its own events and its
own ids, so nothing that drives live work (review, reservations, waves, channel stock, the jobs) ever sees it:
finance, customers, replenishment and the order desk read it as history.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from . import ids
from .errors import InvalidInput, InvalidQuantity
from .limits import MAX_HISTORIC_ORDER_LINES, MAX_MONEY, MAX_NAME, MAX_ORDER_AMOUNT, MAX_UNITS

# shipped: sold and sent; cancelled: never a sale; refunded / partially_refunded: sold, then all or some of it paid
# back; credit_note: money paid back for goods sold in an order the file does not hold (a cancellation invoice).
STATUSES = ("shipped", "cancelled", "refunded", "partially_refunded", "credit_note")
SALES = ("shipped", "refunded", "partially_refunded")
CENT = Decimal("0.01")


class LineRefused(InvalidInput):
    """One line of a past order is refused: `line_no` (from 1) says which."""

    def __init__(self, line_no: int, message: str):
        super().__init__(message)
        self.line_no = line_no


def _money(value, label: str) -> Decimal:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(f"{label} must be a number, got {value!r}") from None
    if not amount.is_finite() or not 0 <= amount <= MAX_MONEY * MAX_UNITS:
        raise InvalidInput(f"{label} must be from 0 to {MAX_MONEY:,} yuan a unit, got {amount}")
    return amount


def historic_lines(status: str, lines: list[dict]) -> list[dict]:
    """The lines of a past order checked against its status, as they are recorded: quantity, unit price, and the
    units and amount refunded (a refunded order or a credit note is refunded whole when the file gives no figure)."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    if not lines:
        raise InvalidInput("an order needs at least one line")
    if len(lines) > MAX_HISTORIC_ORDER_LINES:
        raise InvalidInput(f"a past order has at most {MAX_HISTORIC_ORDER_LINES:,} lines, this one {len(lines):,}")
    checked = []
    for line_no, line in enumerate(lines, 1):
        try:
            checked.append(_checked_line(status, line))
        except InvalidInput as error:
            raise LineRefused(line_no, str(error)) from None
    total = sum(Decimal(line["unit_price"]) * line["quantity"] for line in checked)
    if total > MAX_ORDER_AMOUNT:
        raise InvalidInput(f"an order comes to at most {MAX_ORDER_AMOUNT:,} yuan, this one {total:,}")
    refunds = [line for line in checked if line["refunded_quantity"] or Decimal(line["refunded_amount"])]
    if status in ("shipped", "cancelled") and refunds:
        raise InvalidInput(f"a {status} order has no refund; call it partially_refunded or refunded")
    if status == "partially_refunded" and not refunds:
        raise InvalidInput("a partially_refunded order needs a refunded quantity or amount on some line")
    if status == "refunded" and any(line["refunded_quantity"] < line["quantity"] for line in checked):
        raise InvalidInput("a refunded order is refunded whole; call it partially_refunded")
    return checked


def _checked_line(status: str, line: dict) -> dict:
    sku, title = str(line.get("sku") or "").strip(), str(line.get("title") or "")[:MAX_NAME]
    if not sku or len(sku) > 64:
        raise InvalidInput(f"a SKU code of 1-64 characters is needed, got {sku!r}")
    quantity = line.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_UNITS:
        raise InvalidQuantity(f"quantity must be a whole number from 1 to {MAX_UNITS:,}, got {quantity!r}",
                          key="refusal:quantity_range", most=f"{MAX_UNITS:,}", got=repr(quantity))
    price = _money(line.get("unit_price", "0"), "unit price")
    if price > MAX_MONEY:
        raise InvalidInput(f"unit price must be from 0 to {MAX_MONEY:,} yuan, got {price}")
    refunded = line.get("refunded_quantity") or 0
    amount = line.get("refunded_amount")
    if status in ("refunded", "credit_note") and not refunded:
        refunded = quantity
    if isinstance(refunded, bool) or not isinstance(refunded, int) or not 0 <= refunded <= quantity:
        raise InvalidQuantity(f"refunded quantity must be from 0 to the {quantity} ordered, got {refunded!r}")
    if amount in (None, ""):
        amount = price * refunded if refunded else Decimal("0")
    amount = _money(amount, "refunded amount")
    if amount > price * quantity:
        raise InvalidInput(f"refunded amount {amount} is more than the line's {(price * quantity).quantize(CENT)}")
    return {"sku": sku, "title": title, "quantity": quantity, "unit_price": str(price),
            "refunded_quantity": refunded, "refunded_amount": str(amount.quantize(CENT))}


class HistoricOrder(Aggregate):
    """A past order: sold (shipped), cancelled, refunded whole or in part, or a credit note, with the time each
    happened. Recorded once; it holds no stock and is never fulfilled."""

    @staticmethod
    def create_id(channel: str, shop: str, order_no: str, **_) -> UUID:
        return ids.historic_order_id(channel, shop, order_no)

    @event("Recorded")
    def __init__(self, channel: str, shop: str, order_no: str, ordered_at: datetime, status: str, lines: list[dict],
                 buyer_ref: str, country: str, refunded_at: datetime | None, source: str, by: str):
        self.channel = channel
        self.shop = shop
        self.order_no = order_no
        self.ordered_at = ordered_at
        self.status = status
        self.lines = lines
        self.buyer_ref = buyer_ref
        self.country = country
        self.refunded_at = refunded_at
        self.source = source

    @classmethod
    def record(cls, **given) -> "HistoricOrder":
        """A past order checked whole (see `checked`): a refused one raises a DomainError saying why."""
        return cls(**cls.checked(**given))

    @staticmethod
    def checked(channel: str, shop: str, order_no: str, ordered_at: datetime, status: str, lines: list[dict],
                buyer_ref: str = "", country: str = "", refunded_at: datetime | None = None, source: str = "",
                by: str = "history-import") -> dict:
        """What a past order is recorded with, checked whole: a refused one raises a DomainError saying why."""
        for label, text in (("channel", channel), ("shop", shop), ("order number", order_no)):
            if not isinstance(text, str) or not text.strip() or len(text) > 64:
                raise InvalidInput(f"a {label} of 1-64 characters is needed, got {text!r}")
        if len(buyer_ref or "") > 64 or len(country or "") > 64:
            raise InvalidInput("a customer and a country have at most 64 characters")
        if not isinstance(ordered_at, datetime) or ordered_at.tzinfo is None:
            raise InvalidInput("an order's time needs a time zone")
        checked = historic_lines(status, lines)
        refunds = any(line["refunded_quantity"] or Decimal(line["refunded_amount"]) for line in checked)
        if status == "credit_note":
            refunded_at = ordered_at
        elif not refunds:
            refunded_at = None
        elif refunded_at is None:
            refunded_at = ordered_at
        elif refunded_at.tzinfo is None:
            raise InvalidInput("a refund's time needs a time zone")
        elif refunded_at < ordered_at:
            raise InvalidInput(f"refunded at {refunded_at.isoformat()} is before the order ({ordered_at.isoformat()})")
        return {"channel": channel, "shop": shop, "order_no": order_no, "ordered_at": ordered_at, "status": status,
                "lines": checked, "buyer_ref": buyer_ref or "", "country": country or "", "refunded_at": refunded_at,
                "source": (source or "")[:MAX_NAME], "by": by}
