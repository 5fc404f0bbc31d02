"""Parcel costs: the price of each box type, the box a parcel is packed in, and the couriers' bills."""

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from .. import ids
from ..costs import PACKAGING_PRICES_ID, CourierBill, PackagingPrices, checked_box_type, courier_bill_id
from ..errors import Conflict, InvalidInput, InvalidOrderState
from .orders import Orders
from .store import EventStore, retry_on_conflict


class BillAlreadyUploaded(Conflict):
    code = "bill_already_uploaded"


class Costs:
    """Parcel costs: box prices set in the back office, the box chosen at packing, and couriers' bills uploaded."""

    def __init__(self, store: EventStore, orders: Orders):
        self.store = store
        self.orders = orders

    def _prices(self) -> PackagingPrices:
        try:
            return self.store.repository.get(PACKAGING_PRICES_ID)
        except AggregateNotFoundError:
            return PackagingPrices()

    def box_prices(self) -> dict:
        return dict(self._prices().prices)

    @retry_on_conflict
    def set_box_price(self, box_type: str, price, by: str) -> bool:
        """Set what a box type costs; parcels shipped from now on in that box are booked at this price."""
        prices = self._prices()
        changed = prices.set_price(box_type, price, by)
        if prices.pending_events:
            self.store.save(prices)
        return changed

    @retry_on_conflict
    def remove_box_type(self, box_type: str, by: str) -> None:
        prices = self._prices()
        prices.remove(box_type, by)
        self.store.save(prices)

    @retry_on_conflict
    def choose_box(self, order_id: UUID, box_type: str, by: str) -> None:
        """Record the box an order's parcel is packed in (one of the priced box types)."""
        box_type = checked_box_type(box_type)
        if box_type not in self._prices().prices:
            raise InvalidInput(f"no box type {box_type!r}; the box types are: "
                               + (", ".join(sorted(self._prices().prices)) or "none yet"))
        order = self.orders.order(order_id)
        try:
            package = self.store.repository.get(ids.package_id(order.id))
        except AggregateNotFoundError:
            raise InvalidOrderState(f"order {order.platform_order_no} has no parcel yet") from None
        if package.choose_box(box_type, by):
            self.store.save(package)

    def upload_courier_bill(self, courier: str, reference: str, rows: dict[int, dict], by: str) -> dict:
        """A courier's bill: its fee per tracking number replaces the estimate (all rows, or none with every bad
        row named). The same bill reference twice is refused."""
        bill = CourierBill.upload(courier, reference, rows, by)
        self.store.save_new(bill, conflict=BillAlreadyUploaded(
            f"bill {bill.reference} of {bill.courier} was already uploaded"))
        return {"bill_id": bill.id, "lines": len(bill.lines)}

    def bill_uploaded(self, courier: str, reference: str) -> bool:
        return courier_bill_id(courier, reference) in self.store.repository
