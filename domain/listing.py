"""Channel listings: what a marketplace SKU is made of in our SKUs, and how much of our stock it may show."""

from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInput
from .ids import NAMESPACE
from .limits import MAX_KIT_COMPONENTS, MAX_UNITS


def listing_id(channel: str, shop: str, platform_sku: str) -> UUID:
    return uuid5(NAMESPACE, f"listing:{channel}:{shop}:{platform_sku}")


def platform_key(platform_sku: str, item_id: str = "", outer_id: str = "") -> str:
    """What names a platform SKU in a shop: its SKU id; an item sold without SKUs goes by its item id."""
    return platform_sku or item_id or outer_id


def check_kit(components: dict[str, int]) -> None:
    """A mapping names 1 to MAX_KIT_COMPONENTS SKUs, each a whole number of units from 1 to MAX_UNITS."""
    if not isinstance(components, dict) or not 0 < len(components) <= MAX_KIT_COMPONENTS:
        raise InvalidInput(f"a platform SKU maps to 1 to {MAX_KIT_COMPONENTS} SKUs")
    for sku, units in components.items():
        if not isinstance(sku, str) or not sku.strip() or len(sku) > 64:
            raise InvalidInput("a SKU code is 1-64 characters")
        if isinstance(units, bool) or not isinstance(units, int) or not 0 < units <= MAX_UNITS:
            raise InvalidInput(f"{sku}: units per kit must be a whole number from 1 to {MAX_UNITS:,}")


def kit_label(components: dict[str, int], outer_id: str, key: str) -> str:
    """The SKU an order line shows: the one SKU it maps to, or the kit's merchant code (组合装编码)."""
    if len(components) == 1 and next(iter(components.values())) == 1:
        return next(iter(components))
    return outer_id or key


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

    def remap(self, components: dict[str, int], item_id: str, by: str) -> bool:
        """Map the platform SKU to other SKUs or quantities; False when it already maps to exactly these."""
        if components == self.components:
            return False
        self._remapped(dict(components), item_id or self.item_id, by)
        return True

    @event("Remapped")
    def _remapped(self, components: dict[str, int], item_id: str, by: str) -> None:
        self.components, self.item_id = components, item_id

    def record_published(self, quantity: int, source: str) -> bool:
        if self.published == quantity:
            return False
        self._published(quantity, source, self.published)
        return True

    class Published(Aggregate.Event):
        """The channel was told to show a quantity. Version 2 also records what the listing showed before, so a run
        of pushes reads on its own; it is None when not known: before the first push, and in version 1 events."""

        class_version = 2
        quantity: int
        source: str
        shown_before: int | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["shown_before"] = None

    @event(Published)
    def _published(self, quantity: int, source: str, shown_before: int | None) -> None:
        self.published = quantity
