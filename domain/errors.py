"""Named domain errors. Every guard raises one of these; the edges translate them once."""


class DomainError(Exception):
    """A command was refused; nothing was written. `key` and `params`, when given, name the refusal's words in the
    reader's language (the edges translate them); the message is the English text shown where nothing translates."""

    code = "domain_error"
    key = ""

    def __init__(self, message: str = "", *, key: str = "", **params):
        super().__init__(message)
        if key:
            self.key = key
        self.params = {k: str(v) for k, v in params.items()}


class InvalidInput(DomainError):
    code = "invalid_input"


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class InvalidBarcode(InvalidInput):
    code = "invalid_barcode"


class RowsRejected(InvalidInput):
    """A batch was refused as a whole; `errors` maps each bad row number to what is wrong with it."""

    code = "rows_rejected"

    def __init__(self, errors: "dict[int, str | DomainError]"):
        self.reasons = dict(sorted(errors.items()))
        self.errors = {n: str(reason) for n, reason in self.reasons.items()}
        super().__init__("; ".join(f"row {n}: {msg}" for n, msg in self.errors.items()))


class NotFound(DomainError):
    code = "not_found"


class UnknownSku(NotFound):
    code = "unknown_sku"


class UnknownBarcode(NotFound):
    code = "unknown_barcode"


class UnknownWarehouse(NotFound):
    code = "unknown_warehouse"


class UnknownBin(NotFound):
    code = "unknown_bin"


class UnknownOrder(NotFound):
    code = "unknown_order"


class UnknownWave(NotFound):
    code = "unknown_wave"


class Conflict(DomainError):
    code = "conflict"


class SkuAlreadyRegistered(Conflict):
    code = "sku_already_registered"


class BarcodeTaken(Conflict):
    code = "barcode_taken"


class SkuRetired(Conflict):
    """A retired SKU is kept for its history but is no longer ordered, received or edited."""

    code = "sku_retired"


class BinAlreadyExists(Conflict):
    code = "bin_already_exists"


class WarehouseAlreadyExists(Conflict):
    code = "warehouse_already_exists"


class DuplicateOrder(Conflict):
    code = "duplicate_order"


class InvalidOrderState(Conflict):
    code = "invalid_order_state"


class AlreadyReserved(Conflict):
    code = "already_reserved"


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class BinEmpty(InsufficientStock):
    code = "bin_empty"


class CountBelowPicked(Conflict):
    """A count would take units already picked for orders from under them."""

    code = "count_below_picked"


class CountBelowReserved(Conflict):
    """A count below what a bin holds for orders, booked where no one sees to those orders."""

    code = "count_below_reserved"


class NotReserved(Conflict):
    code = "not_reserved"


class WrongItemScanned(Conflict):
    code = "wrong_item"


class LabelNotPrintable(Conflict):
    """A waybill label we cannot lay out truthfully (its platform print data is encrypted and lacks what the label
    needs); printing it would send the parcel wrong."""

    code = "label_not_printable"


class PackageIncomplete(Conflict):
    code = "package_incomplete"


class ConcurrentUpdate(Conflict):
    """Optimistic-concurrency retries were exhausted."""

    code = "concurrent_update"


class LotRequired(InvalidInput):
    """A lot-tracked SKU is received only with its lot and expiry date."""

    code = "lot_required"


class LotExpiryMismatch(Conflict):
    """One lot of a SKU has one expiry date."""

    code = "lot_expiry_mismatch"


class WrongLotScanned(Conflict):
    """The picker scanned a unit of another lot than the one the order holds (first expiring first)."""

    code = "wrong_lot"

    def __init__(self, message: str, expected: str = ""):
        super().__init__(message)
        self.params = {"expected": expected}
