"""Channel listings: what a marketplace SKU is made of in our SKUs, and how much of our stock it may show."""

from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInput
from .ids import NAMESPACE


def listing_id(channel: str, shop: str, platform_sku: str) -> UUID:
    return uuid5(NAMESPACE, f"listing:{channel}:{shop}:{platform_sku}")


def publishable(available: dict[str, int], components: dict[str, int], share: Decimal, buffer: int,
                minimum: int, maximum: int | None) -> int:
    """What a listing should show: whole kits from available stock × share − buffer, within min/max; 0 when none."""
    kits = min(max(available.get(sku, 0), 0) // units for sku, units in components.items())
    if kits <= 0:
        return 0
    quantity = int(Decimal(kits) * share) - buffer
    quantity = max(quantity, minimum)
    if maximum is not None:
        quantity = min(quantity, maximum)
    return max(min(quantity, kits), 0)


class Listing(Aggregate):
    """One platform SKU of one shop, mapped to one SKU or a kit of several."""

    @staticmethod
    def create_id(channel: str, shop: str, platform_sku: str, **_) -> UUID:
        return listing_id(channel, shop, platform_sku)

    @event("Mapped")
    def __init__(self, channel: str, shop: str, platform_sku: str, item_id: str, components: dict[str, int],
                 share: Decimal, buffer: int, minimum: int, maximum: int | None):
        self.channel, self.shop, self.platform_sku, self.item_id = channel, shop, platform_sku, item_id
        self.components, self.share, self.buffer = components, share, buffer
        self.minimum, self.maximum = minimum, maximum
        self.published: int | None = None

    @staticmethod
    def check(components: dict[str, int], share: Decimal, buffer: int, minimum: int, maximum: int | None) -> None:
        if not components or any(not isinstance(n, int) or n <= 0 for n in components.values()):
            raise InvalidInput("a listing needs one or more SKUs, each a whole number of units > 0")
        if not Decimal(0) < Decimal(share) <= Decimal(1):
            raise InvalidInput("a listing's share of stock must be above 0 and at most 1")
        if buffer < 0 or minimum < 0 or (maximum is not None and maximum < minimum):
            raise InvalidInput("buffer and minimum must be ≥ 0 and maximum ≥ minimum")

    def record_published(self, quantity: int, source: str) -> bool:
        if self.published == quantity:
            return False
        self._published(quantity, source)
        return True

    @event("Published")
    def _published(self, quantity: int, source: str) -> None:
        self.published = quantity
