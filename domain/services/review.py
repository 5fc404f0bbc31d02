"""The review rules (审单) as data: read as one version for a page of orders, edited from the back office."""

from decimal import Decimal

from ..errors import SkuRetired, UnknownSku
from ..review import RULE_SET_ID, ReviewRuleSet, RuleBook, default_rules
from .catalogue import Catalogue
from .store import EventStore, retry_on_conflict


class ReviewRules:
    """The review rule set: its current version, and its edits (each one event, the set's next version)."""

    def __init__(self, store: EventStore, catalogue: Catalogue, hold_on_remark: bool = False,
                 max_amount: Decimal = Decimal("20000")):
        self.store = store
        self.catalogue = catalogue
        self.defaults = default_rules(hold_on_remark, max_amount)

    def book(self) -> RuleBook:
        """The rules in force now (version 0: the defaults, before anyone edited them)."""
        if RULE_SET_ID not in self.store.repository:
            return RuleBook(0, self.defaults)
        return self.store.peek(RULE_SET_ID).book()

    def listed(self) -> dict:
        """The rules in force, as plain data."""
        book = self.book()
        return {"version": book.version, "rules": [rule.as_dict() for rule in book.rules]}

    def history(self, most: int = 200) -> list[dict]:
        """The latest versions of the rule set (at most `most`), newest first: when, who, and what changed."""
        if RULE_SET_ID not in self.store.repository:
            return []
        shown = []
        for e in self.store.events.get(RULE_SET_ID):
            change = {name: getattr(e, name) for name in ("rule_id", "kind", "params", "enabled") if hasattr(e, name)}
            shown.append({"version": e.originator_version, "at": e.timestamp, "by": e.by,
                          "event": type(e).__name__, **change})
        return shown[::-1][:most]

    @retry_on_conflict
    def add(self, kind: str, params: dict, by: str) -> str:
        rules = self._rule_set(by)
        rule_id = rules.add(kind, params, by)
        self._check_skus(rules.rules[rule_id])
        self.store.save(rules)
        return rule_id

    @retry_on_conflict
    def change(self, rule_id: str, params: dict, enabled: bool, by: str) -> int:
        rules = self._rule_set(by)
        rules.change(rule_id, params, enabled, by)
        self._check_skus(rules.rules[rule_id])
        self.store.save(rules)
        return rules.version

    @retry_on_conflict
    def remove(self, rule_id: str, by: str) -> int:
        rules = self._rule_set(by)
        rules.remove(rule_id, by)
        self.store.save(rules)
        return rules.version

    def _rule_set(self, by: str) -> ReviewRuleSet:
        if RULE_SET_ID in self.store.repository:
            return self.store.repository.get(RULE_SET_ID)
        return ReviewRuleSet([rule.as_dict() for rule in self.defaults], by)

    def _check_skus(self, rule: dict) -> None:
        """A gift must be a SKU we stock and still sell; a presale names SKUs we know."""
        params = rule["params"]
        codes = [params["sku"]] if rule["kind"] == "gift" else params.get("skus", [])
        for code in codes:
            if not self.catalogue.sku_exists(code):
                raise UnknownSku(f"unknown SKU {code!r}", key="refusal:unknown_sku", sku=code)
        if rule["kind"] == "gift" and self.catalogue.retired_among(codes):
            raise SkuRetired(f"SKU {params['sku']!r} is retired; it cannot be given away")
