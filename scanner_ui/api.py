"""The JSON API under /api/v1: bearer tokens, reads of the views, the main commands, and its OpenAPI document.

Each operation is declared once with `operation(...)`: that registers the route, checks the token and the role,
reads the query, path and body against the declared parameters, and records the same declaration in the OpenAPI
document, so the document cannot drift from the routes.
"""

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable
from uuid import UUID

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import Unauthorized

from domain.after_sales import KINDS as CASE_KINDS, UnknownCase
from domain.errors import InvalidInput, UnknownOrder, UnknownSku
from domain.limits import MAX_KIT_COMPONENTS, MAX_LENGTH_MM, MAX_NAME, MAX_SHELF_LIFE_DAYS, MAX_UNITS, MAX_WEIGHT_G
from domain.staff import READERS_OF_REPORTS, ROLES, NotAllowed, may_use
from projections import (after_sales, audit, catalogue, crm, finance, inventory, lots, order_desk, orders_board,
                         purchasing, replenishment, settlement, transfers, unmapped_skus)
from projections.backoffice import InvalidFilter, Listing, aware, as_uuid, business_calendar, parse_day, positive_int
from projections.scanning import reserved_orders

from . import orders_desk, review

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PREFIX = "/api/v1"
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_QUANTITY = 99_999


def system():
    return current_app.extensions["cangku"]


def fresh(*views: str):
    return system().fresh(*views)


# JSON schemas of the values the API speaks.

TEXT = {"type": "string"}
WHOLE = {"type": "integer"}
FLAG = {"type": "boolean"}
MONEY = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", "example": "35.50"}
INSTANT = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date", "example": "2026-11-11"}
ID = {"type": "string", "format": "uuid"}
ANY_OBJECT = {"type": "object", "additionalProperties": True}


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def listed(item: dict) -> dict:
    return {"type": "array", "items": item}


def shape(**properties: dict) -> dict:
    """An object with every one of these properties present."""
    return {"type": "object", "required": list(properties), "properties": properties}


def page_of(item: dict) -> dict:
    return shape(items=listed(item), limit=WHOLE, offset=WHOLE, next_offset=nullable(WHOLE))


def row_of(table, money: tuple[str, ...] = (), drop: tuple[str, ...] = (), **extra: dict) -> dict:
    """The shape of a view's rows, read from its table: the API stays in step with the views."""
    kinds = {"Integer": WHOLE, "BigInteger": WHOLE, "Boolean": FLAG, "DateTime": INSTANT, "Numeric": MONEY}
    properties = {}
    for column in table.columns:
        if column.name in drop:
            continue
        schema = MONEY if column.name in money else kinds.get(type(column.type).__name__, TEXT)
        properties[column.name] = nullable(schema) if column.nullable else schema
    return shape(**properties, **extra)


ERROR = shape(error=shape(code=TEXT, message=TEXT))
FIGURE = shape(on_hand=WHOLE, reserved=WHOLE)
STOCK_ROW = row_of(inventory.stock_bins, available=WHOLE)
BINS = shape(warehouse=TEXT, sku=TEXT, bins=listed(shape(bin=TEXT, on_hand=WHOLE, reserved=WHOLE, available=WHOLE)))
ORDER = shape(id=ID, channel=TEXT, shop=TEXT, platform_order_no=TEXT, status=TEXT, hold_reasons=listed(TEXT),
              warehouse=TEXT)
EVENT = shape(notification_id=nullable(WHOLE), hash=TEXT, at=INSTANT, event=TEXT, originator_id=ID, version=WHOLE,
              by=TEXT, data=ANY_OBJECT)
FINANCE_MONEY = (*finance.MONEY, "paid")
FINANCE_FIGURES = {name: MONEY for name in (*finance.MONEY, "margin")}
BILL = row_of(settlement.bills_table)
BILL_LINE = shape(line_no=WHOLE, order_no=TEXT, kind=TEXT, amount=MONEY, occurred_at=INSTANT, reference=TEXT,
                  description=TEXT)


# Parameters: declared once, read and checked by the same declaration.

@dataclass(frozen=True)
class Param:
    name: str
    schema: dict
    description: str
    read: Callable[[str], Any] = str
    required: bool = False
    default: Any = None
    where: str = "query"

    def spec(self) -> dict:
        schema = dict(self.schema)
        if self.default is not None:
            schema["default"] = self.default
        return {"name": self.name, "in": self.where, "required": self.required or self.where == "path",
                "description": self.description, "schema": schema}

    def value(self, given: str | None):
        if given is None:
            if self.required:
                raise InvalidInput(f"{self.name} is required")
            return self.default
        return self.read(printable(given, self.name))


def printable(text: str, label: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput(f"{label} contains control characters")
    return text


def within_years(moment, label: str):
    # Far-off years overflow date arithmetic in the views; no warehouse record is that old or that new.
    if not 1900 <= moment.year <= 9000:
        raise InvalidFilter(f"{label} {moment.isoformat()[:40]} is out of range (years 1900-9000)")
    return moment


def known_sku(code: str) -> str:
    if not system().app.catalogue.sku_exists(code):
        raise UnknownSku(f"unknown SKU {code[:64]!r}", key="refusal:unknown_sku", sku=code[:64])
    return code


def known_warehouse(code: str) -> str:
    return system().app.inventory.warehouse(code).code


def whole(label: str, least: int, most: int) -> Callable[[str], int]:
    def read(text: str) -> int:
        number = 0 if text.strip() == "0" else positive_int(text, label)
        if not least <= number <= most:
            raise InvalidFilter(f"{label} must be between {least} and {most}, not {number}")
        return number

    return read


def instant(label: str) -> Callable[[str], datetime]:
    """An ISO 8601 instant; without an offset it is read as business time (as the CLI reads it)."""

    def read(text: str) -> datetime:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise InvalidFilter(f"{label} {text[:40]!r} is not an ISO 8601 time such as 2026-11-11T20:00:03+08:00"
                                ) from None
        return business_calendar.local(within_years(moment, label))  # checked first: the ends cannot convert

    return read


def day(label: str) -> Callable[[str], date]:
    def read(text: str) -> date:
        if not text.strip():
            raise InvalidFilter(f"{label} is empty; give a day such as 2026-11-11 or leave it out")
        return within_years(parse_day(text, label), label)

    return read


def one_of(allowed: tuple[str, ...], label: str) -> Callable[[str], str]:
    def read(text: str) -> str:
        if text not in allowed:
            raise InvalidFilter(f"{label} {text[:40]!r} is not one of {', '.join(allowed)}")
        return text

    return read


def yes_or_no(label: str) -> Callable[[str], bool]:
    def read(text: str) -> bool:
        if text.lower() not in ("true", "false", "1", "0"):
            raise InvalidFilter(f"{label} must be true or false, not {text[:20]!r}")
        return text.lower() in ("true", "1")

    return read


def order_ref(text: str) -> UUID:
    return as_uuid(text, UnknownOrder(f"unknown order {text[:64]}"))


WAREHOUSE = Param("warehouse", TEXT, "Warehouse code (an unknown code is 404).", known_warehouse)
SKU = Param("sku", TEXT, "SKU code (an unknown code is 404).", known_sku)
CHANNEL = Param("channel", TEXT, "Marketplace, e.g. taobao, jd.")
SHOP = Param("shop", TEXT, "Shop name within the channel.")
SINCE = Param("since", DAY, "First business day (in the shop's zone, else CANGKU_BUSINESS_TIMEZONE), YYYY-MM-DD.",
              day("since"))
UNTIL = Param("until", DAY, "Last business day, YYYY-MM-DD.", day("until"))
AS_OF = Param("as_of", DAY, "The day the figures are as of (default: today in the business zone).", day("as of"))
LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "Rows per page.",
              whole("limit", 1, MAX_LIMIT), default=DEFAULT_LIMIT)
OFFSET = Param("offset", {"type": "integer", "minimum": 0, "maximum": 10**6}, "Rows to skip.",
               whole("offset", 0, 10**6), default=0)
PAGING = (LIMIT, OFFSET)
ORDER_ID = Param("order_id", ID, "The order's id.", order_ref, where="path")


# Bodies: the subset of JSON Schema the commands need, checked by the same schema the document shows.

def body_of(**properties: dict) -> dict:
    required = [name for name, schema in properties.items() if not schema.get("x-optional")]
    shown = {name: {k: v for k, v in schema.items() if k != "x-optional"} for name, schema in properties.items()}
    return {"type": "object", "required": required, "properties": shown, "additionalProperties": False}


def optional(schema: dict) -> dict:
    return {**schema, "x-optional": True}


def text(most: int, least: int = 1) -> dict:
    return {"type": "string", "minLength": least, "maxLength": most}


QUANTITY = {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY}
LOT_FIELDS = {"lot": optional(text(20, 0)), "expiry": optional(DAY), "produced": optional(DAY)}


def read_body(schema: dict) -> dict:
    """The JSON body checked against its schema; anything malformed is refused (422) before any command runs."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object (Content-Type: application/json)")
    return _fields(body, schema, "")


def _fields(body: dict, schema: dict, within: str) -> dict:
    unknown = sorted(set(body) - set(schema["properties"]))
    if unknown:
        raise InvalidInput(f"unknown field {within}{unknown[0][:40]!r}; expected {', '.join(schema['properties'])}")
    for name in schema["required"]:
        if body.get(name) is None:
            raise InvalidInput(f"{within}{name} is required")
    return {name: _checked(f"{within}{name}", value, schema["properties"][name]) for name, value in body.items()
            if value is not None}


def _checked(name: str, value, schema: dict):
    kind = schema["type"]
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be a string")
        least, most = schema.get("minLength", 0), schema.get("maxLength", 100)
        if len(value.strip()) < least or len(value) > most:
            raise InvalidInput(f"{name} must be {least}-{most} characters")
        printable(value, name)
        if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            raise InvalidInput(f"{name} {value[:40]!r} is not in the form {schema.get('example', schema['pattern'])}")
        if "enum" in schema and value not in schema["enum"]:
            raise InvalidInput(f"{name} {value[:40]!r} is not one of {', '.join(schema['enum'])}")
        if schema.get("format") == "uuid":
            return as_uuid(value, InvalidInput(f"{name} {value[:40]!r} is not an id"))
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{name} must be a whole number")
        if not schema.get("minimum", value) <= value <= schema.get("maximum", value):
            raise InvalidInput(f"{name} must be between {schema['minimum']} and {schema['maximum']}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be true or false")
        return value
    if kind == "array":
        if not isinstance(value, list) or not schema.get("minItems", 0) <= len(value) <= schema["maxItems"]:
            raise InvalidInput(f"{name} must be a list of {schema.get('minItems', 0)}-{schema['maxItems']} items")
        return [_checked(f"{name}[{n}]", item, schema["items"]) for n, item in enumerate(value)]
    if kind == "object":
        if not isinstance(value, dict):
            raise InvalidInput(f"{name} must be an object")
        return _fields(value, schema, f"{name}.")
    raise TypeError(f"no reader for {kind}")


# Values to JSON: instants and days as ISO 8601, money as exact decimal strings.

def plain(value):
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return aware(value).isoformat()
    if isinstance(value, (date, UUID)):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def page(rows: list | Listing, limit: int, offset: int) -> dict:
    """One page of rows; one row more is read, so the next page is known to exist or not. A Listing reads just
    that from its view."""
    rows = rows.page(limit + 1, offset) if isinstance(rows, Listing) else rows[offset:offset + limit + 1]
    more = len(rows) > limit
    return {"items": rows[:limit], "limit": limit, "offset": offset, "next_offset": offset + limit if more else None}


# Operations

PATHS: dict[str, dict] = {}
ANY_ROLE = ROLES
REPORT_READERS = READERS_OF_REPORTS


def roles_with(screen: str) -> tuple[str, ...]:
    """The roles whose scanner screens include this one: the API allows a command to the same people."""
    return tuple(role for role in ROLES if may_use(role, screen))


def operation(method: str, path: str, summary: str, tag: str, returns: dict, roles: tuple[str, ...],
              params: tuple[Param, ...] = (), body: dict | None = None):
    """Register a route under /api/v1 and record it in the OpenAPI document."""
    errors = {"401": "No token, or a wrong or revoked one.", "403": "The token's role may not do this.",
              "404": "Something named does not exist.", "422": "A parameter or the body is malformed."}
    if method == "POST":
        errors.update({"400": "The command was refused.", "409": "The command conflicts with the current state."})
    spec = {
        "summary": summary,
        "operationId": re.sub(r"\W+", "_", f"{method} {path}").strip("_").lower(),
        "tags": [tag],
        "description": f"Roles: {', '.join(roles)}.",
        "parameters": [p.spec() for p in params],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": returns}}},
                      **{code: {"description": why, "content": {"application/json": {
                          "schema": {"$ref": "#/components/schemas/Error"}}}} for code, why in errors.items()}},
    }
    if body is not None:
        spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}

    def register(view: Callable) -> Callable:
        @functools.wraps(view)
        def endpoint(**path_values):
            member = authenticated(roles)
            values = {p.name: p.value(path_values.get(p.name) if p.where == "path" else request.args.get(p.name))
                      for p in params}
            if body is not None:
                values.update(read_body(body))
            return jsonify(plain(view(member, **values)))

        bp.add_url_rule(re.sub(r"{(\w+)}", r"<\1>", path), view.__name__, endpoint, methods=[method])
        PATHS.setdefault(PREFIX + path, {})[method.lower()] = spec
        return view

    return register


def authenticated(roles: tuple[str, ...]) -> dict:
    """The member of staff behind the bearer token; 401 without a valid token, 403 for a role not allowed."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>' (see `cangku staff token`)")
    try:
        member = system().app.staff.authenticate(token.strip())
    except NotAllowed:
        raise Unauthorized("the token is not accepted: unknown, revoked, or its badge is deactivated") from None
    if member["role"] not in roles:
        raise NotAllowed(f"a {member['role']} may not do this; it needs one of: {', '.join(roles)}",
                         key="refusal:role_may_not", role=member["role"], needs=", ".join(roles))
    return member


@bp.before_request
def no_device_cookie():
    # API clients are not scanners: they get no device cookie.
    g.new_device = False


@bp.after_request
def challenge(response):
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="cangku"'
    return response


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.0 document of this API."""
    return jsonify(document())


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Cangku API", "version": "1",
                 "description": "Stock, orders, finance, customers, settlement and audit reads, and the main "
                                "warehouse commands. Tokens come from `cangku staff token BADGE` and act with "
                                "that person's role."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {f"{PREFIX}/openapi.json": {"get": {
            "summary": "This document", "operationId": "get_openapi", "tags": ["document"], "security": [],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ANY_OBJECT}}}},
        }}, **PATHS},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR},
        },
    }


# Stock

@operation("GET", "/stock", "Stock per bin: on hand, reserved, available", "stock", page_of(STOCK_ROW), ANY_ROLE,
           (WAREHOUSE, SKU, *PAGING))
def stock(member, warehouse, sku, limit, offset):
    return page(inventory.stock_by_bin_listing(fresh("inventory"), warehouse, sku), limit, offset)


@operation("GET", "/stock/movements", "The movement ledger, oldest first", "stock",
           page_of(row_of(inventory.movements)), ANY_ROLE,
           (SKU, Param("bin", TEXT, "One bin only."),
            Param("until", INSTANT, "Movements up to this instant (ISO 8601).", instant("until")), *PAGING))
def movements(member, sku, bin, until, limit, offset):
    found = page(inventory.movement_listing(fresh("inventory"), sku, bin, until), limit, offset)
    return dict(found, items=[dict(r, at=aware(r["at"])) for r in found["items"]])


@operation("GET", "/stock/at", "A SKU's stock at an instant, from the movement ledger, with a page of the events "
           "behind it (the newest page first)", "stock",
           shape(warehouse=TEXT, sku=TEXT, bin=nullable(TEXT), at=INSTANT, on_hand=WHOLE, reserved=WHOLE,
                 available=WHOLE, events=listed(shape(notification_id=WHOLE, version=WHOLE, at=INSTANT, event=TEXT,
                                                      by=TEXT, before=FIGURE, after=FIGURE)),
                 events_total=WHOLE, limit=WHOLE, offset=WHOLE, next_offset=nullable(WHOLE)),
           ANY_ROLE,
           (Param("sku", TEXT, "SKU code.", known_sku, required=True),
            Param("at", INSTANT, "The instant, ISO 8601 (business time without an offset).", instant("at"),
                  required=True),
            Param("warehouse", TEXT, "Warehouse code (default: the configured one).", known_warehouse),
            Param("bin", TEXT, "One bin only."),
            LIMIT,
            Param("offset", OFFSET.schema, "Events to skip, counting back from the last one at or before the instant "
                  "(a page lists its events in the order they happened).", OFFSET.read, default=0)))
def stock_at(member, sku, at, warehouse, bin, limit, offset):
    warehouse = warehouse or known_warehouse(system().settings.warehouse)
    if bin is not None:
        system().app.inventory.warehouse(warehouse).location(bin)
    figure = inventory.stock_at(fresh("inventory"), warehouse, sku, at, bin, limit, offset)
    return {**figure, "available": figure["on_hand"] - figure["reserved"]}


def levels(warehouse: str, sku: str) -> dict:
    bins = system().app.inventory.stock_levels(warehouse, sku)
    return {"warehouse": warehouse, "sku": sku, "bins": [
        {"bin": b, **n, "available": n["on_hand"] - n["reserved"]} for b, n in bins.items()]}


def warehouse_or_default(code: str | None) -> str:
    return code or system().settings.warehouse


@operation("POST", "/stock/receive", "Receive units into a receiving bin", "stock commands", BINS,
           roles_with("receive"),
           body=body_of(sku=text(64), quantity=QUANTITY, warehouse=optional(text(32)), bin=optional(text(32)),
                        reference=optional(text(64, 0)), **LOT_FIELDS))
def receive(member, sku, quantity, warehouse=None, bin="", reference="", lot="", expiry="", produced=""):
    """A lot-tracked SKU needs its lot and its expiry date (or production date, with the SKU's shelf life)."""
    warehouse = warehouse_or_default(warehouse)
    system().app.inventory.receive(warehouse, sku, quantity, member["actor"], bin=bin, reference=reference, lot=lot,
                                   expiry=expiry, produced=produced)
    return levels(warehouse, sku)


@operation("POST", "/stock/put-away", "Put units away from a receiving bin into a storage bin", "stock commands",
           BINS, roles_with("putaway"),
           body=body_of(sku=text(64), to_bin=text(32), quantity=QUANTITY, warehouse=optional(text(32)),
                        from_bin=optional(text(32)), lot=LOT_FIELDS["lot"]))
def put_away(member, sku, to_bin, quantity, warehouse=None, from_bin="", lot=""):
    warehouse = warehouse_or_default(warehouse)
    system().app.inventory.put_away(warehouse, sku, to_bin, quantity, member["actor"], from_bin=from_bin, lot=lot)
    return levels(warehouse, sku)


@operation("POST", "/stock/move", "Move units between two bins", "stock commands", BINS, roles_with("putaway"),
           body=body_of(sku=text(64), from_bin=text(32), to_bin=text(32), quantity=QUANTITY,
                        warehouse=optional(text(32)), lot=LOT_FIELDS["lot"]))
def move(member, sku, from_bin, to_bin, quantity, warehouse=None, lot=""):
    warehouse = warehouse_or_default(warehouse)
    system().app.inventory.move(warehouse, sku, from_bin, to_bin, quantity, member["actor"], lot=lot)
    return levels(warehouse, sku)


# Large counted differences wait for a supervisor on the scanner; over the API only those who approve them count.
@operation("POST", "/stock/count", "Book a counted quantity in a bin; the difference is adjusted with the reason",
           "stock commands", {**BINS, "required": [*BINS["required"], "difference"],
                              "properties": {**BINS["properties"], "difference": WHOLE}},
           roles_with("supervisor"),
           body=body_of(sku=text(64), bin=text(32), counted={"type": "integer", "minimum": 0,
                                                            "maximum": MAX_QUANTITY},
                        reason=text(200), warehouse=optional(text(32))))
def count(member, sku, bin, counted, reason, warehouse=None):
    warehouse = warehouse_or_default(warehouse)
    difference = system().app.counts.count(warehouse, sku, bin, counted, reason, member["actor"])
    return {**levels(warehouse, sku), "difference": difference}


# Orders

def order_summary(order_id: UUID) -> dict:
    order = system().app.orders.get_order(order_id)
    return {name: order[name] for name in ORDER["properties"]}


@operation("GET", "/orders/counts", "Orders per status, channel and shop, by the day ordered", "orders",
           shape(by_status=listed(shape(status=TEXT, orders=WHOLE)), by_channel=listed(shape(channel=TEXT,
                                                                                            orders=WHOLE)),
                 by_shop=listed(shape(channel=TEXT, shop=TEXT, orders=WHOLE))),
           ANY_ROLE, (CHANNEL, SINCE, UNTIL))
def order_counts(member, channel, since, until):
    return orders_board.order_counts(fresh("orders_board"), channel, since, until)


@operation("GET", "/orders/exceptions", "The exception queue, oldest first", "orders",
           page_of(row_of(orders_board.board_exceptions)), ANY_ROLE,
           (Param("kind", {"type": "string", "enum": list(orders_board.KINDS)}, "Exception kind.",
                  one_of(orders_board.KINDS, "exception kind")),
            CHANNEL, Param("include_cleared", FLAG, "Cleared exceptions too.", yes_or_no("include_cleared"),
                           default=False),
            SINCE, UNTIL, *PAGING))
def exceptions(member, kind, channel, include_cleared, since, until, limit, offset):
    return page(orders_board.exception_listing(fresh("orders_board"), kind, channel, include_cleared, since, until),
                limit, offset)


@operation("POST", "/orders/{order_id}/hold", "Hold an order for review", "order commands", ORDER,
           roles_with("supervisor"), (ORDER_ID,), body_of(reason=text(200)))
def hold(member, order_id, reason):
    system().app.orders.hold_order(order_id, reason, member["actor"])
    return order_summary(order_id)


@operation("POST", "/orders/{order_id}/release", "Release a held order", "order commands", ORDER,
           roles_with("supervisor"), (ORDER_ID,), body_of())
def release(member, order_id):
    system().app.orders.release_order(order_id, member["actor"])
    return order_summary(order_id)


@operation("POST", "/orders/{order_id}/reserve", "Reserve a released order's stock in a warehouse",
           "order commands", ORDER, roles_with("supervisor"), (ORDER_ID,), body_of(warehouse=optional(text(32))))
def reserve(member, order_id, warehouse=None):
    system().app.orders.reserve_order(order_id, warehouse_or_default(warehouse), member["actor"])
    return order_summary(order_id)


@operation("POST", "/orders/{order_id}/cancel", "Cancel an order that has not shipped; its stock is released",
           "order commands", ORDER, roles_with("supervisor"), (ORDER_ID,), body_of(reason=text(200)))
def cancel(member, order_id, reason):
    system().app.orders.cancel_order(order_id, reason, member["actor"])
    return order_summary(order_id)


@operation("POST", "/orders/{order_id}/merge", "Merge other open orders of the same shop, buyer and address into this "
           "order's parcel (合单)", "order commands", ORDER, roles_with("supervisor"), (ORDER_ID,),
           body_of(order_ids={"type": "array", "items": ID, "minItems": 1, "maxItems": 50}))
def merge(member, order_id, order_ids):
    system().app.orders.merge_orders(order_id, [order_ref(str(other)) for other in order_ids], member["badge"])
    return order_summary(order_id)


@operation("POST", "/orders/{order_id}/unmerge", "Undo a merge: the merged orders leave the parcel and are reserved "
           "on their own", "order commands", ORDER, roles_with("supervisor"), (ORDER_ID,), body_of())
def unmerge(member, order_id):
    system().app.orders.unmerge_order(order_id, member["badge"])
    return order_summary(order_id)


@operation("POST", "/orders/{order_id}/split", "Split an order waiting for stock: what is here goes ahead, the rest "
           "waits as a part of its own (reserved in `warehouse` when given: split by warehouse)", "order commands",
           ORDER, roles_with("supervisor"), (ORDER_ID,), body_of(warehouse=optional(text(32))))
def split(member, order_id, warehouse=""):
    system().app.orders.split_order(order_id, member["badge"], warehouse or "")
    return order_summary(order_id)


# Review rules (审单): the rules in force with their versions, and their edits

RULE = shape(id=TEXT, kind=TEXT, params=ANY_OBJECT, enabled=FLAG, version=WHOLE)
RULES = shape(version=WHOLE, rules=listed(RULE))
RULE_ID = Param("rule_id", TEXT, "The rule's id, such as R2.", where="path")
RULE_PARAMS = body_of(
    above=optional(text(20)), buyers=optional({"type": "array", "items": text(200), "maxItems": 200}),
    note=optional(text(MAX_NAME, 0)), sku=optional(text(64)),
    units=optional({"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY}), when_sku=optional(text(64, 0)),
    min_amount=optional(text(20, 0)), starts=optional(text(40, 0)), ends=optional(text(40, 0)),
    shop=optional(text(64, 0)), skus=optional({"type": "array", "items": text(64), "maxItems": 200}),
    ship_from=optional(text(40)))


def rules_in_force() -> dict:
    return system().app.review.listed()


@operation("GET", "/review-rules", "The review rules in force and the version they make", "review", RULES,
           REPORT_READERS)
def review_rules(member):
    return rules_in_force()


@operation("POST", "/review-rules", "Add a review rule (the rules' next version); instants without a zone are in the "
           "business zone", "review commands", RULES, roles_with("supervisor"),
           body=body_of(kind={"type": "string", "enum": list(review.KINDS)}, params=optional(RULE_PARAMS)))
def add_review_rule(member, kind, params=None):
    system().app.review.add(kind, review.params_of(kind, params or {}), member["badge"])
    return rules_in_force()


@operation("POST", "/review-rules/{rule_id}", "Change a review rule's settings or switch it on or off",
           "review commands", RULES, roles_with("supervisor"), (RULE_ID,),
           body_of(enabled=FLAG, params=optional(RULE_PARAMS)))
def change_review_rule(member, rule_id, enabled, params=None):
    rule = next((r for r in rules_in_force()["rules"] if r["id"] == rule_id), None)
    kind = rule["kind"] if rule else ""
    system().app.review.change(rule_id[:20], review.params_of(kind, params or {}), enabled, member["badge"])
    return rules_in_force()


@operation("POST", "/review-rules/{rule_id}/remove", "Remove a review rule", "review commands", RULES,
           roles_with("supervisor"), (RULE_ID,), body_of())
def remove_review_rule(member, rule_id):
    system().app.review.remove(rule_id[:20], member["badge"])
    return rules_in_force()


# The order desk: the list, one order's whole record, and the actions on it

DESK_ROW = shape(order_id=ID, channel=TEXT, shop=TEXT, platform_order_no=TEXT, status=TEXT, hold_reasons=TEXT,
                 warehouse=TEXT, ordered_at=INSTANT, paid=MONEY, platform_fee=MONEY, postage=MONEY, lines=WHOLE,
                 units=WHOLE, skus=TEXT, courier=TEXT, tracking_no=TEXT, notes=WHOLE, updated_at=INSTANT)
BUYER = shape(nickname=TEXT, name=TEXT, phone=TEXT, address=TEXT, masked=FLAG)
ORDER_LINK = shape(order_id=ID, platform_order_no=TEXT)
ORDER_DETAIL = shape(
    order=shape(**ORDER["properties"], lines=listed(shape(
        line_no=WHOLE, platform_sku=TEXT, sku=TEXT, title=TEXT, quantity=WHOLE, unit_price=MONEY, discount=MONEY,
        refunded=WHOLE)), picked={"type": "object", "additionalProperties": WHOLE}, courier=TEXT, tracking_no=TEXT,
        paid_amount=MONEY, discount=MONEY, platform_fee=MONEY, postage=MONEY, ordered_at=INSTANT,
        region=shape(province=TEXT, city=TEXT, district=TEXT), has_remark=FLAG, buyer_ref=TEXT, buyer=BUYER,
        parcel=shape(merged_into=nullable(ORDER_LINK), merged_orders=listed(ORDER_LINK),
                     split_from=nullable(ORDER_LINK), parts=listed(ORDER_LINK))),
    timeline=listed(shape(notification_id=WHOLE, at=INSTANT, source=TEXT, event=TEXT, by=TEXT, detail=TEXT)),
    routes=listed(ANY_OBJECT), prints=listed(ANY_OBJECT), jobs=listed(ANY_OBJECT))
ORDER_SORTS = Param("sort", {"type": "string", "enum": list(order_desk.SORT_CHOICES), "default": "-ordered_at"},
                    "Sort by a column; a leading - sorts descending.", one_of(order_desk.SORT_CHOICES, "sort"))


@operation("GET", "/orders", "Orders filtered, searched and sorted, a page at a time, with how many match", "orders",
           {**page_of(DESK_ROW), "required": [*page_of(DESK_ROW)["required"], "total"],
            "properties": {**page_of(DESK_ROW)["properties"], "total": WHOLE}},
           REPORT_READERS,
           (Param("status", {"type": "string", "enum": [*orders_board.STATUSES, order_desk.HISTORY]},
                  "Order status; history: the past orders imported from a file (listed as history:<status>).",
                  one_of((*orders_board.STATUSES, order_desk.HISTORY), "status")),
            CHANNEL, SHOP, Param("warehouse", TEXT, "Warehouse code."), SINCE, UNTIL,
            Param("exception", {"type": "string", "enum": list(orders_board.KINDS)},
                  "Only orders with an open exception of this kind.", one_of(orders_board.KINDS, "exception kind")),
            Param("sku", TEXT, "Only orders with a line of this SKU."), Param("courier", TEXT, "Courier code."),
            Param("q", TEXT, "Platform order number, tracking number, buyer nickname or phone (exact)."),
            ORDER_SORTS, *PAGING))
def order_list(member, status, channel, shop, warehouse, since, until, exception, sku, courier, q, sort, limit,
               offset):
    given = order_desk.OrderFilter(status, channel, shop, warehouse, since, until, exception, sku, courier, q)
    return order_desk.order_list(fresh("order_desk", "orders_board"), given, desk_keys(), sort, limit, offset)


def desk_keys() -> order_desk.BuyerKeys:
    return system().runners["order_desk"].projection.keys


@operation("GET", "/orders/{order_id}", "One order: lines, amounts, fees, the buyer masked, parcel routes, label "
           "prints, jobs and the timeline of every event and scan", "orders", ORDER_DETAIL, REPORT_READERS,
           (ORDER_ID,))
def order_detail(member, order_id):
    details = system().app.orders.order_details(order_id)
    entries = order_desk.timeline(fresh("order_desk"), order_id)
    return {"order": details, "timeline": entries, **order_desk.parcel_story(entries)}


@operation("POST", "/orders/{order_id}/buyer", "The buyer's full details (masked when the shop forbids decryption); "
           "the look is recorded with who and why",
           "order commands", shape(nickname=TEXT, name=TEXT, phone=TEXT, address=TEXT,
                                   region=shape(province=TEXT, city=TEXT, district=TEXT), remark=TEXT, masked=FLAG,
                                   decryption_forbidden=FLAG),
           roles_with("supervisor"), (ORDER_ID,), body_of(purpose=text(200)))
def reveal_buyer(member, order_id, purpose):
    return system().app.channels.reveal_buyer(order_id, member["actor"], purpose)


@operation("POST", "/orders/{order_id}/address", "Correct the delivery address (before the parcel is packed)",
           "order commands", ORDER, roles_with("supervisor"), (ORDER_ID,),
           body_of(name=text(200), phone=text(200), address=text(200), province=text(64),
                   city=optional(text(64, 0)), district=optional(text(64, 0))))
def change_address(member, order_id, name, phone, address, province, city="", district=""):
    system().app.orders.correct_address(order_id, name, phone, address,
                                        {"province": province, "city": city, "district": district}, member["actor"])
    return order_summary(order_id)


@operation("POST", "/orders/{order_id}/notes", "Add a note to the order's timeline", "order commands", ORDER,
           roles_with("supervisor"), (ORDER_ID,), body_of(text=text(200)))
def add_note(member, order_id, text):
    system().app.orders.add_note(order_id, text, member["actor"])
    return order_summary(order_id)


@operation("POST", "/orders/{order_id}/reprint", "Ask for the parcel's label to be printed again", "order commands",
           ORDER, roles_with("supervisor"), (ORDER_ID,), body_of(reason=text(200)))
def reprint(member, order_id, reason):
    system().app.fulfilment.request_reprint(order_id, reason, member["actor"])
    return order_summary(order_id)


@operation("POST", "/orders/{order_id}/label-came-out", "Someone checked the printer: the parcel's labels whose "
           "outcome was unknown (the printer's answer was lost) did come out", "order commands", ORDER,
           roles_with("supervisor"), (ORDER_ID,), body_of())
def label_came_out(member, order_id):
    system().app.fulfilment.confirm_labels_printed(order_id, member["actor"])
    return order_summary(order_id)


@operation("POST", "/orders/bulk", "One action on each of several orders; each is done or refused on its own",
           "order commands",
           shape(results=listed(shape(order_id=TEXT, order=TEXT, done=FLAG, reason=TEXT, code=TEXT))),
           roles_with("supervisor"),
           body=body_of(action={"type": "string", "enum": list(orders_desk.ACTIONS)},
                        order_ids={"type": "array", "items": ID, "minItems": 1, "maxItems": orders_desk.MAX_BULK},
                        reason=optional(text(200, 0)), text=optional(text(200, 0))))
def bulk_action(member, action, order_ids, reason="", text=""):
    values = {"reason": reason, "text": text}
    return {"results": orders_desk.act_on_each(order_ids, action, values, member["actor"])}


@operation("POST", "/waves", "Create a wave from reserved orders (all of the warehouse's when none are named)",
           "order commands", shape(wave_id=ID, number=TEXT, warehouse=TEXT, orders=listed(ID)),
           roles_with("supervisor"),
           body=body_of(number=text(32), warehouse=optional(text(32)),
                        order_ids=optional({"type": "array", "items": ID, "minItems": 1, "maxItems": 500})))
def create_wave(member, number, warehouse=None, order_ids=None):
    warehouse = warehouse_or_default(warehouse)
    if order_ids is None:
        order_ids = reserved_orders(fresh("scanning"), known_warehouse(warehouse))
    wave_id = system().app.fulfilment.create_wave(warehouse, number, order_ids, member["actor"])
    return {"wave_id": wave_id, "number": number, "warehouse": warehouse, "orders": order_ids}


# Finance

@operation("GET", "/finance/orders", "Figures per order, by the day ordered", "finance",
           page_of(row_of(finance.finance_orders, money=FINANCE_MONEY, margin=MONEY, courier_fee=MONEY)),
           REPORT_READERS,
           (CHANNEL, SHOP, SINCE, UNTIL, *PAGING))
def finance_orders(member, channel, shop, since, until, limit, offset):
    return page(finance.orders_finance_listing(fresh("finance"), channel, shop, since, until), limit, offset)


@operation("GET", "/finance/skus", "Figures per SKU", "finance",
           page_of(row_of(finance.finance_skus, money=("unit_cost", *finance.MONEY), margin=MONEY)),
           REPORT_READERS, (SKU, *PAGING))
def finance_skus(member, sku, limit, offset):
    return page(finance.sku_finance_listing(fresh("finance"), sku), limit, offset)


@operation("GET", "/finance/days", "Figures per business day, oldest first", "finance",
           page_of(row_of(finance.finance_days, money=finance.MONEY, margin=MONEY, courier_fee=MONEY)), REPORT_READERS,
           (SINCE, UNTIL, *PAGING))
def finance_days(member, since, until, limit, offset):
    return page(finance.daily_finance(fresh("finance"), since, until), limit, offset)


@operation("GET", "/finance/totals", "All days of a range added up", "finance",
           shape(**FINANCE_FIGURES, courier_fee=MONEY, orders=WHOLE, units_shipped=WHOLE), REPORT_READERS,
           (SINCE, UNTIL))
def finance_totals(member, since, until):
    return finance.totals(fresh("finance"), since, until)


@operation("GET", "/finance/stock-valuation", "On hand × unit cost per SKU and warehouse, with the total",
           "finance", shape(lines=listed(shape(warehouse=TEXT, sku=TEXT, on_hand=WHOLE, unit_cost=MONEY,
                                                value=MONEY)), total=MONEY),
           REPORT_READERS, (WAREHOUSE,))
def stock_valuation(member, warehouse):
    return finance.stock_valuation(fresh("inventory"), warehouse)


# Customers

@operation("GET", "/crm/customers", "Customers with their RFM segment and flags, most spend first", "customers",
           page_of(row_of(crm.customers_table, money=("spend", "refunds"), drop=("busiest_day", "orders_that_day"),
                          net_spend=MONEY, days_since_last_order=WHOLE, rfm=TEXT, segment=TEXT,
                          flags=listed(shape(rule=TEXT, kind=TEXT, detail=TEXT, raised_at=INSTANT)))),
           REPORT_READERS,
           (CHANNEL, SHOP, Param("segment", {"type": "string", "enum": list(crm.SEGMENTS)}, "RFM segment.",
                                 one_of(crm.SEGMENTS, "segment")),
            Param("flagged", {"type": "string", "enum": list(crm.FLAG_KINDS)}, "Only customers with this flag.",
                  one_of(crm.FLAG_KINDS, "flag kind")),
            AS_OF, *PAGING))
def customers(member, channel, shop, segment, flagged, as_of, limit, offset):
    rows = crm.customer_listing(fresh("crm"), channel, shop, segment, flagged, as_of)
    return page(rows, limit, offset)


@operation("GET", "/crm/repeat-rate", "Customers, those with two orders or more, and their share", "customers",
           shape(customers=WHOLE, repeat_customers=WHOLE, repeat_rate=MONEY), REPORT_READERS, (CHANNEL, SHOP))
def repeat_rate(member, channel, shop):
    return crm.repeat_rate(fresh("crm"), channel, shop)


# Replenishment

@operation("GET", "/replenishment", "Per SKU: velocity, cover, breach of safety stock and suggested purchase",
           "replenishment",
           page_of(shape(sku=TEXT, name=TEXT, units_sold=WHOLE, velocity=MONEY, available=WHOLE, owed=WHOLE,
                         days_of_cover=nullable(MONEY), safety_stock=WHOLE, breach=FLAG, suggested=WHOLE)),
           REPORT_READERS,
           (AS_OF, Param("window_days", WHOLE, "Days of sales the velocity is taken over.",
                         whole("window_days", 1, 3650), default=28),
            Param("lead_time_days", WHOLE, "Days a purchase takes to arrive.", whole("lead_time_days", 1, 3650),
                  default=7),
            Param("review_days", WHOLE, "Days between purchases.", whole("review_days", 1, 3650), default=7),
            WAREHOUSE, SKU, *PAGING))
def replenishment_list(member, as_of, window_days, lead_time_days, review_days, warehouse, sku, limit, offset):
    rows = replenishment.replenishment(fresh("inventory", "replenishment", "catalogue"), as_of, window_days,
                                       lead_time_days, review_days, warehouse, sku)
    return page(rows, limit, offset)


# Platform SKU mapping

UNMAPPED = shape(channel=TEXT, shop=TEXT, platform_sku=TEXT, item_id=TEXT, outer_id=TEXT, title=TEXT, orders=WHOLE,
                 first_seen=INSTANT, last_seen=INSTANT)
MAPPED = shape(listing_id=ID, changed=FLAG, released=WHOLE, reserved=WHOLE,
               orders=listed(shape(order_id=ID, platform_order_no=TEXT, mapped=FLAG, status=TEXT)))
KIT_PART = body_of(sku=text(64), quantity=QUANTITY)


@operation("GET", "/unmapped-skus", "Platform SKUs that orders wait for, the most waiting orders first", "mapping",
           page_of(UNMAPPED), REPORT_READERS, (CHANNEL, SHOP, *PAGING))
def unmapped(member, channel, shop, limit, offset):
    return page(unmapped_skus.unmapped_skus(fresh("unmapped_skus"), channel, shop), limit, offset)


@operation("POST", "/mappings", "Map a platform SKU to a SKU or a kit (组合装); the orders waiting for it are released "
           "and reserved", "mapping commands", MAPPED, roles_with("supervisor"),
           body=body_of(channel=text(16), shop=text(64), platform_sku=text(64), item_id=optional(text(64, 0)),
                        components={"type": "array", "minItems": 1, "maxItems": MAX_KIT_COMPONENTS,
                                    "items": KIT_PART}))
def map_platform_sku(member, channel, shop, platform_sku, components, item_id=""):
    kit: dict[str, int] = {}
    for part in components:
        if part["sku"] in kit:
            raise InvalidInput(f"SKU {part['sku'][:64]!r} appears twice in the kit")
        kit[part["sku"]] = part["quantity"]
    return system().map_platform_sku(channel, shop, platform_sku, kit, member["actor"], item_id)


# Settlement

@operation("GET", "/settlement/bills", "Imported platform bills", "settlement", page_of(BILL), REPORT_READERS,
           (CHANNEL, SHOP, *PAGING))
def bills(member, channel, shop, limit, offset):
    return page(settlement.bills(system().engine, channel, shop), limit, offset)


@operation("GET", "/settlement/bills/{bill_id}/reconciliation",
           "A bill matched to the orders: matched, short-paid, over-paid, unknown lines, missing orders",
           "settlement",
           shape(bill=BILL,
                 results=listed(shape(order_no=TEXT, order_id=TEXT, kind=TEXT, status=TEXT, expected=MONEY,
                                      settled=MONEY, difference=MONEY, lines=listed(WHOLE))),
                 unknown=listed(BILL_LINE), other=listed(BILL_LINE),
                 missing=listed(shape(order_no=TEXT, order_id=TEXT, shipped_on=DAY, expected=MONEY)),
                 summary=shape(**{name: WHOLE for name in ("matched", "short_paid", "over_paid", "not_shipped",
                                                           "unknown_lines", "missing_orders")})),
           REPORT_READERS,
           (Param("bill_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "The bill's number.",
                  whole("bill id", 1, 2**31 - 1), where="path"),
            Param("shipped_since", DAY, "Orders shipped from this day (default: the bill's period).",
                  day("shipped since")),
            Param("shipped_until", DAY, "Orders shipped until this day (default: the bill's period).",
                  day("shipped until"))))
def reconciliation(member, bill_id, shipped_since, shipped_until):
    return settlement.reconcile(fresh("finance"), bill_id, shipped_since and shipped_since.isoformat(),
                                shipped_until and shipped_until.isoformat())


# Audit

AUDIT_RANGE = (SINCE, UNTIL, *PAGING)


@operation("GET", "/audit/orders/{order_id}/events", "Events of an order, its parcel and its stock, chained",
           "audit", page_of(EVENT), REPORT_READERS, (ORDER_ID, *AUDIT_RANGE))
def order_events(member, order_id, since, until, limit, offset):
    rows = audit.order_events(system().app.store, fresh("audit"), order_id, since, until, limit=offset + limit + 1)
    return page(rows, limit, offset)


@operation("GET", "/audit/skus/{sku}/events", "Events of a SKU and its stock in every warehouse", "audit",
           page_of(EVENT), REPORT_READERS,
           (Param("sku", TEXT, "SKU code.", known_sku, where="path"), *AUDIT_RANGE))
def sku_events(member, sku, since, until, limit, offset):
    rows = audit.sku_events(system().app.store, fresh("inventory", "audit"), sku, since, until, limit=offset + limit + 1)
    return page(rows, limit, offset)


@operation("GET", "/audit/bins/{bin}/events", "Stock events that moved units in or out of a bin", "audit",
           page_of(EVENT), REPORT_READERS,
           (Param("bin", TEXT, "Bin code.", where="path"),
            Param("warehouse", TEXT, "Warehouse code (default: the configured one).", known_warehouse),
            *AUDIT_RANGE))
def bin_events(member, bin, warehouse, since, until, limit, offset):
    warehouse = warehouse or known_warehouse(system().settings.warehouse)
    rows = audit.bin_events(system().app.store, fresh("inventory", "audit"), warehouse, bin, since, until,
                            limit=offset + limit + 1)
    return page(rows, limit, offset)


@operation("GET", "/audit/chain-head", "The audit chain's latest link", "audit",
           shape(notification_id=WHOLE, hash=TEXT, at=INSTANT), REPORT_READERS)
def chain_head(member):
    return audit.chain_head(fresh("audit"))


# Product master

SKU_RECORD = row_of(catalogue.catalogue_skus, money=("unit_cost",), drop=("sku_id", "barcodes"),
                    barcodes=listed(TEXT))
SKU_STATUSES = ("current", "retired", "all")
SKU_CODE = Param("code", TEXT, "SKU code.", where="path")
CATALOGUE_WRITERS = roles_with("supervisor")


def amount(most: int) -> dict:
    return optional({"type": "integer", "minimum": 0, "maximum": most})


SKU_DETAILS = {
    "barcodes": optional({"type": "array", "items": text(64), "maxItems": 20}),
    "unit_weight_g": amount(MAX_WEIGHT_G), "length_mm": amount(MAX_LENGTH_MM), "width_mm": amount(MAX_LENGTH_MM),
    "height_mm": amount(MAX_LENGTH_MM), "unit_cost": optional({**MONEY, "maxLength": 24}),
    "safety_stock": amount(MAX_UNITS), "lot_tracked": optional(FLAG), "shelf_life_days": amount(MAX_SHELF_LIFE_DAYS),
}


def sku_record(code: str) -> dict:
    return catalogue.sku_record(fresh("catalogue"), code)


@operation("GET", "/skus", "The product master: SKUs with their details and barcodes, by code", "product master",
           page_of(SKU_RECORD), ANY_ROLE,
           (Param("q", TEXT, "Only SKUs whose code, name or a barcode holds this text."),
            Param("status", {"type": "string", "enum": list(SKU_STATUSES)}, "Current SKUs, retired ones, or all.",
                  one_of(SKU_STATUSES, "status"), default="current"),
            *PAGING))
def skus(member, q, status, limit, offset):
    retired = {"current": False, "retired": True, "all": None}[status]
    return page(catalogue.sku_listing(fresh("catalogue"), q, retired), limit, offset)


@operation("GET", "/skus/{code}", "One SKU of the product master", "product master", SKU_RECORD, ANY_ROLE,
           (SKU_CODE,))
def sku(member, code):
    return sku_record(code)


@operation("POST", "/skus", "Register a SKU", "product master commands", SKU_RECORD, CATALOGUE_WRITERS,
           body=body_of(code=text(64), name=text(MAX_NAME), **SKU_DETAILS))
def register_sku(member, code, name, **details):
    system().app.catalogue.register_sku(code, name, **details)
    system().release_orders_for_new_skus(member["badge"])
    return sku_record(code)


@operation("POST", "/skus/{code}", "Change a SKU's details (those given; a barcodes list replaces its barcodes)",
           "product master commands", SKU_RECORD, CATALOGUE_WRITERS, (SKU_CODE,),
           body_of(name=optional(text(MAX_NAME)), **SKU_DETAILS))
def edit_sku(member, code, **changes):
    system().app.catalogue.edit_sku(code, member["actor"], **changes)
    return sku_record(code)


@operation("POST", "/skus/{code}/retire", "Retire a SKU: its history stays, it is no longer ordered or received",
           "product master commands", SKU_RECORD, CATALOGUE_WRITERS, (SKU_CODE,),
           body_of(reason=optional(text(MAX_NAME, 0))))
def retire_sku(member, code, reason=""):
    system().app.catalogue.retire_sku(code, reason, member["actor"])
    return sku_record(code)


@operation("POST", "/skus/{code}/reinstate", "Bring a retired SKU back", "product master commands", SKU_RECORD,
           CATALOGUE_WRITERS, (SKU_CODE,), body_of())
def reinstate_sku(member, code):
    system().app.catalogue.reinstate_sku(code, member["actor"])
    return sku_record(code)


# Purchasing

SUPPLIER = row_of(purchasing.suppliers_table)
PURCHASE_ORDER = row_of(purchasing.orders_table, drop=("order_id",), items=listed(shape(
    sku=TEXT, quantity=WHOLE, unit_cost=MONEY, received=WHOLE, outstanding=WHOLE, over=WHOLE)))
PURCHASE_ORDER_ROW = row_of(purchasing.orders_table, drop=("order_id",))
PO_NUMBER = Param("number", TEXT, "The purchase order's number.", where="path")


def purchase_order_record(number: str) -> dict:
    return purchasing.purchase_order(fresh("purchasing"), number)


@operation("GET", "/suppliers", "Suppliers with their lead times", "purchasing", page_of(SUPPLIER), REPORT_READERS,
           PAGING)
def supplier_list(member, limit, offset):
    return page(purchasing.suppliers(fresh("purchasing")), limit, offset)


@operation("POST", "/suppliers", "Register a supplier with its lead time", "purchasing commands", SUPPLIER,
           CATALOGUE_WRITERS, body=body_of(code=text(64), name=text(MAX_NAME),
                                           lead_time_days={"type": "integer", "minimum": 0, "maximum": 3650}))
def register_supplier(member, code, name, lead_time_days):
    system().app.purchasing.register_supplier(code, name, lead_time_days, member["actor"])
    return system().app.purchasing.supplier(code)


@operation("GET", "/purchase-orders", "Purchase orders, the newest first", "purchasing", page_of(PURCHASE_ORDER_ROW),
           REPORT_READERS,
           (Param("status", {"type": "string", "enum": list(purchasing.STATUSES)}, "Only orders in this status.",
                  one_of(purchasing.STATUSES, "status")),
            Param("supplier", TEXT, "Only this supplier's orders."), *PAGING))
def purchase_order_list(member, status, supplier, limit, offset):
    return page(purchasing.purchase_orders(fresh("purchasing"), status, supplier), limit, offset)


@operation("GET", "/purchase-orders/{number}", "A purchase order with its lines", "purchasing", PURCHASE_ORDER,
           REPORT_READERS, (PO_NUMBER,))
def purchase_order(member, number):
    return purchase_order_record(number)


@operation("POST", "/purchase-orders/from-replenishment",
           "Draft a purchase order of the replenishment suggestions, over the supplier's lead time",
           "purchasing commands", PURCHASE_ORDER, CATALOGUE_WRITERS,
           body=body_of(number=text(64), supplier=text(64), warehouse=optional(text(32)),
                        window_days=optional({"type": "integer", "minimum": 1, "maximum": 3650})))
def draft_purchase_order(member, number, supplier, warehouse=None, window_days=28):
    warehouse = known_warehouse(warehouse_or_default(warehouse))
    lead_time = system().app.purchasing.supplier(supplier)["lead_time_days"]
    suggested = replenishment.replenishment(fresh("inventory", "replenishment", "catalogue"), None, window_days,
                                            max(lead_time, 1), 7, warehouse)
    system().app.purchasing.draft_from_suggestions(number, supplier, warehouse, suggested, member["actor"])
    return purchase_order_record(number)


@operation("POST", "/purchase-orders/{number}/approve", "Approve a drafted purchase order", "purchasing commands",
           PURCHASE_ORDER, CATALOGUE_WRITERS, (PO_NUMBER,), body_of())
def approve_purchase_order(member, number):
    system().app.purchasing.approve(number, member["actor"])
    return purchase_order_record(number)


@operation("POST", "/purchase-orders/{number}/receive",
           "Receive scanned units against an approved purchase order (over-receipt is recorded as such)",
           "purchasing commands", PURCHASE_ORDER, roles_with("receive"), (PO_NUMBER,),
           body_of(item=text(100), quantity=QUANTITY, bin=optional(text(32)), **LOT_FIELDS))
def receive_purchase_order(member, number, item, quantity, bin="", lot="", expiry="", produced=""):
    """The item may be a GS1 code carrying its lot and dates; a lot-tracked SKU needs them."""
    system().app.purchasing.receive(number, item, quantity, member["actor"], bin=bin, lot=lot, expiry=expiry,
                                    produced=produced)
    return purchase_order_record(number)


@operation("POST", "/purchase-orders/{number}/close", "Close a purchase order; what was not received stays short",
           "purchasing commands", PURCHASE_ORDER, CATALOGUE_WRITERS, (PO_NUMBER,), body_of())
def close_purchase_order(member, number):
    system().app.purchasing.close(number, member["actor"])
    return purchase_order_record(number)


@operation("POST", "/suppliers/{code}", "Change a supplier's name, contact and lead time", "purchasing commands",
           SUPPLIER, CATALOGUE_WRITERS, (Param("code", TEXT, "The supplier's code.", where="path"),),
           body_of(name=text(MAX_NAME), contact=optional(text(MAX_NAME, 0)),
                   lead_time_days={"type": "integer", "minimum": 0, "maximum": 3650}))
def revise_supplier(member, code, name, lead_time_days, contact=""):
    return system().app.purchasing.revise_supplier(code, name, contact, lead_time_days, member["actor"])


@operation("POST", "/purchase-orders/{number}/send", "Record an approved purchase order sent to its supplier, with "
           "what it sends: the order, its supplier and its lines", "purchasing commands",
           shape(number=TEXT, warehouse=TEXT, supplier=SUPPLIER, lines=listed(shape(
               sku=TEXT, name=TEXT, barcode=TEXT, quantity=WHOLE, unit_cost=MONEY, amount=MONEY))),
           CATALOGUE_WRITERS, (PO_NUMBER,),
           body_of(channel={"type": "string", "enum": ["csv", "xlsx", "print", "api"]}))
def send_purchase_order(member, number, channel):
    return system().app.purchasing.send(number, channel, member["actor"])


# Lots

LOT_ROW = row_of(lots.lot_stock, available=WHOLE)
EXPIRING_LOT = shape(warehouse=TEXT, sku=TEXT, lot=TEXT, expiry=TEXT, on_hand=WHOLE, reserved=WHOLE, bins=WHOLE,
                     days_left=WHOLE, expired=FLAG)
LOT = Param("lot", TEXT, "Lot (批次号).")


@operation("GET", "/lots", "Stock per bin per lot, first expiring first", "lots", page_of(LOT_ROW), REPORT_READERS,
           (Param("warehouse", TEXT, "One warehouse only.", known_warehouse),
            Param("sku", TEXT, "One SKU only.", known_sku), LOT, *PAGING))
def lot_list(member, warehouse, sku, lot, limit, offset):
    return page(lots.lot_stock_listing(fresh("lots"), warehouse, sku, lot), limit, offset)


@operation("GET", "/lots/expiring", "Lots on hand expiring within the days (expired ones first)", "lots",
           page_of(EXPIRING_LOT), REPORT_READERS,
           (Param("days", WHOLE, "Within this many days (default: CANGKU_EXPIRY_ALERT_DAYS).", whole("days", 0, 3650)),
            Param("warehouse", TEXT, "One warehouse only.", known_warehouse), *PAGING))
def expiring_lots(member, days, warehouse, limit, offset):
    days = system().settings.expiry_alert_days if days is None else days
    return page(lots.expiring(fresh("lots"), system().app.inventory.today(), days, warehouse), limit, offset)


@operation("GET", "/lots/recall", "The orders that shipped a lot (buyers masked) and the units of it still in stock",
           "lots", shape(sku=TEXT, lot=TEXT, expiry=TEXT, shipped=WHOLE, on_hand=WHOLE, stock=listed(LOT_ROW),
                         orders=listed(shape(order_id=TEXT, channel=TEXT, shop=TEXT, platform_order_no=TEXT,
                                             status=TEXT, tracking_no=TEXT, shipped=WHOLE, returned=WHOLE,
                                             shipped_at=INSTANT, buyer=shape(name=TEXT, phone=TEXT, address=TEXT)))),
           REPORT_READERS,
           (Param("sku", TEXT, "SKU code.", known_sku, required=True), Param("lot", TEXT, "Lot.", required=True)))
def lot_recall(member, sku, lot):
    report = lots.recall(fresh("lots", "order_desk"), sku, lot)
    orders = []
    for row in report["orders"]:
        buyer = system().app.orders.order_details(UUID(row["order_id"]))["buyer"]
        orders.append({**{k: row[k] for k in ("order_id", "platform_order_no", "status", "shipped", "returned",
                                              "shipped_at")},
                       **{k: row[k] or "" for k in ("channel", "shop", "tracking_no")},
                       "buyer": {k: buyer[k] for k in ("name", "phone", "address")}})
    return {**report, "orders": orders}


# Warehouses: routing rules (分仓) and transfers (调拨)

ROUTING_RULE = shape(warehouse=TEXT, priority=WHOLE, provinces=listed(TEXT))
ROUTING_RULES = shape(version=WHOLE, split_allowed=FLAG, rules=listed(ROUTING_RULE))
TRANSFER_ROW = row_of(transfers.transfers_table, drop=("transfer_id",))
TRANSFER = row_of(transfers.transfers_table, drop=("transfer_id",), items=listed(shape(
    sku=TEXT, quantity=WHOLE, shipped=WHOLE, received=WHOLE, in_transit=WHOLE, over=WHOLE, under=WHOLE)))
IN_TRANSIT = shape(number=TEXT, sku=TEXT, from_warehouse=TEXT, to_warehouse=TEXT, in_transit=WHOLE)
TRANSFER_NUMBER = Param("number", TEXT, "The transfer's number.", where="path")
WAREHOUSE_WRITERS = roles_with("supervisor")


def transfer_record(number: str) -> dict:
    return transfers.transfer(fresh("transfers"), number)


@operation("GET", "/routing-rules", "The routing rules choosing each order's shipping warehouse, with their version",
           "warehouses", ROUTING_RULES, REPORT_READERS)
def routing_rules(member):
    return system().app.routing.describe()


@operation("PUT", "/routing-rules", "Replace the routing rules (a new version); orders imported from now on follow them",
           "warehouse commands", ROUTING_RULES, WAREHOUSE_WRITERS,
           body=body_of(split_allowed=FLAG, rules={"type": "array", "maxItems": 20, "items": body_of(
               warehouse=text(32), priority={"type": "integer", "minimum": 0, "maximum": 9999},
               provinces=optional({"type": "array", "maxItems": 40, "items": text(32)}))}))
def revise_routing_rules(member, split_allowed, rules):
    system().app.routing.revise_rules(rules, split_allowed, member["badge"])
    return system().app.routing.describe()


@operation("POST", "/orders/{order_id}/route", "Choose a released or waiting order's warehouse by the routing rules "
           "again, and reserve its stock there when it is all free", "order commands",
           shape(order_id=ID, warehouse=TEXT, status=TEXT, missing=ANY_OBJECT), roles_with("supervisor"), (ORDER_ID,),
           body_of())
def route_order(member, order_id):
    return system().app.orders.route_order(order_id, member["badge"])


@operation("GET", "/transfers", "Transfers between warehouses, the newest first", "warehouses", page_of(TRANSFER_ROW),
           REPORT_READERS,
           (Param("status", {"type": "string", "enum": list(transfers.STATUSES)}, "Only transfers in this status.",
                  one_of(transfers.STATUSES, "status")),
            Param("warehouse", TEXT, "Only transfers from or to this warehouse."), *PAGING))
def transfer_list(member, status, warehouse, limit, offset):
    return page(transfers.transfers(fresh("transfers"), status, warehouse), limit, offset)


@operation("GET", "/transfers/in-transit", "Units in transit per transfer and SKU, now or at an instant", "warehouses",
           listed(IN_TRANSIT), REPORT_READERS,
           (Param("sku", TEXT, "Only this SKU."), Param("warehouse", TEXT, "Only to or from this warehouse."),
            Param("at", INSTANT, "An instant with its offset (default: now).", instant("at"))))
def units_in_transit(member, sku, warehouse, at):
    return transfers.in_transit(fresh("transfers"), sku, warehouse, at)


@operation("GET", "/transfers/{number}", "A transfer with its lines", "warehouses", TRANSFER, REPORT_READERS,
           (TRANSFER_NUMBER,))
def transfer_detail(member, number):
    return transfer_record(number)


@operation("POST", "/transfers", "Draft a transfer of units from one warehouse to another", "warehouse commands",
           TRANSFER, WAREHOUSE_WRITERS,
           body=body_of(number=text(64), from_warehouse=text(32), to_warehouse=text(32),
                        lines={"type": "array", "minItems": 1, "maxItems": 500, "items": KIT_PART}))
def draft_transfer(member, number, from_warehouse, to_warehouse, lines):
    wanted: dict[str, int] = {}
    for line in lines:
        if line["sku"] in wanted:
            raise InvalidInput(f"SKU {line['sku'][:64]!r} appears twice in the transfer")
        wanted[line["sku"]] = line["quantity"]
    system().app.transfers.draft(number, from_warehouse, to_warehouse, wanted, member["badge"])
    return transfer_record(number)


@operation("POST", "/transfers/{number}/ship", "Ship a drafted transfer: its units leave the source's storage bins "
           "and are in transit", "warehouse commands", TRANSFER, WAREHOUSE_WRITERS, (TRANSFER_NUMBER,), body_of())
def ship_transfer(member, number):
    system().app.transfers.ship(number, member["badge"])
    return transfer_record(number)


@operation("POST", "/transfers/{number}/receive", "Receive units of a SKU at the destination (over-receipt recorded)",
           "warehouse commands", TRANSFER, roles_with("receive"), (TRANSFER_NUMBER,),
           body_of(sku=text(64), quantity=QUANTITY, bin=optional(text(32))))
def receive_transfer(member, number, sku, quantity, bin=""):
    system().app.transfers.receive(number, sku, quantity, member["badge"], bin=bin)
    return transfer_record(number)


@operation("POST", "/transfers/{number}/close", "Close receiving: units never received are recorded as under-received",
           "warehouse commands", TRANSFER, WAREHOUSE_WRITERS, (TRANSFER_NUMBER,), body_of())
def close_transfer(member, number):
    system().app.transfers.close(number, member["badge"])
    return transfer_record(number)


# After-sales (售后): cases pulled from the platforms, and the warehouse's reshipments

CASE_ROW = row_of(after_sales.cases_table, money=("amount", "refunded"), abusive_threshold=WHOLE)
CASE = shape(id=ID, channel=TEXT, shop=TEXT, refund_id=TEXT, order_id=ID, order_no=TEXT, kind=TEXT, status=TEXT,
             platform_status=TEXT, amount=MONEY, reason=TEXT, refunded_amount=MONEY, refunded_at=nullable(INSTANT),
             requested_at=INSTANT, lines=listed(shape(line_no=WHOLE, sku=TEXT, quantity=WHOLE, amount=MONEY)),
             received={"type": "object", "additionalProperties": WHOLE}, replacement=TEXT,
             return_tracking_no=TEXT, closed=FLAG)


def case_ref(text: str) -> UUID:
    return as_uuid(text, UnknownCase(f"unknown after-sales case {text[:64]}"))


@operation("GET", "/after-sales", "After-sales cases, the newest request first", "after-sales", page_of(CASE_ROW),
           REPORT_READERS,
           (Param("status", {"type": "string", "enum": list(after_sales.STATUSES)}, "The case's state.",
                  one_of(after_sales.STATUSES, "status")),
            Param("kind", {"type": "string", "enum": list(CASE_KINDS)}, "refund_only 仅退款, return_refund 退货退款, "
                  "exchange 换货, reship 补发.", one_of(CASE_KINDS, "kind")),
            CHANNEL, Param("order_no", TEXT, "Platform order number."),
            Param("buyer_ref", TEXT, "The buyer's reference (as on the customer list)."), *PAGING))
def list_cases(member, status=None, kind=None, channel=None, order_no=None, buyer_ref=None, limit=DEFAULT_LIMIT,
               offset=0):
    return page(after_sales.cases(fresh("after_sales"), status, kind, channel, order_no, buyer_ref), limit, offset)


@operation("GET", "/after-sales/{case_id}", "One after-sales case: its lines, refund, returned units and new parcel",
           "after-sales", CASE, REPORT_READERS, (Param("case_id", ID, "The case's id.", case_ref, where="path"),))
def get_case(member, case_id):
    return system().app.after_sales.case_details(case_id)


@operation("POST", "/after-sales/{case_id}/replacement", "Send the new parcel of an exchange or a reshipment: a new "
           "outbound order at no charge, through review and reservation", "after-sales commands",
           shape(order_id=ID, platform_order_no=TEXT, status=TEXT), roles_with("supervisor"),
           (Param("case_id", ID, "The case's id.", case_ref, where="path"),), body_of())
def send_replacement(member, case_id):
    return system().app.after_sales.send_replacement(case_id, member["badge"], system().settings.warehouse)


@operation("POST", "/orders/{order_id}/reship", "Reship (补发) a shipped or delivered order: an after-sales case of "
           "the warehouse's own and its new outbound order at no charge", "order commands",
           shape(case_id=ID, order_id=ID, platform_order_no=TEXT, status=TEXT), roles_with("supervisor"),
           (ORDER_ID,), body_of(reason=text(200), lines=optional({"type": "array", "items": WHOLE, "minItems": 1,
                                                                   "maxItems": 500})))
def reship(member, order_id, reason, lines=None):
    return system().app.after_sales.reship(order_id, lines, reason, member["badge"], system().settings.warehouse)
