"""The first stock reads, now served by the JSON API: their old addresses redirect there (and need a token)."""

from flask import Blueprint, redirect, request, url_for

bp = Blueprint("stock", __name__, url_prefix="/api/stock")


@bp.get("")
def current():
    return redirect(url_for("api.stock", **request.args), 308)


@bp.get("/at")
def at_instant():
    return redirect(url_for("api.stock_at", **request.args), 308)
