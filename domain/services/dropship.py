"""Dropship (代发): what suppliers are sent to ship, the tracking numbers they send back, and their page tokens."""

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from .. import ids
from ..dropship import (DropshipOrder, SupplierPortal, SupplierTokenRefused, UnknownDropshipOrder, dropship_order_id,
                        supplier_portal_id)
from ..errors import InvalidInput, RowsRejected
from ..purchasing import UnknownSupplier, supplier_id
from .orders import Orders, masked_buyer
from .store import EventStore, retry_on_conflict

MAX_TRACKING_ROWS = 2000


class Dropship:
    """Dropship orders per supplier: sent, shipped with the supplier's tracking number (which ships the order's
    lines and goes to the channel through the order), and the suppliers' page tokens."""

    def __init__(self, store: EventStore, orders: Orders):
        self.store = store
        self.orders = orders

    def dropship_order(self, dropship_id: UUID, to_change: bool = True) -> DropshipOrder:
        return self.store.get(dropship_id, UnknownDropshipOrder(f"unknown dropship order {dropship_id}"),
                              to_change=to_change)

    def mark_sent(self, dropship_ids, how: str, by: str) -> int:
        """Record that these dropship orders went to their supplier (an export, the page); returns how many were new."""
        changed = []
        for dropship_id in dropship_ids:
            dropship = self.dropship_order(dropship_id)
            if dropship.mark_sent(how, by):
                changed.append(dropship)
        if changed:
            self.store.save(*changed)
        return len(changed)

    @retry_on_conflict
    def record_shipment(self, dropship_id: UUID, courier: str, tracking_no: str, by: str,
                        supplier: str | None = None) -> dict:
        """The supplier shipped a dropship order: its lines ship on the order, and an order with nothing else to
        ship is shipped with this tracking number (the channel is told through the order's confirmation job)."""
        dropship = self.dropship_order(dropship_id)
        if supplier is not None and dropship.supplier != supplier:
            raise UnknownDropshipOrder(f"unknown dropship order {dropship_id}")
        order = self.orders.order(dropship.order_id)
        order.ship_dropship(dropship.supplier, courier, tracking_no, by)
        dropship.record_shipment(courier, tracking_no, by)
        self.store.save(order, dropship)
        return {"dropship_id": dropship.id, "platform_order_no": dropship.platform_order_no,
                "order_status": order.status, "tracking_no": dropship.tracking_no}

    @retry_on_conflict
    def record_shipments(self, supplier: str, rows: dict[int, dict], by: str, dropship_ids) -> int:
        """Tracking numbers from a supplier's file, numbered rows of platform_order_no, courier, tracking_no (the
        sheet's rows, one per line: rows of one order must agree): all recorded in one transaction, or none with
        every bad row named. `dropship_ids`: the supplier's open dropship orders (from the dropship view)."""
        if len(rows) > MAX_TRACKING_ROWS:
            raise InvalidInput(f"a tracking file has at most {MAX_TRACKING_ROWS} rows, this one {len(rows)}")
        problems, wanted = {}, {}
        open_orders = {d["platform_order_no"]: d for d in self.open_for(supplier, dropship_ids)}
        for number, row in sorted(rows.items()):
            order_no = str(row.get("platform_order_no") or "").strip()
            courier, tracking = str(row.get("courier") or "").strip(), str(row.get("tracking_no") or "").strip()
            found = open_orders.get(order_no)
            if found is None and self._already_shipped(supplier, row, tracking):
                continue  # a sheet uploaded again: what it says is already recorded
            if found is None:
                problems[number] = f"no open dropship order {order_no[:64]!r} for {supplier}"
            elif not courier or not tracking or len(courier) > 64 or len(tracking) > 64 or " " in tracking:
                problems[number] = "a courier and a tracking number (1-64 characters) are needed"
            elif wanted.get(order_no, (courier, tracking)) != (courier, tracking):
                problems[number] = (f"order {order_no} is given {wanted[order_no][1]} in an earlier row and "
                                    f"{tracking[:64]} here")
            else:
                wanted[order_no] = (courier, tracking)
        if problems:
            raise RowsRejected(problems)
        changed = []
        for order_no, (courier, tracking) in wanted.items():
            dropship = self.dropship_order(open_orders[order_no]["dropship_id"])
            order = self.orders.order(dropship.order_id)
            order.ship_dropship(dropship.supplier, courier, tracking, by)
            dropship.record_shipment(courier, tracking, by)
            changed += [order, dropship]
        if changed:
            self.store.save(*changed)
        return len(wanted)

    def _already_shipped(self, supplier: str, row: dict, tracking: str) -> bool:
        try:
            order_id = ids.order_id(str(row.get("channel") or "").strip(), str(row.get("shop") or "").strip(),
                                    str(row.get("platform_order_no") or "").strip())
            dropship = self.store.repository.get(dropship_order_id(order_id, supplier), deepcopy_from_cache=False)
        except (AggregateNotFoundError, ValueError, TypeError):
            return False
        return bool(tracking) and dropship.tracking_no == tracking

    def open_for(self, supplier: str, dropship_ids) -> list[dict]:
        """Those of these dropship orders (ids from the dropship view) that are the supplier's and not yet shipped,
        with what it needs to ship each (lines and receiver)."""
        shown = []
        for dropship_id in dropship_ids:
            try:
                dropship = self.store.repository.get(dropship_id, deepcopy_from_cache=False)
                order = self.store.repository.get(dropship.order_id, deepcopy_from_cache=False)
            except AggregateNotFoundError:
                continue
            if dropship.supplier != supplier or dropship.status not in ("created", "sent") \
                    or order.status in ("held", "cancelled") or not order.open_dropship_lines(supplier):
                continue
            shown.append(sheet_row(dropship, order))
        return shown

    # Supplier page tokens

    def _portal(self, supplier: str) -> SupplierPortal:
        if supplier_id(supplier) not in self.store.repository:
            raise UnknownSupplier(f"unknown supplier {str(supplier)[:64]!r}")
        try:
            return self.store.repository.get(supplier_portal_id(supplier))
        except AggregateNotFoundError:
            return SupplierPortal(supplier=supplier, by="")

    @retry_on_conflict
    def issue_token(self, supplier: str, by: str) -> str:
        """A new page token for the supplier (shown once; the previous one stops working)."""
        portal = self._portal(supplier)
        token = portal.issue(by)
        self.store.save(portal)
        return token

    @retry_on_conflict
    def revoke_token(self, supplier: str, by: str) -> None:
        portal = self._portal(supplier)
        portal.revoke(by)
        self.store.save(portal)

    def has_token(self, supplier: str) -> bool:
        try:
            return bool(self.store.repository.get(supplier_portal_id(supplier), deepcopy_from_cache=False).token_hash)
        except AggregateNotFoundError:
            return False

    def portal_hash(self, supplier: str) -> str:
        """The digest of the supplier's current page token ("" when it has none)."""
        try:
            return self.store.repository.get(supplier_portal_id(supplier), deepcopy_from_cache=False).token_hash
        except (AggregateNotFoundError, ValueError, TypeError):
            return ""

    def check_token(self, supplier: str, token: str) -> None:
        """Refuse a token that is not the supplier's current one (same answer for an unknown supplier)."""
        try:
            portal = self.store.repository.get(supplier_portal_id(supplier), deepcopy_from_cache=False)
        except (AggregateNotFoundError, ValueError, TypeError):
            portal = None
        if portal is None or not portal.admits(token):
            raise SupplierTokenRefused("no such supplier page")


def sheet_row(dropship: DropshipOrder, order) -> dict:
    """What a supplier is given to ship one dropship order: the order number, its lines and the receiver as the
    order holds it (the platform's masked text when it only handed out a protected receiver)."""
    buyer = order.buyer
    protected = bool(buyer.protected) or "*" in (buyer.name + buyer.phone)
    shown = masked_buyer(buyer, order.region) if protected else {
        "name": buyer.name, "phone": buyer.phone, "address": buyer.address, "masked": False}
    open_lines = {line["line_no"] for line in order.open_dropship_lines(dropship.supplier)}
    return {"dropship_id": dropship.id, "order_id": order.id, "channel": dropship.channel, "shop": dropship.shop,
            "platform_order_no": dropship.platform_order_no, "status": dropship.status,
            "lines": [line for line in dropship.lines if line["line_no"] in open_lines],
            "receiver": {"name": shown["name"], "phone": shown["phone"], "address": shown["address"],
                         "region": " ".join(v for v in (order.region.get("province"), order.region.get("city"),
                                                        order.region.get("district")) if v),
                         "masked": shown["masked"]},
            "remark": order.remark}
