"""The back office's lot pages: stock per bin per lot, lots expiring soon (the expiry alert), and the recall report of
one lot (which orders shipped it, buyers masked, and where the rest of it lies)."""

from uuid import UUID

from flask import Blueprint, redirect, render_template, request, url_for

from domain.errors import DomainError, InvalidInput
from projections import lots

from . import backoffice
from . import errors
from .auth import current_staff, system
from .backoffice import Col, Filter, arg, days, fresh, sku_filter, table, warehouse_filter

bp = Blueprint("lots", __name__, url_prefix="/office/lots")
bp.before_request(backoffice.back_office_staff_only)
bp.errorhandler(DomainError)(backoffice.refused)
bp.context_processor(backoffice.page_links)

LOT_COLUMNS = [Col("warehouse", "warehouse"), Col("sku", "item"), Col("lot", "lot"), Col("expiry", "expiry"),
               Col("bin", "bin"), Col("on_hand", "on_hand", "number"), Col("reserved", "reserved", "number"),
               Col("available", "available", "number")]


@bp.get("")
def stock():
    """Stock per bin per lot, first expiring first."""
    rows = lots.lot_stock_listing(fresh("lots"), warehouse_filter(), sku_filter(), arg("lot"))
    filters = [Filter("warehouse", "warehouse"), Filter("sku", "item"), Filter("lot", "lot")]
    return table("lots", "stock_by_lot", rows, LOT_COLUMNS, filters)


@bp.get("/expiring")
def expiring(refusal: str = "", status: int = 200, scrapped: str = ""):
    """Lots on hand expiring within the alert's days (CANGKU_EXPIRY_ALERT_DAYS unless asked), expired ones first,
    with the form that scraps a lot's free units."""
    within = days("days", system().settings.expiry_alert_days)
    rows = lots.expiring(fresh("lots"), system().app.inventory.today(), within, warehouse_filter())
    columns = [Col("warehouse", "warehouse"), Col("sku", "item"), Col("lot", "lot"), Col("expiry", "expiry"),
               Col("days_left", "days_left", "number"), Col("expired", "expired", "flag"),
               Col("on_hand", "on_hand", "number"), Col("reserved", "reserved", "number"), Col("bins", "bins", "number")]
    filters = [Filter("warehouse", "warehouse"), Filter("days", "expiring_within_days", "number")]
    answer = table("expiring-lots", "expiring_lots", rows, columns, filters, summary={"expiring_within_days": within},
                   template="office/expiring_lots.html", refusal=refusal,
                   scrapped=scrapped or request.args.get("scrapped", "")[:40],
                   default_warehouse=system().settings.warehouse)
    return answer if status == 200 else (answer, status)


@bp.post("/scrap")
def scrap():
    """Scrap every free unit of a lot in a warehouse (expired or recalled), with the reason."""
    form = request.form
    lot = form.get("lot", "").strip()
    try:
        system().app.inventory.scrap_lot(form.get("warehouse", "").strip() or system().settings.warehouse,
                                         form.get("sku", "").strip(), lot, form.get("reason", ""),
                                         current_staff()["badge"])
    except DomainError as error:
        return expiring(errors.detail(error), errors.status_of(error))
    return redirect(url_for("lots.expiring", scrapped=lot), 303)


@bp.get("/recall")
def recall():
    """Given a SKU and a lot: the orders that shipped it (buyers masked) and the units of it still in stock."""
    sku, lot = sku_filter(), arg("lot")
    report = None
    if sku or lot:
        if not (sku and lot):
            raise InvalidInput("a recall needs both the SKU and the lot")
        report = lots.recall(fresh("lots", "order_desk"), sku, lot)
        orders = system().app.orders
        for row in report["orders"]:
            row["buyer"] = orders.order_details(UUID(row["order_id"]))["buyer"]
    return render_template("office/lot_recall.html", title="lot_recall", sku=sku or "", lot=lot or "",
                           report=report, stock_columns=LOT_COLUMNS)
