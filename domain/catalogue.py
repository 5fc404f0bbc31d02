"""The catalogue (product master): SKUs, their details and the barcodes that identify them."""

from decimal import Decimal, InvalidOperation
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from . import ids
from .barcodes import validate_barcode
from .errors import BarcodeTaken, InvalidInput, SkuRetired
from .limits import MAX_LENGTH_MM, MAX_MONEY, MAX_NAME, MAX_SHELF_LIFE_DAYS, MAX_UNITS, MAX_WEIGHT_G

# What a SKU's record holds besides its code and barcodes, with the value a new SKU takes when one is not given.
DETAILS = {"name": "", "unit_weight_g": 0, "length_mm": 0, "width_mm": 0, "height_mm": 0, "unit_cost": Decimal("0"),
           "safety_stock": 0, "lot_tracked": False, "shelf_life_days": 0}
WHOLE_NUMBERS = {"unit_weight_g": ("unit weight (g)", MAX_WEIGHT_G), "length_mm": ("length (mm)", MAX_LENGTH_MM),
                 "width_mm": ("width (mm)", MAX_LENGTH_MM), "height_mm": ("height (mm)", MAX_LENGTH_MM),
                 "safety_stock": ("safety stock", MAX_UNITS), "shelf_life_days": ("shelf life (days)",
                                                                                  MAX_SHELF_LIFE_DAYS)}


def checked_code(code) -> str:
    code = (code or "").strip() if isinstance(code, str) else ""
    if not code or len(code) > 64 or not code.isprintable() or any(c.isspace() for c in code):
        raise InvalidInput(f"SKU code {code[:70]!r} must be 1-64 printable characters without spaces "
                           f"(SKU 编码须为 1-64 个字符，不含空格)")
    return code


def checked_details(code: str, details: dict) -> dict:
    """A SKU's details as the catalogue keeps them; any value out of its range is refused with the range."""
    unknown = sorted(set(details) - set(DETAILS))
    if unknown:
        raise InvalidInput(f"SKU {code}: no such detail {unknown[0]!r}")
    checked = dict(details)
    if "name" in checked:
        name = checked["name"].strip() if isinstance(checked["name"], str) else ""
        if not name:
            raise InvalidInput(f"SKU {code} needs a name (SKU 须有名称)")
        if len(name) > MAX_NAME:
            raise InvalidInput(f"SKU {code}: a name has at most {MAX_NAME} characters, this one {len(name)}")
        checked["name"] = name
    for field, (label, most) in WHOLE_NUMBERS.items():
        value = checked.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
            raise InvalidInput(f"SKU {code}: {label} must be a whole number from 0 to {most:,}, got {value!r}")
    if "unit_cost" in checked:
        try:
            cost = Decimal(checked["unit_cost"])
        except (InvalidOperation, TypeError, ValueError):
            cost = Decimal("NaN")
        if not cost.is_finite() or not 0 <= cost <= MAX_MONEY or cost.as_tuple().exponent < -4:
            raise InvalidInput(f"SKU {code}: unit cost must be from 0 to {MAX_MONEY:,} yuan with at most 4 "
                               f"decimal places, got {str(checked['unit_cost'])[:20]}")
        checked["unit_cost"] = cost
    if "lot_tracked" in checked and not isinstance(checked["lot_tracked"], bool):
        raise InvalidInput(f"SKU {code}: lot tracked is yes or no, got {checked['lot_tracked']!r}")
    return checked


class Sku(Aggregate):
    """A stock-keeping unit: one thing the warehouse stores and counts."""

    class Registered(Aggregate.Created):
        """Version 2 added the dimensions, the lot-tracked flag and the shelf life."""

        class_version = 2
        code: str
        name: str
        barcodes: list[str]
        unit_weight_g: int
        unit_cost: Decimal
        safety_stock: int
        length_mm: int
        width_mm: int
        height_mm: int
        lot_tracked: bool
        shelf_life_days: int

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state.update(length_mm=0, width_mm=0, height_mm=0, lot_tracked=False, shelf_life_days=0)

    @staticmethod
    def create_id(code: str, **_) -> UUID:
        return ids.sku_id(code)

    @event(Registered)
    def __init__(self, code: str, name: str, barcodes: list[str], unit_weight_g: int, unit_cost: Decimal,
                 safety_stock: int, length_mm: int = 0, width_mm: int = 0, height_mm: int = 0,
                 lot_tracked: bool = False, shelf_life_days: int = 0):
        self.code = code
        self.barcodes = list(barcodes)
        self.retired = False
        self._set(name=name, unit_weight_g=unit_weight_g, unit_cost=unit_cost, safety_stock=safety_stock,
                  length_mm=length_mm, width_mm=width_mm, height_mm=height_mm, lot_tracked=lot_tracked,
                  shelf_life_days=shelf_life_days)

    def _set(self, **details) -> None:
        for field, value in details.items():
            setattr(self, field, value)

    @classmethod
    def register(cls, code, name, barcodes=(), unit_weight_g=0, unit_cost=Decimal("0"), safety_stock=0,
                 **more) -> "Sku":
        code = checked_code(code)
        details = checked_details(code, {**DETAILS, "name": name, "unit_weight_g": unit_weight_g,
                                         "unit_cost": unit_cost, "safety_stock": safety_stock, **more})
        checked = [validate_barcode(b) for b in barcodes]
        if len(set(checked)) != len(checked):
            raise InvalidInput(f"SKU {code} lists a barcode twice")
        return cls(code=code, barcodes=checked, **details)

    def details(self) -> dict:
        return {field: getattr(self, field) for field in DETAILS}

    def revise(self, by: str, **changes) -> bool:
        """Change some of the SKU's details; False when they already hold those values (nothing is recorded)."""
        details = {**self.details(), **checked_details(self.code, changes)}
        if details == self.details():
            return False
        self._still_current()
        self._revised(by=by, code=self.code, **details)
        return True

    @event("Revised")
    def _revised(self, by: str, code: str, name: str, unit_weight_g: int, length_mm: int, width_mm: int, height_mm: int,
                 unit_cost: Decimal, safety_stock: int, lot_tracked: bool, shelf_life_days: int) -> None:
        self._set(name=name, unit_weight_g=unit_weight_g, length_mm=length_mm, width_mm=width_mm,
                  height_mm=height_mm, unit_cost=unit_cost, safety_stock=safety_stock, lot_tracked=lot_tracked,
                  shelf_life_days=shelf_life_days)

    dropship_supplier = ""  # SKUs registered before dropship existed are kept in our warehouses
    supplier_price = Decimal("0")

    def set_dropship(self, supplier: str, supplier_price, by: str) -> bool:
        """Have the SKU shipped by a supplier straight to the buyer (无货源/代发) at the supplier's price, or back
        from our warehouses (an empty supplier); False when nothing changes."""
        self._still_current()
        supplier = (supplier or "").strip() if isinstance(supplier, str) else ""
        if len(supplier) > 64 or any(c.isspace() for c in supplier):
            raise InvalidInput(f"SKU {self.code}: a supplier code is 1-64 characters without spaces")
        try:
            price = Decimal(supplier_price or 0)
        except (InvalidOperation, TypeError, ValueError):
            price = Decimal("NaN")
        if not price.is_finite() or not 0 <= price <= MAX_MONEY or price.as_tuple().exponent < -4:
            raise InvalidInput(f"SKU {self.code}: a supplier price is from 0 to {MAX_MONEY:,} yuan with at most 4 "
                               f"decimal places, got {str(supplier_price)[:20]}")
        if not supplier:
            price = Decimal("0")
        if (supplier, price) == (self.dropship_supplier, self.supplier_price):
            return False
        self._dropship_set(code=self.code, supplier=supplier, supplier_price=price, by=by)
        return True

    @event("DropshipSet")
    def _dropship_set(self, code: str, supplier: str, supplier_price: Decimal, by: str) -> None:
        self.dropship_supplier = supplier
        self.supplier_price = supplier_price

    def add_barcode(self, barcode: str) -> None:
        self._still_current()
        barcode = validate_barcode(barcode)
        if barcode in self.barcodes:
            raise BarcodeTaken(f"barcode {barcode} already belongs to SKU {self.code}")
        self._barcode_added(barcode)

    @event("BarcodeAdded")
    def _barcode_added(self, barcode: str) -> None:
        self.barcodes.append(barcode)

    def remove_barcode(self, barcode: str) -> None:
        self._still_current()
        if barcode not in self.barcodes:
            raise InvalidInput(f"barcode {barcode[:64]} is not one of SKU {self.code}'s")
        self._barcode_removed(barcode)

    @event("BarcodeRemoved")
    def _barcode_removed(self, barcode: str) -> None:
        self.barcodes.remove(barcode)

    def retire(self, reason: str, by: str) -> None:
        self._still_current()
        reason = (reason or "").strip()
        if len(reason) > MAX_NAME:
            raise InvalidInput(f"a reason has at most {MAX_NAME} characters")
        self._retired(code=self.code, reason=reason, by=by)

    @event("Retired")
    def _retired(self, code: str, reason: str, by: str) -> None:
        self.retired = True

    def reinstate(self, by: str) -> None:
        if not self.retired:
            raise InvalidInput(f"SKU {self.code} is not retired")
        self._reinstated(code=self.code, by=by)

    @event("Reinstated")
    def _reinstated(self, code: str, by: str) -> None:
        self.retired = False

    def _still_current(self) -> None:
        if self.retired:
            raise SkuRetired(f"SKU {self.code} is retired (已停用); reinstate it first")


class BarcodeClaim(Aggregate):
    """One barcode's claim on one SKU; its deterministic id makes a barcode unique across the catalogue. A barcode
    taken off a SKU is released (its `sku` is empty) and may be claimed again."""

    @staticmethod
    def create_id(barcode: str, **_) -> UUID:
        return ids.barcode_id(barcode)

    @event("Claimed")
    def __init__(self, barcode: str, sku: str):
        self.barcode = barcode
        self.sku = sku

    @event("Released")
    def release(self) -> None:
        self.sku = ""

    def claim_again(self, sku: str) -> None:
        if self.sku:
            raise BarcodeTaken(f"barcode {self.barcode} already belongs to SKU {self.sku}")
        self._claimed_again(sku)

    @event("ClaimedAgain")
    def _claimed_again(self, sku: str) -> None:
        self.sku = sku
