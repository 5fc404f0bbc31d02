"""The back office's warehouse pages: the routing rules (分仓) that choose each order's shipping warehouse, the
warehouses each member of staff may work in, and transfers (调拨) between warehouses with the units in transit.
Receiving a transfer is done on the scanner's receive screen in the destination warehouse (scan the transfer's
number, then the items)."""

from flask import Blueprint, redirect, render_template, request, url_for

from domain.errors import DomainError, InvalidInput
from domain.warehouse import SENDER_FIELDS
from projections import transfers
from projections.inventory import warehouse_codes

from . import backoffice, errors
from .auth import current_staff, system
from .backoffice import Col, Filter, arg, fresh, table
from .mapping import kit_of

bp = Blueprint("warehouses", __name__, url_prefix="/office/warehouses")
bp.before_request(backoffice.back_office_staff_only)
bp.errorhandler(DomainError)(backoffice.refused)
bp.context_processor(backoffice.page_links)


@bp.get("")
def routing(refusal: str = "", status: int = 200):
    """Every warehouse with its place in the routing rules (priority, provinces served), and the rules' version."""
    rules = system().app.routing.describe()
    placed = {r["warehouse"]: r for r in rules["rules"]}
    inventory = system().app.inventory
    rows = [{"warehouse": code, "in_rules": code in placed, "priority": placed.get(code, {}).get("priority", ""),
             "provinces": "，".join(placed.get(code, {}).get("provinces", [])), "sender": inventory.sender_of(code)}
            for code in warehouse_codes(fresh("inventory"))]
    answer = render_template("office/warehouses.html", title="warehouses_routing", rules=rules, rows=rows,
                             refusal=refusal, default_warehouse=system().settings.warehouse)
    return answer if status == 200 else (answer, status)


@bp.post("/rules")
def revise_rules():
    """Replace the routing rules with the warehouses given a priority on the form."""
    form = request.form
    rules = []
    for code in form.getlist("warehouse"):
        priority = form.get(f"priority:{code}", "").strip()
        if not priority:
            continue
        rules.append({"warehouse": code, "priority": int(priority) if priority.isdigit() else priority,
                      "provinces": form.get(f"provinces:{code}", "")[:2000]})
    try:
        system().app.routing.revise_rules(rules, form.get("split_allowed") == "on", current_staff()["badge"])
    except DomainError as error:
        return routing(errors.detail(error), errors.status_of(error))
    return redirect(url_for("warehouses.routing"), 303)


@bp.post("/sender")
def warehouse_sender():
    """Set who and where the parcels of one warehouse are sent from (its waybills and labels)."""
    form = request.form
    try:
        system().app.inventory.set_warehouse_sender(
            form.get("warehouse", "").strip()[:32], {key: form.get(key, "")[:400] for key in SENDER_FIELDS},
            current_staff()["badge"])
    except DomainError as error:
        return routing(errors.detail(error), errors.status_of(error))
    return redirect(url_for("warehouses.routing"), 303)


@bp.post("/staff")
def staff_warehouses():
    """Limit a member of staff to some warehouses (none ticked: every warehouse)."""
    form = request.form
    try:
        system().app.staff.change_staff(form.get("badge", "").strip()[:32], current_staff()["badge"],
                                        warehouses=form.getlist("allowed"))
    except DomainError as error:
        return routing(errors.detail(error), errors.status_of(error))
    return redirect(url_for("warehouses.routing", staff_saved=form.get("badge", "")[:32]), 303)


@bp.get("/transfers")
def transfer_list(refusal: str = "", status: int = 200):
    """Transfers, the newest first, the units in transit, and the form to draft one."""
    engine = fresh("transfers")
    rows = transfers.transfers(engine, arg("status"), arg("warehouse"))
    columns = [Col("number", "transfer"), Col("from_warehouse", "from_warehouse"),
               Col("to_warehouse", "to_warehouse"), Col("status", "status", "code"), Col("units", "units", "number"),
               Col("units_shipped", "units_shipped", "number"), Col("units_received", "units_in", "number"),
               Col("drafted_at", "drafted_at", "instant"), Col("updated_by", "by")]
    filters = [Filter("status", "status", "choice", transfers.STATUSES), Filter("warehouse", "warehouse")]
    codes, default = warehouse_codes(fresh("inventory")), system().settings.warehouse
    answer = table("transfers", "transfers", rows, columns, filters, template="office/transfers.html",
                   in_transit=transfers.in_transit(engine, warehouse=arg("warehouse")), refusal=refusal,
                   warehouses=codes, default_warehouse=default,
                   default_destination=next((c for c in codes if c != default), ""))
    return answer if status == 200 else (answer, status)


@bp.post("/transfers")
def draft_transfer():
    form = request.form
    number = form.get("number", "").strip()
    try:
        lines = kit_of(form.get("lines", ""))
        system().app.transfers.draft(number, form.get("from_warehouse", ""), form.get("to_warehouse", ""), lines,
                                     current_staff()["badge"])
    except DomainError as error:
        return transfer_list(errors.detail(error), errors.status_of(error))
    return redirect(url_for("warehouses.transfer_page", number=number), 303)


@bp.get("/transfers/<path:number>")
def transfer_page(number: str, refusal: str = "", status: int = 200):
    found = transfers.transfer(fresh("transfers"), number)
    return render_template("office/transfer.html", title="transfer", transfer=found, refusal=refusal), status


@bp.post("/transfers/<path:number>/<action>")
def transfer_action(number: str, action: str):
    commands = {"ship": system().app.transfers.ship, "close": system().app.transfers.close,
                "cancel": system().app.transfers.cancel, "finish": system().app.transfers.finish_shipping}
    try:
        if action not in commands:
            raise InvalidInput(f"a transfer cannot be {action[:20]!r}")
        commands[action](number, current_staff()["badge"])
    except DomainError as error:
        return transfer_page(number, errors.detail(error), errors.status_of(error))
    return redirect(url_for("warehouses.transfer_page", number=number), 303)
