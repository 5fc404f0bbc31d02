"""Printing in the warehouse's terms: what each printed document carries, the printer port, its errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

WAYBILL_SIZES = ("76x130", "100x180")
DEFAULT_WAYBILL_SIZE = "76x130"

# Brand names printed on labels, by the courier codes the waybill clients use.
COURIER_NAMES = {"SF": "顺丰速运", "ZTO": "中通快递", "YTO": "圆通速递", "STO": "申通快递", "YUNDA": "韵达快递",
                 "JD": "京东快递", "EMS": "中国邮政 EMS", "JTSD": "极兔速递", "DBL": "德邦快递", "LOCAL": "自送"}


class PrintingError(Exception):
    """Base of every printing error."""


class PrinterUnavailable(PrintingError):
    """The printer could not take the job (off, refused, timed out); nothing was recorded, retry later."""


class PrinterFault(PrinterUnavailable):
    """The printer answered and reports it cannot print: `fault` is paper_out, cover_open, error or offline."""

    def __init__(self, fault: str, message: str):
        super().__init__(message)
        self.fault = fault


class PrintOutcomeUnknown(PrinterUnavailable):
    """The whole job went to the printer, then the connection was lost (or the printer fell silent) before it
    answered: it may have printed. ESC/POS keeps no record of jobs across connections, so sending it again may print it
    twice; a person looks at the printer."""


class PrinterConfigurationError(PrintingError):
    """A printer URL or set-up that can never work; fix the settings."""


class PrintLayoutError(PrintingError):
    """Data a layout cannot print (unknown label size, a barcode the symbology cannot carry, ...)."""


@runtime_checkable
class Printer(Protocol):
    def send(self, data: bytes, job: str = "") -> None:
        """Print one whole job; return only once the printer says it is printed (where it can say so).

        PrinterFault when it reports paper out, cover open or an error; PrinterUnavailable when it cannot be reached
        or the connection is lost before it confirms `job`. Either way the job is not printed and may be sent again.
        """


class DeliveredJobs(Protocol):
    def __contains__(self, job_id: object) -> bool: ...

    def add(self, job_id: str) -> None: ...


def deliver(job_id: str, printer: Printer, data: bytes, delivered: DeliveredJobs) -> bool:
    """Print a job once: skip it if already done, else print it (the printer confirms) and record it; True when
    printed now."""
    if job_id in delivered:
        return False
    printer.send(data, job_id)
    delivered.add(job_id)
    return True


_MOBILE_WITH_EXTENSION = re.compile(r"^\s*(?:\+?86[\s-]*)?(1\d{10})\s*(?:-|转|#|,|ext\.?)\s*(\d{1,6})\s*$", re.I)


def mask_phone(phone: str) -> str:
    """Hide the middle of a phone number, as couriers do: 13812345678 -> 138****5678, 0571-88889999 -> 0571****9999."""
    if "*" in phone:
        return phone.strip()  # masked already, as the marketplace handed it out (138****5678)
    extension = _MOBILE_WITH_EXTENSION.match(phone)
    if extension:
        return f"{mask_phone(extension.group(1))}-{extension.group(2)}"
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        keep_start = 3
    elif len(digits) >= 10 and digits.startswith("0"):
        keep_start = 3 if digits[1] in "12" else 4  # area codes: 010, 02x are three digits, the rest four
    else:
        keep_start = 0
    keep_end = 4 if len(digits) >= 7 else 0
    hidden = len(digits) - keep_start - keep_end
    return digits[:keep_start] + "*" * hidden + digits[len(digits) - keep_end:]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PrintLayoutError(message)


def _require_quantity(quantity: int) -> None:
    _require(isinstance(quantity, int) and quantity > 0, f"quantity must be a positive whole number, not {quantity!r}")


@dataclass(frozen=True)
class Contact:
    """A person or shop on a label; personal fields stay out of repr so they never reach a log."""

    name: str = field(repr=False)
    phone: str = field(repr=False)
    address: str = field(repr=False)


def label_size(sizes: dict[str, str], station: str, courier: str) -> str:
    """The waybill size for a courier at a station: `station/courier`, then `*/courier`, `station/*`, `*`, 76x130."""
    for key in (f"{station}/{courier}", f"*/{courier}", f"{station}/*", "*"):
        if key in sizes:
            return sizes[key]
    return DEFAULT_WAYBILL_SIZE


def parse_label_sizes(text: str) -> dict[str, str]:
    """`SF=100x180,packing-2/*=100x180` as a dict; a bare name is a courier; PrintLayoutError on a bad entry."""
    sizes = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        key, _, size = entry.partition("=")
        key, size = key.strip(), size.strip().lower()
        if not key or size not in WAYBILL_SIZES:
            raise PrintLayoutError(f"label size {entry!r} must look like SF=100x180 or packing/SF=76x130 "
                                   f"(sizes: {', '.join(WAYBILL_SIZES)})")
        if key == "*":
            sizes["*"] = size
            continue
        station, _, courier = key.rpartition("/") if "/" in key else ("*", "", key)
        sizes[f"{station.lower() or '*'}/{courier.upper() or '*'}"] = size
    return sizes


def sender_contact(sender: dict) -> Contact:
    """The sender printed on labels, from the sender settings (name, phone, province, city, district, address)."""
    place = " ".join(sender.get(key, "") for key in ("province", "city", "district", "address") if sender.get(key))
    return Contact(sender.get("name", ""), sender.get("phone", ""), place)


@dataclass(frozen=True)
class WaybillLabel:
    """A courier's waybill label (面单)."""

    courier_name: str
    tracking_number: str
    sort_code: str
    receiver: Contact
    sender: Contact
    order_number: str
    item_summary: str
    qr_payload: str
    size: str = DEFAULT_WAYBILL_SIZE
    product: str = ""
    package_centre: str = ""
    weight_g: int = 0
    pieces: int = 0
    printed_at: datetime | None = None

    def __post_init__(self):
        _require(self.size in WAYBILL_SIZES, f"waybill label size must be one of {', '.join(WAYBILL_SIZES)}, not {self.size!r}")
        _require(bool(self.tracking_number.strip()), "a waybill label needs a tracking number")


@dataclass(frozen=True)
class PickListLine:
    bin_code: str
    sku_code: str
    name: str
    quantity: int
    barcode: str

    def __post_init__(self):
        _require_quantity(self.quantity)


@dataclass(frozen=True)
class PickList:
    """A wave's pick list; lines are printed in the order given, which is the pick path."""

    wave_code: str
    lines: tuple[PickListLine, ...]


@dataclass(frozen=True)
class PackingSlipLine:
    sku_code: str
    name: str
    quantity: int

    def __post_init__(self):
        _require_quantity(self.quantity)


@dataclass(frozen=True)
class PackingSlip:
    """The slip that goes in the parcel: what the order contains."""

    shop_name: str
    order_number: str
    receiver_name: str = field(repr=False)
    lines: tuple[PackingSlipLine, ...]
    note: str = ""


@dataclass(frozen=True)
class BinLabel:
    """The label on a shelf bin, scanned by pickers."""

    bin_code: str
    warehouse_name: str = ""

    def __post_init__(self):
        _require(bool(self.bin_code.strip()), "a bin label needs a bin code")
