"""The catalogue: SKUs and the barcodes that identify them."""

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from . import ids
from .barcodes import validate_barcode
from .errors import BarcodeTaken, InvalidInput
from .limits import MAX_MONEY, MAX_NAME, MAX_UNITS, MAX_WEIGHT_G


class Sku(Aggregate):
    """A stock-keeping unit: one thing the warehouse stores and counts."""

    @staticmethod
    def create_id(code: str, **_) -> UUID:
        return ids.sku_id(code)

    @event("Registered")
    def __init__(
        self,
        code: str,
        name: str,
        barcodes: list[str],
        unit_weight_g: int,
        unit_cost: Decimal,
        safety_stock: int,
    ):
        self.code = code
        self.name = name
        self.barcodes = list(barcodes)
        self.unit_weight_g = unit_weight_g
        self.unit_cost = unit_cost
        self.safety_stock = safety_stock

    @classmethod
    def register(cls, code, name, barcodes, unit_weight_g=0, unit_cost=Decimal("0"), safety_stock=0) -> "Sku":
        code = (code or "").strip()
        if not code or len(code) > 64 or not code.isprintable() or " " in code:
            raise InvalidInput(f"SKU code {code!r} must be 1-64 printable characters without spaces")
        if not (name or "").strip():
            raise InvalidInput(f"SKU {code} needs a name")
        if len(name.strip()) > MAX_NAME:
            raise InvalidInput(f"SKU {code}: a name has at most {MAX_NAME} characters, this one {len(name.strip())}")
        checked = [validate_barcode(b) for b in barcodes]
        if len(set(checked)) != len(checked):
            raise InvalidInput(f"SKU {code} lists a barcode twice")
        for label, value, most in (("unit weight (g)", unit_weight_g, MAX_WEIGHT_G),
                                   ("safety stock", safety_stock, MAX_UNITS)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
                raise InvalidInput(f"SKU {code}: {label} must be a whole number from 0 to {most:,}, got {value!r}")
        unit_cost = Decimal(unit_cost)
        if not unit_cost.is_finite() or not 0 <= unit_cost <= MAX_MONEY:
            raise InvalidInput(f"SKU {code}: unit cost must be from 0 to {MAX_MONEY:,} yuan, got {unit_cost}")
        return cls(code, name.strip(), checked, unit_weight_g, unit_cost, safety_stock)

    def add_barcode(self, barcode: str) -> None:
        barcode = validate_barcode(barcode)
        if barcode in self.barcodes:
            raise BarcodeTaken(f"barcode {barcode} already belongs to SKU {self.code}")
        self._barcode_added(barcode)

    @event("BarcodeAdded")
    def _barcode_added(self, barcode: str) -> None:
        self.barcodes.append(barcode)


class BarcodeClaim(Aggregate):
    """One barcode's claim on one SKU; its deterministic id makes a barcode unique across the catalogue."""

    @staticmethod
    def create_id(barcode: str, **_) -> UUID:
        return ids.barcode_id(barcode)

    @event("Claimed")
    def __init__(self, barcode: str, sku: str):
        self.barcode = barcode
        self.sku = sku
