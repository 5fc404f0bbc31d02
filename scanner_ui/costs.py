"""The back office's parcel costs: box prices, couriers' bills with their reconciliation against the parcels shipped,
and the margin per business day and channel with cost of goods, packaging and courier fees."""

from flask import Blueprint, redirect, request, url_for

from adapters.imports import import_courier_bill
from domain.errors import DomainError, RowsRejected
from projections import finance

from . import backoffice, errors
from .auth import current_staff, system
from .backoffice import DAYS, Col, Filter, arg, fresh, table, uploaded

bp = Blueprint("office_costs", __name__, url_prefix="/office/costs")
bp.before_request(backoffice.back_office_staff_only)
bp.errorhandler(DomainError)(backoffice.refused)
bp.context_processor(backoffice.page_links)

MAX_BILL_FILE = 4 * 1024 * 1024
VIEWS = ("differences", "unknown", "unbilled")
MONEY_COLUMNS = ("revenue", "discounts", "postage", "platform_fee", "refunds", "cogs", "packaging")


@bp.get("/margin")
def margin():
    """Sales on the day ordered and parcel costs on the day shipped, per business day and channel."""
    rows = finance.margin_by_day_and_channel(fresh("finance"), arg("since"), arg("until"))
    columns = [Col("day", "day"), Col("channel", "channel"), Col("orders", "orders", "number"),
               *(Col(name, name, "money") for name in MONEY_COLUMNS), Col("courier_fee", "pc_courier_fee", "money"),
               Col("margin", "margin", "money")]
    return table("margin", "pc_margin", rows, columns, DAYS, template="office/margin.html")


@bp.get("")
def parcels(refusal: str = "", rejected: dict | None = None, status: int = 200):
    """Box prices, the courier bill upload, and the bills reconciled against the parcels shipped."""
    view = arg("view") or "differences"
    engine = fresh("finance")
    report = finance.courier_reconciliation(engine, arg("since"), arg("until"))
    if view not in report:
        view = "differences"
    if view == "unknown":
        columns = [Col("billed_on", "pc_billed_on"), Col("courier", "courier"), Col("tracking_no", "tracking"),
                   Col("billed", "pc_billed", "money"), Col("reference", "pc_bill_reference")]
    else:
        columns = [Col("shipped_on", "shipped_on"), Col("channel", "channel"), Col("courier", "courier"),
                   Col("tracking_no", "tracking"), Col("estimated", "pc_estimated", "money"),
                   Col("billed", "pc_billed", "money"), Col("difference", "pc_difference", "money"),
                   Col("reference", "pc_bill_reference")]
    filters = [Filter("view", "pc_view", "choice", VIEWS), *DAYS]
    answer = table(f"courier-{view}", "pc_parcel_costs", report[view], columns, filters,
                   template="office/parcel_costs.html", boxes=finance.box_prices(engine), view=view,
                   refusal=refusal, rejected=rejected or {})
    return answer if status == 200 else (answer, status)


@bp.post("/boxes")
def set_box_price():
    form = request.form
    try:
        system().app.costs.set_box_price(form.get("box_type", ""), form.get("price", ""), current_staff()["badge"])
    except DomainError as error:
        return parcels(errors.detail(error), status=errors.status_of(error))
    return redirect(url_for("office_costs.parcels"), 303)


@bp.post("/bills")
def upload_bill():
    """A courier's bill (tracking_no, fee per row): all rows or none; its fees replace the estimates."""
    form = request.form
    try:
        with uploaded("file", MAX_BILL_FILE, "courier bill") as path:
            result = import_courier_bill(system().app, path, form.get("courier", ""), form.get("reference", ""),
                                         current_staff()["badge"])
    except RowsRejected as error:
        return parcels(rejected=errors.rows(error), status=errors.status_of(error))
    except DomainError as error:
        return parcels(errors.detail(error), status=errors.status_of(error))
    return redirect(url_for("office_costs.parcels", billed=result["lines"]), 303)
