"""Dropship (代发): the back office's page of dropship orders per supplier (which SKUs suppliers ship, the sheet a
supplier is sent, its tracking file, its page link), and the supplier's own page.

A supplier's page is opened with the link the back office issues (`/supplier/<code>/<token>`): the token is checked
(wrong tokens are throttled like PINs, per supplier and per device), then kept in the session only as its digest and
the browser is sent on to `/supplier/<code>`, so the token does not stay in the address bar, history or referrers.
Every later request checks that digest against the supplier's current one: revoking or issuing a new link ends every
open session at once. The page shows the supplier only its open dropship orders: order number, lines, the receiver's
name, phone, region and address as the order holds them (masked when the platform handed out a protected receiver)
and the buyer's remark; never the buyer's nickname, the amounts paid or any other order.
"""

from pathlib import Path
from uuid import UUID

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, session, url_for

from adapters.imports import read_rows
from domain.dropship import SupplierTokenRefused, token_digest
from domain.errors import DomainError, RowsRejected
from projections import dropship, purchasing
from projections.backoffice import today
from projections.reports import MEDIA_TYPES, export

from . import backoffice, errors
from .auth import current_staff, system
from .backoffice import Col, Filter, arg, fresh, table, uploaded

bp = Blueprint("office_dropship", __name__, url_prefix="/office/dropship")
bp.before_request(backoffice.back_office_staff_only)
bp.errorhandler(DomainError)(backoffice.refused)
bp.context_processor(backoffice.page_links)

supplier_bp = Blueprint("supplier_page", __name__, url_prefix="/supplier")

MAX_TRACKING_FILE = 512 * 1024
SHEET_COLUMNS = ("platform_order_no", "channel", "shop", "sku", "title", "quantity", "supplier_price",
                 "receiver_name", "receiver_phone", "receiver_region", "receiver_address", "remark", "courier",
                 "tracking_no")
TRACKING_COLUMNS = ("platform_order_no", "courier", "tracking_no")
OPEN_AT_MOST = 500
ROUTED_AT_MOST = 200


# The back office


@bp.get("")
def orders(refusal: str = "", status: int = 200, rejected: dict | None = None, link: str = "", **shown):
    """Dropship orders, oldest first, with the forms that route SKUs to suppliers and serve the suppliers."""
    engine = fresh("dropship", "purchasing")
    rows = dropship.dropship_listing(engine, arg("supplier"), arg("status"))
    columns = [Col("platform_order_no", "order"), Col("supplier", "supplier"), Col("channel", "channel"),
               Col("shop", "shop"), Col("status", "status", "code"), Col("cancelled", "status:cancelled", "flag"),
               Col("units", "units", "number"), Col("created_at", "ds_created_at", "instant"),
               Col("courier", "courier"), Col("tracking_no", "tracking"), Col("shipped_on", "shipped_on")]
    filters = [Filter("supplier", "supplier"),
               Filter("status", "status", "choice", (*dropship.STATUSES, "open", "cancelled"))]
    suppliers = list(purchasing.suppliers(engine))
    app = system().app
    answer = table("dropship", "ds_dropship_orders", rows, columns, filters, template="office/dropship.html",
                   suppliers=suppliers, refusal=refusal, rejected=rejected or {}, link=link,
                   routed=dropship.routed_skus(engine, arg("supplier")).page(ROUTED_AT_MOST),
                   has_token={s["code"]: app.dropship.has_token(s["code"]) for s in suppliers}, **shown)
    return answer if status == 200 else (answer, status)


def _badge() -> str:
    return current_staff()["badge"]


@bp.post("/skus")
def route_sku():
    """Have a supplier ship a SKU straight to buyers at its price (or, with no supplier, ship it ourselves)."""
    form = request.form
    try:
        system().app.catalogue.set_dropship(form.get("sku", "").strip(), form.get("supplier", ""),
                                            form.get("supplier_price", "").strip() or "0", _badge())
    except DomainError as error:
        return orders(errors.detail(error), errors.status_of(error))
    return redirect(url_for("office_dropship.orders", saved="sku"), 303)


@bp.post("/sheet")
def sheet():
    """The supplier's open dropship orders as CSV or XLSX (its courier and tracking columns left to fill in); the
    orders are recorded as sent to the supplier."""
    supplier, kind = request.form.get("supplier", ""), request.form.get("format", "csv")
    if kind not in MEDIA_TYPES:
        return orders(f"no such format {kind[:8]!r}", 400)
    app = system().app
    shown = app.dropship.open_for(supplier, _open_ids(supplier))
    body = export(sheet_rows(shown), kind, list(SHEET_COLUMNS))
    app.dropship.mark_sent([d["dropship_id"] for d in shown], f"sheet.{kind}", _badge())
    filename = f"dropship-{supplier}-{today().isoformat()}.{kind}"
    return Response(body, content_type=MEDIA_TYPES[kind],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/tracking")
def tracking():
    """A supplier's file of tracking numbers (platform_order_no, courier, tracking_no): all rows or none."""
    supplier = request.form.get("supplier", "")
    try:
        count = record_tracking_file(supplier, _badge())
    except RowsRejected as error:
        return orders(status=errors.status_of(error), rejected=errors.rows(error))
    except DomainError as error:
        return orders(errors.detail(error), errors.status_of(error))
    return redirect(url_for("office_dropship.orders", supplier=supplier, recorded=count), 303)


@bp.post("/token")
def issue_token():
    """A new page link for the supplier, shown once (the old link stops working)."""
    supplier = request.form.get("supplier", "")
    try:
        token = system().app.dropship.issue_token(supplier, _badge())
    except DomainError as error:
        return orders(errors.detail(error), errors.status_of(error))
    link = url_for("supplier_page.enter", supplier=supplier, token=token, _external=True)
    return orders(link=link, link_supplier=supplier)


@bp.post("/token/revoke")
def revoke_token():
    supplier = request.form.get("supplier", "")
    try:
        system().app.dropship.revoke_token(supplier, _badge())
    except DomainError as error:
        return orders(errors.detail(error), errors.status_of(error))
    return redirect(url_for("office_dropship.orders", revoked=supplier), 303)


def _open_ids(supplier: str) -> list[UUID]:
    return [UUID(i) for i in dropship.open_dropship_ids(fresh("dropship"), supplier, OPEN_AT_MOST)]


def sheet_rows(shown: list[dict]) -> list[dict]:
    """One row per line of each dropship order, as the supplier ships it."""
    rows = []
    for d in shown:
        receiver = d["receiver"]
        for line in d["lines"]:
            rows.append({"platform_order_no": d["platform_order_no"], "channel": d["channel"], "shop": d["shop"],
                         "sku": line["sku"], "title": line["title"], "quantity": line["quantity"],
                         "supplier_price": line["supplier_price"], "receiver_name": receiver["name"],
                         "receiver_phone": receiver["phone"], "receiver_region": receiver["region"],
                         "receiver_address": receiver["address"], "remark": d["remark"], "courier": "",
                         "tracking_no": ""})
    return rows


def record_tracking_file(supplier: str, by: str) -> int:
    with uploaded("file", MAX_TRACKING_FILE, "tracking file") as path:
        rows = read_tracking(path)
    return system().app.dropship.record_shipments(supplier, rows, by, _open_ids(supplier))


def read_tracking(path: Path) -> dict[int, dict]:
    """The rows with a tracking number (a sheet sent back with some orders not yet shipped keeps those blank)."""
    return {number: row for number, row in read_rows(path, TRACKING_COLUMNS)
            if row.get("tracking_no") or row.get("courier")}


# The supplier's page


def _throttle():
    """The sign-in throttle (`throttle.LoginThrottle`): a wrong page link counts as a wrong PIN would."""
    return current_app.extensions["cangku_login_throttle"]


def _supplier_keys(supplier: str) -> tuple[str, str]:
    return f"supplier-page:{supplier[:64]}", f"device:{g.device}"


@supplier_bp.get("/<supplier>/<token>")
def enter(supplier: str, token: str):
    """Open the supplier's page with its link; a wrong link counts against the supplier and the device."""
    keys = _supplier_keys(supplier)
    until = _throttle().begin(keys)
    if until is not None:
        return render_template("supplier_refused.html", title="ds_supplier_page", locked=True), 429
    try:
        system().app.dropship.check_token(supplier, token)
    except SupplierTokenRefused:
        _throttle().failed(keys)
        return render_template("supplier_refused.html", title="ds_supplier_page", locked=False), 404
    _throttle().succeeded(keys)
    session["supplier"], session["supplier_key"] = supplier, token_digest(token)
    return redirect(url_for("supplier_page.page", supplier=supplier), 303)


def _admitted(supplier: str) -> bool:
    if session.get("supplier") != supplier:
        return False
    try:
        portal_hash = system().app.dropship.portal_hash(supplier)
    except DomainError:
        return False
    return bool(portal_hash) and portal_hash == session.get("supplier_key")


@supplier_bp.get("/<supplier>")
def page(supplier: str, refusal: str = "", rejected: dict | None = None, status: int = 200, done: str = ""):
    if not _admitted(supplier):
        session.pop("supplier", None)
        return render_template("supplier_refused.html", title="ds_supplier_page", locked=False), 404
    shown = system().app.dropship.open_for(supplier, _open_ids(supplier))
    system().app.dropship.mark_sent([d["dropship_id"] for d in shown], "page", f"supplier:{supplier}")
    return render_template("supplier.html", title="ds_supplier_page", supplier=supplier, orders=shown,
                           refusal=refusal, rejected=rejected or {}, done=done or request.args.get("done", "")), status


@supplier_bp.post("/<supplier>/ship")
def ship(supplier: str):
    if not _admitted(supplier):
        return render_template("supplier_refused.html", title="ds_supplier_page", locked=False), 404
    form = request.form
    try:
        dropship_id = UUID(form.get("dropship_id", ""))
    except ValueError:
        return page(supplier, "unknown dropship order", status=404)
    try:
        shipped = system().app.dropship.record_shipment(dropship_id, form.get("courier", ""),
                                                        form.get("tracking_no", ""), f"supplier:{supplier}",
                                                        supplier=supplier)
    except DomainError as error:
        return page(supplier, errors.detail(error), status=errors.status_of(error))
    return redirect(url_for("supplier_page.page", supplier=supplier, done=shipped["platform_order_no"]), 303)


@supplier_bp.post("/<supplier>/tracking")
def upload(supplier: str):
    if not _admitted(supplier):
        return render_template("supplier_refused.html", title="ds_supplier_page", locked=False), 404
    try:
        count = record_tracking_file(supplier, f"supplier:{supplier}")
    except RowsRejected as error:
        return page(supplier, rejected=errors.rows(error), status=errors.status_of(error))
    except DomainError as error:
        return page(supplier, errors.detail(error), status=errors.status_of(error))
    return redirect(url_for("supplier_page.page", supplier=supplier, done=str(count)), 303)
