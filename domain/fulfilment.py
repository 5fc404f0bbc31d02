"""Waves (pick lists over several orders) and packages (one parcel per order)."""

from copy import deepcopy
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from . import ids
from .errors import (
    InvalidInput,
    InvalidOrderState,
    InvalidQuantity,
    LabelNotPrintable,
    PackageIncomplete,
    WrongItemScanned,
)
from .limits import MAX_WEIGHT_G
from .scanning import WaveTaken


class Wave(Aggregate):
    """A pick list over several reserved orders, in bin pick-sequence order, picked by one picker at a time."""

    picker = ""  # who has it; waves recorded before claims existed have nobody
    printed_jobs: tuple[str, ...] = ()  # pick list print jobs done

    @staticmethod
    def create_id(warehouse: str, number: str, **_) -> UUID:
        return ids.wave_id(warehouse, number)

    @event("Created")
    def __init__(self, warehouse: str, number: str, order_ids: list[UUID], lines: list[dict], by: str):
        self.warehouse = warehouse
        self.number = number
        self.order_ids = list(order_ids)
        self.lines = [dict(line, picked=0, short=False) for line in lines]
        self.status = "open"

    def __deepcopy__(self, memo: dict) -> "Wave":
        """Lines hold only numbers, strings and ids (never changed in place): copying each line's dict is enough."""
        copy = object.__new__(type(self))
        memo[id(self)] = copy
        for name, value in self.__dict__.items():
            if name == "lines":
                copy.__dict__[name] = [dict(line) for line in value]
            elif name == "order_ids":
                copy.__dict__[name] = list(value)
            else:
                copy.__dict__[name] = deepcopy(value, memo)
        return copy

    def open_lines(self) -> list[int]:
        return [i for i, line in enumerate(self.lines)
                if line["picked"] < line["quantity"] and not line["short"] and not line.get("withdrawn")]

    def withdraw_order(self, order_id: UUID, by: str) -> int:
        """Take an order's unpicked lines off this wave (it was held and is picked in another); returns the units."""
        lines = [i for i in self.open_lines() if self.lines[i]["order_id"] == order_id]
        units = sum(self.lines[i]["quantity"] - self.lines[i]["picked"] for i in lines)
        if lines:
            self._order_withdrawn(order_id, lines, units, by)
        return units

    @event("OrderWithdrawn")
    def _order_withdrawn(self, order_id: UUID, lines: list[int], units: int, by: str) -> None:
        for index in lines:
            self.lines[index]["withdrawn"] = True
        if not self.open_lines():
            self.status = "picked"

    def open_lines_of(self, order_id: UUID, sku: str = "", bin: str = "") -> list[int]:
        """The order's lines still to pick (of one SKU in one bin, when given)."""
        return [i for i in self.open_lines() if self.lines[i]["order_id"] == order_id
                and (not sku or self.lines[i]["sku"] == sku) and (not bin or self.lines[i]["bin"] == bin)]

    def line(self, index: int) -> dict:
        if not 0 <= index < len(self.lines):
            raise InvalidInput(f"wave {self.number} has no line {index + 1}")
        return self.lines[index]

    def claim(self, picker: str) -> bool:
        """The picker takes the wave; refused while another picker has it. True when the picker is new to it."""
        if self.picker == picker:
            return False
        if self.picker:
            raise WaveTaken(f"wave {self.number} is being picked by {self.picker}", wave=self.number,
                            picker=self.picker)
        self._claimed(picker)
        return True

    def hand_back(self, by: str) -> None:
        """A supervisor frees the wave for another picker (the one who had it went home, or is stuck)."""
        if not self.picker:
            raise InvalidOrderState(f"wave {self.number} is not being picked by anyone")
        self._handed_back(self.picker, by)

    def record_pick_list_printed(self, printer: str, job_id: str, as_image: tuple[str, ...] = ()) -> bool:
        """Record a printed pick list job once; False when that job was already printed."""
        if job_id in self.printed_jobs:
            return False
        self._pick_list_printed(printer, job_id, "".join(as_image)[:200])
        return True

    def record_print_failure(self, printer: str, job_id: str, reason: str, attempt: int) -> None:
        self._print_failed(printer, job_id, reason[:200], attempt, self.number)

    @event("PrintFailed")
    def _print_failed(self, printer: str, job_id: str, reason: str, attempt: int, wave: str) -> None:
        pass

    @event("PickListPrinted")
    def _pick_list_printed(self, printer: str, job_id: str, as_image: str) -> None:
        self.printed_jobs = (*self.printed_jobs, job_id)

    @event("Claimed")
    def _claimed(self, picker: str) -> None:
        self.picker = picker

    @event("HandedBack")
    def _handed_back(self, picker: str, by: str) -> None:
        self.picker = ""

    def record_pick(self, index: int, bin: str, quantity: int, by: str) -> None:
        if self.picker and by != self.picker:
            raise WaveTaken(f"wave {self.number} is being picked by {self.picker}", wave=self.number,
                            picker=self.picker)
        line = self.line(index)
        if line["short"] or line["picked"] + quantity > line["quantity"]:
            raise InvalidQuantity(f"wave {self.number} line {index + 1} needs {line['quantity'] - line['picked']}")
        self._line_picked(index, bin, quantity, by)

    def mark_short(self, index: int, missing: int, by: str) -> None:
        line = self.line(index)
        if line["short"]:
            raise InvalidOrderState(f"wave {self.number} line {index + 1} is already short")
        self._line_short(index, missing, by)

    @event("LinePicked")
    def _line_picked(self, index: int, bin: str, quantity: int, by: str) -> None:
        self.lines[index]["picked"] += quantity
        if not self.open_lines():
            self.status = "picked"

    @event("LineShort")
    def _line_short(self, index: int, missing: int, by: str) -> None:
        self.lines[index]["short"] = True
        if not self.open_lines():
            self.status = "picked"


class Package(Aggregate):
    """The parcel for one order: every unit verified by scan, weighed, labelled and handed to the courier."""

    @staticmethod
    def create_id(order_id: UUID, **_) -> UUID:
        return ids.package_id(order_id)

    @event("Opened")
    def __init__(self, order_id: UUID, expected: dict[str, int], by: str):
        self.order_id = order_id
        self.expected = dict(expected)
        self.verified: dict[str, int] = {}
        self.status = "open"
        self.weight_g = 0
        self.courier = ""
        self.tracking_no = ""
        self.sort_code = ""
        self.labels_printed = 0
        self.printed_jobs: list[str] = []
        self.package_centre = ""
        self.product = ""
        # what the platform's print data of the waybill is (template URL, version, encrypted); empty for a courier's own
        self.print_data: dict = {}
        self.unknown_jobs: dict[str, str] = {}  # label jobs that may have printed: job id → printer
        self.waybill_hold = ""  # why no waybill can be requested for now (the shop forbids decrypting its buyer)
        self.route_status = ""
        self.route_seen: list[str] = []
        self.exception = ""

    def outstanding(self) -> dict[str, int]:
        return {s: n - self.verified.get(s, 0) for s, n in self.expected.items() if n > self.verified.get(s, 0)}

    def verify(self, sku: str, barcode: str, by: str) -> None:
        if self.status != "open":
            raise InvalidOrderState(f"package is {self.status}; no more items can be scanned")
        if self.verified.get(sku, 0) >= self.expected.get(sku, 0):
            expected = ", ".join(f"{s}×{n}" for s, n in self.outstanding().items()) or "nothing"
            raise WrongItemScanned(f"{sku} ({barcode}) is not expected in this package; expected {expected}")
        self._item_verified(sku, barcode, by)

    def close(self, by: str) -> None:
        if self.status != "open":
            raise InvalidOrderState(f"package is already {self.status}")
        if self.outstanding():
            missing = ", ".join(f"{s}×{n}" for s, n in self.outstanding().items())
            raise PackageIncomplete(f"package cannot close: still to scan {missing}")
        self._closed(by)

    def weigh(self, grams: int, by: str) -> None:
        if self.status not in ("closed", "weighed"):
            raise InvalidOrderState(f"package is {self.status}; close it before weighing")
        if isinstance(grams, bool) or not isinstance(grams, int) or not 0 < grams <= MAX_WEIGHT_G:
            raise InvalidQuantity(f"weight must be 1-{MAX_WEIGHT_G} g, got {grams!r}")
        self._weighed(grams, by)

    def assign_waybill(self, courier: str, tracking_no: str, sort_code: str, decision: dict | None = None) -> None:
        if self.status not in ("weighed", "waybilled"):
            raise InvalidOrderState(f"package is {self.status}; weigh it before requesting a waybill")
        if not courier or not tracking_no:
            raise InvalidInput("a waybill needs a courier and a tracking number")
        if tracking_no == self.tracking_no:
            return  # the same waybill arriving twice (a retried job, a second screen) is one assignment
        self._waybill_assigned(courier, tracking_no, sort_code, decision or {})

    def hold_waybill(self, reason: str) -> bool:
        """No courier can take this parcel's waybill as things are; it waits, with why, until one can. False when
        it already waits for that reason."""
        if self.tracking_no:
            raise InvalidOrderState(f"package already has waybill {self.tracking_no}")
        if not (reason or "").strip():
            raise InvalidInput("a held waybill needs a reason")
        if reason.strip()[:300] == self.waybill_hold:
            return False
        self._waybill_held(reason.strip()[:300])
        return True

    def cancel_waybill(self, reason: str) -> None:
        if not self.tracking_no or self.status == "handed_over":
            raise InvalidOrderState("only a waybill not yet handed over can be cancelled")
        self._waybill_cancelled(self.courier, self.tracking_no, reason)

    def record_route(self, key: str, status: str, at, location: str, description: str) -> bool:
        """Record one route update from the courier once; False when already recorded."""
        if key in self.route_seen:
            return False
        self._route_updated(key, status, at, location[:100], description[:200])
        return True

    def raise_exception(self, reason: str) -> None:
        if self.exception != reason:
            self._logistics_exception(reason)

    def note_waybill_details(self, package_centre: str, product: str) -> None:
        """What the courier said about the waybill besides its number: package centre (集包地) and product."""
        if (package_centre, product) != (self.package_centre, self.product):
            self._waybill_details_received(package_centre[:100], product[:100])

    def note_print_data(self, template_url: str, version: str, encrypted: bool) -> None:
        """The platform print data the waybill came with: its standard template, its version, whether encrypted."""
        facts = {"template_url": template_url[:300], "version": version[:100], "encrypted": bool(encrypted)}
        if facts != self.print_data:
            self._print_data_received(**facts)

    def require_printable_label(self) -> None:
        """A label laid out by us needs the sort code; encrypted print data that hides it cannot be printed here."""
        if self.print_data.get("encrypted") and not self.sort_code:
            raise LabelNotPrintable(
                f"the {self.courier} waybill {self.tracking_no} came with encrypted print data "
                f"(version {self.print_data.get('version') or '?'}, template "
                f"{self.print_data.get('template_url') or 'none'}) and no sort code (大头笔) readable outside the "
                f"platform's print component; print it there, or ask the platform for readable print data")

    def record_label_printed(self, printer: str, job_id: str, by: str, as_image: tuple[str, ...] = ()) -> bool:
        """Record a printed label job; False (and nothing recorded) when that job was already printed.

        `as_image` names the characters the printer's font lacks, which went out as a raster image.
        """
        if not self.tracking_no:
            raise InvalidOrderState("package has no waybill yet; nothing to print")
        if job_id in self.printed_jobs:
            return False
        self._label_printed(printer, job_id, by)
        if self.print_data:
            self._label_laid_out_from(job_id, self.print_data["template_url"], self.print_data["version"])
        self.note_printed_as_image(job_id, as_image)
        return True

    def record_packing_slip_printed(self, printer: str, job_id: str, as_image: tuple[str, ...] = ()) -> bool:
        if job_id in self.printed_jobs:
            return False
        self._packing_slip_printed(printer, job_id)
        self.note_printed_as_image(job_id, as_image)
        return True

    def note_printed_as_image(self, job_id: str, characters: tuple[str, ...]) -> None:
        if characters:
            self._text_printed_as_image(job_id, "".join(characters)[:200])

    def record_print_failure(self, printer: str, job_id: str, reason: str, attempt: int) -> None:
        self._print_failed(printer, job_id, reason[:200], attempt)

    def record_print_outcome_unknown(self, printer: str, job_id: str, reason: str) -> bool:
        """The label went to the printer but its answer never came: it may have printed. It is not sent again until
        a person says whether it came out. False when already recorded."""
        if job_id in self.printed_jobs or job_id in self.unknown_jobs:
            return False
        self._print_outcome_unknown(printer, job_id, reason[:200])
        return True

    def confirm_labels_printed(self, by: str) -> list[str]:
        """A person saw the labels whose outcome was unknown come out: each is recorded printed, by them."""
        jobs = list(self.unknown_jobs.items())
        if not jobs:
            raise InvalidOrderState("no label of this parcel waits for a check at the printer")
        for job_id, printer in jobs:
            self._label_printed(printer, job_id, by)
        return [job for job, _ in jobs]

    def request_reprint(self, reason: str, by: str) -> None:
        if not self.tracking_no:
            raise InvalidOrderState("package has no waybill yet; nothing to reprint")
        if not (reason or "").strip():
            raise InvalidInput("a reprint needs a reason")
        for job_id in list(self.unknown_jobs):  # a person asked for the label again: the unknown ones did not print
            self._print_outcome_resolved(job_id, False, by)
        self._reprint_requested(reason.strip()[:200], by)

    box_type = ""  # packages packed before box types were recorded

    def choose_box(self, box_type: str, by: str) -> bool:
        """The box the parcel is packed in (its packaging cost); False when it already is that box."""
        if self.status in ("handed_over",):
            raise InvalidOrderState("the parcel was handed over; its box can no longer change")
        if box_type == self.box_type:
            return False
        self._box_chosen(box_type, by)
        return True

    @event("BoxChosen")
    def _box_chosen(self, box_type: str, by: str) -> None:
        self.box_type = box_type

    def hand_over(self, by: str) -> None:
        if self.status == "handed_over":
            raise InvalidOrderState(f"parcel {self.tracking_no} was already handed over")
        if not self.tracking_no:
            raise InvalidOrderState("package has no waybill; it cannot be handed over")
        self._handed_over(by)

    @event("ItemVerified")
    def _item_verified(self, sku: str, barcode: str, by: str) -> None:
        self.verified[sku] = self.verified.get(sku, 0) + 1

    @event("Closed")
    def _closed(self, by: str) -> None:
        self.status = "closed"

    @event("Weighed")
    def _weighed(self, grams: int, by: str) -> None:
        self.status = "weighed"
        self.weight_g = grams

    @event("WaybillAssigned")
    def _waybill_assigned(self, courier: str, tracking_no: str, sort_code: str, decision: dict) -> None:
        self.status = "waybilled"
        self.courier = courier
        self.tracking_no = tracking_no
        self.sort_code = sort_code
        self.waybill_hold = ""

    @event("WaybillHeld")
    def _waybill_held(self, reason: str) -> None:
        self.waybill_hold = reason

    @event("WaybillCancelled")
    def _waybill_cancelled(self, courier: str, tracking_no: str, reason: str) -> None:
        self.status = "waybill_cancelled"
        self.tracking_no = ""

    @event("RouteUpdated")
    def _route_updated(self, key: str, status: str, at, location: str, description: str) -> None:
        self.route_seen.append(key)
        self.route_status = status

    @event("LogisticsException")
    def _logistics_exception(self, reason: str) -> None:
        self.exception = reason

    @event("LabelPrinted")
    def _label_printed(self, printer: str, job_id: str, by: str) -> None:
        self.labels_printed += 1
        self.printed_jobs.append(job_id)
        self.unknown_jobs.pop(job_id, None)

    @event("PrintOutcomeUnknown")
    def _print_outcome_unknown(self, printer: str, job_id: str, reason: str) -> None:
        self.unknown_jobs[job_id] = printer

    @event("PrintOutcomeResolved")
    def _print_outcome_resolved(self, job_id: str, printed: bool, by: str) -> None:
        self.unknown_jobs.pop(job_id, None)

    @event("PrintFailed")
    def _print_failed(self, printer: str, job_id: str, reason: str, attempt: int) -> None:
        pass

    @event("WaybillDetailsReceived")
    def _waybill_details_received(self, package_centre: str, product: str) -> None:
        self.package_centre = package_centre
        self.product = product

    @event("PrintDataReceived")
    def _print_data_received(self, template_url: str, version: str, encrypted: bool) -> None:
        self.print_data = {"template_url": template_url, "version": version, "encrypted": encrypted}

    @event("LabelLaidOutFromPrintData")
    def _label_laid_out_from(self, job_id: str, template_url: str, version: str) -> None:
        pass

    @event("PackingSlipPrinted")
    def _packing_slip_printed(self, printer: str, job_id: str) -> None:
        self.printed_jobs.append(job_id)

    @event("TextPrintedAsImage")
    def _text_printed_as_image(self, job_id: str, characters: str) -> None:
        pass

    @event("ReprintRequested")
    def _reprint_requested(self, reason: str, by: str) -> None:
        pass

    @event("HandedOver")
    def _handed_over(self, by: str) -> None:
        self.status = "handed_over"
