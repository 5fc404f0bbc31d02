"""Review rules (审单), kept as data: each edit of the rule set is an event that makes its next version, and each
order's review records the version and the rules that decided it, with what they looked at."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInput
from .order import buyer_ref
from .limits import MAX_MONEY, MAX_NAME, MAX_ORDER_AMOUNT, MAX_ORDER_LINES, MAX_UNITS

RULE_SET_ID = uuid5(NAMESPACE_URL, "cangku:review-rules")
MAX_RULES = 100
MAX_LISTED = 200  # SKUs of a presale, buyers flagged

# What each kind of rule does, and the parameters it takes.
HOLDS = ("remark", "amount", "address", "unknown_sku", "retired_sku", "buyer")
KINDS = HOLDS + ("gift", "presale", "merge", "split_stock")
# An order line that stands for no SKU cannot be reserved or picked: these holds are never switched off.
ALWAYS_ON = ("unknown_sku", "retired_sku")
PRESALE = "presale until"


class ReviewRuleRefused(InvalidInput):
    code = "review_rule_refused"


def _text(params: dict, name: str, most: int = 64, required: bool = True) -> str:
    value = params.get(name, "")
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise ReviewRuleRefused(f"{name}: required")
    if len(value) > most:
        raise ReviewRuleRefused(f"{name}: at most {most} characters")
    return value


def _money(params: dict, name: str, most: Decimal, required: bool = True) -> Decimal | None:
    value = params.get(name)
    if value in (None, "") and not required:
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ReviewRuleRefused(f"{name}: a number of yuan, not {str(value)[:20]!r}") from None
    if not amount.is_finite() or not 0 <= amount <= most:
        raise ReviewRuleRefused(f"{name}: from 0 to {most:,} yuan, got {amount}")
    return amount.quantize(Decimal("0.01"))


def _instant(params: dict, name: str, required: bool = True) -> datetime | None:
    value = params.get(name)
    if value in (None, "") and not required:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ReviewRuleRefused(f"{name}: a date and time such as 2026-12-12T00:00+08:00") from None
    if not isinstance(value, datetime):
        raise ReviewRuleRefused(f"{name}: required")
    if value.tzinfo is None:
        raise ReviewRuleRefused(f"{name}: say its time zone (such as +08:00)")
    return value


def _codes(params: dict, name: str) -> list[str]:
    value = params.get(name) or []
    if isinstance(value, str):
        value = value.replace(",", "\n").split() if name != "buyers" else value.splitlines()
    codes = sorted({str(code).strip() for code in value if str(code).strip()})
    if not codes:
        raise ReviewRuleRefused(f"{name}: list at least one")
    if len(codes) > MAX_LISTED or any(len(code) > 64 for code in codes):
        raise ReviewRuleRefused(f"{name}: at most {MAX_LISTED}, each at most 64 characters")
    return codes


def checked_params(kind: str, params: dict) -> dict:
    """A rule's parameters as stored, or ReviewRuleRefused naming the one that is wrong."""
    params = dict(params or {})
    if kind not in KINDS:
        raise ReviewRuleRefused(f"unknown kind of rule {str(kind)[:40]!r} (one of {', '.join(KINDS)})")
    if kind == "amount":
        return {"above": _money(params, "above", MAX_ORDER_AMOUNT)}
    if kind == "buyer":
        # A buyer is named channel/shop/nickname and kept only as the shop's digest of the nickname (`buyer_ref`).
        refs = [buyer_ref(*entry.split("/", 2)) if entry.count("/") >= 2 else entry
                for entry in _codes(params, "buyers")]
        if any(len(ref) != 16 for ref in refs):
            raise ReviewRuleRefused("buyers: one a line, as channel/shop/nickname")
        return {"buyers": sorted(set(refs)), "note": _text(params, "note", MAX_NAME, required=False)}
    if kind == "gift":
        units = params.get("units", 1)
        try:
            units = int(str(units).strip())
        except ValueError:
            raise ReviewRuleRefused("units: a whole number") from None
        if not 1 <= units <= MAX_UNITS:
            raise ReviewRuleRefused(f"units: from 1 to {MAX_UNITS:,}")
        chosen = {"sku": _text(params, "sku"), "units": units,
                  "when_sku": _text(params, "when_sku", required=False),
                  "min_amount": _money(params, "min_amount", MAX_ORDER_AMOUNT, required=False),
                  "starts": _instant(params, "starts", required=False),
                  "ends": _instant(params, "ends", required=False),
                  "shop": _text(params, "shop", required=False)}
        if chosen["starts"] and chosen["ends"] and chosen["ends"] <= chosen["starts"]:
            raise ReviewRuleRefused("ends: after starts")
        return chosen
    if kind == "presale":
        return {"skus": _codes(params, "skus"), "ship_from": _instant(params, "ship_from")}
    return {}


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    params: dict
    enabled: bool
    version: int  # the rule set's version when this rule was last changed

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "params": dict(self.params), "enabled": self.enabled,
                "version": self.version}


@dataclass
class Review:
    """What the rules decided for one order: why it is held, the gifts added, a presale date, and each decision with
    the rule, its version and the inputs it looked at."""

    rule_set_version: int
    reasons: list[str] = field(default_factory=list)
    gifts: list[dict] = field(default_factory=list)
    ship_from: datetime | None = None
    decisions: list[dict] = field(default_factory=list)

    def decide(self, rule: Rule, outcome: str, **inputs) -> None:
        self.decisions.append({"rule": rule.id, "kind": rule.kind, "rule_version": rule.version,
                               "outcome": outcome, "inputs": {k: _plain(v) for k, v in inputs.items()}})


def _plain(value):
    if isinstance(value, (Decimal, datetime)):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class RuleBook:
    """One version of the review rules, as orders are reviewed against it."""

    version: int
    rules: tuple[Rule, ...]

    def enabled(self, kind: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.kind == kind and rule.enabled]

    def rule(self, kind: str) -> Rule | None:
        found = self.enabled(kind)
        return found[0] if found else None

    def review(self, new, buyer_ref: str, unknown: list[str], retired: list[str], skus: set[str],
               gift_stock, now: datetime) -> Review:
        """Review an arriving order (a `services.NewOrder`): `unknown` names its lines that stand for no SKU,
        `retired` its SKUs no longer sold, `skus` every SKU it is made of; `gift_stock(sku, units)` says whether a
        gift's units are free to give (and takes them when they are)."""
        review = Review(self.version)
        for rule in self.rules:
            if rule.enabled or rule.kind in ALWAYS_ON:
                getattr(self, f"_{rule.kind}")(rule, review, new, buyer_ref=buyer_ref, unknown=unknown,
                                               retired=retired, skus=skus, gift_stock=gift_stock, now=now)
        return review

    @staticmethod
    def _remark(rule, review, new, **_):
        if (new.remark or "").strip():
            review.reasons.append("buyer remark")
            review.decide(rule, "hold", remark_length=len(new.remark.strip()))

    @staticmethod
    def _amount(rule, review, new, **_):
        above = rule.params["above"]
        if Decimal(new.paid_amount) > above:
            review.reasons.append(f"amount above {above}")
            review.decide(rule, "hold", paid_amount=Decimal(new.paid_amount), above=above)

    @staticmethod
    def _address(rule, review, new, **_):
        if not new.region.get("province") or not new.buyer.address.strip():
            review.reasons.append("incomplete address")
            review.decide(rule, "hold", has_province=bool(new.region.get("province")),
                          has_street=bool(new.buyer.address.strip()))

    @staticmethod
    def _unknown_sku(rule, review, new, unknown, **_):
        if unknown:
            review.reasons.append("unknown SKU " + ", ".join(unknown))
            review.decide(rule, "hold", lines=unknown)

    @staticmethod
    def _retired_sku(rule, review, new, retired, **_):
        if retired:
            review.reasons.append("retired SKU " + ", ".join(retired))
            review.decide(rule, "hold", skus=retired)

    @staticmethod
    def _buyer(rule, review, new, buyer_ref, **_):
        if buyer_ref in rule.params["buyers"]:
            note = rule.params.get("note") or ""
            review.reasons.append(f"buyer flagged{': ' + note if note else ''}"[:MAX_NAME])
            review.decide(rule, "hold", buyer_ref=buyer_ref)

    @staticmethod
    def _presale(rule, review, new, skus, now, **_):
        ship_from = rule.params["ship_from"]
        listed = sorted(skus & set(rule.params["skus"]))
        if listed and ship_from > now:
            if review.ship_from is None or ship_from > review.ship_from:
                review.ship_from = ship_from
            review.reasons[:] = [r for r in review.reasons if not r.startswith(PRESALE)]
            review.reasons.append(f"{PRESALE} {review.ship_from.isoformat(timespec='minutes')}")
            review.decide(rule, "hold until ship date", skus=listed, ship_from=ship_from)

    @staticmethod
    def _gift(rule, review, new, skus, gift_stock, now, **_):
        p = rule.params
        if p["shop"] and p["shop"] != new.shop:
            return
        if (p["starts"] and now < p["starts"]) or (p["ends"] and now >= p["ends"]):
            return
        if p["when_sku"] and p["when_sku"] not in skus:
            return
        if p["min_amount"] is not None and Decimal(new.paid_amount) < p["min_amount"]:
            return
        if len(new.lines) + len(review.gifts) >= MAX_ORDER_LINES:
            review.decide(rule, "no gift: the order has the most lines an order may have", lines=len(new.lines))
        elif gift_stock(p["sku"], p["units"]):
            review.gifts.append({"sku": p["sku"], "units": p["units"], "rule": rule.id})
            review.decide(rule, "gift", sku=p["sku"], units=p["units"], paid_amount=Decimal(new.paid_amount))
        else:
            review.decide(rule, "no gift: out of stock", sku=p["sku"], units=p["units"])

    @staticmethod
    def _merge(rule, review, new, **_):
        pass  # acted on after import, across orders (`Orders.merge_open_orders`)

    @staticmethod
    def _split_stock(rule, review, new, **_):
        pass  # acted on when the order is reserved


def book_as_data(book: RuleBook) -> dict:
    """A rule set as plain JSON-ready data (the shape `book_from_data` reads), to edit and try elsewhere."""
    return {"version": book.version,
            "rules": [{"id": rule.id, "kind": rule.kind, "enabled": rule.enabled, "version": rule.version,
                       "params": {name: _plain(value) for name, value in rule.params.items()}}
                      for rule in book.rules]}


def book_from_data(data: object) -> RuleBook:
    """A rule set from plain data (as `book_as_data` writes it), each rule's parameters checked as an edit checks
    them; refused with the rule at fault."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ReviewRuleRefused('a rule set is {"rules": [{"id": ..., "kind": ..., "params": {...}, "enabled": ...}]}')
    if len(data["rules"]) > MAX_RULES:
        raise ReviewRuleRefused(f"at most {MAX_RULES} rules")
    version = data.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ReviewRuleRefused("version: a whole number ≥ 0")
    rules, seen = [], set()
    for n, rule in enumerate(data["rules"], 1):
        if not isinstance(rule, dict):
            raise ReviewRuleRefused(f"rule {n}: an object with id, kind, params and enabled")
        rule_id = str(rule.get("id") or f"R{n}")[:20]
        if rule_id in seen:
            raise ReviewRuleRefused(f"rule {rule_id}: named twice")
        seen.add(rule_id)
        kind, enabled = rule.get("kind"), rule.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ReviewRuleRefused(f"rule {rule_id}: enabled is true or false")
        try:
            params = checked_params(kind, rule.get("params") if isinstance(rule.get("params"), dict) else {})
        except ReviewRuleRefused as refused:
            raise ReviewRuleRefused(f"rule {rule_id} ({str(kind)[:20]}): {refused}") from None
        rule_version = rule.get("version", version)
        rules.append(Rule(rule_id, kind, params, enabled,
                          rule_version if isinstance(rule_version, int) and not isinstance(rule_version, bool)
                          else version))
    for kind in ALWAYS_ON:
        if not any(rule.kind == kind for rule in rules):
            raise ReviewRuleRefused(f"a rule set keeps its {kind} rule: such an order could not be picked")
    return RuleBook(version, tuple(rules))


def default_rules(hold_on_remark: bool = False, max_amount: Decimal = Decimal("20000")) -> tuple[Rule, ...]:
    """The rules before anyone edited them (version 0): the holds every warehouse needs."""
    return (Rule("R1", "remark", {}, hold_on_remark, 0), Rule("R2", "amount", {"above": max_amount}, True, 0),
            Rule("R3", "address", {}, True, 0), Rule("R4", "unknown_sku", {}, True, 0),
            Rule("R5", "retired_sku", {}, True, 0))


class ReviewRuleSet(Aggregate):
    """The warehouse's review rules; each edit is an event making the set's next version."""

    @staticmethod
    def create_id(**_) -> UUID:
        return RULE_SET_ID

    @event("Started")
    def __init__(self, rules: list[dict], by: str):
        self.rules = {rule["id"]: dict(rule, version=1) for rule in rules}
        self.next_number = 1 + max((int(rule["id"][1:]) for rule in rules), default=0)

    @property
    def number(self) -> int:
        """The set's version: how many times it was written (started = 1)."""
        return self.version

    def book(self) -> RuleBook:
        return RuleBook(self.version, tuple(Rule(r["id"], r["kind"], dict(r["params"]), r["enabled"], r["version"])
                                            for r in self.rules.values()))

    def add(self, kind: str, params: dict, by: str) -> str:
        params = checked_params(kind, params)
        if len(self.rules) >= MAX_RULES:
            raise ReviewRuleRefused(f"at most {MAX_RULES} rules; remove one first")
        if kind in ALWAYS_ON + ("merge", "split_stock") and any(r["kind"] == kind for r in self.rules.values()):
            raise ReviewRuleRefused(f"there is already a {kind} rule; change that one")
        rule_id = f"R{self.next_number}"
        self._added(rule_id, kind, params, by)
        return rule_id

    def change(self, rule_id: str, params: dict, enabled: bool, by: str) -> None:
        rule = self._rule(rule_id)
        params = checked_params(rule["kind"], params)
        if not enabled and rule["kind"] in ALWAYS_ON:
            raise ReviewRuleRefused(f"rule {rule_id} ({rule['kind']}) cannot be switched off: such an order could "
                                    f"not be picked")
        if params == rule["params"] and bool(enabled) == rule["enabled"]:
            raise ReviewRuleRefused(f"rule {rule_id} already reads so; nothing changed")
        self._changed(rule_id, params, bool(enabled), by)

    def remove(self, rule_id: str, by: str) -> None:
        rule = self._rule(rule_id)
        if rule["kind"] in ALWAYS_ON:
            raise ReviewRuleRefused(f"rule {rule_id} ({rule['kind']}) cannot be removed: such an order could not "
                                    f"be picked")
        self._removed(rule_id, by)

    def _rule(self, rule_id: str) -> dict:
        if rule_id not in self.rules:
            raise ReviewRuleRefused(f"there is no rule {str(rule_id)[:20]!r}")
        return self.rules[rule_id]

    @event("RuleAdded")
    def _added(self, rule_id: str, kind: str, params: dict, by: str) -> None:
        self.rules[rule_id] = {"id": rule_id, "kind": kind, "params": params, "enabled": True,
                               "version": self.version + 1}
        self.next_number += 1

    @event("RuleChanged")
    def _changed(self, rule_id: str, params: dict, enabled: bool, by: str) -> None:
        self.rules[rule_id] = dict(self.rules[rule_id], params=params, enabled=enabled, version=self.version + 1)

    @event("RuleRemoved")
    def _removed(self, rule_id: str, by: str) -> None:
        del self.rules[rule_id]


class OpenParcels(Aggregate):
    """The latest open orders of one buyer at one address in one shop (by digest), that the buyer's next order may
    join in one parcel when auto-merge (合单) is on."""

    KEPT = 20

    @staticmethod
    def create_id(digest: str, **_) -> UUID:
        return uuid5(NAMESPACE_URL, f"cangku:open-parcels:{digest}")

    @event("Started")
    def __init__(self, digest: str):
        self.digest = digest
        self.orders: list[UUID] = []

    def note(self, order_id: UUID) -> None:
        if order_id not in self.orders:
            self._noted(order_id)

    @event("OrderNoted")
    def _noted(self, order_id: UUID) -> None:
        self.orders = [*self.orders, order_id][-self.KEPT:]
