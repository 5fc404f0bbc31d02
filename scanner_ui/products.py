"""The back office's product master: the SKU list, a SKU's page to create, edit, retire or reinstate it, and the
upload of a SKU file (CSV or XLSX) that updates the SKUs it names and registers the rest, all rows or none.

Supervisors and admins change SKUs; auditors read. Forms are protected as every back-office form is (the
cross-site check in `security.py`).
"""

from flask import Blueprint, redirect, render_template, request, url_for

from adapters.imports import import_skus, sku_row
from domain.catalogue import DETAILS
from domain.errors import DomainError, InvalidInput, RowsRejected
from projections import catalogue
from projections.backoffice import choice

from . import backoffice, errors
from .auth import current_staff, system
from .backoffice import Col, Filter, arg, fresh, table, uploaded

bp = Blueprint("products", __name__, url_prefix="/office/products")
bp.before_request(backoffice.back_office_staff_only)
bp.errorhandler(DomainError)(backoffice.refused)
bp.context_processor(backoffice.page_links)

STATUSES = ("current", "retired", "all")
MAX_FILE_BYTES = 20 * 1024 * 1024  # as a settlement bill: the body limit is raised for this upload (security.py)
FIELDS = ("code", "name", "barcodes", *(f for f in DETAILS if f != "name"))


@bp.get("")
def skus(upload: dict | None = None, status: int = 200):
    """Every SKU with its details, by code; a search over code, name and barcodes."""
    which = choice(arg("status"), STATUSES, "status") or "current"
    rows = catalogue.sku_listing(fresh("catalogue"), arg("q"), {"current": False, "retired": True, "all": None}[which],
                                 lambda row: shown_in_table(catalogue.shown(row)))
    columns = [Col("code", "item"), Col("name", "name"), Col("barcodes", "barcodes"),
               Col("unit_weight_g", "unit_weight_g", "number"), Col("length_mm", "length_mm", "number"),
               Col("width_mm", "width_mm", "number"), Col("height_mm", "height_mm", "number"),
               Col("unit_cost", "unit_cost", "money"), Col("safety_stock", "safety_stock", "number"),
               Col("lot_tracked", "lot_tracked", "flag"), Col("shelf_life_days", "shelf_life_days", "number"),
               Col("retired", "retired", "flag"), Col("updated_at", "updated_at", "instant")]
    filters = [Filter("q", "search"), Filter("status", "sku_status", "choice", STATUSES)]
    answer = table("skus", "product_master", rows, columns, filters, template="office/products.html",
                   upload=upload or {})
    return answer if status == 200 else (answer, status)


@bp.post("/import")
def upload():
    """Import a SKU file; a refused file lists every bad row and changes nothing."""
    try:
        with uploaded("file", MAX_FILE_BYTES, "SKU file (CSV or XLSX)") as path:
            counts = import_skus(system().app, path, by=current_staff()["badge"])
        counts.update(system().release_orders_for_new_skus(current_staff()["badge"]))
    except RowsRejected as error:
        return skus({"rejected": errors.rows(error)}, errors.status_of(error))
    except DomainError as error:
        return skus({"refusal": errors.detail(error)}, errors.status_of(error))
    return skus({"counts": counts})


@bp.get("/new")
def new():
    return form_page({"code": "", **{f: "" for f in FIELDS if f != "code"}})


@bp.post("")
def register():
    values = submitted()
    try:
        details = read(values)
        system().app.catalogue.register_sku(details.pop("code"), details.pop("name", ""), **details)
        system().release_orders_for_new_skus(current_staff()["badge"])
    except DomainError as error:
        return form_page(values, errors.detail(error), errors.status_of(error))
    return redirect(url_for("products.sku", code=values["code"].strip(), saved=1), 303)


@bp.get("/sku/<path:code>")
def sku(code: str):
    return form_page(in_form(catalogue.sku_record(fresh("catalogue"), code)), saved=bool(arg("saved")))


@bp.post("/sku/<path:code>")
def edit(code: str):
    values = {**submitted(), "code": code}
    try:
        details = read(values)
        details.pop("code")
        system().app.catalogue.edit_sku(code, current_staff()["badge"], barcodes=details.pop("barcodes", []),
                                        **details)
    except DomainError as error:
        record = catalogue.sku_record(fresh("catalogue"), code)
        return form_page({**values, "retired": record["retired"]}, errors.detail(error), errors.status_of(error))
    return redirect(url_for("products.sku", code=code, saved=1), 303)


@bp.post("/sku/<path:code>/retire")
def retire(code: str):
    system().app.catalogue.retire_sku(code, request.form.get("reason", ""), current_staff()["badge"])
    return redirect(url_for("products.sku", code=code, saved=1), 303)


@bp.post("/sku/<path:code>/reinstate")
def reinstate(code: str):
    system().app.catalogue.reinstate_sku(code, current_staff()["badge"])
    return redirect(url_for("products.sku", code=code, saved=1), 303)


def shown_in_table(record: dict) -> dict:
    return {**record, "barcodes": "; ".join(record["barcodes"])}


def submitted() -> dict:
    values = {f: request.form.get(f, "").strip() for f in FIELDS}
    values["lot_tracked"] = "yes" if request.form.get("lot_tracked") else "no"
    return values


def read(values: dict) -> dict:
    """The form's details as a file row would give them; the barcodes field always gives the SKU's barcodes."""
    try:
        details = sku_row(values)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    details["barcodes"] = details.get("barcodes", [])
    return details


def in_form(record: dict) -> dict:
    return {**shown_in_table(record), "lot_tracked": "yes" if record["lot_tracked"] else "no"}


def form_page(values: dict, refusal: str = "", status: int = 200, saved: bool = False):
    editing = "retired" in values
    return render_template("office/product.html", title="edit_sku" if editing else "new_sku", editing=editing,
                           values=values, refusal=refusal, saved=saved,
                           fields=[f for f in FIELDS if f not in ("code", "name", "barcodes", "lot_tracked")]), status
