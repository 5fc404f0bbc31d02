"""The scanner commands' outside world: look-ups in the scanning view, the waybill allocator, the label printer."""

import hashlib
from datetime import datetime, timezone
from uuid import UUID


from domain.printing import PrintingError, sender_contact
from domain.scanning import SCAN_SCREENS, PrinterFailed, ScannerPorts
from domain.staff import WORK_SCREENS
from projections import scanning as view

LOCAL_COURIER = "LOCAL"


def local_waybill(order: dict) -> tuple[str, str, str]:
    """A stand-in waybill: a tracking number derived from the order id, until a courier adapter issues real ones."""
    digits = int(hashlib.sha256(str(order["id"]).encode()).hexdigest(), 16) % 10**16
    return LOCAL_COURIER, f"CK{digits:016d}", "LOCAL"


def keyed_screens_from(setting: str | None) -> tuple[str, ...]:
    """CANGKU_KEYED_ENTRY: the screens where a code may be typed by hand ("all" or unset: every one, "none": none)."""
    words = [w.strip().lower() for w in (setting or "all").split(",") if w.strip()]
    if words in (["all"], []):
        return SCAN_SCREENS
    if words == ["none"]:
        return ()
    unknown = sorted(set(words) - set(WORK_SCREENS))
    if unknown:
        raise ValueError(f"CANGKU_KEYED_ENTRY names unknown screens {', '.join(unknown)}; "
                         f"use all, none or some of {', '.join(WORK_SCREENS)}")
    return tuple(words)


class LabelPrinter:
    """print_label(order_id, by): render the order's waybill label, send it, record it (dummy: printer by default)."""

    def __init__(self, system, url: str = "dummy:", name: str = "label"):
        from adapters.printing import printer_from_url

        self.system = system
        self.name = name
        self.printer = printer_from_url(url)

    def __call__(self, order_id: UUID, by: str) -> str:
        from adapters.printing import lay_out

        app, settings = self.system.app, self.system.settings
        job = f"{order_id}:desk:{app.fulfilment.label_printed_count(order_id) + 1}"
        try:
            label = app.fulfilment.waybill_label(order_id, sender_contact(settings.sender), settings.label_sizes,
                                                 "packing", datetime.now(timezone.utc))
            rendered = lay_out(label, settings.label_font or None)
            self.printer.send(rendered.data, job)
        except PrintingError as error:
            raise PrinterFailed(f"the label printer failed: {error}", printer=self.name) from None
        app.fulfilment.record_label_printed(order_id, self.name, by, job_id=job, as_image=rendered.as_image)
        return self.name


def courier_waybill(system):
    """The waybill from the courier chosen by the rules (the same job the weighing triggers; idempotent)."""
    def allocate(order: dict) -> tuple[str, str, str]:
        system.jobs.shipping.request_waybill(order["id"])
        package = system.app.fulfilment.package(order["id"])
        return package.courier, package.tracking_no, package.sort_code

    return allocate


class QueuedLabels:
    """With job workers the first label prints by itself once the waybill arrives; asking again is a reprint."""

    def __init__(self, system):
        self.system = system

    def __call__(self, order_id: UUID, by: str) -> str:
        if self.system.app.fulfilment.label_printed_count(order_id):
            self.system.app.fulfilment.request_reprint(order_id, "asked for again at the packing desk", by)
        return "packing"


class FloorPorts(ScannerPorts):
    """Look-ups read the scanning view after catching it up, so a scan sees what the scans before it did."""

    def __init__(self, system, print_label, count_approval_threshold: int, allocate=local_waybill,
                 keyed_screens: tuple[str, ...] = SCAN_SCREENS):
        self.system = system
        self.keyed_screens = keyed_screens
        self.warehouse = system.settings.warehouse
        self.count_approval_threshold = count_approval_threshold
        self._print_label = print_label
        self._allocate = allocate

    def fresh(self):
        return self.system.fresh("scanning")

    def find_orders(self, number: str) -> list[UUID]:
        return view.orders_numbered(self.fresh(), number)

    def find_parcel(self, tracking_no: str) -> UUID | None:
        return view.order_with_parcel(self.fresh(), tracking_no)

    def reserved_orders(self, warehouse: str) -> list[UUID]:
        return view.reserved_orders(self.fresh(), warehouse)

    def open_waves(self, warehouse: str) -> list[dict]:
        return view.open_waves(self.fresh(), warehouse)

    def allocate_waybill(self, order: dict) -> tuple[str, str, str]:
        return self._allocate(order)

    def after_sales_case(self, order_id: UUID) -> str:
        return self.system.app.after_sales.case_awaiting_return(order_id)

    def print_label(self, order_id: UUID, by: str) -> str:
        return self._print_label(order_id, by)
