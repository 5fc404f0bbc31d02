"""Dropship (无货源/代发): order lines of SKUs a supplier ships straight to the buyer, gathered per order and supplier
into a dropship order the supplier is sent, ships with its own tracking number, and the channel is told of.

A supplier reads and answers its dropship orders on a page of its own, reached with a token (`SupplierPortal`): the
token is shown once when issued, only its SHA-256 is kept, and issuing a new one or revoking it ends the old one.
"""

import hashlib
import hmac
import secrets
from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import Conflict, InvalidInput, NotFound
from .ids import NAMESPACE
from .order import Order, dropship_supplier

STATUSES = ("created", "sent", "shipped", "confirmed")


class UnknownDropshipOrder(NotFound):
    code = "unknown_dropship_order"


class InvalidDropshipState(Conflict):
    code = "invalid_dropship_state"


class SupplierTokenRefused(NotFound):
    """A supplier page asked for with a token that is not (or no longer) the supplier's. Said as 'not found', so a
    guess learns nothing."""

    code = "supplier_token_refused"


def dropship_order_id(order_id: UUID, supplier: str) -> UUID:
    return uuid5(NAMESPACE, f"dropship:{order_id}:{supplier}")


def supplier_portal_id(supplier: str) -> UUID:
    return uuid5(NAMESPACE, f"supplier-portal:{supplier}")


class DropshipOrder(Aggregate):
    """One order's lines one supplier ships to the buyer: created → sent to the supplier → shipped with the
    supplier's tracking number → confirmed on the channel."""

    @staticmethod
    def create_id(order_id: UUID, supplier: str, **_) -> UUID:
        return dropship_order_id(order_id, supplier)

    @event("Created")
    def __init__(self, order_id: UUID, supplier: str, channel: str, shop: str, platform_order_no: str,
                 lines: list[dict]):
        self.order_id = order_id
        self.supplier = supplier
        self.channel = channel
        self.shop = shop
        self.platform_order_no = platform_order_no
        self.lines = [dict(line) for line in lines]
        self.status = "created"
        self.courier = ""
        self.tracking_no = ""

    @classmethod
    def for_order(cls, order: Order) -> list["DropshipOrder"]:
        """A dropship order per supplier of the order's open dropship lines."""
        by_supplier: dict[str, list[dict]] = {}
        for line in order.open_dropship_lines():
            by_supplier.setdefault(dropship_supplier(line), []).append(
                {"line_no": line["line_no"], "sku": line["sku"], "title": line.get("title", ""),
                 "quantity": line["quantity"] - line["refunded"],
                 "supplier_price": Decimal(line.get("supplier_price", 0))})
        return [cls(order_id=order.id, supplier=supplier, channel=order.channel, shop=order.shop,
                    platform_order_no=order.platform_order_no, lines=lines)
                for supplier, lines in sorted(by_supplier.items())]

    def mark_sent(self, how: str, by: str) -> bool:
        """The supplier was given the order (an export, or its page); False when it already was."""
        if self.status != "created":
            return False
        self._sent(how, by)
        return True

    def record_shipment(self, courier: str, tracking_no: str, by: str) -> None:
        if self.status in ("shipped", "confirmed"):
            raise InvalidDropshipState(f"dropship order {self.platform_order_no} for {self.supplier} already shipped "
                                       f"with {self.tracking_no}")
        self._shipped(courier.strip(), tracking_no.strip(), by)

    def confirm(self, source_event: str) -> bool:
        """The channel accepted this parcel's tracking number; False when already recorded or not shipped."""
        if self.status != "shipped":
            return False
        self._confirmed(self.tracking_no, source_event)
        return True

    @event("Sent")
    def _sent(self, how: str, by: str) -> None:
        self.status = "sent"

    @event("Shipped")
    def _shipped(self, courier: str, tracking_no: str, by: str) -> None:
        self.status = "shipped"
        self.courier = courier
        self.tracking_no = tracking_no

    @event("Confirmed")
    def _confirmed(self, tracking_no: str, source_event: str) -> None:
        self.status = "confirmed"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class SupplierPortal(Aggregate):
    """A supplier's access to its dropship page: the SHA-256 of its current token, or none (revoked)."""

    @staticmethod
    def create_id(supplier: str, **_) -> UUID:
        return supplier_portal_id(supplier)

    @event("Opened")
    def __init__(self, supplier: str, by: str):
        self.supplier = supplier
        self.token_hash = ""

    def issue(self, by: str) -> str:
        """A new token (the old one stops working); returned once, only its digest is recorded."""
        token = secrets.token_urlsafe(32)
        self._token_issued(token_digest(token), by)
        return token

    def revoke(self, by: str) -> None:
        if not self.token_hash:
            raise InvalidInput(f"supplier {self.supplier} has no page token to revoke")
        self._token_revoked(by)

    def admits(self, token: str) -> bool:
        return bool(self.token_hash) and isinstance(token, str) and hmac.compare_digest(
            self.token_hash, token_digest(token))

    @event("TokenIssued")
    def _token_issued(self, token_hash: str, by: str) -> None:
        self.token_hash = token_hash

    @event("TokenRevoked")
    def _token_revoked(self, by: str) -> None:
        self.token_hash = ""
