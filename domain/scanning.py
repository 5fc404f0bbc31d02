"""Scanning devices and what happens on them: every scan, mis-scan, override and cancel is an event.

A device (a PDA) numbers its scans. The device's stream records each numbered scan once, in the same
transaction as the command the scan caused, so a scan sent twice is applied once and answered the same way.
"""

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, Callable
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import (
    Conflict,
    DomainError,
    InsufficientStock,
    InvalidInput,
    NotFound,
    WrongItemScanned,
)
from .ids import NAMESPACE
from .staff import NotAllowed

ENTRIES = ("", "scanned", "keyed")
SCAN_SCREENS = ("receive", "putaway", "pick", "pack", "handover", "count", "returns", "dispatch", "supervisor")
KINDS = ("scan", "action", "override", "cancel")
MAX_VALUE = 64
RECENT_SCANS = 32


class ScanError(DomainError):
    """A domain error that names what was expected, for the scanner screen to say."""

    def __init__(self, message: str, **params: Any):
        super().__init__(message)
        self.params = {k: str(v) for k, v in params.items()}


class WrongBinScanned(ScanError, Conflict):
    code = "wrong_bin"


class ItemNotExpected(ScanError, WrongItemScanned):
    code = "wrong_item"


class WaveTaken(ScanError, Conflict):
    code = "wave_taken"


class UnexpectedInput(ScanError, InvalidInput):
    code = "unexpected_input"


class KeyedEntryOff(ScanError, InvalidInput):
    """A code typed by hand on a screen where codes must be scanned."""

    code = "keyed_entry_off"


class NumberOutOfRange(UnexpectedInput):
    code = "number_out_of_range"


class NothingLeftToVerify(ScanError, WrongItemScanned):
    code = "nothing_left_to_verify"


class OrderInOtherWarehouse(ScanError, Conflict):
    """An order scanned on a device working in another warehouse than the one it ships from."""

    code = "order_in_other_warehouse"


class TransferInOtherWarehouse(ScanError, Conflict):
    """A transfer scanned out on a device working in another warehouse than the one it ships from."""

    code = "transfer_in_other_warehouse"


class NothingToPutAway(ScanError, InsufficientStock):
    code = "nothing_to_put_away"


class UnknownParcel(ScanError, NotFound):
    code = "unknown_parcel"


class AmbiguousOrder(ScanError, Conflict):
    code = "ambiguous_order"


class PrinterFailed(ScanError):
    code = "printer_unavailable"


class StaleSequence(ScanError, Conflict):
    """The scan's number was already used for another scan (a stale page, a second tab): renumber and resend."""

    code = "stale_sequence"

    def __init__(self, message: str, next_sequence: int):
        super().__init__(message, next_sequence=next_sequence)
        self.next_sequence = next_sequence


class ReleaseShort(ScanError, InsufficientStock):
    """A held order cannot be released: free stock does not cover what it is missing."""

    code = "release_short"

    def __init__(self, order: str, short: dict[str, tuple[int, int]]):
        text = ", ".join(f"{sku} {missing} / {free}" for sku, (missing, free) in short.items())
        super().__init__(f"order {order} cannot be released: not enough free stock (wanted / free): {text}",
                         order=order, short=text)


class LoginRefused(NotAllowed):
    """A badge and PIN not accepted at a device, saying which of the two to fix (the field)."""

    def __init__(self, message: str, code: str, field: str, **params: Any):
        super().__init__(message, key=code, **params)
        self.code = code
        self.field = field
        self.params = {k: str(v) for k, v in params.items()}


class UnknownCountRequest(NotFound):
    code = "unknown_count_request"


def device_id(device: str) -> UUID:
    return uuid5(NAMESPACE, f"device:{device}")


def check_device(device: str) -> str:
    device = (device or "").strip()
    if not 1 <= len(device) <= 40 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in device):
        raise InvalidInput("a device id is 1-40 letters, digits, '-' or '_'")
    return device


def recordable(value: str) -> str:
    """What may be stored of an untrusted scanned value: printable, at most MAX_VALUE characters."""
    text = "".join(c if c.isprintable() else "?" for c in str(value or ""))
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


GROUP_SEPARATOR = "\x1d"  # ends a variable-length field in a GS1-128 code; scanners send it as it is


def clean_value(value: str) -> str:
    """A scanned value as the scanner typed it, stripped; refused when too long or not printable."""
    text = str(value or "").strip()
    if len(text) > MAX_VALUE:
        raise UnexpectedInput(f"a scan holds at most {MAX_VALUE} characters", limit=MAX_VALUE)
    if not text.replace(GROUP_SEPARATOR, "").isprintable():
        raise UnexpectedInput("the scan holds characters a barcode never does")
    return text


def whole_number(value: str, low: int, high: int) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 6 or not low <= int(value) <= high:
        raise NumberOutOfRange(f"enter a whole number from {low} to {high}", low=low, high=high)
    return int(value)


@dataclass(frozen=True)
class Scan:
    """One numbered input from a device: a scanned or typed value, or a button (action, override, cancel)."""

    device: str
    sequence: int
    staff: str
    screen: str
    value: str
    kind: str = "scan"
    entry: str = ""  # how a value came: "scanned", "keyed" (typed by hand), or "" when the device cannot tell


@dataclass(frozen=True)
class ScanResult:
    outcome: str  # "ok" or "refused"
    key: str  # what happened (ok) or the error code (refused)
    params: dict
    message: str
    sequence: int
    next_sequence: int
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class Step:
    """What a scan does: the command to run (if any), the screen's context after it, and what to say."""

    context: dict
    key: str
    params: dict = field(default_factory=dict)
    do: Callable[[], Any] | None = None


class Device(Aggregate):
    """A scanning device: its numbered scans (the recent ones kept for answering resends) and each screen's context."""

    @staticmethod
    def create_id(device: str, **_) -> UUID:
        return device_id(device)

    @event("Registered")
    def __init__(self, device: str):
        self.device = device
        self.last_sequence = 0
        self.recent: dict[str, dict] = {}
        self.contexts: dict[str, dict] = {}

    def __deepcopy__(self, memo: dict) -> "Device":
        """Recorded scans and screen contexts are only ever added or replaced, never changed: a copy shares them."""
        copy = object.__new__(type(self))
        memo[id(self)] = copy
        for name, value in self.__dict__.items():
            copy.__dict__[name] = dict(value) if name in ("recent", "contexts") else deepcopy(value, memo)
        return copy

    def context(self, screen: str) -> dict:
        return dict(self.contexts.get(screen, {}))

    @property
    def warehouse(self) -> str:
        """The warehouse the device works in, as last chosen at a login ("" before any choice)."""
        return self.__dict__.get("chosen_warehouse", "")

    def choose_warehouse(self, warehouse: str, staff: str) -> None:
        """Work in another warehouse from now on; what each screen was doing belonged to the one before."""
        if warehouse != self.warehouse:
            self._warehouse_chosen(warehouse, staff)

    @event("WarehouseChosen")
    def _warehouse_chosen(self, warehouse: str, staff: str) -> None:
        self.chosen_warehouse = warehouse
        self.contexts = {}

    def answer_to(self, scan: Scan) -> ScanResult | None:
        """The recorded answer when this numbered scan was already recorded; StaleSequence when the number was
        used for something else; None when the scan is new."""
        seen = self.recent.get(str(scan.sequence))
        if seen is not None:
            if (seen["screen"], seen["kind"], seen["value"]) == (scan.screen, scan.kind, recordable(scan.value)):
                return ScanResult(seen["outcome"], seen["key"], dict(seen["params"]), seen["message"],
                                  scan.sequence, self.last_sequence + 1, duplicate=True)
        if seen is not None or scan.sequence <= self.last_sequence:
            raise StaleSequence(f"scan number {scan.sequence} was already used on this device; "
                                f"the next is {self.last_sequence + 1}", self.last_sequence + 1)
        return None

    def record(self, scan: Scan, outcome: str, key: str, params: dict, message: str,
               context: dict | None) -> ScanResult:
        params = {k: recordable(v) if isinstance(v, str) else v for k, v in params.items()}
        self._scanned(self.device, scan.sequence, scan.staff, scan.screen, scan.kind, recordable(scan.value),
                      outcome, key, params, message[:300], context, scan.entry)
        return ScanResult(outcome, key, params, message[:300], scan.sequence, self.last_sequence + 1)

    @event("Scanned")
    def _scanned(self, device: str, sequence: int, staff: str, screen: str, kind: str, value: str, outcome: str,
                 key: str, params: dict, message: str, context: dict | None, entry: str = "") -> None:
        self.last_sequence = max(self.last_sequence, sequence)
        self.recent[str(sequence)] = {"screen": screen, "kind": kind, "value": value, "outcome": outcome,
                                      "key": key, "params": params, "message": message}
        while len(self.recent) > RECENT_SCANS:
            del self.recent[next(iter(self.recent))]
        if context is not None:
            self.contexts[screen] = context


class CountAdjustment(Aggregate):
    """A counted difference too large to book at once: it waits for a supervisor's approval."""

    @event("Requested")
    def __init__(self, warehouse: str, bin: str, sku: str, counted: int, on_hand: int, difference: int,
                 reason: str, by: str):
        self.warehouse = warehouse
        self.bin = bin
        self.sku = sku
        self.counted = counted
        self.on_hand = on_hand
        self.difference = difference
        self.reason = reason
        self.requested_by = by
        self.status = "pending"

    def approve(self, by: str) -> None:
        self._require_pending()
        self._approved(by)

    def reject(self, by: str) -> None:
        self._require_pending()
        self._rejected(by)

    def _require_pending(self) -> None:
        if self.status != "pending":
            raise Conflict(f"this count adjustment is already {self.status}")

    @event("Approved")
    def _approved(self, by: str) -> None:
        self.status = "approved"

    @event("Rejected")
    def _rejected(self, by: str) -> None:
        self.status = "rejected"


class ScannerPorts:
    """What the scanner commands need from outside the event store; the UI provides the real ones."""

    warehouse: str = "WH1"
    count_approval_threshold: int = 10
    keyed_screens: tuple[str, ...] = SCAN_SCREENS  # screens where a code may be typed by hand instead of scanned

    def find_orders(self, number: str) -> list[UUID]:
        """Orders whose platform order number is `number`."""
        raise NotImplementedError

    def find_parcel(self, tracking_no: str) -> UUID | None:
        """The order whose parcel carries this tracking number."""
        raise NotImplementedError

    def reserved_orders(self, warehouse: str) -> list[UUID]:
        """Orders that may be reserved in the warehouse and not yet in a wave (checked again by the command)."""
        raise NotImplementedError

    def open_waves(self, warehouse: str) -> list[dict]:
        raise NotImplementedError

    def allocate_waybill(self, order: dict) -> tuple[str, str, str]:
        """(courier, tracking number, sort code) for a weighed package."""
        raise NotImplementedError

    def after_sales_case(self, order_id: UUID) -> str:
        """The order's open after-sales case a return belongs to, or "" when it has none."""
        return ""

    def print_label(self, order_id: UUID, by: str) -> str:
        """Print the order's waybill label and record it; returns the printer's name."""
        raise NotImplementedError
