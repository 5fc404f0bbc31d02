"""From reserved order to parcel: waves, picks, packages, waybills, labels, hand-over and returns."""

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from .. import ids
from ..after_sales import AfterSalesCase
from ..errors import InvalidInput, InvalidOrderState, UnknownWave, WrongItemScanned
from ..fulfilment import Package, Wave
from ..order import Order
from ..printing import (
    COURIER_NAMES,
    Contact,
    PackingSlip,
    PackingSlipLine,
    PickList,
    PickListLine,
    WaybillLabel,
    label_size,
    sender_contact,
)
from ..scanning import ReleaseShort
from ..stock import check_quantity
from .catalogue import Catalogue
from .inventory import Inventory
from .orders import Orders
from .store import EventStore, retry_on_conflict


MAX_WAVE_NUMBER = 40  # as long as the views hold


class Fulfilment:
    """From reserved order to parcel: waves, picks, packages, waybills, labels, hand-over and returns."""

    def __init__(self, store: EventStore, catalogue: Catalogue, inventory: Inventory, orders: Orders):
        self.store = store
        self.catalogue = catalogue
        self.inventory = inventory
        self.orders = orders

    @retry_on_conflict
    def create_wave(self, warehouse: str, number: str, order_ids: list[UUID], by: str) -> UUID:
        """Group reserved orders into a wave whose pick list runs in bin pick-sequence order."""
        orders = [self.orders.order(i) for i in order_ids]
        if not orders:
            raise InvalidInput("a wave needs at least one order")
        wave = self._new_wave(warehouse, number, orders, lambda sku: self.inventory.stock_of(warehouse, sku), by)
        self.store.save(wave, *orders)
        return wave.id

    def _new_wave(self, warehouse: str, number: str, orders: list[Order], stock_of, by: str) -> Wave:
        """A wave over the orders' units still reserved in storage (units already picked wait in packing)."""
        site = self.inventory.warehouse(warehouse)
        if not 1 <= len(number) <= MAX_WAVE_NUMBER:
            raise InvalidInput(f"a wave number has 1 to {MAX_WAVE_NUMBER} characters")
        if ids.wave_id(warehouse, number) in self.store.repository:
            raise InvalidInput(f"wave {number} already exists in {warehouse}")
        lines = []
        for order in orders:
            if order.warehouse != warehouse:
                raise InvalidOrderState(f"order {order.platform_order_no} is not reserved in {warehouse}")
            order.add_to_wave(ids.wave_id(warehouse, number))
            before = len(lines)
            for sku in order.quantities():
                for bin, quantity in stock_of(sku).reserved_for(order.id).items():
                    location = site.location(bin)
                    if location.area != "packing":
                        lines.append({"sequence": location.pick_sequence, "bin": bin, "sku": sku,
                                      "quantity": quantity, "order_id": order.id})
            if len(lines) == before:
                raise InvalidOrderState(f"order {order.platform_order_no} holds no reserved units to pick; "
                                        "reserve it again before it joins a wave")
        lines.sort(key=lambda line: (line["sequence"], line["bin"], line["sku"], str(line["order_id"])))
        return Wave(warehouse, number, [o.id for o in orders], lines, by)

    @retry_on_conflict
    def release_held(self, order_id: UUID, by: str, wave_number: str = "") -> dict:
        """Release an order held on the floor (a short pick): its missing units are reserved again from free stock
        on top of what it still holds, its unpicked lines leave the old wave, and with a wave number it is waved
        again at once. Refused, writing nothing, while free stock cannot cover it."""
        order = self.orders.order(order_id)
        if order.status != "held":
            raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; only a held order is released")
        order.release(by)
        if not order.warehouse:
            self.store.save(order)
            return {"order": order.platform_order_no, "reserved": {}, "wave": ""}
        site = self.inventory.warehouse(order.warehouse)
        bins = site.pick_order("storage")
        today = self.inventory.business_day()
        old = self.wave(order.wave_id) if order.wave_id is not None else None
        found_short = {(line["sku"], line["bin"]) for line in (old.lines if old else [])
                       if line["order_id"] == order.id and line["short"]}
        stocks, added, short = {}, {}, {}
        for sku, wanted in order.quantities().items():
            stock = stocks[sku] = self.inventory.stock_of(site.code, sku, create=True)
            missing = wanted - sum(stock.reserved_for(order.id).values())
            # The picker found a bin short: other bins first, so the order is not sent back to it unless it must.
            elsewhere = {b: n for b, n in bins.items() if (sku, b) not in found_short}
            walk = elsewhere if stock.available(elsewhere, today) >= missing else bins
            if missing > 0 and stock.available(walk, today) < missing:
                short[sku] = (missing, stock.available(walk, today))
            elif missing > 0:
                added[sku] = stock.reserve_more(order.id, missing, walk, by, today)
        if short:
            raise ReleaseShort(order.platform_order_no, short)
        touched = []
        if old is not None and old.withdraw_order(order.id, by):
            touched.append(old)
        order.mark_reserved(site.code, {sku: stock.reserved_for(order.id) for sku, stock in stocks.items()}, by)
        if wave_number:
            touched.append(self._new_wave(site.code, wave_number, [order], stocks.__getitem__, by))
        self.store.save(order, *touched, *(stocks[sku] for sku in added))
        return {"order": order.platform_order_no, "reserved": added, "wave": wave_number}

    def wave(self, wave_id: UUID) -> Wave:
        return self.store.get(wave_id, UnknownWave(f"unknown wave {wave_id}"))

    @retry_on_conflict
    def claim_wave(self, wave_id: UUID, picker: str) -> None:
        """The picker takes the wave: no one else is led through it until a supervisor hands it back."""
        wave = self.wave(wave_id)
        if wave.claim(picker):
            self.store.save(wave)

    @retry_on_conflict
    def hand_back_wave(self, wave_id: UUID, by: str) -> str:
        """Free a wave for another picker; returns who had it."""
        wave = self.wave(wave_id)
        picker = wave.picker
        wave.hand_back(by)
        self.store.save(wave)
        return picker

    @retry_on_conflict
    def pick(self, wave_id: UUID, index: int, bin: str, barcode: str, quantity: int, by: str) -> dict:
        """Pick units of one wave line from a bin into the packing area, checked against the scanned item (and the
        lot a GS1 code carries, for a lot-tracked SKU)."""
        wave = self.wave(wave_id)
        line = wave.line(index)
        sku = self.catalogue.sku_for_barcode(barcode)
        if sku != line["sku"]:
            raise WrongItemScanned(f"scanned {sku}; this line needs {line['sku']}")
        site = self.inventory.warehouse(wave.warehouse, to_change=False)
        self.inventory.check_bin(site, bin, "storage", "receiving")
        order = self.orders.order(line["order_id"])
        stock = self.inventory.stock_of(wave.warehouse, sku)
        lot = self.catalogue.lot_in_scan(barcode).get("lot", "")
        stock.pick(order.id, bin, site.first_bin_in("packing"), check_quantity(quantity), by, lot=lot,
                   today=self.inventory.business_day())
        wave.record_pick(index, bin, quantity, by)
        order.record_pick(sku, quantity, by)
        self.store.save(stock, wave, order)
        return {"order_status": order.status, "wave_status": wave.status}

    @retry_on_conflict
    def short_pick(self, wave_id: UUID, index: int, by: str) -> dict:
        """Mark a line short: its unpicked units are released and the order waits for stock."""
        wave = self.wave(wave_id)
        line = wave.line(index)
        missing = line["quantity"] - line["picked"]
        order = self.orders.order(line["order_id"])
        stocks = []
        if missing:
            # The units not found are those still allocated in storage; units already picked stay the order's.
            site = self.inventory.warehouse(wave.warehouse, to_change=False)
            stock = self.inventory.stock_of(wave.warehouse, line["sku"])
            unpicked = [b for b in stock.reserved_for(order.id) if site.location(b).area != "packing"]
            stock.release(order.id, "short pick", by, quantity=missing, bins=unpicked)
            stocks.append(stock)
        wave.mark_short(index, missing, by)
        order.hold(f"short pick: {line['sku']}×{missing}", by)
        self.store.save(wave, order, *stocks)
        return {"missing": missing}

    def package_for(self, order: Order, by: str) -> Package:
        try:
            return self.store.repository.get(ids.package_id(order.id))
        except AggregateNotFoundError:
            if order.status != "picked":
                raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; pick it first") from None
            return Package(order.id, order.quantities(), by)

    @retry_on_conflict
    def verify_item(self, order_id: UUID, barcode: str, by: str) -> dict:
        """Scan one unit into the order's package; a wrong or surplus item is refused."""
        order = self.orders.order(order_id)
        package = self.package_for(order, by)
        package.verify(self.catalogue.sku_for_barcode(barcode), barcode, by)
        self.store.save(package)
        return {"outstanding": package.outstanding()}

    @retry_on_conflict
    def close_package(self, order_id: UUID, by: str) -> None:
        order = self.orders.order(order_id)
        package = self.package_for(order, by)
        package.close(by)
        order.mark_packed(package.id, by)
        self.store.save(package, order)

    @retry_on_conflict
    def weigh(self, order_id: UUID, grams: int, by: str) -> None:
        package = self.package_for(self.orders.order(order_id), by)
        package.weigh(grams, by)
        self.store.save(package)

    @retry_on_conflict
    def assign_waybill(self, order_id: UUID, courier: str, tracking_no: str, sort_code: str = "",
                       decision: dict | None = None, package_centre: str = "", product: str = "",
                       print_data: dict | None = None) -> None:
        """Attach the courier's waybill number (and the courier choice behind it) to the order's package;
        `print_data` is what the platform's print data is (template_url, version, encrypted), never the data."""
        package = self.package_for(self.orders.order(order_id), "courier")
        package.assign_waybill(courier, tracking_no, sort_code, decision)
        package.note_waybill_details(package_centre, product)
        if print_data:
            package.note_print_data(print_data.get("template_url", ""), print_data.get("version", ""),
                                    bool(print_data.get("encrypted")))
        if package.pending_events:
            self.store.save(package)

    @retry_on_conflict
    def hold_waybill(self, order_id: UUID, reason: str) -> bool:
        """The parcel's waybill cannot be requested as things are: it waits, with why (on the exception queue)."""
        package = self.package_for(self.orders.order(order_id), "courier")
        held = package.hold_waybill(reason)
        if held:
            self.store.save(package)
        return held

    def package(self, order_id: UUID) -> Package:
        return self.package_for(self.orders.order(order_id), "")

    @retry_on_conflict
    def cancel_waybill(self, order_id: UUID, reason: str) -> None:
        package = self.package_for(self.orders.order(order_id), "courier")
        package.cancel_waybill(reason)
        self.store.save(package)

    @retry_on_conflict
    def record_route(self, order_id: UUID, updates: list[dict], stale_after=None, now=None) -> dict:
        """Record a parcel's new route updates; delivered closes the order, returned or stale raises an exception."""
        order = self.orders.order(order_id)
        package = self.package_for(order, "courier")
        new = [u for u in updates if package.record_route(u["key"], u["status"], u["at"], u["location"],
                                                           u["description"])]
        if package.route_status == "delivered":
            order.mark_delivered()
        elif package.route_status in ("returned", "exception"):
            package.raise_exception(f"courier reports {package.route_status}")
        elif stale_after and now and updates and now - max(u["at"] for u in updates) > stale_after:
            package.raise_exception(f"no movement for {stale_after}")
        self.store.save(order, package)
        return {"new": len(new), "status": package.route_status, "order_status": order.status}

    @retry_on_conflict
    def record_label_printed(self, order_id: UUID, printer: str, by: str, job_id: str = "",
                             as_image: tuple[str, ...] = ()) -> bool:
        """Record a printed label; a job already recorded is not recorded twice (returns False)."""
        package = self.package_for(self.orders.order(order_id), by)
        job_id = job_id or f"{package.id}:{package.version + 1}"
        printed = package.record_label_printed(printer, job_id, by, as_image)
        if printed:
            self.store.save(package)
        return printed

    def label_printed_count(self, order_id: UUID) -> int:
        try:
            return self.store.repository.get(ids.package_id(order_id)).labels_printed
        except AggregateNotFoundError:
            return 0

    def label_printed(self, order_id: UUID, job_id: str) -> bool:
        """Whether a label or packing slip print job of the order's package is done."""
        return job_id in self.package_for(self.orders.order(order_id), "").printed_jobs

    @retry_on_conflict
    def record_print_failure(self, order_id: UUID, printer: str, job_id: str, reason: str, attempt: int) -> None:
        package = self.package_for(self.orders.order(order_id), "printer")
        package.record_print_failure(printer, job_id, reason, attempt)
        self.store.save(package)

    @retry_on_conflict
    def record_print_outcome_unknown(self, order_id: UUID, printer: str, job_id: str, reason: str) -> bool:
        """A label job that may have printed (its answer was lost): kept from printing again until someone checks."""
        package = self.package_for(self.orders.order(order_id), "printer")
        recorded = package.record_print_outcome_unknown(printer, job_id, reason)
        if recorded:
            self.store.save(package)
        return recorded

    def labels_outcome_unknown(self, order_id: UUID) -> list[str]:
        """The order's label jobs that may have printed and wait for someone to check the printer."""
        try:
            return list(self.store.repository.get(ids.package_id(order_id)).unknown_jobs)
        except AggregateNotFoundError:
            return []

    def label_outcome_unknown(self, order_id: UUID, job_id: str) -> bool:
        """Whether a label job may have printed and waits for a person to check the printer."""
        return job_id in self.package_for(self.orders.order(order_id), "").unknown_jobs

    @retry_on_conflict
    def confirm_labels_printed(self, order_id: UUID, by: str) -> list[str]:
        """Someone checked the printer: the labels whose outcome was unknown did come out."""
        package = self.package_for(self.orders.order(order_id), by)
        jobs = package.confirm_labels_printed(by)
        self.store.save(package)
        return jobs

    @retry_on_conflict
    def request_reprint(self, order_id: UUID, reason: str, by: str) -> None:
        """Ask for the label again (torn, smudged, lost); the reason is kept."""
        package = self.package_for(self.orders.order(order_id), by)
        package.request_reprint(reason, by)
        self.store.save(package)

    def waybill_label(self, order_id: UUID, sender: Contact, sizes: dict[str, str] | None = None,
                      station: str = "packing", printed_at=None) -> WaybillLabel:
        """What the waybill label of an order's package shows, in the size set for its courier at the station;
        LabelNotPrintable when the platform's print data hides what the label needs. The sender is the shipping
        warehouse's own when it has one, else the one given (the configured sender)."""
        order = self.orders.order(order_id)
        own = self.inventory.sender_of(order.warehouse)
        sender = sender_contact(own) if own else sender
        package = self.package_for(order, "printer")
        package.require_printable_label()
        region = " ".join(v for v in (order.region.get(k, "") for k in ("province", "city", "district")) if v)
        return WaybillLabel(
            courier_name=COURIER_NAMES.get(package.courier, package.courier),
            tracking_number=package.tracking_no,
            sort_code=package.sort_code,
            receiver=Contact(order.buyer.name, order.buyer.phone, f"{region} {order.buyer.address}".strip()),
            sender=sender,
            order_number=order.platform_order_no,
            item_summary="; ".join(f"{name}×{n}" for name, n in self._items_left(order).items()),
            qr_payload=package.tracking_no,
            size=label_size(sizes or {}, station, package.courier),
            product=package.product,
            package_centre=package.package_centre,
            weight_g=package.weight_g,
            pieces=sum(package.expected.values()),
            printed_at=printed_at,
        )

    @staticmethod
    def _items_left(order: Order) -> dict[str, int]:
        names: dict[str, int] = {}
        for line in order.lines.values():
            left = line["quantity"] - line["refunded"] - line.get("moved", 0)
            if left:
                names[line["title"] or line["sku"]] = names.get(line["title"] or line["sku"], 0) + left
        return names

    def pick_list(self, wave_id: UUID) -> PickList:
        """A wave's pick list in pick order, with each item's name and first barcode."""
        wave = self.wave(wave_id)
        lines = []
        for line in wave.lines:
            item = self.catalogue.get_sku(line["sku"])
            lines.append(PickListLine(line["bin"], line["sku"], item["name"], line["quantity"],
                                      (item["barcodes"] or [""])[0]))
        return PickList(wave.number, tuple(lines))

    def packing_slip(self, order_id: UUID) -> PackingSlip:
        """The slip packed with an order: every item still ordered and its quantity."""
        order = self.orders.order(order_id)
        lines = tuple(PackingSlipLine(line["sku"], line["title"] or line["sku"],
                                      line["quantity"] - line["refunded"] - line.get("moved", 0))
                      for line in order.lines.values() if line["quantity"] > line["refunded"] + line.get("moved", 0))
        return PackingSlip(order.shop, order.platform_order_no, order.buyer.name, lines)

    @retry_on_conflict
    def record_pick_list_printed(self, wave_id: UUID, printer: str, job_id: str,
                                 as_image: tuple[str, ...] = ()) -> bool:
        wave = self.wave(wave_id)
        printed = wave.record_pick_list_printed(printer, job_id, as_image)
        if printed:
            self.store.save(wave)
        return printed

    @retry_on_conflict
    def record_pick_list_failure(self, wave_id: UUID, printer: str, job_id: str, reason: str, attempt: int) -> None:
        wave = self.wave(wave_id)
        wave.record_print_failure(printer, job_id, reason, attempt)
        self.store.save(wave)

    def pick_list_printed(self, wave_id: UUID, job_id: str) -> bool:
        return job_id in self.wave(wave_id).printed_jobs

    @retry_on_conflict
    def record_packing_slip_printed(self, order_id: UUID, printer: str, job_id: str,
                                    as_image: tuple[str, ...] = ()) -> bool:
        package = self.package_for(self.orders.order(order_id), "printer")
        printed = package.record_packing_slip_printed(printer, job_id, as_image)
        if printed:
            self.store.save(package)
        return printed

    @retry_on_conflict
    def hand_over(self, order_id: UUID, by: str) -> None:
        """The courier has the parcel: the order ships and its units leave the packing area."""
        order = self.orders.order(order_id)
        package = self.package_for(order, by)
        package.hand_over(by)
        stocks = []
        for sku in order.quantities():
            stock = self.inventory.stock_of(order.warehouse, sku)
            for bin, quantity in stock.reserved_for(order.id).items():
                stock.ship(order.id, bin, quantity, by)
            stocks.append(stock)
        order.mark_shipped(package.courier, package.tracking_no, by)
        merged = [self.orders.order(m["order_id"]) for m in order.merged_orders()]
        for member in merged:
            member.ship_with(order, by)
        self.store.save(order, package, *stocks, *merged)

    @retry_on_conflict
    def receive_return(self, order_id: UUID, barcode: str, quantity: int, resaleable: bool, by: str,
                       case: str = "", warehouse: str = "") -> str:
        """Receive units of a shipped or delivered order into the returns area (of the warehouse they come back to,
        else the one the order shipped from), at most what shipped and has not come back yet; defective units are
        scrapped there, resaleable ones wait to be put away. Returns the bin."""
        order = self.orders.order(order_id)
        sku = self.catalogue.sku_for_barcode(barcode)
        if sku not in order.skus():
            raise WrongItemScanned(f"{sku} is not part of order {order.platform_order_no}")
        order.record_return(sku, quantity, resaleable, case, by)
        site = self.inventory.warehouse(warehouse or order.warehouse)
        bin = site.first_bin_in("returns")
        if site.code != order.warehouse and self.catalogue.get_sku(sku)["lot_tracked"]:
            # the lots that left are known only to the stock they left: those units come back there
            raise InvalidInput(f"{sku} is lot tracked: its return is received in warehouse {order.warehouse}, "
                               f"where order {order.platform_order_no} shipped from")
        stock = self.inventory.stock_of(site.code, sku, create=True)
        back = stock.return_(order.id, bin, quantity, by)
        if not resaleable:
            # The returned lots are the ones scrapped, not whatever else waits in the returns bin.
            for lot, units in [*back, ("", quantity - sum(n for _, n in back))]:
                if units:
                    stock.scrap(bin, units, "returned defective", by, lot=lot)
        cases = [self._case_returned(case, order.id, sku, quantity, resaleable, by)] if case else []
        self.store.save(order, stock, *(c for c in cases if c is not None))
        return bin

    def _case_returned(self, case: str, order_id: UUID, sku: str, quantity: int, resaleable: bool, by: str):
        """The after-sales case the returned units belong to, with them recorded (closed once settled); None for a
        case kept elsewhere (a reference typed on the return)."""
        try:
            found = self.store.repository.get(UUID(case))
        except (ValueError, AggregateNotFoundError):
            return None
        if not isinstance(found, AfterSalesCase) or found.order_id != order_id:
            return None
        found.receive_return(sku, quantity, resaleable, by)
        return found
