"""What the marketplaces are told and where each shop's pull stands: shipments, listings, checkpoints."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ..dropship import dropship_order_id
from ..errors import InvalidInput, UnknownSku
from ..order import dropship_supplier
from ..listing import Listing, check_kit, listing_id
from ..shop import Shop, ShopTokens, shop_id
from .catalogue import Catalogue
from .orders import Orders
from .store import EventStore, retry_on_conflict


class Channels:
    """What the marketplaces are told and where each shop's pull stands: shipments, listings, checkpoints."""

    def __init__(self, store: EventStore, catalogue: Catalogue, orders: Orders):
        self.store = store
        self.catalogue = catalogue
        self.orders = orders

    @retry_on_conflict
    def record_shipment_confirmed(self, order_id: UUID, source_event: str) -> bool:
        """The channel accepted the shipment; recording it twice changes nothing (returns False)."""
        order = self.orders.order(order_id)
        confirmed = order.confirm_on_channel(source_event)
        if confirmed:
            # a parcel a supplier shipped is confirmed with the order when its tracking number is the order's
            suppliers = {dropship_supplier(line) for line in order.lines.values() if dropship_supplier(line)}
            parcels = self.store.load_many(dropship_order_id(order.id, s) for s in suppliers)
            confirmed_parcels = [p for p in parcels.values()
                                 if p.tracking_no == order.tracking_no and p.confirm(source_event)]
            self.store.save(order, *confirmed_parcels)
        return confirmed

    def map_listing(self, channel: str, shop: str, platform_sku: str, components: dict[str, int], item_id: str = "",
                    share: Decimal = Decimal("1"), buffer: int = 0, minimum: int = 0,
                    maximum: int | None = None) -> UUID:
        """Map a platform SKU to one of our SKUs or a kit of several, with its share of stock, buffer and bounds."""
        Listing.check(components, Decimal(share), buffer, minimum, maximum)
        for sku in components:
            if not self.catalogue.sku_exists(sku):
                raise UnknownSku(f"unknown SKU {sku!r}", key="refusal:unknown_sku", sku=sku)
        listing = Listing(channel, shop, platform_sku, item_id, dict(components), Decimal(share), buffer, minimum,
                          maximum)
        self.store.save_new(listing, conflict=InvalidInput(f"{channel}/{shop} {platform_sku} is already mapped"))
        return listing.id

    def map_platform_sku(self, channel: str, shop: str, platform_sku: str, components: dict[str, int], by: str,
                         item_id: str = "", waiting=(), warehouse: str = "") -> dict:
        """Map a platform SKU to one SKU or a kit (组合装), or change what it maps to; the orders waiting for it
        (ids from the unmapped-SKU view) take it, are released when nothing else holds them, and reserved."""
        self.check_mapping(channel, shop, platform_sku, components, item_id)
        listing, changed = self._map(channel, shop, platform_sku, dict(components), item_id or "", by)
        orders = self.orders.map_waiting_orders(list(waiting), warehouse, by)
        return {"listing_id": listing, "changed": changed,
                "released": sum(o["mapped"] and o["status"] != "held" for o in orders),
                "reserved": sum(o["mapped"] and o["status"] == "reserved" for o in orders),
                "orders": orders}

    def check_mapping(self, channel: str, shop: str, platform_sku: str, components: dict[str, int],
                      item_id: str = "") -> None:
        """Refuse, by name, a mapping that could not be made (before a file's mappings are made together)."""
        for label, value, most in (("channel", channel, 16), ("shop", shop, 64), ("platform SKU", platform_sku, 64)):
            if not isinstance(value, str) or not value.strip() or len(value) > most:
                raise InvalidInput(f"{label} must be 1-{most} characters")
        if len(item_id or "") > 64:
            raise InvalidInput("item id must be at most 64 characters")
        check_kit(components)
        for sku in components:
            if not self.catalogue.sku_exists(sku):
                raise UnknownSku(f"unknown SKU {sku!r}", key="refusal:unknown_sku", sku=sku)

    @retry_on_conflict
    def _map(self, channel: str, shop: str, platform_sku: str, components: dict[str, int], item_id: str,
             by: str) -> tuple[UUID, bool]:
        try:
            listing = self.store.repository.get(listing_id(channel, shop, platform_sku))
        except AggregateNotFoundError:
            listing = Listing(channel, shop, platform_sku, item_id, components, Decimal(1), 0, 0, None)
            self.store.save(listing)
            return listing.id, True
        changed = listing.remap(components, item_id, by)
        if changed:
            self.store.save(listing)
        return listing.id, changed

    def listing(self, channel: str, shop: str, platform_sku: str) -> dict:
        """What a platform SKU maps to: its SKUs and units of each."""
        listing = self.store.get(listing_id(channel, shop, platform_sku),
                                 InvalidInput(f"{channel}/{shop} {platform_sku} is not mapped"), to_change=False)
        return {"channel": listing.channel, "shop": listing.shop, "platform_sku": listing.platform_sku,
                "item_id": listing.item_id, "components": dict(listing.components)}

    @retry_on_conflict
    def record_published(self, channel: str, shop: str, platform_sku: str, quantity: int, source: str) -> bool:
        listing = self.store.get(listing_id(channel, shop, platform_sku), InvalidInput(f"{platform_sku} is not mapped"))
        published = listing.record_published(quantity, source)
        if published:
            self.store.save(listing)
        return published

    def pulled_until(self, channel: str, shop: str) -> datetime | None:
        try:
            return self.store.repository.get(shop_id(channel, shop)).pulled_until
        except AggregateNotFoundError:
            return None

    @retry_on_conflict
    def record_pull(self, channel: str, shop: str, until: datetime, seen: int, imported: int) -> None:
        """Move a shop's pull checkpoint forward (kept as an event, so a restart continues from it)."""
        followed = self._followed(channel, shop)
        followed.checkpoint(until, seen, imported)
        self.store.save(followed)

    def shop(self, channel: str, shop: str) -> Shop | None:
        """The shop as followed (its checkpoint, tokens and whether it needs the merchant again), if it is."""
        try:
            return self.store.peek(shop_id(channel, shop))
        except AggregateNotFoundError:
            return None

    def _followed(self, channel: str, shop: str) -> Shop:
        try:
            return self.store.repository.get(shop_id(channel, shop))
        except AggregateNotFoundError:
            return Shop(channel, shop)

    @retry_on_conflict
    def authorise_shop(self, channel: str, shop: str, tokens: ShopTokens, by: str) -> None:
        """The merchant granted access: keep the platform's tokens (sealed at rest) and let calls go out again."""
        followed = self._followed(channel, shop)
        followed.authorise(tokens, by)
        self.store.save(followed)

    @retry_on_conflict
    def renew_shop_tokens(self, channel: str, shop: str, tokens: ShopTokens) -> None:
        followed = self._followed(channel, shop)
        followed.renew(tokens)
        self.store.save(followed)

    @retry_on_conflict
    def require_reauthorisation(self, channel: str, shop: str, reason: str) -> bool:
        """The platform refused the shop's authorisation; its jobs stop until the merchant authorises again."""
        followed = self._followed(channel, shop)
        required = followed.require_reauthorisation(reason)
        if required:
            self.store.save(followed)
        return required

    @retry_on_conflict
    def forbid_decryption(self, channel: str, shop: str, forbidden: bool, by: str) -> bool:
        """Set whether the shop's buyers may be decrypted through the platform; False when it already was so."""
        followed = self._followed(channel, shop)
        changed = followed.forbid_decryption(forbidden, by)
        if changed:
            self.store.save(followed)
        return changed

    def decryption_forbidden(self, channel: str, shop: str) -> bool:
        followed = self.shop(channel, shop)
        return followed is not None and followed.decryption_forbidden

    def reveal_buyer(self, order_id: UUID, by: str, purpose: str) -> dict:
        """The order desk's look at a buyer, recorded with who and why; masked only when the shop forbids
        decryption."""
        order = self.orders.order(order_id)
        return self.orders.reveal_buyer(order_id, by, purpose,
                                        masked_only=self.decryption_forbidden(order.channel, order.shop))

    def shops_needing_reauthorisation(self, shops) -> list[dict]:
        """Of the (channel, shop) pairs given, those the merchant must authorise again, with the reason."""
        found = []
        for channel, name in shops:
            followed = self.shop(channel, name)
            if followed is not None and followed.needs_reauthorisation:
                found.append({"channel": channel, "shop": name, "reason": followed.reauthorisation_reason})
        return found
