"""Cangku's application services, one per context, all saving through one event store.

A use case reads view → service method → aggregate: `floor.scan` → `Screens._pick_step` → `Fulfilment.pick` →
`Stock.pick`. Services call each other explicitly; none holds state that must survive a restart.
"""

from dataclasses import dataclass
from datetime import date
from typing import Callable

from ..order import Buyer, OrderLine
from .after_sales import AfterSales
from .catalogue import Catalogue
from .channels import Channels
from .costs import Costs
from .counts import Counts
from .dropship import Dropship
from .floor import Floor
from .fulfilment import Fulfilment
from .history import History
from .inventory import Inventory
from .orders import NewOrder, Orders
from .purchasing import Purchasing
from .review import ReviewRules
from .routing import Routing
from .screens import Screens
from .staff import StaffMembers
from .store import EventStore
from .transfers import Transfers


@dataclass(frozen=True)
class Cangku:
    """The services of one running system over its event store."""

    store: EventStore
    catalogue: Catalogue
    inventory: Inventory
    orders: Orders
    fulfilment: Fulfilment
    channels: Channels
    staff: StaffMembers
    screens: Screens
    floor: Floor
    counts: Counts
    purchasing: Purchasing
    history: History
    review: ReviewRules
    routing: Routing
    transfers: Transfers
    dropship: Dropship
    costs: Costs
    after_sales: AfterSales

    @classmethod
    def compose(cls, store: EventStore, hold_on_remark: bool = False,
                barcode_forms: Callable[[str], list[str]] | None = None,
                lot_reader: Callable[[str], dict[str, str]] | None = None,
                today: Callable[[], date] = date.today) -> "Cangku":
        catalogue = Catalogue(store, barcode_forms, lot_reader)
        inventory = Inventory(store, catalogue, today)
        review = ReviewRules(store, catalogue, hold_on_remark)
        routing = Routing(store, inventory)
        orders = Orders(store, catalogue, inventory, review, routing)
        fulfilment = Fulfilment(store, catalogue, inventory, orders)
        staff = StaffMembers(store)
        counts = Counts(store, inventory, orders)
        purchasing = Purchasing(store, catalogue, inventory)
        transfers = Transfers(store, catalogue, inventory)
        costs = Costs(store, orders)
        screens = Screens(store, catalogue, inventory, orders, fulfilment, counts, staff, purchasing, transfers, costs)
        return cls(store, catalogue, inventory, orders, fulfilment, Channels(store, catalogue, orders), staff,
                   screens, Floor(store, staff, screens), counts, purchasing, History(store), review, routing,
                   transfers, Dropship(store, orders), costs, AfterSales(store, orders))

    def close(self) -> None:
        self.store.close()


__all__ = ["Cangku", "EventStore", "NewOrder", "Buyer", "OrderLine", "ReviewRules"]
