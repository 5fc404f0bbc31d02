"""Back office: platform SKUs that orders wait for, and the form that maps one to a SKU or a kit (组合装)."""

import re

from flask import Blueprint, redirect, request, url_for

from domain.errors import DomainError, InvalidInput, RowsRejected
from projections.unmapped_skus import unmapped_skus

from . import backoffice, errors
from .auth import current_staff, system
from .backoffice import Col, Filter, arg, fresh, table, uploaded

bp = Blueprint("office_mapping", __name__, url_prefix="/office/mapping")
bp.before_request(backoffice.back_office_staff_only)
bp.errorhandler(DomainError)(backoffice.refused)
bp.context_processor(backoffice.page_links)

FIELDS = ("channel", "shop", "platform_sku", "item_id", "components")
# One SKU a line: "TEA-LJ-250*2", "TEA-LJ-250×2", "TEA-LJ-250 2", or the code alone for one unit.
KIT_LINE = re.compile(r"^(?P<sku>.+?)\s*(?:[*×,]\s*|\s+)(?P<units>\d+)$")
MAX_KIT_TEXT = 4000
MAX_FILE_BYTES = 1024 * 1024 - 16 * 1024  # the app's body limit, less the form around the file


def kit_of(text: str) -> dict[str, int]:
    """The SKUs and units typed into the form, one SKU a line."""
    if len(text) > MAX_KIT_TEXT:
        raise InvalidInput(f"the SKU list is at most {MAX_KIT_TEXT} characters")
    kit: dict[str, int] = {}
    for line in filter(None, (line.strip() for line in text.splitlines())):
        found = KIT_LINE.match(line)
        sku, units = (found["sku"].strip(), int(found["units"])) if found else (line, 1)
        if sku in kit:
            raise InvalidInput(f"SKU {sku[:64]!r} is listed twice / SKU 重复")
        kit[sku] = units
    if not kit:
        raise InvalidInput("list at least one SKU / 请至少填写一个 SKU")
    return kit


@bp.get("")
def unmapped():
    """Platform SKUs orders wait for, the most waiting orders first, with the form that maps one."""
    return page()


@bp.post("")
def map_platform_sku():
    """Map a platform SKU; the orders waiting for it are released and reserved, or the form says why not."""
    chosen = {name: request.form.get(name, "").strip() for name in FIELDS}
    try:
        done = system().map_platform_sku(chosen["channel"], chosen["shop"], chosen["platform_sku"],
                                         kit_of(chosen["components"]), current_staff()["badge"], chosen["item_id"])
    except DomainError as error:
        return page(chosen, refusal=errors.detail(error)), errors.status_of(error)
    return redirect(url_for("office_mapping.unmapped", mapped=chosen["platform_sku"], released=done["released"],
                            reserved=done["reserved"]), 303)


@bp.post("/file")
def upload_mappings():
    """Map every platform SKU of a CSV file (channel,shop,platform_sku,sku,quantity[,item_id]), or none."""
    try:
        with uploaded("file", MAX_FILE_BYTES, "mapping file") as path:
            done = system().import_mappings(path, current_staff()["badge"])
    except RowsRejected as error:
        return page(rejected=errors.rows(error)), errors.status_of(error)
    except DomainError as error:
        return page(refusal=errors.detail(error)), errors.status_of(error)
    return redirect(url_for("office_mapping.unmapped", mapped_file=done["mapped"], released=done["released"],
                            reserved=done["reserved"]), 303)


def page(chosen: dict | None = None, refusal: str = "", rejected: dict | None = None):
    if chosen is None:  # a row's "map" link fills the form
        chosen = {name: request.args.get(f"map_{name}", "") for name in FIELDS}
    rows = unmapped_skus(fresh("unmapped_skus"), arg("channel"), arg("shop"))
    columns = [Col("channel", "channel"), Col("shop", "shop"), Col("platform_sku", "platform_sku"),
               Col("item_id", "platform_item_id"), Col("outer_id", "outer_id"), Col("title", "item_title"),
               Col("orders", "waiting_orders", "number"), Col("first_seen", "first_seen", "instant"),
               Col("last_seen", "last_seen", "instant")]
    done = {"sku": arg("mapped"), "file": arg("mapped_file"), "released": arg("released"),
            "reserved": arg("reserved")}
    return table("unmapped-skus", "unmapped_skus", rows, columns, [Filter("channel", "channel"), Filter("shop", "shop")],
                 template="office/mapping.html", chosen=chosen, refusal=refusal, done=done, rejected=rejected or {})
