"""Back office: the review rules (审单) in force, with their versions, and the forms that edit them."""

from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for

from domain.errors import DomainError, InvalidInput
from domain.review import ALWAYS_ON, KINDS
from projections.backoffice import business_calendar

from . import backoffice, errors
from .auth import current_staff, system

bp = Blueprint("office_review", __name__, url_prefix="/office/review-rules")
bp.before_request(backoffice.back_office_staff_only)
bp.errorhandler(DomainError)(backoffice.refused)
bp.context_processor(backoffice.page_links)

# The form fields each kind of rule takes (the rest take none).
FIELDS = {"amount": ("above",), "buyer": ("buyers", "note"),
          "gift": ("sku", "units", "when_sku", "min_amount", "starts", "ends", "shop"),
          "presale": ("skus", "ship_from")}
INSTANTS = ("starts", "ends", "ship_from")


def params_of(kind: str, form) -> dict:
    """A rule's parameters as typed (a form, or an API body's `params`); a date and time without a zone is in the
    business zone."""
    params = {}
    for name in FIELDS.get(kind, ()):
        value = form.get(name)
        value = "\n".join(str(v) for v in value) if isinstance(value, list) else str(value or "").strip()
        if name in INSTANTS and value:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise InvalidInput(f"{name}: a date and time such as 2026-12-12 00:00") from None
            value = moment if moment.tzinfo else moment.replace(tzinfo=business_calendar.zone_of())
        params[name] = value
    return params


def in_form(rule: dict) -> dict:
    """A rule's parameters as its form shows them."""
    shown = {}
    for name, value in rule["params"].items():
        if isinstance(value, datetime):
            value = business_calendar.local(value).strftime("%Y-%m-%dT%H:%M")
        elif isinstance(value, list):
            value = "\n".join(value)
        shown[name] = "" if value is None else str(value)
    return shown


@bp.get("")
def rules():
    """The rules in force, the set's version and every earlier version."""
    return page()


def page(refusal: str = "", status: int = 200, chosen: dict | None = None):
    review = system().app.review
    listed = review.listed()
    for rule in listed["rules"]:
        rule["form"] = in_form(rule)
        rule["fixed"] = rule["kind"] in ALWAYS_ON
    return render_template("office/review_rules.html", title="review_rules", rules=listed["rules"],
                           version=listed["version"], history=review.history(), kinds=KINDS, fields=FIELDS,
                           refusal=refusal, chosen=chosen or {}, done=request.args.get("done", "")[:20],
                           released=request.args.get("released", "")[:10]), status


def edited(command):
    """Run one edit; a refusal shows the page with the reason and changes nothing."""
    try:
        command(current_staff()["badge"])
    except DomainError as error:
        return page(errors.detail(error), errors.status_of(error), dict(request.form))
    return redirect(url_for("office_review.rules", done="saved"), 303)


@bp.post("")
def add_rule():
    kind = request.form.get("kind", "")
    return edited(lambda by: system().app.review.add(kind, params_of(kind, request.form), by))


@bp.post("/<rule_id>")
def change_rule(rule_id: str):
    rule = next((r for r in system().app.review.listed()["rules"] if r["id"] == rule_id), None)
    kind = rule["kind"] if rule else ""
    enabled = request.form.get("enabled") in ("1", "on", "yes")
    return edited(lambda by: system().app.review.change(rule_id[:20], params_of(kind, request.form), enabled, by))


@bp.post("/<rule_id>/remove")
def remove_rule(rule_id: str):
    return edited(lambda by: system().app.review.remove(rule_id[:20], by))


@bp.post("/presales")
def release_presales():
    """Release now the presale orders whose ship-from date has come (the scheduler also does each interval)."""
    done = system().release_due_presales(current_staff()["badge"])
    return redirect(url_for("office_review.rules", done="presales", released=done["released"]), 303)
