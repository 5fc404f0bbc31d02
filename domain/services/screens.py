"""What each scanner screen does with a scan, step by step, and what it shows."""

from datetime import datetime, timezone
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from .. import ids
from ..errors import (
    BinEmpty,
    InsufficientStock,
    InvalidOrderState,
    LotRequired,
    UnknownBarcode,
    UnknownOrder,
    UnknownWave,
)
from ..limits import MAX_WEIGHT_G
from ..order import RETURNABLE_STATUSES, Order
from ..scanning import (
    AmbiguousOrder,
    check_device,
    ItemNotExpected,
    NothingLeftToVerify,
    NothingToPutAway,
    OrderInOtherWarehouse,
    Scan,
    TransferInOtherWarehouse,
    ScannerPorts,
    Step,
    UnexpectedInput,
    UnknownCountRequest,
    UnknownParcel,
    WaveTaken,
    whole_number,
    WrongBinScanned,
)
from ..staff import login_key
from .catalogue import Catalogue
from .costs import Costs
from .counts import Counts
from .fulfilment import Fulfilment
from .inventory import Inventory
from .orders import Orders
from .purchasing import Purchasing
from .staff import StaffMembers
from .store import EventStore, floor_read
from .transfers import Transfers

PURCHASE_ORDER_PREFIX = "PO"
COUNT_REASON = "cycle count"


class Screens:
    """What each scanner screen does with a scan, step by step, and what it shows."""

    def __init__(self, store: EventStore, catalogue: Catalogue, inventory: Inventory, orders: Orders,
                 fulfilment: Fulfilment, counts: Counts, staff: StaffMembers, purchasing: Purchasing | None = None,
                 transfers: Transfers | None = None, costs: Costs | None = None):
        self.store = store
        self.transfers = transfers
        self.costs = costs
        self.purchasing = purchasing
        self.catalogue = catalogue
        self.inventory = inventory
        self.orders = orders
        self.fulfilment = fulfilment
        self.counts = counts
        self.staff = staff

    def wave_numbered(self, warehouse: str, number: str):
        try:
            return self.store.peek(ids.wave_id(warehouse, number))
        except (AggregateNotFoundError, ValueError):
            raise UnknownWave(f"there is no wave {number} in {warehouse}") from None

    @staticmethod
    def _pick_position(wave, context: dict) -> tuple[int | None, str]:
        """The line the picker is on and what is awaited next: 'bin', 'item' or 'quantity'."""
        open_lines = wave.open_lines()
        line = context.get("line")
        if "bin" in context:
            return line, ("quantity" if "sku" in context else "item")
        if line in open_lines:
            return line, "bin"
        return (open_lines[0] if open_lines else None), "bin"

    def _pick_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        if "wave" in c and scan.kind == "scan" and not self.store.peek(UUID(c["wave"])).open_lines():
            c = {}  # the screen's wave is finished (or its lines went to another wave): this scan opens the next
        if "wave" not in c:
            wave = self.wave_numbered(ports.warehouse, value)
            if not wave.open_lines():
                raise InvalidOrderState(f"wave {wave.number} is already picked")
            self._check_picker(wave, scan.staff)
            return Step({"wave": str(wave.id)}, "wave_opened", {"wave": wave.number},
                        do=lambda: self._open_wave(wave, scan.staff))
        wave = self.store.peek(UUID(c["wave"]))
        if scan.kind != "cancel":
            self._check_picker(wave, scan.staff)
        if not (scan.kind == "action" and value == "short"):
            c = {k: v for k, v in c.items() if k != "confirm_short"}  # anything else than a second tap: not confirmed
        index, awaited = self._pick_position(wave, c)
        if index is None:
            return Step({}, "wave_done", {"wave": wave.number})
        line = wave.lines[index]
        remaining = line["quantity"] - line["picked"]
        if awaited != "bin" and index not in wave.open_lines():
            if scan.kind == "scan" and self._is_item(value, line["sku"]):
                raise BinEmpty(f"bin {c['bin']} holds no more {line['sku']} for this line: it was picked already")
            c = {"wave": c["wave"]}
            index, awaited = self._pick_position(wave, c)
            if index is None:
                return Step({}, "wave_done", {"wave": wave.number})
            line = wave.lines[index]
            remaining = line["quantity"] - line["picked"]
        if scan.kind == "action" and value == "short":
            return self._short(wave, index, c, scan.staff)
        if scan.kind != "scan":
            raise UnexpectedInput(f"the pick screen has no action {value!r}")
        if awaited == "bin":
            expected = c.get("alt_bin") if c.get("line") == index and c.get("alt_bin") else line["bin"]
            if value != expected:
                raise WrongBinScanned(f"scanned {value}; go to bin {expected}", expected=expected)
            return Step({**c, "line": index, "bin": value}, "bin_confirmed", {"bin": value, "sku": line["sku"]})
        if awaited == "item":
            sku = self._sku_of(value, expected=line["sku"])
            if sku != line["sku"]:
                raise ItemNotExpected(f"scanned {sku}; this line needs {line['sku']}", expected=line["sku"])
            self._check_lot_scanned(wave.warehouse, line, c["bin"], value)
            if remaining > 1:
                return Step({**c, "sku": sku, "barcode": value}, "enter_quantity", {"sku": sku, "remaining": remaining})
            quantity, barcode = 1, value
        else:
            quantity, barcode = whole_number(value, 1, remaining), c["barcode"]
        tote = wave.order_ids.index(line["order_id"]) + 1
        params = {"sku": line["sku"], "quantity": quantity, "bin": c["bin"], "wave": wave.number, "tote": tote}
        return Step({"wave": c["wave"]}, "picked", params,
                    do=lambda: self.fulfilment.pick(wave.id, index, c["bin"], barcode, quantity, scan.staff))

    def _open_wave(self, wave, picker: str) -> None:
        """Claim the wave, and read ahead its orders, items and their barcodes in bulk for the scans to come."""
        self.fulfilment.claim_wave(wave.id, picker)
        self.store.warm_floor([*wave.order_ids, *(ids.sku_id(line["sku"]) for line in wave.lines)],
                              then=lambda loaded: [ids.barcode_id(code) for sku in loaded
                                                   for code in getattr(sku, "barcodes", ())])

    @staticmethod
    def _check_picker(wave, picker: str) -> None:
        if wave.picker and wave.picker != picker:
            raise WaveTaken(f"wave {wave.number} is being picked by {wave.picker}", wave=wave.number,
                            picker=wave.picker)

    def _is_item(self, value: str, sku: str) -> bool:
        try:
            return self.catalogue.sku_for_item_scan(value) == sku
        except UnknownBarcode:
            return False

    def _sku_of(self, value: str, expected: str) -> str:
        try:
            return self.catalogue.sku_for_item_scan(value)
        except UnknownBarcode:
            raise ItemNotExpected(f"{value} is not a known item; this line needs {expected}",
                                  expected=expected) from None

    def _short(self, wave, index: int, c: dict, by: str) -> Step:
        """The bin is short: send the picker to the next bin with enough free units, else mark the line short."""
        line = wave.lines[index]
        remaining = line["quantity"] - line["picked"]
        here = c.get("alt_bin") if c.get("line") == index and c.get("alt_bin") else line["bin"]
        tried = sorted(set(c.get("tried", [])) | {here})
        levels = self.inventory.stock_levels(wave.warehouse, line["sku"])
        free = {bin: level["on_hand"] - level["reserved"] for bin, level in levels.items()}
        if free and self.catalogue.get_sku(line["sku"])["lot_tracked"]:
            stock, today = self.inventory.stock_of(wave.warehouse, line["sku"]), self.inventory.business_day()
            free = {bin: stock.available({bin: 0}, today) for bin in free}  # never a bin of expired lots only
        for bin in self.inventory.warehouse(wave.warehouse).bins_in("storage"):
            if bin not in tried and free.get(bin, 0) >= remaining:
                return Step({"wave": c["wave"], "line": index, "alt_bin": bin, "tried": tried}, "try_bin",
                            {"sku": line["sku"], "bin": here, "next_bin": bin, "wave": wave.number})
        params = {"sku": line["sku"], "bin": here, "missing": remaining, "wave": wave.number}
        if c.get("confirm_short") != index:
            # Marking a line short holds its order: one stray tap must not do that, so the picker confirms.
            return Step({**c, "confirm_short": index}, "confirm_short", params)
        return Step({"wave": c["wave"]}, "line_short", params,
                    do=lambda: self.fulfilment.short_pick(wave.id, index, by))

    @floor_read
    def pick_view(self, device: str, ports: ScannerPorts) -> dict:
        """What the pick screen shows: the open waves, or the line the picker is led to and what to scan."""
        c = self.store.device(check_device(device), to_change=False).context("pick")
        if "wave" not in c:
            return {"step": "wave", "waves": ports.open_waves(ports.warehouse)}
        wave = self.store.peek(UUID(c["wave"]))
        index, awaited = self._pick_position(wave, c)
        if index is not None and awaited != "bin" and index not in wave.open_lines():
            index, awaited = self._pick_position(wave, {"wave": c["wave"]})
            c = {"wave": c["wave"]}
        if index is None:
            return {"step": "wave", "finished": wave.number, "waves": ports.open_waves(ports.warehouse)}
        line = wave.lines[index]
        bin = c.get("alt_bin") if c.get("line") == index and c.get("alt_bin") else line["bin"]
        details = self.catalogue.get_sku(line["sku"])
        return {
            "step": awaited, "wave": wave.number, "bin": c.get("bin", bin), "sku": line["sku"],
            "lots": self._lots_to_pick(wave.warehouse, line, c.get("bin", bin)) if details["lot_tracked"] else [],
            "name": details["name"], "remaining": line["quantity"] - line["picked"],
            "tote": wave.order_ids.index(line["order_id"]) + 1, "position": index + 1, "lines": len(wave.lines),
            "done": len(wave.lines) - len(wave.open_lines()),
        }

    def _check_lot_scanned(self, warehouse: str, line: dict, bin: str, value: str) -> None:
        """A GS1 label of a lot the order may not take is refused at the item scan, before any quantity."""
        lot = self._scanned_lot(line["sku"], value).get("lot", "")
        if lot:
            self.inventory.stock_of(warehouse, line["sku"]).check_lot_to_pick(
                line["order_id"], bin, lot, 1, self.inventory.business_day())

    def _lots_to_pick(self, warehouse: str, line: dict, bin: str) -> list[dict]:
        """The lots the picker takes from the bin: those the order holds there, else the first expiring free one."""
        try:
            stock = self.inventory.stock_of(warehouse, line["sku"])
        except InsufficientStock:
            return []
        held = stock.held_lots(line["order_id"]).get(bin, {})
        lots = sorted(held, key=lambda lot: (stock.expiry_of(lot), lot)) or [
            lot for lot, _ in stock.free_lots(bin, self.inventory.business_day()) if lot][:1]
        return [{"lot": lot, "expiry": stock.expiry_of(lot), "units": held.get(lot, 0)} for lot in lots]

    def _parcel_orders(self, order: Order) -> list[Order]:
        """The orders that left in one parcel: the order whose parcel it is, then the orders merged into it."""
        return [order, *(self.orders.order(m["order_id"]) for m in order.merged_orders())]

    def _order_for(self, value: str, ports: ScannerPorts) -> UUID:
        """The order a scanned order number, tote label (wave.n) or tracking number stands for."""
        number, _, position = value.rpartition(".")
        if number and position.isdigit():
            try:
                wave = self.wave_numbered(ports.warehouse, number)
            except UnknownWave:
                wave = None
            if wave is not None and 1 <= int(position) <= len(wave.order_ids):
                return wave.order_ids[int(position) - 1]
        found = ports.find_orders(value)
        if not found:
            parcel = ports.find_parcel(value)
            if parcel is None:
                raise UnknownOrder(f"no order, tote or parcel {value}", key="refusal:no_order_tote_parcel", value=value)
            found = [parcel]
        if len(found) > 1:
            raise AmbiguousOrder(f"{len(found)} orders are numbered {value}", count=len(found))
        return found[0]

    def _pack_state(self, order_id: UUID) -> tuple:
        try:
            order = self.store.peek(order_id)
        except AggregateNotFoundError:
            raise UnknownOrder(f"unknown order {order_id}", key="refusal:unknown_order", order=order_id) from None
        try:
            package = self.store.peek(ids.package_id(order.id))
        except AggregateNotFoundError:
            package = None
        return order, package

    def _pack_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        by = scan.staff
        if "order" not in c:
            if scan.kind != "scan":
                raise UnexpectedInput("scan an order number or a tote first")
            order, package = self._pack_state(self._order_for(value, ports))
            self._check_here(order, ports)
            if order.status != "picked" and not package:
                raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; it cannot be packed yet")
            return Step({"order": str(order.id)}, "pack_order", {"order": order.platform_order_no})
        order, package = self._pack_state(UUID(c["order"]))
        status = package.status if package else "open"
        number = {"order": order.platform_order_no}
        if scan.kind == "action" and value == "close":
            return Step(c, "closed", number, do=lambda: self.fulfilment.close_package(order.id, by))
        if scan.kind == "action" and value == "waybill":
            if package and package.tracking_no:
                return Step(c, "waybill", {**number, "tracking": package.tracking_no})
            courier, tracking_no, sort_code = ports.allocate_waybill(self.orders.get_order(order.id))
            return Step(c, "waybill", {**number, "tracking": tracking_no},
                        do=lambda: self.fulfilment.assign_waybill(order.id, courier, tracking_no, sort_code))
        if scan.kind == "action" and value == "print":
            return Step({}, "printed", {**number, "tracking": package.tracking_no if package else ""},
                        do=lambda: ports.print_label(order.id, by))
        if scan.kind != "scan":
            raise UnexpectedInput(f"the pack screen has no action {value!r}")
        if status == "open":
            outstanding = package.outstanding() if package else order.quantities()
            if not outstanding:
                raise NothingLeftToVerify("every item of this package is checked: close it",
                                          order=order.platform_order_no)
            expected = ", ".join(f"{s}×{n}" for s, n in outstanding.items())
            sku = self._sku_of(value, expected=expected)
            if sku not in outstanding:
                raise ItemNotExpected(f"{sku} is not expected in this package; expected {expected}", expected=expected)
            left = sum(outstanding.values()) - 1
            return Step(c, "verified", {"sku": sku, "left": left},
                        do=lambda: self.fulfilment.verify_item(order.id, value, by))
        if status in ("closed", "weighed", "waybilled") and self._is_box(value):
            # the carton's own code (its box type) scanned once the items are in: its packaging cost
            return Step(c, "box_chosen", {**number, "box": value.strip()},
                        do=lambda: self.costs.choose_box(order.id, value.strip(), by))
        if status in ("closed", "weighed"):
            grams = whole_number(value, 1, MAX_WEIGHT_G)
            return Step(c, "weighed", {**number, "grams": grams}, do=lambda: self.fulfilment.weigh(order.id, grams, by))
        raise UnexpectedInput("this package is done: print its label or cancel")

    def _is_box(self, value: str) -> bool:
        return self.costs is not None and not value.strip().isdigit() and value.strip() in self.costs.box_prices()

    @floor_read
    def pack_view(self, device: str) -> dict:
        c = self.store.device(check_device(device), to_change=False).context("pack")
        if "order" not in c:
            return {"step": "order"}
        order, package = self._pack_state(UUID(c["order"]))
        outstanding = package.outstanding() if package else order.quantities()
        status = package.status if package else "open"
        step = {"open": "item" if outstanding else "close", "closed": "weight", "weighed": "waybill",
                "waybilled": "print"}.get(status, "done")
        return {"step": step, "order": order.platform_order_no, "outstanding": outstanding,
                "expected": order.quantities(), "weight_g": package.weight_g if package else 0,
                "tracking": package.tracking_no if package else "", "labels": package.labels_printed if package else 0,
                "box": getattr(package, "box_type", "") if package else ""}

    def _handover_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        order_id = ports.find_parcel(value)
        if order_id is None:
            raise UnknownParcel(f"no parcel carries tracking number {value}")
        order = self.orders.order(order_id)
        self._check_here(order, ports)
        params = {"tracking": value, "order": order.platform_order_no}
        return Step({"count": int(c.get("count", 0)) + 1}, "handed_over", params,
                    do=lambda: self.fulfilment.hand_over(order_id, scan.staff))

    @staticmethod
    def _check_here(order, ports: ScannerPorts) -> None:
        """Packing and handing over happen in the warehouse the order ships from, not on a device working elsewhere."""
        if order.warehouse and order.warehouse != ports.warehouse:
            raise OrderInOtherWarehouse(
                f"order {order.platform_order_no} ships from warehouse {order.warehouse}, not {ports.warehouse}",
                order=order.platform_order_no, warehouse=order.warehouse, here=ports.warehouse)

    def _receive_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        reference = {"reference": c["reference"]} if c.get("reference") else {}
        if "sku" not in c:
            try:
                sku = self.catalogue.sku_for_barcode(value)
            except UnknownBarcode:
                if value.upper().startswith(PURCHASE_ORDER_PREFIX) and len(value) > len(PURCHASE_ORDER_PREFIX):
                    return Step({"reference": value}, "reference_set", {"reference": value})
                if self.transfers is not None and self.transfers.is_transfer(value):
                    return Step({"reference": value}, "transfer_set", {"transfer": value})
                raise
            return self._lot_prompt({**reference, "sku": sku, **self._scanned_lot(sku, value)})
        if c.get("awaiting") == "lot":
            return self._lot_prompt({**c, "lot": value, "awaiting": ""})
        if c.get("awaiting") == "expiry":
            typed = f"20{value}" if value.isdigit() and len(value) == 6 else value  # YYMMDD, as printed on labels
            return self._lot_prompt({**c, "expiry": typed, "awaiting": ""})
        quantity = whole_number(value, 1, 99_999)
        site = self.inventory.warehouse(ports.warehouse)
        lot = {k: c[k] for k in ("lot", "expiry") if c.get(k)}
        params = {"sku": c["sku"], "quantity": quantity, "bin": site.first_bin_in("receiving"), **lot}
        number = c.get("reference", "")
        if self.purchasing is not None and number and self.purchasing.is_purchase_order(number):
            # Against a purchase order: its line and the SKU's moving-average cost are booked with the stock.
            return Step(reference, "received", params, do=lambda: self.purchasing.receive(
                number, c["sku"], quantity, scan.staff, warehouse=ports.warehouse, **lot))
        if self.transfers is not None and number and self.transfers.is_transfer(number):
            # Against a transfer from another warehouse: what it carried stops being in transit.
            return Step(reference, "received", params, do=lambda: self.transfers.receive(
                number, c["sku"], quantity, scan.staff, warehouse=ports.warehouse))
        return Step(reference, "received", params, do=lambda: self.inventory.receive(
            ports.warehouse, c["sku"], quantity, scan.staff, reference=number, **lot))

    def _scanned_lot(self, sku: str, value: str) -> dict:
        """The lot and dates a GS1 code carries, kept for a lot-tracked SKU only."""
        return self.catalogue.lot_in_scan(value) if self.catalogue.get_sku(sku)["lot_tracked"] else {}

    def _lot_prompt(self, c: dict) -> Step:
        """What a receipt asks next: a lot-tracked SKU's lot, then its expiry date, then the quantity."""
        c = {k: v for k, v in c.items() if v}
        if self.catalogue.get_sku(c["sku"])["lot_tracked"]:
            if not c.get("lot"):
                return Step({**c, "awaiting": "lot"}, "enter_lot", {"sku": c["sku"]})
            try:
                c["lot"], c["expiry"] = self.inventory.receipt_lot(c["sku"], c["lot"], c.get("expiry", ""),
                                                                   c.pop("produced", ""))
            except LotRequired:
                return Step({**c, "awaiting": "expiry"}, "enter_expiry", {"sku": c["sku"], "lot": c["lot"]})
            return Step(c, "enter_lot_quantity", {"sku": c["sku"], "lot": c["lot"], "expiry": c["expiry"]})
        return Step(c, "enter_received_quantity", {"sku": c["sku"]})

    def _putaway_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        if "sku" not in c:
            sku = self.catalogue.sku_for_barcode(value)
            lot = self._scanned_lot(sku, value).get("lot", "")
            if lot:
                return self._lot_to_put_away(sku, lot, ports)
            levels = self.inventory.stock_levels(ports.warehouse, sku)
            for bin in self.inventory.put_away_sources(ports.warehouse):
                free = levels.get(bin, {}).get("on_hand", 0) - levels.get(bin, {}).get("reserved", 0)
                if free > 0:
                    context = {"sku": sku, "from_bin": bin, "quantity": free, "available": free}
                    return Step(context, "scan_target_bin", {"sku": sku, "quantity": free, "bin": bin})
            raise NothingToPutAway(f"no {sku} is waiting in a receiving or returns bin", sku=sku)
        if value.isdigit() and len(value) <= 5:
            quantity = whole_number(value, 1, c["available"])
            return Step({**c, "quantity": quantity}, "quantity_set", {"sku": c["sku"], "quantity": quantity})
        params = {"sku": c["sku"], "quantity": c["quantity"], "bin": value}
        return Step({}, "put_away", params, do=lambda: self.inventory.put_away(
            ports.warehouse, c["sku"], value, c["quantity"], scan.staff, from_bin=c["from_bin"], lot=c.get("lot", "")))

    def _lot_to_put_away(self, sku: str, lot: str, ports: ScannerPorts) -> Step:
        """A GS1 label scanned on the put-away screen puts away the units of its lot."""
        try:
            stock = self.inventory.stock_of(ports.warehouse, sku)
        except InsufficientStock:
            stock = None
        for bin in self.inventory.put_away_sources(ports.warehouse) if stock else ():
            free = dict(stock.free_lots(bin)).get(lot, 0)
            if free > 0:
                context = {"sku": sku, "lot": lot, "from_bin": bin, "quantity": free, "available": free}
                return Step(context, "scan_target_bin", {"sku": sku, "quantity": free, "bin": bin})
        raise NothingToPutAway(f"no {sku} of lot {lot} is waiting in a receiving or returns bin", sku=sku)

    def _count_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        if scan.kind == "action" and value == "done":
            return Step({}, "count_done", {"bin": c.get("bin", "")})
        if "bin" not in c:
            self.inventory.warehouse(ports.warehouse).location(value)
            return Step({"bin": value}, "count_bin", {"bin": value})
        if "sku" not in c:
            sku = self.catalogue.sku_for_barcode(value)
            return Step({**c, "sku": sku}, "enter_count", {"sku": sku, "bin": c["bin"]})
        counted = whole_number(value, 0, 99_999)
        bin, sku = c["bin"], c["sku"]
        on_hand = self.inventory.stock_levels(ports.warehouse, sku).get(bin, {}).get("on_hand", 0)
        difference = counted - on_hand
        params = {"sku": sku, "bin": bin, "counted": counted, "difference": difference}
        if difference == 0:
            return Step({"bin": bin}, "count_matches", params)
        if abs(difference) <= ports.count_approval_threshold:
            return Step({"bin": bin}, "count_adjusted", params, do=lambda: self.counts.count(
                ports.warehouse, sku, bin, counted, COUNT_REASON, scan.staff))
        return Step({"bin": bin}, "count_pending", params, do=lambda: self.inventory.request_count_adjustment(
            ports.warehouse, bin, sku, counted, COUNT_REASON, scan.staff))

    def _returns_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        if scan.kind == "action" and value == "done":
            return Step({}, "returns_done")
        if "order" not in c:
            order = self.orders.order(self._order_for(value, ports))
            if order.status not in RETURNABLE_STATUSES:
                raise InvalidOrderState(
                    f"order {order.platform_order_no} is {order.status}; only shipped or delivered orders return")
            parcel = self._parcel_orders(order)
            cases = [(o, ports.after_sales_case(o.id)) for o in parcel]
            order, case = next(((o, k) for o, k in cases if k), cases[0])
            context = {"order": str(order.id), **({"case": case} if case else {}),
                       **({"parcel": str(parcel[0].id)} if len(parcel) > 1 else {})}
            return Step(context, "return_order", {"order": order.platform_order_no, "case": case})
        order = self.orders.order(UUID(c["order"]))
        if "barcode" not in c:
            parcel = self._parcel_orders(self.orders.order(UUID(c["parcel"]))) if "parcel" in c else [order]
            skus = sorted(set().union(*(o.skus() for o in parcel)))
            sku = self._sku_of(value, expected=", ".join(skus))
            if sku not in skus:
                raise ItemNotExpected(f"{sku} is not part of order {order.platform_order_no}",
                                      expected=", ".join(skus))
            # in a merged parcel the item comes back to the order that shipped it (this one first, then the others)
            mine = sorted(parcel, key=lambda o: (o.id != order.id, sku not in o.skus()))
            chosen = next((o for o in mine if o.returnable(sku) > 0), mine[0])
            chosen.check_return(sku, 1)
            if chosen.id != order.id:
                case = ports.after_sales_case(chosen.id)
                c = {k: v for k, v in c.items() if k != "case"} | {"order": str(chosen.id)} | (
                    {"case": case} if case else {})
            return Step({**c, "barcode": value, "sku": sku}, "grade_prompt", {"sku": sku})
        grades = {"resaleable": True, "1": True, "defective": False, "2": False}
        if value not in grades:
            raise UnexpectedInput("grade the item: resaleable (1) or defective (2)")
        resaleable = grades[value]
        bin = self.inventory.warehouse(ports.warehouse).first_bin_in("returns")  # back where the device works
        params = {"sku": c["sku"], "order": order.platform_order_no, "bin": bin}
        after = {k: v for k, v in c.items() if k in ("order", "case", "parcel")}
        return Step(after, "restocked" if resaleable else "scrapped", params,
                    do=lambda: self.fulfilment.receive_return(order.id, c["barcode"], 1, resaleable, scan.staff,
                                                              case=c.get("case", ""), warehouse=ports.warehouse))

    def _dispatch_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        """A transfer's units scanned out of the source's bins: its number, a bin, an item, the quantity; done ships it."""
        if scan.kind == "action" and value == "done" and "transfer" in c:
            number = c["transfer"]
            return Step({}, "transfer_shipped", {"transfer": number},
                        do=lambda: self.transfers.finish_shipping(number, scan.staff))
        if scan.kind != "scan":
            raise UnexpectedInput(f"the dispatch screen has no action {value!r} here")
        if "transfer" not in c:
            found = self.transfers.transfer(value)
            if found["from_warehouse"] != ports.warehouse:
                raise TransferInOtherWarehouse(
                    f"transfer {found['number']} ships from warehouse {found['from_warehouse']}, not {ports.warehouse}",
                    transfer=found["number"], warehouse=found["from_warehouse"], here=ports.warehouse)
            return Step({"transfer": found["number"]}, "transfer_set", {"transfer": found["number"]})
        site = self.inventory.warehouse(ports.warehouse, to_change=False)
        if "sku" not in c and value in site.locations:
            return Step({"transfer": c["transfer"], "bin": value}, "bin_set", {"bin": value})
        if "bin" not in c:
            site.location(value)  # names the bin that does not exist
        if "sku" not in c:
            sku = self.catalogue.sku_for_barcode(value)
            return Step({**c, "sku": sku}, "enter_sent_quantity", {"sku": sku, "bin": c["bin"]})
        quantity = whole_number(value, 1, 99_999)
        params = {"sku": c["sku"], "quantity": quantity, "bin": c["bin"], "transfer": c["transfer"]}
        return Step({"transfer": c["transfer"], "bin": c["bin"]}, "sent_on_transfer", params,
                    do=lambda: self.transfers.send(c["transfer"], c["sku"], c["bin"], quantity, scan.staff,
                                                   warehouse=ports.warehouse))

    def _supervisor_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        action, _, subject = value.partition(":")
        if scan.kind == "action" and value == "wave:all":
            orders = [i for i in ports.reserved_orders(ports.warehouse) if self._waveable(i, ports.warehouse)]
            if not orders:
                raise InvalidOrderState("there are no reserved orders to put in a wave")
            number = self._new_wave_number(ports.warehouse)
            return Step({}, "wave_created", {"wave": number, "orders": len(orders)},
                        do=lambda: self.fulfilment.create_wave(ports.warehouse, number, orders, scan.staff))
        if scan.kind == "override" and action == "handback":
            wave = self.wave_numbered(ports.warehouse, subject)
            if not wave.picker:
                raise InvalidOrderState(f"wave {wave.number} is not being picked by anyone")
            return Step({}, "wave_handed_back", {"wave": wave.number, "picker": wave.picker},
                        do=lambda: self.fulfilment.hand_back_wave(wave.id, scan.staff))
        if scan.kind == "override" and action in ("release", "rewave"):
            order = self.orders.order(self._uuid(subject, UnknownOrder(f"no order {subject!r}")))
            if action == "release":
                return Step({}, "order_released", {"order": order.platform_order_no},
                            do=lambda: self.fulfilment.release_held(order.id, scan.staff))
            number = self._new_wave_number(ports.warehouse)
            return Step({}, "order_rewaved", {"order": order.platform_order_no, "wave": number},
                        do=lambda: self.fulfilment.release_held(order.id, scan.staff, wave_number=number))
        if scan.kind == "override" and action == "unlock":
            return Step({}, "login_unlocked", {"subject": subject}, do=lambda: self.staff.unlock_login(
                login_key(subject), datetime.now(timezone.utc), scan.staff))
        if scan.kind == "override" and action in ("approve", "reject"):
            request_id = self._uuid(subject, UnknownCountRequest(f"no count adjustment {subject!r}"))
            if action == "approve":
                return Step({}, "count_approved", {},
                            do=lambda: self.counts.approve_count_adjustment(request_id, scan.staff))
            return Step({}, "count_rejected", {},
                        do=lambda: self.inventory.reject_count_adjustment(request_id, scan.staff))
        raise UnexpectedInput(f"the supervisor has no action {value!r}")

    @staticmethod
    def _uuid(text: str, unknown: Exception) -> UUID:
        try:
            return UUID(text)
        except ValueError:
            raise unknown from None

    def _waveable(self, order_id: UUID, warehouse: str) -> bool:
        order = self.orders.order(order_id)
        return order.status == "reserved" and order.warehouse == warehouse

    def _new_wave_number(self, warehouse: str) -> str:
        base = f"W{datetime.now():%y%m%d-%H%M%S}"
        number, n = base, 1
        while ids.wave_id(warehouse, number) in self.store.repository:
            n += 1
            number = f"{base}-{n}"
        return number
