"""Transfers between warehouses (调拨): drafted, shipped from the source's storage bins, received at the
destination by scan, closed with what came over or short."""

from ..errors import InvalidInput
from ..transfer import InvalidTransferState, Transfer, TransferExists, UnknownTransfer, check_number, transfer_id
from .catalogue import Catalogue
from .inventory import Inventory
from .store import EventStore, retry_on_conflict


class Transfers:
    """Stock sent from one warehouse to another, in transit between shipping and receipt."""

    def __init__(self, store: EventStore, catalogue: Catalogue, inventory: Inventory):
        self.store = store
        self.catalogue = catalogue
        self.inventory = inventory

    def draft(self, number: str, from_warehouse: str, to_warehouse: str, lines: dict[str, int], by: str) -> dict:
        """Draft a transfer of these units per SKU from one warehouse to another."""
        for code in (from_warehouse, to_warehouse):
            self.inventory.warehouse(code, to_change=False)
        for sku in lines:
            self.catalogue.check_receivable(sku)
            if self.catalogue.get_sku(sku)["lot_tracked"]:
                raise InvalidInput(f"{sku} is lot tracked (批次管理): transfers do not carry lots yet")
        transfer = Transfer.draft(number, from_warehouse, to_warehouse, lines, by)
        exists = TransferExists(f"transfer {transfer.number} already exists")
        self.store.check_new(transfer.id, exists)
        self.store.save_new(transfer, conflict=exists)
        return self.transfer(transfer.number)

    @retry_on_conflict
    def ship(self, number: str, by: str) -> dict:
        """Take every line's units out of the source's storage bins (in pick order): all of them or nothing."""
        transfer = self._transfer(number)
        transfer.check_shippable()  # before the bins are looked at: a shipped transfer says so, not "no stock"
        site = self.inventory.warehouse(transfer.from_warehouse, to_change=False)
        bins = site.pick_order("storage")
        stocks, taken = [], {}
        for sku, quantity in transfer.lines.items():
            stock = self.inventory.stock_of(transfer.from_warehouse, sku)
            taken[sku] = stock.send_on_transfer(transfer.id, transfer.number, quantity, bins, by)
            stocks.append(stock)
        transfer.ship(taken, by)
        self.store.save(transfer, *stocks)
        return self.transfer(number)

    @retry_on_conflict
    def send(self, number: str, sku: str, bin: str, quantity: int, by: str, warehouse: str | None = None) -> dict:
        """Units of a SKU scanned out of one of the source's bins onto the transfer (they leave the bin now)."""
        transfer = self._transfer(number)
        if warehouse is not None and warehouse != transfer.from_warehouse:
            raise InvalidInput(f"transfer {transfer.number} ships from warehouse {transfer.from_warehouse}, "
                               f"not {warehouse}")
        site = self.inventory.warehouse(transfer.from_warehouse, to_change=False)
        self.inventory.check_bin(site, bin)
        stock = self.inventory.stock_of(transfer.from_warehouse, sku)
        taken = stock.send_on_transfer(transfer.id, transfer.number, quantity, {bin: 0}, by)
        transfer.send(sku, taken, by)
        self.store.save(transfer, stock)
        return {"sku": sku, "sent": transfer.shipped[sku], "wanted": transfer.lines[sku]}

    @retry_on_conflict
    def finish_shipping(self, number: str, by: str) -> dict:
        transfer = self._transfer(number)
        transfer.finish_shipping(by)
        self.store.save(transfer)
        return self.transfer(number)

    @retry_on_conflict
    def receive(self, number: str, sku: str, quantity: int, by: str, bin: str = "",
                warehouse: str | None = None) -> dict:
        """Units of a SKU arriving at the destination, into a receiving bin (its first unless named)."""
        transfer = self._transfer(number)
        if warehouse is not None and warehouse != transfer.to_warehouse:
            raise InvalidInput(f"transfer {transfer.number} is received in warehouse {transfer.to_warehouse}, "
                               f"not {warehouse}")
        site = self.inventory.warehouse(transfer.to_warehouse, to_change=False)
        bin = self.inventory.check_bin(site, bin, "receiving") if bin else site.first_bin_in("receiving")
        transfer.receive(sku, quantity, bin, by)
        stock = self.inventory.stock_of(transfer.to_warehouse, sku, create=True)
        stock.receive_from_transfer(transfer.id, transfer.number, bin, quantity, by)
        self.store.save(transfer, stock)
        return {"sku": sku, "shipped": transfer.shipped.get(sku, 0), "received": transfer.received[sku],
                "bin": bin, "over": max(transfer.received[sku] - transfer.shipped.get(sku, 0), 0)}

    @retry_on_conflict
    def close(self, number: str, by: str) -> dict[str, dict[str, int]]:
        """Close receiving; returns the units under-received (lost in transit) and over-received per SKU."""
        transfer = self._transfer(number)
        result = transfer.close(by)
        self.store.save(transfer)
        return result

    @retry_on_conflict
    def cancel(self, number: str, by: str) -> None:
        transfer = self._transfer(number)
        transfer.cancel(by)
        self.store.save(transfer)

    def is_transfer(self, number: str) -> bool:
        try:
            return transfer_id(check_number(number)) in self.store.repository
        except InvalidInput:
            return False

    def transfer(self, number: str) -> dict:
        transfer = self._transfer(number, to_change=False)
        return {"number": transfer.number, "from_warehouse": transfer.from_warehouse,
                "to_warehouse": transfer.to_warehouse, "status": transfer.status, "lines": dict(transfer.lines),
                "shipped": dict(transfer.shipped), "received": dict(transfer.received),
                "in_transit": transfer.in_transit()}

    def _transfer(self, number: str, to_change: bool = True) -> Transfer:
        unknown = UnknownTransfer(f"unknown transfer {str(number)[:64]!r}")
        try:
            key = transfer_id(check_number(number))
        except InvalidInput:
            raise unknown from None
        return self.store.get(key, unknown, to_change)


__all__ = ["Transfers", "InvalidTransferState"]
