"""The back office: dashboard, orders board, finance, customers, replenishment, stock, settlement bills and audit.

Supervisors, admins and auditors read every page; auditors are read-only, so any POST of theirs is refused. Each
table pages through its rows and exports them all (as filtered) to CSV or XLSX with `?format=csv|xlsx`.
"""

import json
import math
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import secrets

from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for
from sqlalchemy.engine import Engine

from adapters.marketplaces import KeptByShop, MarketplaceError, ShopAuthorisation
from domain.errors import DomainError, InvalidInput, UnknownBin, UnknownSku
from domain.staff import READERS_OF_REPORTS
from projections import actors, audit, crm, finance, forensics, inventory, lots, orders_board, replenishment, settlement
from projections import transfers
from projections.backoffice import (InvalidFilter, Listing, business_calendar, choice, day_range, parse_day,
                                   positive_int, today)
from projections.reports import MEDIA_TYPES, export

from . import errors, i18n
from .auth import current_staff, login_required, system
from .whatif_runs import Runs

bp = Blueprint("office", __name__, url_prefix="/office")

WRITERS = ("supervisor", "admin")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
EVERY_ROW = 100_000
DASHBOARD_DAYS = 30
MAX_DAILY_DAYS = 92  # longer ranges are charted a month a point
TOP_BARS, MAX_TOP_BARS = 10, 50
MAX_DAYS = 3660
MAX_BILL_BYTES = 20 * 1024 * 1024
BACKLOG = orders_board.STATUSES[:orders_board.STATUSES.index("shipped")]
REPLAYS = Runs()
PALETTE = ("#1565c0", "#ef6c00", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41", "#546e7a")


@dataclass(frozen=True)
class Col:
    """A column of a table: the row's field, the label's text key, and how its values are shown."""

    field: str
    label: str
    kind: str = "text"  # text, number, money, instant, flag, code (a word of the business), hash


@dataclass(frozen=True)
class Filter:
    """A field of a table's filter form."""

    name: str
    label: str
    kind: str = "text"  # text, day, choice, flag, number
    options: tuple = ()


@bp.before_request
@login_required
def back_office_staff_only():
    role = current_staff()["role"]
    if role not in READERS_OF_REPORTS or (request.method != "GET" and role not in WRITERS):
        return render_template("office/message.html", title="not_permitted_screen"), 403


@bp.errorhandler(DomainError)
def refused(error: DomainError):
    """A bad filter or an unknown id: the page says why, with the status the error maps to."""
    return (render_template("office/message.html", title=error.code, reason=errors.detail(error)),
            errors.status_of(error))


@bp.app_template_filter("china_time")
def china_time(moment) -> str:
    if not isinstance(moment, datetime):
        return moment or ""
    return business_calendar.local(moment).strftime("%Y-%m-%d %H:%M:%S") if moment.tzinfo else str(moment)


@bp.context_processor
def page_links():
    def page_url(**changes) -> str:
        args = {**request.args.to_dict(), **changes}
        return url_for(request.endpoint, **(request.view_args or {}),
                       **{k: v for k, v in args.items() if v not in (None, "")})

    return {"page_url": page_url, "writable": (current_staff() or {}).get("role") in WRITERS}


def fresh(*views: str) -> Engine:
    return system().fresh(*views)


def arg(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    return value or None


def flag(name: str) -> bool:
    return request.args.get(name) in ("1", "on", "yes", "true")


def warehouse_filter() -> str | None:
    """The warehouse asked for; an unknown code is refused by name."""
    code = arg("warehouse")
    if code:
        system().app.inventory.warehouse(code)
    return code


def sku_filter() -> str | None:
    sku = arg("sku")
    if sku and not system().app.catalogue.sku_exists(sku):
        raise UnknownSku(f"unknown SKU {sku[:64]!r}", key="refusal:unknown_sku", sku=sku[:64])
    return sku


def bin_filter(warehouse: str | None) -> str | None:
    """The bin asked for, which must exist in the warehouse (the configured one when none is given)."""
    bin, warehouse = arg("bin"), warehouse or system().settings.warehouse
    if bin and bin not in system().app.inventory.warehouse(warehouse).locations:
        raise UnknownBin(f"bin {bin[:32]!r} does not exist in warehouse {warehouse}")
    return bin


@contextmanager
def uploaded(field: str, most: int, what: str) -> Iterator[Path]:
    """The file uploaded in a form field, saved in a temporary folder while in use; refused by name when missing
    or larger than `most` bytes."""
    upload = request.files.get(field)
    data = upload.read(most + 1) if upload else b""
    if not data:
        raise InvalidInput(f"choose the {what} to upload / 请选择文件")
    if len(data) > most:
        raise InvalidInput(f"a {what} is at most {most // 1024:,} KB")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        yield path


def table(name: str, title: str, rows: list[dict] | Listing, columns: list[Col], filters: list[Filter] = (),
          template: str = "office/table.html", **shown):
    """A table page (one page of the rows) or, with `?format=`, every row as a CSV or XLSX download. Rows given as
    a Listing are read from the view a page at a time (and streamed into the export), never all held at once.
    `?sort=FIELD&dir=asc|desc` orders them by one of the table's columns (in SQL for a Listing), pages and exports
    alike."""
    rows, sorting = sorted_rows(rows, columns)
    kind = request.args.get("format")
    if kind:
        body = export(rows, kind, [c.field for c in columns])
        filename = f"{name}-{today().isoformat()}.{kind}"
        return Response(body, content_type=MEDIA_TYPES[kind],
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    size = min(positive_int(request.args.get("size", PAGE_SIZE), "page size"), MAX_PAGE_SIZE)
    page = positive_int(request.args.get("page", 1), "page")
    total = rows.count() if isinstance(rows, Listing) else len(rows)
    pages = max(math.ceil(total / size), 1)
    if page > pages:
        raise InvalidFilter(f"page {page} is past the last page ({pages})")
    offset = (page - 1) * size
    shown_rows = rows.page(size, offset) if isinstance(rows, Listing) else rows[offset:offset + size]
    return render_template(template, name=name, title=title, columns=columns, filters=filters, rows=shown_rows,
                           total=total, page=page, pages=pages, size=size, sorting=sorting, **shown)


@dataclass(frozen=True)
class Sorting:
    """How a table is sorted (`field`, `descending`) and which of its columns it can be sorted by."""

    fields: frozenset[str]
    field: str | None = None
    descending: bool = False


def sorted_rows(rows: list[dict] | Listing, columns: list[Col]) -> tuple[list[dict] | Listing, Sorting]:
    """The rows in the order the query string asks (`sort`, `dir`), only by a column of the table; rows in memory are
    sorted stably (empty values last), a Listing in SQL."""
    shown = [c.field for c in columns]
    fields = frozenset(f for f in shown if f in rows.sort_keys) if isinstance(rows, Listing) else frozenset(shown)
    field, direction = arg("sort"), request.args.get("dir", "asc")
    if field is None:
        return rows, Sorting(fields)
    if field not in fields or direction not in ("asc", "desc"):
        raise InvalidFilter(f"this table can be sorted by {', '.join(sorted(fields))}, ascending (asc) or "
                            "descending (desc)")
    descending = direction == "desc"
    if isinstance(rows, Listing):
        return rows.sorted_by(field, descending), Sorting(fields, field, descending)
    empty = [r for r in rows if r.get(field) in (None, "")]
    filled = sorted((r for r in rows if r.get(field) not in (None, "")), key=lambda r: r[field], reverse=descending)
    return filled + empty, Sorting(fields, field, descending)


# Dashboard


@bp.get("/")
def dashboard():
    """Sales by channel and margin per day (per month over a long range), stock value of the top SKUs, backlog and
    open exceptions, as server-drawn charts."""
    first, last = day_range(arg("since") or (today() - timedelta(days=DASHBOARD_DAYS - 1)), arg("until") or today())
    periods = calendar(first, last)
    period_of = {day: label for label, days in periods for day in days}
    labels = [label for label, _ in periods]
    top = min(positive_int(request.args.get("top", TOP_BARS), "top"), MAX_TOP_BARS)
    engine = fresh("finance", "orders_board", "inventory")
    sales: dict[str, dict[str, Decimal]] = {}
    for row in finance.sales_by_channel(engine, first, last):
        points = sales.setdefault(row["channel"], {})
        points[period_of[row["day"]]] = points.get(period_of[row["day"]], Decimal("0.00")) + row["revenue"]
    margin: dict[str, Decimal] = {}
    for row in finance.daily_finance(engine, first, last):
        margin[period_of[row["day"]]] = margin.get(period_of[row["day"]], Decimal("0.00")) + row["margin"]
    valuation = finance.stock_valuation(engine)
    by_sku: dict[str, Decimal] = {}
    for line in valuation["lines"]:
        by_sku[line["sku"]] = by_sku.get(line["sku"], Decimal("0.00")) + line["value"]
    statuses = {row["status"]: row["orders"] for row in orders_board.order_counts(engine)["by_status"]}
    open_exceptions = orders_board.open_exception_counts(engine)
    charts = {
        "sales": line_chart(labels, sales),
        "margin": bar_chart([(short(label), margin.get(label, Decimal("0.00"))) for label in labels]),
        "stock_value": bar_chart(top_bars(list(by_sku.items()), top)),
        "backlog": bar_chart([(status, statuses.get(status, 0)) for status in BACKLOG]),
        "exceptions": bar_chart([(kind, open_exceptions.get(kind, 0)) for kind in orders_board.KINDS]),
    }
    return render_template("office/dashboard.html", since=first, until=last, charts=charts, top=top,
                           monthly=len(periods) < len(period_of),
                           totals=finance.totals(engine, first, last), stock_total=valuation["total"],
                           backlog=sum(statuses.get(s, 0) for s in BACKLOG), open_exceptions=sum(open_exceptions.values()),
                           expiry_alert_days=system().settings.expiry_alert_days,
                           lots_expiring=lots.expiring_count(fresh("lots"), system().app.inventory.today(),
                                                             system().settings.expiry_alert_days),
                           shops_to_authorise=system().app.channels.shops_needing_reauthorisation(followed_shops()))


def short(period: str) -> str:
    """A chart's label for a day (11-11) or a month (2026-11)."""
    return period[5:] if len(period) == 10 else period


def top_bars(bars: list[tuple[str, Decimal | int]], top: int) -> list[tuple[str, Decimal | int]]:
    """The `top` largest bars, largest first, then one bar for all the others (labelled with how many)."""
    ranked = sorted(bars, key=lambda bar: (-bar[1], bar[0]))
    if len(ranked) <= top:
        return ranked
    rest = ranked[top:]
    label = i18n.translate(g.get("lang", i18n.DEFAULT), "chart_others", {"n": len(rest)})
    return ranked[:top] + [(label, sum((value for _, value in rest), Decimal("0.00")))]


# Shop authorisation (授权)


@bp.get("/shops")
def shops():
    """Each marketplace shop: whether the platform holds our authorisation for it, and a button to grant it."""
    rows = []
    for channel, name in followed_shops():
        followed = system().app.channels.shop(channel, name)
        tokens = followed.tokens if followed is not None else None
        rows.append({"channel": channel, "shop": name,
                     "needs_reauthorisation": bool(followed and followed.needs_reauthorisation),
                     "reason": followed.reauthorisation_reason if followed is not None else "",
                     "expires_at": tokens.expires_at if tokens is not None else None,
                     "decryption_forbidden": bool(followed and followed.decryption_forbidden)})
    return render_template("office/shops.html", shops=rows)


@bp.post("/shops/<channel>/<shop>/decryption")
def shop_decryption(channel: str, shop: str):
    """The merchant's setting: forbid (or allow) decrypting the shop's buyers through the platform."""
    if (channel, shop) not in followed_shops():
        raise InvalidInput(f"店铺 {channel}/{shop} 没有配置 / no shop {channel}/{shop} is set up")
    choice = request.form.get("forbidden", "")
    if choice not in ("0", "1"):
        raise InvalidInput("forbidden must be 1 (forbid decryption) or 0 (allow it)")
    system().app.channels.forbid_decryption(channel, shop, choice == "1", current_staff()["badge"])
    return redirect(url_for("office.shops"), 303)


@bp.post("/shops/<channel>/<shop>/authorise")
def authorise_shop(channel: str, shop: str):
    """Send the merchant to the platform's consent page; it comes back to shop_authorised with a code."""
    client = shop_client(channel, shop)
    state = secrets.token_urlsafe(24)
    session["shop_authorisation"] = {"channel": channel, "shop": shop, "state": state}
    return redirect(client.authorize_url(url_for("office.shop_authorised", _external=True), state), 303)


@bp.get("/shops/authorised")
def shop_authorised():
    """The platform's consent page sends the merchant back here with a one-time code and our state."""
    pending = session.pop("shop_authorisation", None)
    if current_staff()["role"] not in WRITERS:
        return render_template("office/message.html", title="not_permitted_screen"), 403
    if not pending or not secrets.compare_digest(str(request.args.get("state", "")), pending["state"]):
        raise InvalidInput("这次授权不是从本系统发起的, 或已过期 / this authorisation was not started here, or it expired")
    client = shop_client(pending["channel"], pending["shop"])
    authorisation = client.tokens if isinstance(client.tokens, ShopAuthorisation) else ShopAuthorisation(
        client, KeptByShop(system().app.channels, pending["channel"], pending["shop"]))
    try:
        authorisation.authorise(str(request.args.get("code", "")),
                                url_for("office.shop_authorised", _external=True))
    except MarketplaceError as refused:
        raise InvalidInput(f"平台拒绝了授权 / the platform refused the authorisation: {refused}") from None
    return redirect(url_for("office.shops"), 303)


def shop_client(channel: str, shop: str):
    jobs = system().jobs
    client = jobs.shops.get((channel, shop)) if jobs is not None else None
    if client is None:
        raise InvalidInput(f"店铺 {channel}/{shop} 没有配置 / no shop {channel}/{shop} is set up")
    return client


def followed_shops() -> list[tuple[str, str]]:
    """The marketplace shops this warehouse is set up for, and any its jobs serve."""
    built = system()
    shops = {(shop.channel, shop.shop) for shop in built.settings.shops}
    if built.jobs is not None:
        shops |= set(built.jobs.shops)
    return sorted(shops)


def calendar(first: str, last: str) -> list[tuple[str, list[str]]]:
    """The charts' periods over the range, each a label and its days: a day each up to MAX_DAILY_DAYS days, else a
    month each (a point per day would be too dense to read), for up to MAX_DAYS days."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    if (end - start).days >= MAX_DAYS:
        raise InvalidFilter(f"the charts show at most {MAX_DAYS} days (ten years, a month a point); {first} to {last} "
                            "is longer")
    days = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    if len(days) <= MAX_DAILY_DAYS:
        return [(day, [day]) for day in days]
    months: dict[str, list[str]] = {}
    for day in days:
        months.setdefault(day[:7], []).append(day)
    return list(months.items())


CHART_WIDTH, CHART_HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 240, 64, 12, 14, 40


def _axis(low: Decimal, high: Decimal) -> dict:
    """The plotting area and a y mapping from a value range that always includes zero."""
    low, high = min(Decimal(low), Decimal(0)), max(Decimal(high), Decimal(0))
    span = (high - low) or Decimal(1)
    plot = CHART_HEIGHT - TOP - BOTTOM

    def y(value) -> float:
        return round(TOP + float((high - Decimal(value)) / span) * plot, 1)

    return {"y": y, "ticks": [{"y": y(v), "value": v} for v in dict.fromkeys((high, low, Decimal(0)))]}


def _x_labels(labels: list[str], xs: list[float]) -> list[dict]:
    step = max(math.ceil(len(labels) / 12), 1)
    return [{"x": x, "text": text} for n, (x, text) in enumerate(zip(xs, labels)) if n % step == 0]


def line_chart(days: list[str], series: dict[str, dict[str, Decimal]]) -> dict:
    """A line per series over the periods (days or months; one without a value is zero)."""
    values = [v for points in series.values() for v in points.values()]
    axis = _axis(min(values, default=0), max(values, default=0))
    width = CHART_WIDTH - LEFT - RIGHT
    xs = [round(LEFT + (width * n / (len(days) - 1) if len(days) > 1 else width / 2), 1) for n in range(len(days))]
    lines = []
    for n, (name, points) in enumerate(sorted(series.items())):
        dots = [{"x": x, "y": axis["y"](points.get(day, 0)), "day": day, "value": points.get(day, Decimal("0.00"))}
                for x, day in zip(xs, days)]
        lines.append({"name": name, "colour": PALETTE[n % len(PALETTE)], "dots": dots,
                      "path": " ".join(f"{d['x']},{d['y']}" for d in dots)})
    return {"kind": "line", "width": CHART_WIDTH, "height": CHART_HEIGHT, "left": LEFT, "right": CHART_WIDTH - RIGHT,
            "ticks": axis["ticks"], "zero": axis["y"](0), "series": lines,
            "labels": _x_labels([short(d) for d in days], xs), "label_y": CHART_HEIGHT - BOTTOM + 16}


def bar_chart(bars: list[tuple[str, Decimal | int]]) -> dict:
    """A bar per label, up from zero (or down, for a negative value)."""
    values = [Decimal(v) for _, v in bars]
    axis = _axis(min(values, default=0), max(values, default=0))
    slot = (CHART_WIDTH - LEFT - RIGHT) / max(len(bars), 1)
    zero = axis["y"](0)
    shown = []
    for n, (label, value) in enumerate(bars):
        top = axis["y"](value)
        shown.append({"label": label, "value": value, "x": round(LEFT + n * slot + slot * 0.15, 1),
                      "width": round(slot * 0.7, 1), "y": min(top, zero), "height": max(abs(zero - top), 0.5),
                      "negative": value < 0})
    return {"kind": "bar", "width": CHART_WIDTH, "height": CHART_HEIGHT, "left": LEFT, "right": CHART_WIDTH - RIGHT,
            "ticks": axis["ticks"], "zero": zero, "bars": shown,
            "labels": _x_labels([b["label"] for b in shown], [b["x"] + b["width"] / 2 for b in shown]),
            "label_y": CHART_HEIGHT - BOTTOM + 16}


# Orders board


DAYS = [Filter("since", "since", "day"), Filter("until", "until", "day")]


@bp.get("/orders/board")
def orders():
    """Orders per status, per channel and per shop, by the day ordered."""
    counts = orders_board.order_counts(fresh("orders_board"), arg("channel"), arg("since"), arg("until"))
    rows = ([{"by": "status", "status": r["status"], "channel": "", "shop": "", "orders": r["orders"]}
             for r in counts["by_status"]]
            + [{"by": "channel", "status": "", "channel": r["channel"], "shop": "", "orders": r["orders"]}
               for r in counts["by_channel"]]
            + [{"by": "shop", "status": "", "channel": r["channel"], "shop": r["shop"], "orders": r["orders"]}
               for r in counts["by_shop"]])
    columns = [Col("by", "grouping", "code"), Col("status", "status", "code"), Col("channel", "channel"),
               Col("shop", "shop"), Col("orders", "orders", "number")]
    return table("orders-board", "orders_board", rows, columns, [Filter("channel", "channel"), *DAYS])


@bp.get("/exceptions")
def exceptions():
    """The exception queue, oldest first; cleared ones too when asked."""
    kind = arg("kind")
    stuck = stuck_views() if kind in (None, "", "view") else []
    if kind == "view":
        rows = stuck
    else:
        rows = orders_board.exception_listing(fresh("orders_board"), kind, arg("channel"), flag("cleared"),
                                              arg("since"), arg("until"))
        rows.leading = stuck
    columns = [Col("kind", "kind", "code"), Col("channel", "channel"), Col("shop", "shop"),
               Col("platform_order_no", "order"), Col("detail", "detail"), Col("open", "open", "flag"),
               Col("times_raised", "times_raised", "number"), Col("raised_at", "raised_at", "instant"),
               Col("cleared_at", "cleared_at", "instant")]
    filters = [Filter("kind", "kind", "choice", (*orders_board.KINDS, "view")), Filter("channel", "channel"), *DAYS,
               Filter("cleared", "include_cleared", "flag")]
    return table("exceptions", "exception_queue", rows, columns, filters)


def stuck_views() -> list[dict]:
    """Views that cannot fold an event, as rows of the exception queue: the view, the event and the error."""
    rows = []
    for runner in system().runners.values():
        status = runner.status()
        if status.stuck_at:
            rows.append({"kind": "view", "channel": "", "shop": "", "platform_order_no": status.name,
                         "detail": f"stuck at notification {status.stuck_at} ({status.stuck_topic}): {status.error}",
                         "open": True, "times_raised": 1, "raised_at": None, "cleared_at": None})
    return rows


# Finance

MONEY = [Col(name, name, "money") for name in ("revenue", "discounts", "platform_fee")]
COSTS = [Col(name, name, "money") for name in ("refunds", "cogs")] + [Col("margin", "margin", "money")]


@bp.get("/finance/orders")
def finance_orders():
    rows = finance.orders_finance_listing(fresh("finance"), arg("channel"), arg("shop"), arg("since"), arg("until"))
    columns = [Col("ordered_on", "ordered_on"), Col("channel", "channel"), Col("shop", "shop"),
               Col("platform_order_no", "order"), Col("shipped_on", "shipped_on"), Col("paid", "paid", "money"),
               *MONEY, Col("postage", "postage", "money"), Col("packaging", "packaging", "money"),
               Col("courier_fee", "pc_courier_fee", "money"), *COSTS]
    return table("finance-orders", "finance_orders", rows, columns,
                 [Filter("channel", "channel"), Filter("shop", "shop"), *DAYS])


@bp.get("/finance/skus")
def finance_skus():
    rows = finance.sku_finance_listing(fresh("finance"), arg("sku"))
    columns = [Col("sku", "item"), Col("unit_cost", "unit_cost", "money"),
               Col("units_ordered", "units_ordered", "number"), Col("units_shipped", "units_shipped", "number"),
               Col("units_refunded", "units_refunded", "number"), *MONEY, *COSTS]
    return table("finance-skus", "finance_skus", rows, columns, [Filter("sku", "item")])


@bp.get("/finance/days")
def finance_days():
    engine = fresh("finance")
    rows = finance.daily_finance(engine, arg("since"), arg("until"))
    columns = [Col("day", "day"), Col("orders", "orders", "number"), *MONEY, Col("postage", "postage", "money"),
               Col("packaging", "packaging", "money"), Col("courier_fee", "pc_courier_fee", "money"), *COSTS,
               Col("units_shipped", "units_shipped", "number")]
    return table("finance-days", "finance_days", rows, columns, DAYS,
                 summary=finance.totals(engine, arg("since"), arg("until")))


@bp.get("/finance/stock")
def stock_value():
    valuation = finance.stock_valuation(fresh("inventory"), warehouse_filter())
    columns = [Col("warehouse", "warehouse"), Col("sku", "item"), Col("on_hand", "on_hand", "number"),
               Col("unit_cost", "unit_cost", "money"), Col("value", "value_yuan", "money")]
    return table("stock-value", "stock_value", valuation["lines"], columns, [Filter("warehouse", "warehouse")],
                 summary={"value_yuan": valuation["total"]})


# Customers, replenishment, stock


@bp.get("/customers")
def customers():
    """Customers by their masked buyer reference, with RFM segment, repeat rate and flags."""
    engine = fresh("crm")
    rows = crm.customer_listing(engine, arg("channel"), arg("shop"), arg("segment"), arg("flagged"), arg("as_of"))
    rows.shape_rows = flags_as_text(rows.shape_rows)
    columns = [Col("buyer_ref", "buyer"), Col("channel", "channel"), Col("shop", "shop"),
               Col("orders", "orders", "number"), Col("spend", "spend", "money"), Col("refunds", "refunds", "money"),
               Col("net_spend", "net_spend", "money"), Col("last_order_on", "last_order_on"),
               Col("segment", "segment", "code"), Col("rfm", "rfm"), Col("flags", "flags")]
    filters = [Filter("channel", "channel"), Filter("shop", "shop"), Filter("segment", "segment", "choice",
                                                                            crm.SEGMENTS),
               Filter("flagged", "flagged", "choice", crm.FLAG_KINDS), Filter("as_of", "as_of", "day")]
    repeat = crm.repeat_rate(engine, arg("channel"), arg("shop"))
    return table("customers", "customers", rows, columns, filters,
                 summary=dict(repeat, repeat_rate=f"{repeat['repeat_rate'] * 100:.1f}%"))


def flags_as_text(shape):
    """A customer's flags in one cell: "kind: detail; kind: detail"."""
    def shown(conn, rows: list[dict]) -> list[dict]:
        return [dict(r, flags="; ".join(f"{f['kind']}: {f['detail']}" for f in r["flags"])) for r in shape(conn, rows)]

    return shown


@bp.get("/replenishment")
def replenishment_suggestions():
    rows = replenishment.replenishment(
        fresh("replenishment", "inventory", "catalogue"), arg("as_of"), days("window", 28), days("lead_time", 7),
        days("review", 7), warehouse_filter(), arg("sku"))
    columns = [Col("sku", "item"), Col("name", "name"), Col("units_sold", "units_sold", "number"),
               Col("velocity", "velocity", "number"), Col("available", "available", "number"),
               Col("owed", "owed", "number"), Col("days_of_cover", "days_of_cover", "number"),
               Col("safety_stock", "safety_stock", "number"), Col("breach", "breach", "flag"),
               Col("suggested", "suggested", "number")]
    filters = [Filter("warehouse", "warehouse"), Filter("sku", "item"), Filter("as_of", "as_of", "day"),
               Filter("window", "window_days", "number"), Filter("lead_time", "lead_time_days", "number"),
               Filter("review", "review_days", "number")]
    return table("replenishment", "replenishment", rows, columns, filters)


def days(name: str, default: int) -> int:
    """A number of days from a filter: at most ten years, so the dates it spans stay in the calendar."""
    value = positive_int(request.args.get(name, default), name)
    if value > MAX_DAYS:
        raise InvalidFilter(f"{name} is at most {MAX_DAYS} days, not {value}")
    return value


@bp.get("/stock")
def stock():
    warehouse = warehouse_filter()
    bin = bin_filter(warehouse)
    rows = inventory.stock_by_bin_listing(fresh("inventory"), warehouse, sku_filter(), bin)
    columns = [Col("warehouse", "warehouse"), Col("sku", "item"), Col("bin", "bin"),
               Col("on_hand", "on_hand", "number"), Col("reserved", "reserved", "number"),
               Col("available", "available", "number")]
    filters = [Filter("warehouse", "warehouse"), Filter("sku", "item"), Filter("bin", "bin")]
    moving = transfers.in_transit(fresh("transfers"), sku_filter(), warehouse) if not bin else []
    return table("stock", "stock_by_bin", rows, columns, filters, template="office/stock.html", in_transit=moving)


@bp.get("/movements")
def movements():
    """The movement ledger, newest first, up to the end of a day when asked."""
    until = parse_day(arg("until"), "until")
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), business_calendar.zone) if until else None
    rows = inventory.movement_listing(fresh("inventory"), sku_filter(), bin_filter(None), end, newest_first=True)
    columns = [Col("at", "at", "instant"), Col("event", "event"), Col("warehouse", "warehouse"), Col("sku", "item"),
               Col("bin", "bin"), Col("on_hand_before", "on_hand_before", "number"),
               Col("on_hand_after", "on_hand_after", "number"), Col("reserved_before", "reserved_before", "number"),
               Col("reserved_after", "reserved_after", "number"), Col("reason", "reason"), Col("by", "by")]
    filters = [Filter("sku", "item"), Filter("bin", "bin"), Filter("until", "until", "day")]
    return table("movements", "movement_ledger", rows, columns, filters)


# Settlement


@bp.get("/settlement")
def bills():
    return settlement_page()


@bp.post("/settlement")
def upload_bill():
    """Import a platform's settlement bill whole; a refused file shows each bad line and imports nothing."""
    upload = request.files.get("file")
    data = upload.read(MAX_BILL_BYTES + 1) if upload else b""
    chosen = {"channel": request.form.get("channel", ""), "shop": request.form.get("shop", "").strip()}
    try:
        if not data:
            raise InvalidFilter("choose the bill file to upload")
        if len(data) > MAX_BILL_BYTES:
            raise InvalidFilter(f"a bill file is at most {MAX_BILL_BYTES // (1024 * 1024)} MB")
        bill = settlement.import_bill(system().engine, chosen["channel"], chosen["shop"], data, upload.filename or "")
    except settlement.BillRejected as error:
        return settlement_page(chosen, rejected=errors.rows(error)), errors.status_of(error)
    except DomainError as error:
        return settlement_page(chosen, refusal=errors.detail(error)), errors.status_of(error)
    return redirect(url_for("office.reconciliation", bill_id=bill["id"]), 303)


def settlement_page(chosen: dict | None = None, rejected: dict | None = None, refusal: str = ""):
    rows = settlement.bills(system().engine, arg("channel"), arg("shop"))
    columns = [Col("id", "bill"), Col("channel", "channel"), Col("shop", "shop"), Col("format", "bill_format"),
               Col("filename", "file"), Col("period_start", "since"), Col("period_end", "until"),
               Col("lines", "lines", "number"), Col("imported_at", "imported_at", "instant")]
    return table("bills", "settlement", rows, columns, [Filter("channel", "channel"), Filter("shop", "shop")],
                 template="office/settlement.html", channels=tuple(settlement.FORMATS), chosen=chosen or {},
                 rejected=rejected or {}, refusal=refusal)


RECONCILE_STATUSES = ("matched", "missing", "short_paid", "over_paid", "unknown", "not_shipped", "fee")


@bp.get("/settlement/<int:bill_id>")
def reconciliation(bill_id: int):
    """A bill against the orders: matched, short-paid, over-paid and not-shipped orders, unknown lines, missing
    orders."""
    found = settlement.reconcile(fresh("finance"), bill_id)
    rows = ([dict(r, lines=", ".join(str(n) for n in r["lines"])) for r in found["results"]]
            + [dict(r, kind="payment", status="missing", settled=None, difference=None, lines="")
               for r in found["missing"]]
            + [{"order_no": r["order_no"], "kind": r["kind"], "status": "unknown", "expected": None,
                "settled": r["amount"], "difference": None, "lines": str(r["line_no"])} for r in found["unknown"]])
    status = choice(arg("status"), RECONCILE_STATUSES, "status")
    if status:
        rows = [r for r in rows if r["status"] == status]
    columns = [Col("status", "status", "code"), Col("order_no", "order"), Col("kind", "kind", "code"),
               Col("expected", "expected", "money"), Col("settled", "settled", "money"),
               Col("difference", "difference", "money"), Col("lines", "lines")]
    return table(f"bill-{bill_id}", "reconciliation", rows, columns,
                 [Filter("status", "status", "choice", RECONCILE_STATUSES)], template="office/reconciliation.html",
                 bill=found["bill"], summary=found["summary"], other=found["other"])


# Audit

SUBJECTS = ("order", "sku", "bin", "staff")


@bp.get("/audit")
def audit_events():
    """The events behind an order, a SKU, a bin or a person, in a window of days, with their place in the chain."""
    subject = choice(arg("subject"), SUBJECTS, "subject")
    value = arg("value")
    rows = []
    if subject and value:
        app, engine = system().app.store, fresh("inventory", "scanning", "audit")
        window = {"since": arg("since"), "until": arg("until"), "limit": EVERY_ROW}
        if subject == "order":
            found = audit.order_events(app, engine, value, **window)
        elif subject == "sku":
            found = audit.sku_events(app, engine, value, **window)
        elif subject == "bin":
            found = audit.bin_events(app, engine, arg("warehouse") or system().settings.warehouse, value, **window)
        else:
            found = audit.staff_events(app, engine, value, **window)
        rows = [dict(e, data=json.dumps(e["data"], ensure_ascii=False, sort_keys=True)) for e in found]
    elif subject or value:
        raise InvalidFilter("choose what to look at (order, SKU, bin or badge) and give its id or code")
    columns = [Col("notification_id", "notification", "number"), Col("at", "at", "instant"), Col("event", "event"),
               Col("version", "version", "number"), Col("by", "by"), Col("data", "data"), Col("hash", "hash", "hash")]
    filters = [Filter("subject", "subject", "choice", SUBJECTS), Filter("value", "id_or_code"),
               Filter("warehouse", "warehouse"), *DAYS]
    return table("events", "audit_events", rows, columns, filters, template="office/audit.html")


@bp.get("/audit/actor")
def actor_index():
    """Everything a badge (or a job, an import) did, over every kind of event, newest first; paged in SQL."""
    actor = arg("actor")
    rows = actors.actor_listing(fresh("actors", "audit"), actor, arg("since"), arg("until"),
                                system().app.store) if actor else []
    columns = [Col("notification_id", "notification", "number"), Col("at", "at", "instant"), Col("event", "event"),
               Col("acted_as", "acted_as"), Col("originator_id", "aggregate"), Col("version", "version", "number"),
               Col("data", "data"), Col("hash", "hash", "hash")]
    return table("actor", "actor_index", rows, columns, [Filter("actor", "actor"), *DAYS])


@bp.get("/audit/oversell")
def oversell():
    """Why a channel sold stock we did not have: for an order that went short (or a channel's latest ones), the
    gap that let the sale through and the timeline of reservations, releases, pushes and sales around it."""
    order, channel, sku = arg("order"), arg("channel"), arg("sku")
    found = []
    if order or channel:
        engine = fresh("inventory", "channel_stock", "orders_board", "audit")
        chosen = ([audit.order_id_of(order)] if order else
                  [r["order_id"] for r in forensics.short_orders(engine, channel, arg("shop"), sku)])
        found = [o for order_id in chosen for o in forensics.oversells(system().app.store, engine, order_id)
                 if not sku or o.sku == sku]
    columns = [Col("notification_id", "notification", "number"), Col("at", "at", "instant"), Col("kind", "kind"),
               Col("detail", "detail"), Col("free_after", "free_after", "number")]
    return render_template("office/oversell.html", title="oversell", columns=columns, found=found, asked=order or channel,
                           filters=[Filter("order", "order"), Filter("channel", "channel"), Filter("shop", "shop"),
                                    Filter("sku", "sku")])


@bp.get("/audit/what-if")
def what_if():
    """The log replayed (in memory, never written) under other channel-stock rules, courier policy, wave rule and
    review rules over a period of business days, beside the live figures: per channel, per courier, for the waves
    and for the review (holds, gifts, merges, splits). The replay
    runs in the background; the page shows its progress until the figures are ready."""
    from domain.courier_choice import rules_as_data, rules_from_data, standard_rules
    from domain.review import book_as_data, book_from_data

    from projections import whatif, whatif_review

    rules_text, couriers_text = request.args.get("rules", ""), request.args.get("couriers", "")
    review_text = request.args.get("review", "")
    report, run = None, None
    if flag("run"):
        rules = dict(whatif.parse_rule(line) for line in rules_text.splitlines() if line.strip())
        couriers = None
        if couriers_text.strip():
            try:
                couriers = rules_from_data(json.loads(couriers_text))
            except ValueError as error:
                raise InvalidInput(f"the courier policy is not JSON: {error}") from None
        book = None
        if review_text.strip():
            try:
                book = book_from_data(json.loads(review_text))
            except ValueError as error:
                raise InvalidInput(f"the review rules are not JSON: {error}") from None
        waves = whatif.parse_wave_rule(arg("waves")) if arg("waves") else None
        since, until = day_range(arg("since"), arg("until"))
        store = system().app.store
        head = store.recorder.max_notification_id() or 0

        def work(progress) -> dict:
            live = whatif.live_figures(store, since, until)
            again = whatif.replay(store, since, until, rules, progress, couriers, waves)
            return {"channels": [dict(channel=c, live=live.channels.get(c, whatif.Figures()),
                                      again=again.channels.get(c, whatif.Figures()))
                                 for c in sorted(set(live.channels) | set(again.channels))],
                    "couriers": [dict(courier=c, live=live.couriers.get(c, whatif.Parcels()),
                                      again=again.couriers.get(c, whatif.Parcels()))
                                 for c in sorted(set(live.couriers) | set(again.couriers))],
                    "waves": {"live": live.waves, "again": again.waves},
                    "review": review_rows(whatif_review.review_what_if(store, book, since, until, progress))
                    if book is not None else None}

        asked = json.dumps([id(store), head, since, until, sorted((c, str(r)) for c, r in rules.items()),
                            couriers_text.strip(), str(waves), review_text.strip()], ensure_ascii=False)
        run = REPLAYS.start(asked, head * 2 if book is not None else head, work)  # the review: a second pass
        if run.refusal:
            raise InvalidInput(run.refusal)
        report = run.report
    live_policy = json.dumps(rules_as_data(standard_rules()), ensure_ascii=False, indent=1)
    if not flag("run"):  # the live rules, read only for the empty form (never while a replay reads the store)
        review_text = json.dumps(book_as_data(system().app.review.book()), ensure_ascii=False, indent=1)
    return render_template("office/what_if.html", title="what_if", report=report, run=run, rules_text=rules_text,
                           couriers_text=couriers_text if flag("run") else live_policy, review_text=review_text)


def review_rows(report) -> dict:
    """The review what-if per channel, live and replayed, with every kind of hold either side has."""
    from projections.whatif_review import ReviewFigures

    rows = []
    for channel in sorted(set(report.live) | set(report.again)):
        live, again = report.live.get(channel, ReviewFigures()), report.again.get(channel, ReviewFigures())
        rows.append({"channel": channel, "live": live, "again": again,
                     "kinds": [(kind, live.holds.get(kind, 0), again.holds.get(kind, 0))
                               for kind in sorted(set(live.holds) | set(again.holds))]})
    return {"channels": rows, "gifts_assumed": report.gifts_assumed}


@bp.get("/audit/stock")
def stock_at():
    """Stock of a SKU (in one bin, or the warehouse) at a past instant, from the movement ledger, with a page of the
    events behind it (page 1 ends with the last event at or before the instant)."""
    warehouse = warehouse_filter() or system().settings.warehouse
    sku, at = arg("sku"), arg("at")
    figure = None
    if sku or at:
        if not (sku and at):
            raise InvalidFilter("give both the SKU and the instant")
        size = min(positive_int(request.args.get("size", PAGE_SIZE), "page size"), MAX_PAGE_SIZE)
        page = positive_int(request.args.get("page", 1), "page")
        figure = inventory.stock_at(fresh("inventory"), warehouse, sku, instant(at), bin_filter(warehouse), size,
                                    (page - 1) * size)
    return render_template("office/stock_at.html", figure=figure, warehouse=warehouse)


def instant(text: str) -> datetime:
    """An ISO 8601 instant from a form; without an offset it is business time (as `cangku stock --at` reads it)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidFilter(f"{text[:40]!r} is not a time such as 2026-11-11T20:00:03") from None
    if not 1900 <= moment.year <= 9000:  # before any conversion, which fails at the ends of the calendar
        raise InvalidFilter(f"{text[:40]!r} is out of range (years 1900-9000)")
    return business_calendar.local(moment)


@bp.get("/audit/chain")
def chain():
    """The chain's head, and (on request) the chain recomputed from the stored events."""
    engine = fresh("audit")
    verdict = audit.verify_chain(system().app.store, engine) if flag("verify") else None
    return render_template("office/chain.html", head=audit.chain_head(engine), verdict=verdict)
