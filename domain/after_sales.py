"""After-sales cases (售后单): a buyer's refund, return, exchange or reshipment request on a shipped order, as the
platform reports it, with the warehouse's own part in it (the returned parcel scanned back, the replacement sent)."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import Conflict, InvalidInput, NotFound
from .ids import NAMESPACE
from .limits import MAX_NAME, MAX_ORDER_AMOUNT, MAX_UNITS

# 仅退款, 退货退款, 换货, 补发
KINDS = ("refund_only", "return_refund", "exchange", "reship")
# the kinds whose goods come back to the warehouse, and those that send the buyer a new parcel
RETURNING_KINDS = ("return_refund", "exchange")
REPLACING_KINDS = ("exchange", "reship")
# what the platform says about the request, in the warehouse's words
PLATFORM_STATUSES = ("requested", "agreed", "returning", "refused", "refunded", "closed")
CENT = Decimal("0.01")


class UnknownCase(NotFound):
    code = "unknown_after_sales_case"


class InvalidCaseState(Conflict):
    code = "invalid_after_sales_state"


def case_id(channel: str, shop: str, refund_id: str) -> UUID:
    return uuid5(NAMESPACE, f"after-sales:{channel}:{shop}:{refund_id}")


def order_cases_id(order_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"after-sales-of:{order_id}")


@dataclass(frozen=True)
class RefundReport:
    """A refund or after-sale request as a platform reports it (pulled), in the warehouse's terms."""

    channel: str
    shop: str
    refund_id: str
    order_no: str
    kind: str
    status: str
    amount: Decimal
    reason: str
    requested_at: datetime
    modified_at: datetime
    refunded_at: datetime | None = None
    # (platform SKU id, merchant code, units, amount) of each line the request names; none: the order as a whole
    lines: tuple[tuple[str, str, int, Decimal], ...] = field(default_factory=tuple)
    return_tracking_no: str = ""


def _amount(value, label: str) -> Decimal:
    try:
        amount = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise InvalidInput(f"{label} must be an amount in yuan, got {value!r}") from None
    if not amount.is_finite() or not 0 <= amount <= MAX_ORDER_AMOUNT:
        raise InvalidInput(f"{label} must be from 0 to {MAX_ORDER_AMOUNT:,} yuan, got {amount}")
    return amount.quantize(CENT)


def _text(value, label: str, most: int = 64) -> str:
    value = str(value or "").strip()
    if not value or len(value) > most:
        raise InvalidInput(f"{label} must be 1-{most} characters")
    return value


class AfterSalesCase(Aggregate):
    """One refund or after-sale request on a shipped order: opened from the platform's report, followed through its
    states, refunded on the day the platform refunded, closed once the money and the goods are settled.

    States: requested → approved (awaiting_return for the kinds whose goods come back) → returning (the buyer sent
    them) → received (scanned back) / refunded → closed; or refused / withdrawn, which close it."""

    @staticmethod
    def create_id(channel: str, shop: str, refund_id: str, **_) -> UUID:
        return case_id(channel, shop, refund_id)

    @event("Opened")
    def __init__(self, channel: str, shop: str, refund_id: str, order_id: UUID, order_no: str, buyer_ref: str,
                 kind: str, amount: Decimal, lines: list[dict], reason: str, requested_at: datetime, by: str):
        self.channel = channel
        self.shop = shop
        self.refund_id = refund_id
        self.order_id = order_id
        self.order_no = order_no
        self.buyer_ref = buyer_ref
        self.kind = kind
        self.amount = amount
        self.lines = [dict(line) for line in lines]
        self.reason = reason
        self.requested_at = requested_at
        self.platform_status = "requested"
        self.refunded_amount = Decimal("0")
        self.refunded_at: datetime | None = None
        self.received: dict[str, int] = {}
        self.replacement = ""
        self.return_tracking_no = ""
        self.closed = False
        self.status = "requested"

    @classmethod
    def open(cls, channel: str, shop: str, refund_id: str, order_id: UUID, order_no: str, buyer_ref: str, kind: str,
             amount, lines: list[dict], reason: str, requested_at: datetime, by: str,
             most: Decimal | None = None) -> "AfterSalesCase":
        """A new case; refused when the kind is unknown, the amount out of range or above `most` (what was paid)."""
        if kind not in KINDS:
            raise InvalidInput(f"an after-sales case is one of {', '.join(KINDS)}, not {str(kind)[:40]!r}")
        amount = _amount(amount, "the amount asked")
        if most is not None and amount > most:
            raise InvalidInput(f"order {order_no} was paid {most} yuan; a case cannot ask {amount}")
        for line in lines:
            units = line.get("quantity")
            if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= MAX_UNITS:
                raise InvalidInput(f"a case line's units must be from 1 to {MAX_UNITS:,}, got {units!r}")
            line["amount"] = _amount(line.get("amount", 0), "a line's amount")
        if requested_at is None or requested_at.tzinfo is None:
            raise InvalidInput("a case needs the time it was requested, with its zone")
        return cls(channel=_text(channel, "channel"), shop=_text(shop, "shop"),
                   refund_id=_text(refund_id, "refund id"), order_id=order_id, order_no=order_no, buyer_ref=buyer_ref,
                   kind=kind, amount=amount, lines=lines, reason=str(reason or "")[:MAX_NAME],
                   requested_at=requested_at, by=by)

    # Reading

    @property
    def expects_goods(self) -> bool:
        return self.kind in RETURNING_KINDS

    def units_expected(self) -> int:
        """Units to come back: those the case's lines name, else at least one."""
        return sum(line["quantity"] for line in self.lines) or 1

    def goods_back(self) -> bool:
        return sum(self.received.values()) >= self.units_expected()

    def settled(self) -> bool:
        money = self.refunded_at is not None or (self.kind in REPLACING_KINDS and bool(self.replacement))
        return money and (not self.expects_goods or self.goods_back())

    # Commands

    def report(self, status: str, amount=None, refunded_at: datetime | None = None, return_tracking_no: str = "",
               by: str = "") -> bool:
        """What the platform says now; False when it changes nothing. A refund is booked once, at the platform's
        refund time."""
        if status not in PLATFORM_STATUSES:
            raise InvalidInput(f"unknown platform status {str(status)[:40]!r}")
        if self.closed or (status == "closed" and self.refunded_at is not None):
            return False  # a platform closes a request it refunded: the case waits for its goods, if any
        changed = False
        if status == "refunded":
            if return_tracking_no and return_tracking_no != self.return_tracking_no:
                self._status_reported(platform_status=self.platform_status, return_tracking_no=return_tracking_no[:64],
                                      by=by)
                changed = True
            if self.refunded_at is None:
                refunded = _amount(self.amount if amount is None else amount, "the amount refunded")
                when = refunded_at
                if when is None or when.tzinfo is None:
                    raise InvalidInput("a refund needs the time the platform refunded, with its zone")
                self._refunded(order_id=self.order_id, channel=self.channel, shop=self.shop, amount=refunded,
                               lines=self._line_amounts(refunded), refunded_at=when, by=by)
                changed = True
        elif status != self.platform_status or (return_tracking_no and return_tracking_no != self.return_tracking_no):
            if status == "closed":
                reason = "refused" if self.platform_status == "refused" else "withdrawn"
                self._status_reported(platform_status=status, return_tracking_no="", by=by)
                self._closed(reason=reason, by=by)
                return True
            if status in ("requested", "agreed", "returning") and self.refunded_at is not None:
                return False  # the platform's list shows an older state after the refund: keep the refund
            self._status_reported(platform_status=status, return_tracking_no=return_tracking_no[:64], by=by)
            changed = True
        if not self.closed and self.settled():
            self._closed(reason="settled", by=by)
            changed = True
        return changed

    def receive_return(self, sku: str, quantity: int, resaleable: bool, by: str) -> None:
        """Units of the case came back and were scanned on the returns screen."""
        if self.closed and self.goods_back():
            raise InvalidCaseState(f"after-sales case {self.refund_id} is closed; its goods are back already")
        self._return_received(sku=sku, quantity=quantity, resaleable=bool(resaleable), by=by)
        if not self.closed and self.settled():
            self._closed(reason="settled", by=by)

    def record_replacement(self, order_id: UUID, platform_order_no: str, by: str) -> None:
        """The new outbound order of an exchange or a reshipment."""
        if self.kind not in REPLACING_KINDS:
            raise InvalidCaseState(f"after-sales case {self.refund_id} is a {self.kind}; only an exchange or a "
                                   f"reshipment sends a new parcel")
        if self.replacement:
            raise InvalidCaseState(f"after-sales case {self.refund_id} already sent order {self.replacement}")
        if self.platform_status == "refused" or (self.closed and self.platform_status == "closed"):
            raise InvalidCaseState(f"after-sales case {self.refund_id} was {self.status}; nothing to send")
        self._replacement_created(order_id=order_id, platform_order_no=platform_order_no, by=by)
        if not self.closed and self.settled():
            self._closed(reason="settled", by=by)

    def _line_amounts(self, refunded: Decimal) -> list[dict]:
        """The refund per line: each line's own amount when the lines add up to it, else shared by amount."""
        if not self.lines:
            return []
        asked = sum((line["amount"] for line in self.lines), Decimal("0"))
        if asked == refunded:
            return [dict(line) for line in self.lines]
        weights = [line["amount"] or Decimal(line["quantity"]) for line in self.lines]
        whole = sum(weights, Decimal("0"))
        shares = [(refunded * w / whole).quantize(CENT) for w in weights[:-1]]
        shares.append(refunded - sum(shares, Decimal("0")))
        return [dict(line, amount=share) for line, share in zip(self.lines, shares)]

    def _state(self) -> str:
        if self.closed:
            return "closed"
        if self.refunded_at is not None:
            return "refunded"
        if self.received:
            return "received"
        return {"requested": "requested", "returning": "returning",
                "agreed": "awaiting_return" if self.expects_goods else "approved"}.get(self.platform_status,
                                                                                      self.platform_status)

    # Events

    @event("StatusReported")
    def _status_reported(self, platform_status: str, return_tracking_no: str, by: str) -> None:
        self.platform_status = platform_status
        if return_tracking_no:
            self.return_tracking_no = return_tracking_no
        self.status = self._state()

    @event("Refunded")
    def _refunded(self, order_id: UUID, channel: str, shop: str, amount: Decimal, lines: list[dict],
                  refunded_at: datetime, by: str) -> None:
        self.platform_status = "refunded"
        self.refunded_amount = amount
        self.refunded_at = refunded_at
        self.status = self._state()

    @event("ReturnReceived")
    def _return_received(self, sku: str, quantity: int, resaleable: bool, by: str) -> None:
        self.received = dict(self.received)
        self.received[sku] = self.received.get(sku, 0) + quantity
        self.status = self._state()

    @event("ReplacementCreated")
    def _replacement_created(self, order_id: UUID, platform_order_no: str, by: str) -> None:
        self.replacement = platform_order_no
        self.status = self._state()

    @event("Closed")
    def _closed(self, reason: str, by: str) -> None:
        self.closed = True
        self.close_reason = reason
        self.status = "closed"


class OrderCases(Aggregate):
    """The after-sales cases of one order, so a return scan finds its open case without a query."""

    @staticmethod
    def create_id(order_id: UUID, **_) -> UUID:
        return order_cases_id(order_id)

    @event("Started")
    def __init__(self, order_id: UUID):
        self.order_id = order_id
        self.cases: list[UUID] = []

    def add(self, case: UUID) -> None:
        if case not in self.cases:
            self._added(case=case)

    @event("CaseAdded")
    def _added(self, case: UUID) -> None:
        self.cases = [*self.cases, case]
