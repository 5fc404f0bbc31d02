"""What shipping a parcel costs besides its goods: the box it goes in (a price per box type, set in the back office)
and the courier's fee (estimated from the courier rule's tariff at waybill time, then taken from the courier's bill)."""

from decimal import Decimal, InvalidOperation
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInput, RowsRejected
from .ids import NAMESPACE
from .limits import MAX_MONEY

MAX_BILL_LINES = 20_000
PACKAGING_PRICES_ID = uuid5(NAMESPACE, "packaging-prices")


def checked_box_type(box_type) -> str:
    box_type = box_type.strip() if isinstance(box_type, str) else ""
    if not box_type or len(box_type) > 32 or not box_type.isprintable() or any(c.isspace() for c in box_type) \
            or box_type.isdigit():
        # a box type is scanned at packing where a whole number is a weight
        raise InvalidInput(f"a box type is 1-32 printable characters without spaces, not only digits, got "
                           f"{str(box_type)[:40]!r}")
    return box_type


def checked_amount(value, label: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        amount = Decimal("NaN")
    if not amount.is_finite() or not 0 <= amount <= MAX_MONEY or amount.as_tuple().exponent < -2:
        raise InvalidInput(f"{label} is from 0 to {MAX_MONEY:,} yuan in fen, got {str(value)[:20]!r}")
    return amount


class PackagingPrices(Aggregate):
    """The price of each box type the packers use (包材成本); finance books a parcel's box at the price it had when
    the parcel shipped."""

    @staticmethod
    def create_id(**_) -> UUID:
        return PACKAGING_PRICES_ID

    @event("Opened")
    def __init__(self):
        self.prices: dict[str, Decimal] = {}

    def set_price(self, box_type: str, price, by: str) -> bool:
        box_type, price = checked_box_type(box_type), checked_amount(price, "a box price")
        if self.prices.get(box_type) == price:
            return False
        self._price_set(box_type, price, by)
        return True

    def remove(self, box_type: str, by: str) -> None:
        if box_type not in self.prices:
            raise InvalidInput(f"no box type {str(box_type)[:32]!r}")
        self._removed(box_type, by)

    @event("PriceSet")
    def _price_set(self, box_type: str, price: Decimal, by: str) -> None:
        self.prices[box_type] = price

    @event("Removed")
    def _removed(self, box_type: str, by: str) -> None:
        del self.prices[box_type]


def courier_bill_id(courier: str, reference: str) -> UUID:
    return uuid5(NAMESPACE, f"courier-bill:{courier}:{reference}")


class CourierBill(Aggregate):
    """A courier's bill (对账单) as uploaded: the fee it charged per tracking number. Its fees replace the
    estimates; a bill uploaded again under the same reference is refused."""

    @staticmethod
    def create_id(courier: str, reference: str, **_) -> UUID:
        return courier_bill_id(courier, reference)

    @event("Uploaded")
    def __init__(self, courier: str, reference: str, lines: list[dict], by: str):
        self.courier = courier
        self.reference = reference
        self.lines = list(lines)

    @classmethod
    def upload(cls, courier: str, reference: str, rows: dict[int, dict], by: str) -> "CourierBill":
        """Rows numbered as in the file, each with tracking_no and fee; a bad row refuses the bill, all named."""
        courier, reference = (courier or "").strip(), (reference or "").strip()
        if not courier or len(courier) > 32 or not reference or len(reference) > 64:
            raise InvalidInput("a courier bill needs a courier (1-32 characters) and a reference (1-64 characters)")
        if not rows:
            raise InvalidInput("the bill has no rows")
        if len(rows) > MAX_BILL_LINES:
            raise InvalidInput(f"a bill has at most {MAX_BILL_LINES:,} rows, this one {len(rows):,}; split it")
        problems, lines, seen = {}, [], set()
        for number, row in sorted(rows.items()):
            tracking = str(row.get("tracking_no") or "").strip()
            if not tracking or len(tracking) > 64 or any(c.isspace() for c in tracking):
                problems[number] = "a tracking number is 1-64 characters without spaces"
                continue
            if tracking in seen:
                problems[number] = f"tracking number {tracking} appears twice"
                continue
            try:
                fee = checked_amount(row.get("fee"), "a fee")
            except InvalidInput as error:
                problems[number] = str(error)
                continue
            seen.add(tracking)
            lines.append({"tracking_no": tracking, "fee": fee})
        if problems:
            raise RowsRejected(problems)
        return cls(courier=courier, reference=reference, lines=lines, by=by)
