"""Pulling a shop's orders: from its stored checkpoint, with an overlap window, page by page, nothing missed."""

import logging
from datetime import datetime, timedelta, timezone

from adapters.marketplaces import MarketplaceClient, OrderStatus, PlatformOrder, PlatformRefund
from domain.after_sales import RefundReport
from domain.services import NewOrder
from domain.errors import DomainError, InvalidOrderState
from domain.order import Buyer, OrderLine

log = logging.getLogger("cangku.pull")

OVERLAP = timedelta(minutes=10)
FIRST_PULL = timedelta(days=1)
# Platforms index a changed order a little after the change: never pull right up to now.
SETTLING = timedelta(seconds=5)
PAGE = 100


def new_order(order: PlatformOrder) -> NewOrder:
    """A platform's order in the warehouse's terms; the merchant SKU code (商家编码) is our SKU."""
    lines = [
        OrderLine(n, line.platform_sku_id, (line.outer_sku_code or "").strip(), line.title, line.quantity,
                  line.unit_price, line.discount, line.platform_item_id)
        for n, line in enumerate(order.lines, start=1)
    ]
    r = order.receiver
    return NewOrder(
        channel=order.channel,
        shop=order.shop,
        platform_order_no=order.order_no,
        lines=lines,
        buyer=Buyer(order.buyer_nick, r.name, r.phone, r.detail, dict(r.protected)),
        region={"province": r.province, "city": r.city, "district": r.district},
        paid_amount=order.amount_paid,
        discount=order.discount,
        platform_fee=order.platform_fee or 0,
        postage=order.postage,
        ordered_at=order.created_at,
        remark=order.remark,
    )


def pull_shop(app, client: MarketplaceClient, channel: str, shop: str, warehouse: str,
              now: datetime | None = None) -> dict:
    """Pull orders changed since the shop's checkpoint (less an overlap), import them, move the checkpoint."""
    # no warehouse set up yet: orders still arrive, held or waiting, and are reserved later
    warehouse = app.routing.reserving_in(warehouse)
    until = (now or datetime.now(timezone.utc)) - SETTLING
    since = app.channels.pulled_until(channel, shop)
    start = (since - OVERLAP) if since else until - FIRST_PULL
    seen = imported = intercepted = updated = 0
    page: list[NewOrder] = []
    changed: list[PlatformOrder] = []

    def flush():
        nonlocal imported, updated
        if page:
            results = app.orders.import_orders(page, by=f"pull:{channel}", warehouse=warehouse)
            imported += sum(r["created"] for r in results)
            for new, result in zip(page, results):
                if not result["created"]:
                    updated += update_address(app, result["order_id"], new, channel)
            page.clear()

    for order in client.orders_changed(start, until):
        seen += 1
        if order.status == OrderStatus.PAID:
            page.append(new_order(order))
        elif order.status in (OrderStatus.REFUND_REQUESTED, OrderStatus.CANCELLED):
            changed.append(order)
        if len(page) >= PAGE:
            flush()
    flush()
    for order in changed:
        intercepted += intercept(app, order)
    # after-sales on shipped orders, over the same window: a case per request, moved as the platform reports it
    cases = app.after_sales.take_reports(map(refund_report, client.refunds_changed(start, until)), f"pull:{channel}",
                                         refused=lambda report, error: log.warning(
                                             "after-sale %s of %s/%s order %s refused: %s", report.refund_id, channel,
                                             shop, report.order_no, error))
    app.channels.record_pull(channel, shop, until, seen, imported)
    return {"seen": seen, "imported": imported, "updated": updated, "intercepted": intercepted,
            "after_sales": cases, "until": until.isoformat()}


def refund_report(refund: PlatformRefund) -> RefundReport:
    """A platform's refund or after-sale request in the warehouse's terms."""
    return RefundReport(
        channel=refund.channel, shop=refund.shop, refund_id=refund.refund_id, order_no=refund.order_no,
        kind=refund.kind, status=str(refund.status), amount=refund.amount, reason=refund.reason,
        requested_at=refund.created_at, modified_at=refund.modified_at, refunded_at=refund.refunded_at,
        lines=tuple((line.platform_sku_id, line.outer_sku_code, line.quantity, line.amount) for line in refund.lines),
        return_tracking_no=refund.return_tracking_no)


def update_address(app, order_id, new: NewOrder, channel: str) -> int:
    """An order seen again: take its new address if the buyer changed it and it is not packed yet."""
    try:
        return int(app.orders.change_address(order_id, new.buyer, new.region, f"pull:{channel}"))
    except InvalidOrderState:
        return 0


def intercept(app, order: PlatformOrder) -> int:
    """A refund requested (or a cancellation) before we shipped stops the order and frees its stock."""
    try:
        found = app.orders.find_order(order.channel, order.shop, order.order_no)
    except DomainError:
        return 0
    if found.status in ("shipped", "delivered", "cancelled"):
        return 0
    # refused when the order shares a parcel already on the floor: then it waits on the exception queue
    return int(app.orders.intercept_order(found.id, f"pull:{order.channel}", f"channel status {order.status}"))
