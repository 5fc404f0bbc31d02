"""Stock reads: the current view and stock at a past instant."""

from datetime import datetime

from flask import Blueprint, current_app, request

from domain.errors import InvalidInput
from projections.inventory import stock_by_bin

bp = Blueprint("stock", __name__, url_prefix="/api/stock")


def system():
    return current_app.extensions["cangku"]


@bp.get("")
def current():
    rows = stock_by_bin(system().engine, request.args.get("warehouse"), request.args.get("sku"))
    return {"stock": rows}


@bp.get("/at")
def at_instant():
    try:
        instant = datetime.fromisoformat(request.args["at"]).astimezone()
    except (KeyError, ValueError):
        raise InvalidInput("'at' must be an ISO 8601 time, e.g. 2026-11-11T20:00:03+08:00") from None
    sku = request.args.get("sku", "")
    warehouse = request.args.get("warehouse") or system().settings.warehouse
    figure = system().app.stock_at(warehouse, sku, instant, request.args.get("bin") or None)
    figure["at"] = figure["at"].isoformat()
    for event in figure["events"]:
        event["at"] = event["at"].isoformat()
    return figure
