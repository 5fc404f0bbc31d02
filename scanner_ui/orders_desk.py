"""The order desk in the back office: find any order, see its whole story, act on it (alone or in bulk).

Readers of reports see every page; supervisors and admins act; auditors read only; floor roles are refused. Each
action is one call to the orders or fulfilment service; a refusal says why and changes nothing.
"""

from uuid import UUID

from babel.numbers import format_currency, format_decimal
from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from domain import ids
from domain.errors import DomainError, InvalidInput, UnknownOrder
from projections import after_sales, lots, order_desk
from projections.backoffice import InvalidFilter, as_uuid, positive_int, today
from projections.orders_board import KINDS, STATUSES
from projections.reports import MEDIA_TYPES, export

from . import backoffice, errors
from .auth import current_staff, system

bp = Blueprint("desk", __name__, url_prefix="/office/orders")
bp.before_request(backoffice.back_office_staff_only)
bp.context_processor(backoffice.page_links)
bp.errorhandler(DomainError)(backoffice.refused)

VIEWS = ("order_desk", "orders_board")
ACTIONS = ("hold", "release", "cancel", "note", "reprint")
PARCEL_ACTIONS = ("merge", "unmerge", "split")  # one order's parcel: merge others in, undo that, split by stock
MAX_BULK = 500
MAX_PAGE = 1_000_000
EXPORT_COLUMNS = [name for name in order_desk.LIST_COLUMNS if name != "order_id"]
FILTERS = [backoffice.Filter("q", "order_search"),
           backoffice.Filter("status", "status", "choice", (*STATUSES, order_desk.HISTORY)),
           backoffice.Filter("channel", "channel"), backoffice.Filter("shop", "shop"),
           backoffice.Filter("warehouse", "warehouse"), backoffice.Filter("since", "since", "day"),
           backoffice.Filter("until", "until", "day"), backoffice.Filter("exception", "kind", "choice", KINDS),
           backoffice.Filter("sku", "item"), backoffice.Filter("courier", "courier"),
           backoffice.Filter("sort", "sort", "choice", order_desk.SORT_CHOICES)]


LOCALES = {"zh": "zh_CN", "en": "en"}


@bp.app_template_filter("money")
def money(amount) -> str:
    """Yuan for the reader's language: ¥1,551,197.88."""
    if amount is None or amount == "":
        return ""
    return format_currency(amount, "CNY", locale=LOCALES.get(g.get("lang"), "zh_CN"))


@bp.app_template_filter("number")
def number(value) -> str:
    if value is None or value == "":
        return ""
    return format_decimal(value, locale=LOCALES.get(g.get("lang"), "zh_CN"))


def keys() -> order_desk.BuyerKeys:
    return system().runners["order_desk"].projection.keys


def order_filter(values) -> order_desk.OrderFilter:
    """The list's filter from query or form values (the search box is `q`)."""
    def value(name: str) -> str | None:
        found = (values.get(name) or "").strip()
        return found or None

    return order_desk.OrderFilter(**{name: value("q" if name == "search" else name)
                                     for name in order_desk.OrderFilter.names()})


@bp.get("")
def order_list():
    """Every order, filtered, searched, sorted and paged in SQL; `?format=csv|xlsx` exports the whole filtered set."""
    engine = system().fresh(*VIEWS)
    given, sort = order_filter(request.args), backoffice.arg("sort")
    kind = request.args.get("format")
    if kind:
        body = export(order_desk.every_order(engine, given, keys(), sort), kind, EXPORT_COLUMNS)
        return Response(body, content_type=MEDIA_TYPES[kind], headers={
            "Content-Disposition": f'attachment; filename="orders-{today().isoformat()}.{kind}"'})
    size = min(positive_int(request.args.get("size", backoffice.PAGE_SIZE), "page size"), backoffice.MAX_PAGE_SIZE)
    page = positive_int(request.args.get("page", 1), "page")
    if page > MAX_PAGE:
        raise InvalidFilter(f"page {page} is past the last page a list can have ({MAX_PAGE:,})")
    found = order_desk.order_list(engine, given, keys(), sort, size, (page - 1) * size)
    pages = max(-(-found["total"] // size), 1)
    if page > pages:
        raise InvalidFilter(f"page {page} is past the last page ({pages})")
    return render_template("office/orders.html", title="orders", filters=FILTERS, rows=found["items"],
                           total=found["total"], page=page, pages=pages, size=size, actions=ACTIONS)


def order_id_of(text: str) -> UUID:
    return as_uuid(text, UnknownOrder(f"unknown order {text[:64]}"))


def order_page(order_id: UUID, status: int = 200, refusal: str = "", done: str = "", buyer: dict | None = None):
    app = system().app
    engine = system().fresh(*VIEWS)
    past = app.history.past_order(order_id)
    if past is not None:
        return render_template("office/past_order.html", title="past_order", order=past,
                               timeline=order_desk.timeline(engine, order_id)), status
    details = app.orders.order_details(order_id)
    row = order_desk.order_row(engine, order_id)
    entries = order_desk.timeline(engine, order_id)
    cases = after_sales.cases_of_order(system().fresh("after_sales"), order_id)
    return render_template("office/order.html", title="order", order=details, row=row, timeline=entries,
                           lots=lots.lots_of_order(system().fresh("lots"), order_id),
                           story=order_desk.parcel_story(entries), refusal=refusal, done=done, cases=cases,
                           buyer=buyer or details["buyer"], statuses=STATUSES,
                           unknown_labels=app.fulfilment.labels_outcome_unknown(order_id)), status


@bp.get("/<order_ref>")
def order(order_ref: str):
    """Lines, amounts, fees, the buyer (masked), parcels and routes, label prints, jobs, and the timeline."""
    return order_page(order_id_of(order_ref), done=request.args.get("done", "")[:20])


def act(order_id: UUID, action: str, form, by: str) -> None:
    """One action on one order: one command on a service."""
    app = system().app
    reason = (form.get("reason") or "").strip()
    if action == "hold":
        app.orders.hold_order(order_id, reason, by)
    elif action == "release":
        app.orders.release_order(order_id, by)
    elif action == "cancel":
        if not reason:
            raise InvalidInput("a cancellation needs a reason")
        app.orders.cancel_order(order_id, reason, by)
    elif action == "note":
        app.orders.add_note(order_id, form.get("text") or reason, by)
    elif action == "reprint":
        app.fulfilment.request_reprint(order_id, reason, by)
    elif action == "label_came_out":
        app.fulfilment.confirm_labels_printed(order_id, by)
    elif action == "merge":
        app.orders.merge_orders(order_id, others_named(order_id, form.get("orders", "")), by)
    elif action == "unmerge":
        app.orders.unmerge_order(order_id, by)
    elif action == "split":
        app.orders.split_order(order_id, by, (form.get("warehouse") or "").strip()[:32])
    elif action == "reship":
        app.after_sales.reship(order_id, None, reason, by, system().settings.warehouse)
    elif action == "address":
        app.orders.correct_address(order_id, form.get("name", ""), form.get("phone", ""), form.get("address", ""),
                                   {k: form.get(k, "") for k in ("province", "city", "district")}, by)
    else:
        raise InvalidInput(f"no order action {action[:20]!r}; the actions are "
                           f"{', '.join((*ACTIONS, *PARCEL_ACTIONS, 'address', 'label_came_out', 'reship'))}")


def others_named(order_id: UUID, text: str) -> list[UUID]:
    """The orders typed to merge into this one's parcel: their platform numbers in the same shop."""
    order = system().app.orders.order(order_id)
    numbers = [n for n in dict.fromkeys(text.replace(",", " ").split()) if n]
    if not numbers or len(numbers) > MAX_BULK or any(len(n) > 64 for n in numbers):
        raise InvalidInput(f"name 1 to {MAX_BULK} order numbers of the same shop to merge")
    found = [ids.order_id(order.channel, order.shop, number) for number in numbers]
    for number, other in zip(numbers, found):
        if other not in system().app.store.repository:
            raise UnknownOrder(f"no order {number} in {order.channel}/{order.shop}")
    return found


@bp.post("/<order_ref>/<action>")
def order_action(order_ref: str, action: str):
    """Hold, release, cancel, correct the address, add a note or ask for a label reprint; refused with the reason."""
    order_id = order_id_of(order_ref)
    if action == "buyer":
        purpose = request.form.get("purpose", "")
        try:
            buyer = system().app.channels.reveal_buyer(order_id, current_staff()["badge"], purpose)
        except InvalidInput as error:
            return order_page(order_id, errors.status_of(error), refusal=errors.detail(error))
        return order_page(order_id, buyer={"masked": False, **buyer})
    system().app.orders.order(order_id)  # an unknown order is 404 whichever the action
    try:
        act(order_id, action, request.form, current_staff()["badge"])
    except DomainError as error:
        return order_page(order_id, errors.status_of(error), refusal=errors.detail(error))
    return redirect(url_for("desk.order", order_ref=str(order_id), done=action), 303)


@bp.post("/bulk")
def bulk():
    """One action on each chosen order; each is done or refused on its own, and the page lists which and why."""
    action = request.form.get("action", "")
    chosen = request.form.getlist("order_id")
    results = act_on_each(chosen, action, request.form, current_staff()["badge"])
    status = 200 if any(r["done"] for r in results) else 409
    return render_template("office/order_bulk.html", title="bulk_result", action=action, results=results), status


def act_on_each(chosen: list, action: str, values, by: str) -> list[dict]:
    """The action on each order on its own: which were done, and why each other one was refused."""
    if action not in ACTIONS:
        raise InvalidInput(f"choose one of the actions: {', '.join(ACTIONS)}")
    if not chosen:
        raise InvalidInput("choose at least one order")
    if len(chosen) > MAX_BULK:
        raise InvalidInput(f"at most {MAX_BULK} orders at once")
    results = []
    for text in dict.fromkeys(str(c) for c in chosen):
        number = text[:64]
        try:
            order_id = order_id_of(text)
            number = system().app.orders.order(order_id).platform_order_no
            act(order_id, action, values, by)
        except DomainError as error:
            results.append({"order_id": text[:64], "order": number, "done": False, "reason": errors.detail(error),
                            "code": error.code})
            continue
        results.append({"order_id": str(order_id), "order": number, "done": True, "reason": "", "code": ""})
    return results
