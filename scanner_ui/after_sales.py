"""The back office's after-sales pages (售后): cases pulled from the platforms with filters, one case with its order,
lines, refund and returned units, and the new parcel of an exchange or a reshipment."""

from uuid import UUID

from flask import Blueprint, redirect, render_template, url_for

from domain.after_sales import KINDS, REPLACING_KINDS, UnknownCase
from domain.errors import DomainError
from projections import after_sales

from . import backoffice, errors
from .auth import current_staff, system
from .backoffice import Col, Filter, arg, fresh, table

bp = Blueprint("after_sales", __name__, url_prefix="/office/after-sales")
bp.before_request(backoffice.back_office_staff_only)
bp.errorhandler(DomainError)(backoffice.refused)
bp.context_processor(backoffice.page_links)


@bp.get("")
def cases():
    """Cases, the newest request first, by state, kind, channel, order number or buyer."""
    rows = after_sales.cases(fresh("after_sales"), arg("status"), arg("kind"), arg("channel"), arg("order_no"),
                             arg("buyer_ref"))
    columns = [Col("refund_id", "after_sales_case"), Col("channel", "channel"), Col("order_no", "order"),
               Col("kind", "kind", "code"), Col("status", "status", "code"), Col("amount", "amount_asked", "money"),
               Col("refunded", "amount_refunded", "money"), Col("refunded_on", "refunded_on"),
               Col("units_back", "units_back", "number"), Col("replacement", "replacement_order"),
               Col("requested_at", "requested_at", "instant")]
    filters = [Filter("status", "status", "choice", after_sales.STATUSES), Filter("kind", "kind", "choice", KINDS),
               Filter("channel", "channel"), Filter("order_no", "order"), Filter("buyer_ref", "buyer")]
    return table("after-sales", "after_sales", rows, columns, filters, template="office/after_sales.html")


def _case_id(key: str) -> UUID:
    try:
        return UUID(key)
    except ValueError:
        raise UnknownCase(f"unknown after-sales case {key[:64]!r}") from None


@bp.get("/<key>")
def case(key: str, refusal: str = "", status: int = 200):
    found = system().app.after_sales.case_details(_case_id(key))
    shown = after_sales.case(fresh("after_sales"), str(found["id"]))
    page = render_template("office/after_sales_case.html", title="after_sales_case", case=found, row=shown,
                           replaceable=found["kind"] in REPLACING_KINDS and not found["replacement"]
                           and not found["closed"], refusal=refusal)
    return page, status


@bp.post("/<key>/replacement")
def send_replacement(key: str):
    """Send the new parcel of an exchange or a reshipment: a new outbound order through the normal path."""
    try:
        system().app.after_sales.send_replacement(_case_id(key), current_staff()["badge"],
                                                  system().settings.warehouse)
    except DomainError as error:
        return case(key, errors.detail(error), errors.status_of(error))
    return redirect(url_for("after_sales.case", key=key), 303)
