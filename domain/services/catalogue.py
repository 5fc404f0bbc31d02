"""The product master: SKUs and their barcodes, registered, edited and retired one by one or a whole file at once."""

from decimal import Decimal
from typing import Callable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from .. import ids
from ..barcodes import validate_barcode
from ..catalogue import BarcodeClaim, Sku, checked_code
from ..errors import BarcodeTaken, ConcurrentUpdate, SkuAlreadyRegistered, SkuRetired, UnknownBarcode, UnknownSku
from ..purchasing import UnknownSupplier, supplier_id
from .store import EventStore, Recorded, each_row, ids_of, retry_on_conflict


class Catalogue:
    """The product master: SKUs and their barcodes, registered, edited and retired."""

    def __init__(self, store: EventStore, barcode_forms: Callable[[str], list[str]] | None = None,
                 lot_reader: Callable[[str], dict[str, str]] | None = None):
        self.store = store
        # The lot, expiry and production date a GS1 code carries (AIs 10, 17, 11), from the composition root.
        self.lot_reader = lot_reader or (lambda scanned: {})
        # What a scan may also stand for (a GS1 element string's GTIN, a GTIN-14 as the EAN-13 on file, ...):
        # the composition root gives the reader of scanner codes.
        self.barcode_forms = barcode_forms or (lambda scanned: [])
        self._known_skus: set[str] = set()

    def register_sku(self, code, name, barcodes=(), unit_weight_g=0, unit_cost=Decimal("0"), safety_stock=0,
                     **details) -> UUID:
        """Register a SKU with its barcodes and details; each barcode may belong to one SKU only."""
        sku = Sku.register(code, name, list(barcodes), unit_weight_g, unit_cost, safety_stock, **details)
        self.store.check_new(sku.id, SkuAlreadyRegistered(f"SKU {sku.code} is already registered"))
        claims = Claims(self.store)
        for barcode in sku.barcodes:
            claims.claim(barcode, sku.code)
        self.store.save_new(sku, *claims.changed(), conflict=SkuAlreadyRegistered(
            f"SKU {sku.code} is already registered"))
        return sku.id

    def edit_sku(self, code: str, by: str, barcodes=None, **changes) -> dict:
        """Change a SKU's details (those given) and, when a list is given, its barcodes; returns the SKU."""
        sku = self.store.get(ids.sku_id(code), UnknownSku(f"unknown SKU {str(code)[:64]!r}"))
        claims = Claims(self.store)
        self._change(sku, by, changes, barcodes, claims)
        self.store.save_new(sku, *claims.changed(), conflict=ConcurrentUpdate(
            f"SKU {sku.code} or one of its barcodes was changed at the same moment; look again and retry"))
        return self.get_sku(sku.code)

    @staticmethod
    def _change(sku: Sku, by: str, changes: dict, barcodes, claims: "Claims") -> None:
        sku.revise(by, **changes)
        if barcodes is None:
            return
        wanted = [validate_barcode(b) for b in barcodes]
        if len(set(wanted)) != len(wanted):
            raise BarcodeTaken(f"SKU {sku.code} lists a barcode twice")
        for barcode in [b for b in sku.barcodes if b not in wanted]:
            sku.remove_barcode(barcode)
            claims.release(barcode)
        for barcode in [b for b in wanted if b not in sku.barcodes]:
            sku.add_barcode(barcode)
            claims.claim(barcode, sku.code)

    def add_barcode(self, code: str, barcode: str) -> None:
        sku = self.store.get(ids.sku_id(code), UnknownSku(f"unknown SKU {code!r}", key="refusal:unknown_sku", sku=code))
        sku.add_barcode(barcode)
        claims = Claims(self.store)
        claims.claim(sku.barcodes[-1], sku.code)
        self.store.save_new(sku, *claims.changed(), conflict=BarcodeTaken(
            f"barcode {barcode} was claimed at the same moment by another SKU"
        ))

    def retire_sku(self, code: str, reason: str, by: str) -> dict:
        """Retire a SKU: it keeps its history and barcodes but is no longer ordered, received or edited."""
        sku = self.store.get(ids.sku_id(code), UnknownSku(f"unknown SKU {str(code)[:64]!r}"))
        sku.retire(reason, by)
        self.store.save_new(sku, conflict=ConcurrentUpdate(f"SKU {sku.code} was changed at the same moment"))
        return self.get_sku(sku.code)

    def reinstate_sku(self, code: str, by: str) -> dict:
        sku = self.store.get(ids.sku_id(code), UnknownSku(f"unknown SKU {str(code)[:64]!r}"))
        sku.reinstate(by)
        self.store.save_new(sku, conflict=ConcurrentUpdate(f"SKU {sku.code} was changed at the same moment"))
        return self.get_sku(sku.code)

    def get_sku(self, code: str) -> dict:
        sku = self.store.get(ids.sku_id(code), UnknownSku(f"unknown SKU {str(code)[:64]!r}"), to_change=False)
        return {"code": sku.code, **sku.details(), "barcodes": list(sku.barcodes), "retired": sku.retired}

    def lot_in_scan(self, scanned: str) -> dict[str, str]:
        """The `lot`, `expiry` and `produced` (ISO dates) a scanned code carries; empty when it carries none."""
        return {k: v for k, v in self.lot_reader((scanned or "").strip()).items() if v}

    def sku_exists(self, code: str) -> bool:
        if code in self._known_skus:
            return True
        if ids.sku_id(code) in self.store.repository:
            self._known_skus.add(code)
            return True
        return False

    def skus_among(self, codes) -> dict[str, Sku]:
        """Those of these SKU codes that exist, loaded together (as current as the store)."""
        loaded = self.store.load_many(ids_of(ids.sku_id, set(codes)))
        return {sku.code: sku for sku in loaded.values()}

    @retry_on_conflict
    def set_dropship(self, code: str, supplier: str, supplier_price, by: str) -> dict:
        """Have a supplier ship the SKU straight to buyers at its price (an empty supplier: ship it ourselves)."""
        sku = self.store.get(ids.sku_id(code), UnknownSku(f"unknown SKU {str(code)[:64]!r}"))
        supplier = (supplier or "").strip() if isinstance(supplier, str) else ""
        if supplier and supplier_id(supplier) not in self.store.repository:
            raise UnknownSupplier(f"unknown supplier {supplier[:64]!r}")
        if sku.set_dropship(supplier, supplier_price, by):
            self.store.save(sku)
        return {"code": sku.code, "dropship_supplier": sku.dropship_supplier, "supplier_price": sku.supplier_price}

    def retired_among(self, codes) -> set[str]:
        """Those of these SKU codes that are retired (read together, as current as the store)."""
        loaded = self.store.load_many(ids_of(ids.sku_id, set(codes)))
        return {sku.code for sku in loaded.values() if getattr(sku, "retired", False)}

    def check_receivable(self, code: str) -> None:
        """Refuse a SKU that does not exist or is retired."""
        if not self.sku_exists(code):
            raise UnknownSku(f"unknown SKU {code!r}", key="refusal:unknown_sku", sku=code)
        if code in self.retired_among({code}):
            raise SkuRetired(f"SKU {code} is retired (已停用): it is not received any more")

    def sku_for_barcode(self, barcode: str) -> str:
        """The SKU code a scanned barcode (or the SKU code itself) stands for."""
        scanned = (barcode or "").strip()
        claimed = self._claimed_by(scanned)
        if claimed is not None:
            return claimed
        if scanned and self.sku_exists(scanned):
            return scanned
        raise UnknownBarcode(f"barcode {scanned[:64]!r} belongs to no SKU", key="refusal:unknown_barcode",
                             barcode=scanned[:64])

    def sku_for_item_scan(self, scanned: str) -> str:
        """The SKU an item scanned at pick, pack or returns is: by its barcode, or by its SKU code only when the SKU
        has no barcode, so that reading the code off the screen never stands in for scanning the item."""
        scanned = (scanned or "").strip()
        claimed = self._claimed_by(scanned)
        if claimed is not None:
            return claimed
        if scanned and self.sku_exists(scanned) and not self.get_sku(scanned)["barcodes"]:
            return scanned
        raise UnknownBarcode(f"{scanned[:64]!r} is no item's barcode", key="refusal:no_items_barcode",
                             barcode=scanned[:64])

    def _claimed_by(self, scanned: str) -> str | None:
        for form in (scanned, *self.barcode_forms(scanned)):
            try:
                owner = self.store.repository.get(ids.barcode_id(form), deepcopy_from_cache=False).sku
            except (AggregateNotFoundError, ValueError):
                continue
            if owner:
                return owner
        return None

    def register_skus(self, rows: dict[int, dict], progress: Callable[[int], None] | None = None) -> int:
        """Register numbered SKU rows (keyword arguments of register_sku): all in one transaction, or none."""
        return self._file(rows, "", progress, update=False)["registered"]

    def upsert_skus(self, rows: dict[int, dict], by: str, progress: Callable[[int], None] | None = None,
                    rejected: dict[int, str] | None = None) -> dict:
        """Register the rows' new SKUs and update the existing ones with the details each row gives (a detail left
        out stays as it is; a barcodes list, when given, becomes the SKU's barcodes): all rows, or none with every
        bad row named (with the `rejected` ones, refused before they got here). Returns how many SKUs were
        registered, updated and left unchanged."""
        return self._file(rows, by, progress, update=True, rejected=rejected)

    def _file(self, rows: dict[int, dict], by: str, progress, update: bool, rejected=None) -> dict:
        codes: set[str] = set()
        counts = {"registered": 0, "updated": 0, "unchanged": 0}
        sku_ids = ids_of(ids.sku_id, (row.get("code") for row in rows.values()))
        recorded = self.store.recorded([
            *sku_ids, *ids_of(ids.barcode_id, (b for row in rows.values() for b in row.get("barcodes") or ()))])
        existing = self.store.load_many(i for i in sku_ids if i in recorded) if update else {}
        claims = Claims(self.store, recorded)
        changed: list[Sku] = []

        def upsert(code, barcodes=None, **details):
            code = checked_code(code)
            if code in codes:
                raise SkuAlreadyRegistered(f"SKU {code} appears twice in this file")
            sku = existing.get(ids.sku_id(code))
            if sku is None:
                if ids.sku_id(code) in recorded:
                    raise SkuAlreadyRegistered(f"SKU {code} is already registered")
                sku = Sku.register(code, details.pop("name", ""), barcodes or (), **details)
                for barcode in sku.barcodes:
                    claims.claim(barcode, sku.code)
                counts["registered"] += 1
            else:
                self._change(sku, by, details, barcodes, claims)
                counts["updated" if sku.pending_events else "unchanged"] += 1
            codes.add(code)
            if sku.pending_events:
                changed.append(sku)

        each_row(rows, upsert, progress, rejected)
        self.store.save_new(*changed, *claims.changed(), conflict=ConcurrentUpdate(
            "some of these SKUs or barcodes were changed at the same moment; nothing was imported, try again"))
        self._known_skus.update(codes)
        return counts

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


class Claims:
    """The barcode claims one command changes: each barcode's claim is loaded or made once, so a barcode released by
    one SKU may be claimed by another in the same command."""

    def __init__(self, store: EventStore, recorded: Recorded | None = None):
        self.store = store
        self.recorded = recorded
        self.claims: dict[str, BarcodeClaim | None] = {}

    def _current(self, barcode: str) -> BarcodeClaim | None:
        if barcode not in self.claims:
            claim_id = ids.barcode_id(barcode)
            known = claim_id in self.recorded if self.recorded is not None else claim_id in self.store.repository
            self.claims[barcode] = self.store.repository.get(claim_id) if known else None
        return self.claims[barcode]

    def claim(self, barcode: str, sku: str) -> None:
        claim = self._current(barcode)
        if claim is None:
            self.claims[barcode] = BarcodeClaim(barcode, sku)
        else:
            claim.claim_again(sku)

    def release(self, barcode: str) -> None:
        claim = self._current(barcode)
        if claim is not None and claim.sku:
            claim.release()

    def changed(self) -> list[BarcodeClaim]:
        return [claim for claim in self.claims.values() if claim is not None and claim.pending_events]
