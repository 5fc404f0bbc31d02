"""Warehouse routing (分仓): the merchant's rules choosing the warehouse an order ships from, and the choice itself."""

from dataclasses import dataclass, field
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from . import ids
from .errors import InvalidInput

MAX_RULE_WAREHOUSES = 20  # each decision records the free stock of every one: bounded event size
MAX_PROVINCES = 40


@dataclass(frozen=True)
class RoutingRule:
    """One warehouse's place in the rules: its priority (lower ships first) and the provinces it serves (none: all)."""

    warehouse: str
    priority: int
    provinces: tuple[str, ...] = ()

    def serves(self, province: str) -> bool:
        return not self.provinces or province in self.provinces

    def as_event_data(self) -> dict:
        return {"warehouse": self.warehouse, "priority": self.priority, "provinces": list(self.provinces)}


@dataclass(frozen=True)
class Decision:
    """The warehouse chosen for an order, why, and (when the rules allow a split and no warehouse has it all) which
    warehouse could ship each SKU."""

    warehouse: str
    reason: str
    split: dict[str, dict[str, int]] = field(default_factory=dict)


def routing_rules_id() -> UUID:
    return uuid5(ids.NAMESPACE, "routing-rules")


def check_rules(rules: list[RoutingRule]) -> list[RoutingRule]:
    if len(rules) > MAX_RULE_WAREHOUSES:
        raise InvalidInput(f"at most {MAX_RULE_WAREHOUSES} warehouses in the routing rules")
    seen = set()
    for rule in rules:
        if not rule.warehouse or rule.warehouse in seen:
            raise InvalidInput(f"warehouse {rule.warehouse!r} is named twice (or not at all) in the routing rules")
        seen.add(rule.warehouse)
        if isinstance(rule.priority, bool) or not isinstance(rule.priority, int) or not 0 <= rule.priority <= 9999:
            raise InvalidInput(f"warehouse {rule.warehouse}: priority must be a whole number from 0 to 9999")
        if len(rule.provinces) > MAX_PROVINCES or any(not p or len(p) > 32 for p in rule.provinces):
            raise InvalidInput(f"warehouse {rule.warehouse}: at most {MAX_PROVINCES} provinces of 1-32 characters")
    return rules


class RoutingRules(Aggregate):
    """The merchant's one set of routing rules; each revision is a new version, and decisions name the one used."""

    @staticmethod
    def create_id(**_) -> UUID:
        return routing_rules_id()

    @event("Started")
    def __init__(self):
        self.rules: list[dict] = []
        self.split_allowed = False
        self.revision = 0

    def revise(self, rules: list[RoutingRule], split_allowed: bool, by: str) -> None:
        check_rules(rules)
        self._revised([r.as_event_data() for r in rules], bool(split_allowed), by)

    @event("Revised")
    def _revised(self, rules: list[dict], split_allowed: bool, by: str) -> None:
        self.rules = [dict(r) for r in rules]
        self.split_allowed = split_allowed
        self.revision += 1

    def rule_list(self) -> list[RoutingRule]:
        return [RoutingRule(r["warehouse"], r["priority"], tuple(r["provinces"])) for r in self.rules]

    def choose(self, province: str, wanted: dict[str, int], available: dict[str, dict[str, int]]) -> Decision:
        return choose_warehouse(self.rule_list(), self.split_allowed, province, wanted, available)


def choose_warehouse(rules: list[RoutingRule], split_allowed: bool, province: str, wanted: dict[str, int],
                     available: dict[str, dict[str, int]]) -> Decision:
    """The warehouse an order ships from: among those serving its province, then any other, the first by priority
    that has all of it; when none has all, the first by priority serving the province (the order waits for stock
    there), and, when a split is allowed, which warehouse could ship each SKU."""
    if not rules:
        raise InvalidInput("there are no routing rules")
    ranked = sorted(rules, key=lambda r: (r.priority, r.warehouse))
    local = [r for r in ranked if r.serves(province)]
    others = [r for r in ranked if not r.serves(province)]

    def has_all(rule: RoutingRule) -> bool:
        there = available.get(rule.warehouse, {})
        return all(there.get(sku, 0) >= n for sku, n in wanted.items())

    for rule in local:
        if has_all(rule):
            return Decision(rule.warehouse, f"has all the stock; serves {province or 'every province'}; "
                                            f"priority {rule.priority}")
    for rule in others:
        if has_all(rule):
            return Decision(rule.warehouse, f"no warehouse serving {province or 'the province'} has all the stock; "
                                            f"this one has, priority {rule.priority}")
    first = (local or ranked)[0]
    if not split_allowed:
        return Decision(first.warehouse, f"no warehouse has all the stock: waits for stock in the first by priority "
                                         f"({first.priority}) serving {province or 'the province'}")
    split: dict[str, dict[str, int]] = {}
    for sku, n in sorted(wanted.items()):
        home = next((r for r in local + others if available.get(r.warehouse, {}).get(sku, 0) >= n), first)
        split.setdefault(home.warehouse, {})[sku] = n
    most = max(split, key=lambda w: (sum(split[w].values()), -[r.warehouse for r in ranked].index(w)))
    return Decision(most, "no warehouse has all the stock: split allowed; ships from the warehouse holding the most "
                          "of it, the rest as the split says", split)
