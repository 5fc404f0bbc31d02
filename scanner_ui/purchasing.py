"""The back office's purchasing pages: suppliers, purchase orders drafted from the replenishment suggestions over the
supplier's lead time, approved and closed. Receiving against an order is done on the scanner's receive screen (scan
the order's number, then the items) or through the API.
"""

from flask import Blueprint, Response, redirect, render_template, request, url_for

from domain.errors import DomainError
from projections import purchasing, replenishment
from projections.reports import MEDIA_TYPES, export

from . import backoffice, errors
from .auth import current_staff, system
from .backoffice import Col, Filter, arg, fresh, table

bp = Blueprint("purchasing", __name__, url_prefix="/office/purchase-orders")
bp.before_request(backoffice.back_office_staff_only)
bp.errorhandler(DomainError)(backoffice.refused)
bp.context_processor(backoffice.page_links)

SUGGESTION_WINDOW_DAYS = 28
REVIEW_DAYS = 7


@bp.get("")
def orders(refusal: str = "", status: int = 200):
    """Purchase orders, the newest first, with the suppliers and the forms to add either."""
    engine = fresh("purchasing")
    rows = purchasing.purchase_orders(engine, arg("status"), arg("supplier"))
    columns = [Col("number", "purchase_order"), Col("supplier", "supplier"), Col("warehouse", "warehouse"),
               Col("status", "status", "code"), Col("lines", "lines", "number"),
               Col("units_ordered", "units_ordered", "number"), Col("units_received", "units_received", "number"),
               Col("drafted_at", "drafted_at", "instant"), Col("updated_by", "by")]
    filters = [Filter("status", "status", "choice", purchasing.STATUSES), Filter("supplier", "supplier")]
    answer = table("purchase-orders", "purchase_orders", rows, columns, filters,
                   template="office/purchase_orders.html", suppliers=list(purchasing.suppliers(engine)),
                   refusal=refusal, default_warehouse=system().settings.warehouse)
    return answer if status == 200 else (answer, status)


@bp.post("/suppliers")
def register_supplier():
    form = request.form
    try:
        days = form.get("lead_time_days", "").strip()
        system().app.purchasing.register_supplier(form.get("code", ""), form.get("name", ""),
                                                  int(days) if days.isdigit() else days, current_staff()["badge"])
    except DomainError as error:
        return orders(errors.detail(error), errors.status_of(error))
    return redirect(url_for("purchasing.orders"), 303)


@bp.get("/suppliers/<code>")
def supplier(code: str, refusal: str = "", status: int = 200):
    """A supplier's name, contact and lead time, with the form that changes them."""
    found = system().app.purchasing.supplier(code)
    return render_template("office/supplier.html", title="supplier", supplier=found, refusal=refusal,
                           saved=request.args.get("saved") == "1"), status


@bp.post("/suppliers/<code>")
def revise_supplier(code: str):
    form = request.form
    days = form.get("lead_time_days", "").strip()
    try:
        system().app.purchasing.revise_supplier(code, form.get("name", ""), form.get("contact", ""),
                                                int(days) if days.isdigit() else days, current_staff()["badge"])
    except DomainError as error:
        return supplier(code, errors.detail(error), errors.status_of(error))
    return redirect(url_for("purchasing.supplier", code=code, saved=1), 303)


SENT_COLUMNS = ("purchase_order", "supplier", "supplier_name", "warehouse", "sku", "name", "barcode", "quantity",
                "unit_cost", "amount")


@bp.post("/<path:number>/send")
def send(number: str):
    """Send an approved order to its supplier: recorded with the channel, answered with the CSV or XLSX file or the
    printable page."""
    channel = request.form.get("channel", "")
    try:
        sent = system().app.purchasing.send(number, channel, current_staff()["badge"])
    except DomainError as error:
        return order(number, errors.detail(error), errors.status_of(error))
    if channel == "print":
        return render_template("office/purchase_order_print.html", title="purchase_order", sent=sent,
                               printed_on=backoffice.today())
    rows = [{"purchase_order": sent["number"], "supplier": sent["supplier"]["code"],
             "supplier_name": sent["supplier"]["name"], "warehouse": sent["warehouse"], **line}
            for line in sent["lines"]]
    return Response(export(rows, channel, SENT_COLUMNS), content_type=MEDIA_TYPES[channel],
                    headers={"Content-Disposition": f'attachment; filename="{sent["number"]}.{channel}"'})


@bp.post("")
def draft():
    """Draft a purchase order of what replenishment suggests, over the supplier's lead time."""
    form = request.form
    number, supplier = form.get("number", "").strip(), form.get("supplier", "")
    warehouse = form.get("warehouse", "").strip() or system().settings.warehouse
    try:
        system().app.inventory.warehouse(warehouse, to_change=False)
        lead_time = system().app.purchasing.supplier(supplier)["lead_time_days"]
        suggested = replenishment.replenishment(fresh("inventory", "replenishment", "catalogue"), None,
                                                SUGGESTION_WINDOW_DAYS, max(lead_time, 1), REVIEW_DAYS, warehouse)
        system().app.purchasing.draft_from_suggestions(number, supplier, warehouse, suggested,
                                                       current_staff()["badge"])
    except DomainError as error:
        return orders(errors.detail(error), errors.status_of(error))
    return redirect(url_for("purchasing.order", number=number), 303)


@bp.get("/<path:number>")
def order(number: str, refusal: str = "", status: int = 200):
    found = purchasing.purchase_order(fresh("purchasing"), number)
    return render_template("office/purchase_order.html", title="purchase_order", order=found, refusal=refusal), status


@bp.post("/<path:number>/approve")
def approve(number: str):
    return _command(number, system().app.purchasing.approve)


@bp.post("/<path:number>/close")
def close(number: str):
    return _command(number, system().app.purchasing.close)


def _command(number: str, command):
    try:
        command(number, current_staff()["badge"])
    except DomainError as error:
        return order(number, errors.detail(error), errors.status_of(error))
    return redirect(url_for("purchasing.order", number=number), 303)
