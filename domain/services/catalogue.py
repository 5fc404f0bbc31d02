"""SKUs and their barcodes: registered one by one or a whole file at once."""

from decimal import Decimal
from typing import Callable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from .. import ids
from ..catalogue import BarcodeClaim, Sku
from ..errors import BarcodeTaken, SkuAlreadyRegistered, UnknownBarcode, UnknownSku
from .store import EventStore, Recorded, each_row, ids_of


class Catalogue:
    """SKUs and their barcodes: registered one by one or a whole file at once."""

    def __init__(self, store: EventStore, barcode_forms: Callable[[str], list[str]] | None = None):
        self.store = store
        # What a scan may also stand for (a GS1 element string's GTIN, a GTIN-14 as the EAN-13 on file, ...):
        # the composition root gives the reader of scanner codes.
        self.barcode_forms = barcode_forms or (lambda scanned: [])
        self._known_skus: set[str] = set()

    def register_sku(self, code, name, barcodes=(), unit_weight_g=0, unit_cost=Decimal("0"), safety_stock=0) -> UUID:
        """Register a SKU with its barcodes; each barcode may belong to one SKU only."""
        sku = Sku.register(code, name, list(barcodes), unit_weight_g, unit_cost, safety_stock)
        self.store.check_new(sku.id, SkuAlreadyRegistered(f"SKU {sku.code} is already registered"))
        claims = [self._claim_barcode(b, sku.code) for b in sku.barcodes]
        self.store.save_new(sku, *claims, conflict=SkuAlreadyRegistered(f"SKU {sku.code} is already registered"))
        return sku.id

    def _claim_barcode(self, barcode: str, sku: str, recorded: Recorded | None = None) -> BarcodeClaim:
        claim = BarcodeClaim(barcode, sku)
        if claim.id in recorded if recorded is not None else claim.id in self.store.repository:
            owner = self.store.repository.get(claim.id).sku
            raise BarcodeTaken(f"barcode {barcode} already belongs to SKU {owner}")
        return claim

    def add_barcode(self, code: str, barcode: str) -> None:
        sku = self.store.get(ids.sku_id(code), UnknownSku(f"unknown SKU {code!r}"))
        sku.add_barcode(barcode)
        self.store.save_new(sku, self._claim_barcode(sku.barcodes[-1], sku.code), conflict=BarcodeTaken(
            f"barcode {barcode} was claimed at the same moment by another SKU"
        ))

    def get_sku(self, code: str) -> dict:
        sku = self.store.get(ids.sku_id(code), UnknownSku(f"unknown SKU {code!r}"), to_change=False)
        return {
            "code": sku.code,
            "name": sku.name,
            "barcodes": list(sku.barcodes),
            "unit_weight_g": sku.unit_weight_g,
            "unit_cost": sku.unit_cost,
            "safety_stock": sku.safety_stock,
        }

    def sku_exists(self, code: str) -> bool:
        if code in self._known_skus:
            return True
        if ids.sku_id(code) in self.store.repository:
            self._known_skus.add(code)
            return True
        return False

    def sku_for_barcode(self, barcode: str) -> str:
        """The SKU code a scanned barcode (or the SKU code itself) stands for."""
        scanned = (barcode or "").strip()
        claimed = self._claimed_by(scanned)
        if claimed is not None:
            return claimed
        if scanned and self.sku_exists(scanned):
            return scanned
        raise UnknownBarcode(f"barcode {scanned[:64]!r} belongs to no SKU")

    def sku_for_item_scan(self, scanned: str) -> str:
        """The SKU an item scanned at pick, pack or returns is: by its barcode, or by its SKU code only when the SKU
        has no barcode, so that reading the code off the screen never stands in for scanning the item."""
        scanned = (scanned or "").strip()
        claimed = self._claimed_by(scanned)
        if claimed is not None:
            return claimed
        if scanned and self.sku_exists(scanned) and not self.get_sku(scanned)["barcodes"]:
            return scanned
        raise UnknownBarcode(f"{scanned[:64]!r} is no item's barcode")

    def _claimed_by(self, scanned: str) -> str | None:
        for form in (scanned, *self.barcode_forms(scanned)):
            try:
                return self.store.repository.get(ids.barcode_id(form), deepcopy_from_cache=False).sku
            except (AggregateNotFoundError, ValueError):
                continue
        return None

    def register_skus(self, rows: dict[int, dict], progress: Callable[[int], None] | None = None) -> int:
        """Register numbered SKU rows (keyword arguments of register_sku): all in one transaction, or none."""
        new: list = []
        codes: set[str] = set()
        claimed: set[str] = set()
        recorded = self.store.recorded([
            *ids_of(ids.sku_id, (row.get("code") for row in rows.values())),
            *ids_of(ids.barcode_id, (b for row in rows.values() for b in row.get("barcodes", ()))),
        ])

        def register(code, name, barcodes=(), unit_weight_g=0, unit_cost=Decimal("0"), safety_stock=0):
            sku = Sku.register(code, name, list(barcodes), unit_weight_g, unit_cost, safety_stock)
            if sku.code in codes:
                raise SkuAlreadyRegistered(f"SKU {sku.code} appears twice in this file")
            if sku.id in recorded:
                raise SkuAlreadyRegistered(f"SKU {sku.code} is already registered")
            twice = claimed.intersection(sku.barcodes)
            if twice:
                raise BarcodeTaken(f"barcode {twice.pop()} appears twice in this file")
            new.extend([sku, *(self._claim_barcode(b, sku.code, recorded) for b in sku.barcodes)])
            codes.add(sku.code)
            claimed.update(sku.barcodes)

        each_row(rows, register, progress)
        self.store.save_new(*new, conflict=SkuAlreadyRegistered(
            "some of these SKUs were registered at the same moment"))
        self._known_skus.update(codes)
        return len(codes)

    def look_up(self, codes: set[str]) -> None:
        """Find which of these SKU codes exist in one look, so that sku_exists answers them without asking again."""
        self._known_skus.update(self._recorded_codes(codes))

    def _recorded_codes(self, codes: set[str]) -> set[str]:
        by_id = {}
        for code in codes:
            try:
                by_id[ids.sku_id(code)] = code
            except (ValueError, TypeError):
                continue
        return {by_id[found] for found in self.store.recorded(by_id).found}
