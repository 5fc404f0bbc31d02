"""Courier work: choose a courier and get a waybill when a package is weighed, cancel it on intercept, track."""

import logging
from datetime import datetime, timedelta, timezone
from uuid import UUID

from collections.abc import Mapping

from adapters.couriers.base import Address, CourierClient, CourierUnavailable, Party, TrackingClient, WaybillRequest
from adapters.couriers.print_data import read_print_data
from adapters.marketplaces import MarketplaceClient, Receiver
from domain.errors import InvalidOrderState
from domain.courier_choice import CourierRules, NoCourierAvailable, PackageFacts, choose
from domain.errors import InvalidOrderState
from projections.parcels import parcels_in_transit

log = logging.getLogger("cangku.shipping")

STALE_AFTER = timedelta(days=3)
DECRYPTED_BY = "worker:waybill"


class Shipping:
    """The courier side of the jobs; each method is idempotent on the package's recorded state."""

    def __init__(self, app, engine, couriers: dict[str, CourierClient], tracker: TrackingClient | None,
                 rules: CourierRules, sender: Party, shops: Mapping[tuple[str, str], MarketplaceClient] | None = None):
        self.app, self.engine = app, engine
        self.couriers, self.tracker, self.rules, self.sender = couriers, tracker, rules, sender
        self.shops = shops if shops is not None else {}

    def request_waybill(self, order_id: UUID) -> str:
        """Choose a courier by the rules and ask it for a waybill; a courier that is down falls back to the next."""
        order = self.app.orders.order(order_id)
        package = self.app.fulfilment.package(order_id)
        if package.tracking_no:
            return package.tracking_no
        facts = PackageFacts(order.region.get("province", ""), order.region.get("city", ""), package.weight_g)
        unavailable: set[str] = set(self.rules.tariffs) - set(self._couriers_for(order.channel))
        decrypted: list[Receiver] = []  # the platform's answer, held for this request only, never stored
        forbidden = bool(order.buyer.protected) and self.app.channels.decryption_forbidden(order.channel, order.shop)
        needing_decryption: list[str] = []
        down: list[str] = []
        while True:
            try:
                decision = choose(facts, self.rules, frozenset(unavailable))
            except NoCourierAvailable:
                if needing_decryption and not down:
                    self.app.fulfilment.hold_waybill(order_id, self._held_for_decryption(order, needing_decryption))
                    return ""
                raise CourierUnavailable("-", f"no courier available for order {order.platform_order_no}") from None
            courier = self._couriers_for(order.channel)[decision.courier]
            if forbidden and not courier.takes_protected(order.channel, dict(order.buyer.protected)):
                # the merchant forbids decryption: only a courier that takes the platform's protected receiver will do
                needing_decryption.append(decision.courier)
                unavailable.add(decision.courier)
                continue
            try:
                waybill = courier.create_waybill(self._request(order, package, courier, decision.courier, decrypted))
            except CourierUnavailable as error:
                log.warning("courier %s unavailable for %s: %s", decision.courier, order.platform_order_no, error)
                unavailable.add(decision.courier)
                down.append(decision.courier)  # a passing fault: the job is retried, the parcel not held
                continue
            # the courier that carries it (YTO), not the platform that issued the number (CAINIAO-YTO, PDD-YTO): the
            # label names it, the marketplace is told it, and its client gives the number back
            print_data = read_print_data(waybill.print_data)
            self.app.fulfilment.assign_waybill(order_id, decision.courier, waybill.tracking_no,
                                               waybill.sort_code, decision.as_record(),
                                               package_centre=waybill.package_center, product=waybill.product,
                                               print_data=print_data.as_record() if print_data else None)
            return waybill.tracking_no

    @staticmethod
    def _held_for_decryption(order, couriers: list[str]) -> str:
        return (f"shop {order.channel}/{order.shop} forbids decrypting buyers, and {', '.join(couriers)} need the "
                f"plain receiver: set up the platform's e-waybill (CANGKU_PLATFORM_WAYBILLS) for a courier, or allow "
                f"decryption on the Shops page")

    def _couriers_for(self, channel: str) -> dict[str, CourierClient]:
        """The courier clients for an order of this marketplace: `channel/CODE` (its platform's e-waybill, as
        `pinduoduo/YTO`) before a plain `CODE`."""
        plain = {code: client for code, client in self.couriers.items() if "/" not in code}
        own = {code.partition("/")[2]: client for code, client in self.couriers.items() if code.startswith(f"{channel}/")}
        return {**plain, **own}

    def _request(self, order, package, courier: CourierClient, code: str, decrypted: list[Receiver]) -> WaybillRequest:
        """The waybill request: the platform's protected receiver where the courier platform takes it, else the
        receiver decrypted through the marketplace (recorded on the order)."""
        buyer = order.buyer
        name, phone, detail, protected = buyer.name, buyer.phone, buyer.address, dict(buyer.protected)
        if protected and not courier.takes_protected(order.channel, protected):
            if not decrypted:
                decrypted.append(self._decrypt(order, code))
            name, phone, detail, protected = decrypted[0].name, decrypted[0].phone, decrypted[0].detail, {}
        receiver = Party(name, phone, Address(order.region.get("province", ""), order.region.get("city", ""),
                                              order.region.get("district", ""), detail))
        items = ", ".join(f"{sku}×{n}" for sku, n in order.quantities().items())
        return WaybillRequest(order.platform_order_no, self.sender_for(order.warehouse), receiver, package.weight_g,
                              item_summary=items,
                              platform=order.channel, receiver_protected=protected)

    def sender_for(self, warehouse: str) -> Party:
        """The shipping warehouse's own sender, else the configured one."""
        s = self.app.inventory.sender_of(warehouse)
        if not s:
            return self.sender
        return Party(s["name"], s["phone"], Address(s["province"], s["city"], s["district"], s["address"]))

    def _decrypt(self, order, courier: str) -> Receiver:
        """Ask the marketplace to decrypt the receiver for this courier's waybill, and record that it did."""
        order.require_decryptable()
        if self.app.channels.decryption_forbidden(order.channel, order.shop):
            raise InvalidOrderState(f"shop {order.channel}/{order.shop} forbids decrypting buyers")
        client = self.shops.get((order.channel, order.shop))
        if client is None:
            raise LookupError(f"no client configured for shop {order.channel}/{order.shop} to decrypt its receiver")
        receiver = client.decrypt_receiver(order.platform_order_no, order.buyer.protected)
        self.app.orders.record_receiver_decrypted(order.id, list(order.buyer.protected), f"waybill:{courier}",
                                                  DECRYPTED_BY)
        log.info("receiver of %s decrypted by %s for a %s waybill", order.platform_order_no, order.channel, courier)
        return receiver

    def cancel_waybill(self, order_id: UUID, reason: str) -> None:
        """Give an intercepted package's waybill number back to its courier."""
        order = self.app.orders.order(order_id)
        if order.status != "cancelled":
            return
        try:
            package = self.app.fulfilment.package(order_id)
        except InvalidOrderState:
            return  # cancelled before it was packed (or shipped by its supplier): there is no waybill to give back
        if not package.tracking_no or package.status == "handed_over":
            return
        self._couriers_for(order.channel)[package.courier].cancel_waybill(package.tracking_no, order.platform_order_no)
        self.app.fulfilment.cancel_waybill(order_id, reason)

    def track(self, now: datetime | None = None) -> dict:
        """Poll the route of every parcel in transit and record what is new."""
        now = now or datetime.now(timezone.utc)
        parcels = parcels_in_transit(self.engine)
        if not parcels or self.tracker is None:
            return {"parcels": 0, "updates": 0}
        by_number: dict[str, list] = {}
        for event in self.tracker.routes([p["tracking_no"] for p in parcels]):
            by_number.setdefault(event.tracking_no, []).append(event)
        updates = 0
        for parcel in parcels:
            events = by_number.get(parcel["tracking_no"], [])
            route = [{"key": f"{e.time.isoformat()}|{e.status}|{e.description}", "status": str(e.status),
                      "at": e.time, "location": e.location, "description": e.description} for e in events]
            if route:
                updates += self.app.fulfilment.record_route(UUID(parcel["order_id"]), route, STALE_AFTER, now)["new"]
        return {"parcels": len(parcels), "updates": updates}
