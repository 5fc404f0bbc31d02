"""Suppliers and purchase orders: drafted (by hand or from replenishment suggestions), approved, received against by
scan into stock, and closed; each receipt moves the SKU's unit cost to the moving average."""

from .. import ids
from ..errors import ConcurrentUpdate, InvalidInput, UnknownSku
from ..purchasing import (
    PurchaseOrder,
    PurchaseOrderExists,
    Supplier,
    SupplierAlreadyRegistered,
    UnknownPurchaseOrder,
    UnknownSupplier,
    moving_average,
    purchase_order_id,
    supplier_id,
)
from .catalogue import Catalogue
from .inventory import Inventory
from .store import EventStore, retry_on_conflict


class Purchasing:
    """Suppliers and purchase orders, received into the warehouse's stock."""

    def __init__(self, store: EventStore, catalogue: Catalogue, inventory: Inventory):
        self.store = store
        self.catalogue = catalogue
        self.inventory = inventory

    def register_supplier(self, code: str, name: str, lead_time_days: int, by: str) -> None:
        supplier = Supplier.register(code, name, lead_time_days, by)
        exists = SupplierAlreadyRegistered(f"supplier {supplier.code} is already registered")
        self.store.check_new(supplier.id, exists)
        self.store.save_new(supplier, conflict=exists)

    def supplier(self, code: str) -> dict:
        found = self.store.get(supplier_id(code), UnknownSupplier(f"unknown supplier {str(code)[:64]!r}"), False)
        return {"code": found.code, "name": found.name, "contact": found.contact,
                "lead_time_days": found.lead_time_days}

    def revise_supplier(self, code: str, name: str, contact: str, lead_time_days: int, by: str) -> dict:
        """Change a supplier's name, contact and lead time; returns the supplier."""
        supplier = self.store.get(supplier_id(code), UnknownSupplier(f"unknown supplier {str(code)[:64]!r}"))
        if supplier.revise(name, contact, lead_time_days, by):
            self.store.save_new(supplier, conflict=ConcurrentUpdate(f"supplier {code} was changed at the same moment"))
        return self.supplier(code)

    def change_lead_time(self, code: str, days: int, by: str) -> None:
        supplier = self.store.get(supplier_id(code), UnknownSupplier(f"unknown supplier {str(code)[:64]!r}"))
        supplier.change_lead_time(days, by)
        self.store.save_new(supplier, conflict=ConcurrentUpdate(f"supplier {code} was changed at the same moment"))

    def draft_order(self, number: str, supplier: str, warehouse: str, lines: list[dict], by: str) -> dict:
        """Draft a purchase order of (sku, quantity, unit cost) lines; a line without a cost takes the SKU's own."""
        self.supplier(supplier)
        self.inventory.warehouse(warehouse, to_change=False)
        priced = []
        for line in lines:
            self.catalogue.check_receivable(line.get("sku"))
            cost = line.get("unit_cost")
            priced.append({**line, "unit_cost": self.catalogue.get_sku(line["sku"])["unit_cost"] if cost is None
                           else cost})
        order = PurchaseOrder.draft(number, supplier, warehouse, priced, by)
        exists = PurchaseOrderExists(f"purchase order {order.number} already exists")
        self.store.check_new(order.id, exists)
        self.store.save_new(order, conflict=exists)
        return self.purchase_order(order.number)

    def draft_from_suggestions(self, number: str, supplier: str, warehouse: str, suggestions: list[dict],
                               by: str) -> dict:
        """Draft a purchase order of the replenishment suggestions (rows with `sku` and `suggested` units) that ask
        for any units, at the SKUs' current unit costs."""
        lines = [{"sku": row["sku"], "quantity": row["suggested"]} for row in suggestions if row["suggested"] > 0]
        if not lines:
            raise InvalidInput("no suggestion asks for any units; nothing to order")
        return self.draft_order(number, supplier, warehouse, lines, by)

    def approve(self, number: str, by: str) -> dict:
        order = self._order(number)
        order.approve(by)
        self.store.save_new(order, conflict=ConcurrentUpdate(f"purchase order {number} changed at the same moment"))
        return self.purchase_order(number)

    @retry_on_conflict
    def receive(self, number: str, scanned: str, quantity: int, by: str, bin: str = "",
                warehouse: str | None = None, lot: str = "", expiry: str = "", produced: str = "") -> dict:
        """Receive units of a scanned item against an approved purchase order: into the warehouse's receiving bin,
        the order's line and the SKU's moving-average unit cost, in one transaction. Returns the line."""
        order = self._order(number)
        if warehouse is not None and warehouse != order.warehouse:
            raise InvalidInput(f"purchase order {order.number} is received in warehouse {order.warehouse}, "
                               f"not {warehouse}")
        sku_code = self.catalogue.sku_for_barcode(scanned)
        self.catalogue.check_receivable(sku_code)
        on_label = self.catalogue.lot_in_scan(scanned)
        lot, expiry = self.inventory.receipt_lot(sku_code, lot or on_label.get("lot", ""),
                                                 expiry or on_label.get("expiry", ""),
                                                 produced or on_label.get("produced", ""))
        site = self.inventory.warehouse(order.warehouse)
        bin = self.inventory.check_bin(site, bin, "receiving") if bin else site.first_bin_in("receiving")
        stock = self.inventory.stock_of(order.warehouse, sku_code, create=True)
        on_hand = stock.total_on_hand()
        receipt = order.receive(sku_code, quantity, by)
        stock.receive(bin, quantity, f"PO {order.number}", by, lot=lot, expiry=expiry)
        sku = self.store.get(ids.sku_id(sku_code), UnknownSku(f"unknown SKU {sku_code!r}"))
        sku.revise(by, unit_cost=moving_average(on_hand, sku.unit_cost, quantity, receipt["unit_cost"]))
        self.store.save(order, stock, sku)
        return {**self.purchase_order(number)["lines"][sku_code], "over": receipt["over"]}

    def send(self, number: str, channel: str, by: str) -> dict:
        """Record an approved order sent to its supplier (csv, xlsx or print); returns what is sent: the order, its
        supplier and its lines with each SKU's name and barcodes."""
        order = self._order(number)
        order.send(channel, by)
        self.store.save_new(order, conflict=ConcurrentUpdate(f"purchase order {number} changed at the same moment"))
        lines = []
        for sku, line in order.lines.items():
            details = self.catalogue.get_sku(sku)
            lines.append({"sku": sku, "name": details["name"], "barcode": (details["barcodes"] or [""])[0],
                          "quantity": line["quantity"], "unit_cost": line["unit_cost"],
                          "amount": line["unit_cost"] * line["quantity"]})
        return {"number": order.number, "warehouse": order.warehouse, "supplier": self.supplier(order.supplier),
                "lines": lines}

    def close(self, number: str, by: str) -> dict[str, int]:
        """Close a purchase order; returns the units ordered but never received, per SKU."""
        order = self._order(number)
        short = order.close(by)
        self.store.save_new(order, conflict=ConcurrentUpdate(f"purchase order {number} changed at the same moment"))
        return short

    def is_purchase_order(self, number: str) -> bool:
        try:
            return purchase_order_id(number) in self.store.repository
        except (TypeError, AttributeError):
            return False

    def purchase_order(self, number: str) -> dict:
        order = self._order(number, to_change=False)
        return {"number": order.number, "supplier": order.supplier, "warehouse": order.warehouse,
                "status": order.status, "lines": {sku: dict(line) for sku, line in order.lines.items()}}

    def _order(self, number: str, to_change: bool = True) -> PurchaseOrder:
        try:
            order_id = purchase_order_id(number)
        except (TypeError, AttributeError):
            raise UnknownPurchaseOrder(f"unknown purchase order {str(number)[:64]!r}") from None
        return self.store.get(order_id, UnknownPurchaseOrder(f"unknown purchase order {str(number)[:64]!r}"),
                              to_change)
