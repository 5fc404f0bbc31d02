"""Warehouse routing (分仓): the merchant's rules, and the choice of an order's shipping warehouse by them."""

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from .. import ids
from ..errors import InvalidInput, UnknownWarehouse
from ..order import Order
from ..routing import RoutingRule, RoutingRules, routing_rules_id
from ..stock import Stock
from ..warehouse import Warehouse
from .inventory import Inventory
from .store import EventStore, ids_of, retry_on_conflict


class Routing:
    """The routing rules (stock, region, priority, split or not) and the decision they make for each order."""

    def __init__(self, store: EventStore, inventory: Inventory):
        self.store = store
        self.inventory = inventory

    @retry_on_conflict
    def revise_rules(self, rules: list[dict], split_allowed: bool, by: str) -> int:
        """Replace the rules with these (warehouse, priority, provinces); returns the new version."""
        parsed = []
        for row in rules:
            code = str(row.get("warehouse", "")).strip()
            self.inventory.warehouse(code, to_change=False)
            provinces = row.get("provinces", ())
            if isinstance(provinces, str):
                provinces = provinces.replace("，", ",").split(",")
            parsed.append(RoutingRule(code, row.get("priority"), tuple(p.strip() for p in provinces if p.strip())))
        try:
            current = self.store.repository.get(routing_rules_id())
        except AggregateNotFoundError:
            current = RoutingRules()
        current.revise(parsed, split_allowed, by)
        self.store.save(current)
        return current.revision

    def rules(self) -> RoutingRules | None:
        """The current rules to read, or None when the merchant has none (one warehouse: the configured one)."""
        try:
            rules = self.store.peek(routing_rules_id())
        except AggregateNotFoundError:
            return None
        return rules if rules.rules else None

    def reserving_in(self, default: str) -> str:
        """What to pass as the warehouse to reserve new orders in: the default (the routing rules, when there are
        some, choose instead), or nothing when neither rules nor that warehouse exist yet (orders wait, unreserved)."""
        if self.rules() is not None:
            return default or "routed"
        try:
            return self.inventory.warehouse(default, to_change=False).code
        except UnknownWarehouse:
            return ""

    def describe(self) -> dict:
        rules = self.rules()
        if rules is None:
            return {"version": 0, "split_allowed": False, "rules": []}
        return {"version": rules.revision, "split_allowed": rules.split_allowed,
                "rules": sorted((dict(r, provinces=list(r["provinces"])) for r in rules.rules),
                                key=lambda r: (r["priority"], r["warehouse"]))}

    def load_stocks(self, rules: RoutingRules, skus: set[str], stocks: dict[UUID, Stock]) -> None:
        """Load (once, together) the stock of these SKUs in every warehouse of the rules."""
        keys = [(r["warehouse"], sku) for r in rules.rules for sku in skus]
        wanted = [k for k in ids_of(ids.stock_id, keys) if k not in stocks]
        stocks.update(self.store.load_many(wanted))

    def route(self, order: Order, rules: RoutingRules, stocks: dict[UUID, Stock], by: str,
              loaded: bool = False, sites: dict[str, tuple[Warehouse, dict[str, int]]] | None = None) -> Warehouse:
        """Choose the order's warehouse by the rules from the stock free there (loaded here unless `loaded` says the
        caller loaded every stream already), record the decision on the order, and return the warehouse. `sites`
        keeps the warehouses read (with their storage bins) for the next orders of a page."""
        wanted = order.quantities()
        if not loaded:
            self.load_stocks(rules, set(wanted), stocks)
        available: dict[str, dict[str, int]] = {}
        today = self.inventory.business_day()  # an expired lot ships from nowhere, as reserving says
        sites = {} if sites is None else sites
        for rule in rules.rules:
            code = rule["warehouse"]
            if code not in sites:
                try:
                    site = self.inventory.warehouse(code, to_change=False)
                except UnknownWarehouse:
                    continue
                sites[code] = (site, site.pick_order("storage"))
            bins = sites[code][1]
            available[code] = {sku: stocks[ids.stock_id(code, sku)].available(bins, today)
                               if ids.stock_id(code, sku) in stocks else 0 for sku in wanted}
        decision = rules.choose(order.region.get("province", ""), wanted, available)
        order.route(decision.warehouse, rules.revision, available, decision.reason, decision.split, by)
        return sites[decision.warehouse][0]

    def check_routable(self) -> RoutingRules:
        rules = self.rules()
        if rules is None:
            raise InvalidInput("there are no routing rules: name the warehouse")
        return rules
