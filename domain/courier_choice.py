"""Which courier takes a parcel: ordered rules over destination, weight, volume and COD, with a fallback,
and the postage each courier would charge. Pure data and functions; a decision can be stored and explained."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Mapping

from domain.errors import DomainError, InvalidInput

CENT = Decimal("0.01")


class InvalidPackageFacts(InvalidInput):
    """Package facts no rule can reason about (no weight, no destination)."""

    code = "invalid_package_facts"


class NoCourierAvailable(DomainError):
    """Every courier the rules allow for this parcel is unavailable or cannot take it."""

    code = "no_courier_available"


@dataclass(frozen=True)
class PackageFacts:
    province: str
    city: str
    weight_grams: int
    volume_cm3: int = 0
    cod_amount: Decimal = Decimal("0")

    def __post_init__(self) -> None:
        if not self.province or not self.city:
            raise InvalidPackageFacts("destination province and city are required")
        if self.weight_grams <= 0:
            raise InvalidPackageFacts(f"weight must be positive, got {self.weight_grams} g")
        if self.volume_cm3 < 0 or self.cod_amount < 0:
            raise InvalidPackageFacts("volume and COD amount cannot be negative")

    @property
    def is_cod(self) -> bool:
        return self.cod_amount > 0


@dataclass(frozen=True)
class Tariff:
    """First weight at a fixed price, then each started step at the step price."""

    first_weight_grams: int
    first_price: Decimal
    step_grams: int
    step_price: Decimal

    def price(self, grams: int) -> Decimal:
        extra_steps = max(0, math.ceil((grams - self.first_weight_grams) / self.step_grams))
        return (self.first_price + self.step_price * extra_steps).quantize(CENT)


@dataclass(frozen=True)
class CourierRule:
    """Parcels matching every given condition go to the first available courier in `couriers`."""

    name: str
    couriers: tuple[str, ...]
    zones: frozenset[str] = frozenset()
    provinces: frozenset[str] = frozenset()
    cities: frozenset[str] = frozenset()
    weight_at_least: int | None = None
    weight_below: int | None = None
    volume_at_least: int | None = None
    cod: bool | None = None
    note: str = ""

    def matched_conditions(self, facts: PackageFacts, zone: str) -> list[str] | None:
        """The conditions this parcel meets, in words; None when any condition fails."""
        met = []
        checks = [
            (bool(self.zones), lambda: zone in self.zones, lambda: f"zone {zone}"),
            (bool(self.provinces), lambda: facts.province in self.provinces, lambda: f"province {facts.province}"),
            (bool(self.cities), lambda: facts.city in self.cities, lambda: f"city {facts.city}"),
            (self.weight_at_least is not None, lambda: facts.weight_grams >= self.weight_at_least,
             lambda: f"weight {facts.weight_grams} g ≥ {self.weight_at_least} g"),
            (self.weight_below is not None, lambda: facts.weight_grams < self.weight_below,
             lambda: f"weight {facts.weight_grams} g < {self.weight_below} g"),
            (self.volume_at_least is not None, lambda: facts.volume_cm3 >= self.volume_at_least,
             lambda: f"volume {facts.volume_cm3} cm³ ≥ {self.volume_at_least} cm³"),
            (self.cod is not None, lambda: facts.is_cod == self.cod,
             lambda: f"COD {facts.cod_amount}" if facts.is_cod else "no COD"),
        ]
        for applies, holds, words in checks:
            if not applies:
                continue
            if not holds():
                return None
            met.append(words())
        return met


@dataclass(frozen=True)
class CourierRules:
    """A warehouse's whole courier policy: zones, ordered rules, fallback order and price tables."""

    origin_city: str
    zones: Mapping[str, str]
    rules: tuple[CourierRule, ...]
    fallback: tuple[str, ...]
    tariffs: Mapping[str, Mapping[str, Tariff]]
    cod_couriers: frozenset[str] = frozenset()
    default_zone: str = "far"
    volumetric_divisor: int = 8000  # cm³ per chargeable kg

    def zone_of(self, facts: PackageFacts) -> str:
        if facts.city == self.origin_city:
            return "same_city"
        return self.zones.get(facts.province, self.default_zone)

    def chargeable_grams(self, facts: PackageFacts) -> int:
        volumetric = math.ceil(facts.volume_cm3 * 1000 / self.volumetric_divisor)
        return max(facts.weight_grams, volumetric)

    def postage(self, courier: str, facts: PackageFacts) -> Decimal | None:
        """Estimated postage, or None when the courier has no price for that zone."""
        tariff = self.tariffs.get(courier, {}).get(self.zone_of(facts))
        return tariff.price(self.chargeable_grams(facts)) if tariff else None


@dataclass(frozen=True)
class CourierDecision:
    courier: str
    rule: str
    inputs: Mapping[str, str]
    reason: str
    estimated_postage: Decimal | None
    passed_over: tuple[str, ...] = field(default=())

    def as_record(self) -> dict[str, object]:
        """Plain values, ready to be stored in an event and explained later."""
        return {
            "courier": self.courier,
            "rule": self.rule,
            "inputs": dict(self.inputs),
            "reason": self.reason,
            "estimated_postage": None if self.estimated_postage is None else str(self.estimated_postage),
            "passed_over": list(self.passed_over),
        }


FALLBACK_RULE = "fallback"


def choose(facts: PackageFacts, rules: CourierRules, unavailable: frozenset[str] | set[str] = frozenset()
           ) -> CourierDecision:
    """The courier for this parcel: the first matching rule's first usable courier, else the fallback order."""
    zone = rules.zone_of(facts)
    inputs = {
        "province": facts.province,
        "city": facts.city,
        "zone": zone,
        "weight_grams": str(facts.weight_grams),
        "volume_cm3": str(facts.volume_cm3),
        "chargeable_grams": str(rules.chargeable_grams(facts)),
        "cod_amount": str(facts.cod_amount),
        "unavailable": ",".join(sorted(unavailable)),
    }
    passed_over: list[str] = []
    candidates = [(rule, rule.matched_conditions(facts, zone)) for rule in rules.rules]
    candidates = [(rule.name, rule.couriers, conditions, rule.note) for rule, conditions in candidates
                  if conditions is not None]
    candidates.append((FALLBACK_RULE, rules.fallback, ["no rule matched"], ""))
    for rule_name, couriers, conditions, note in candidates:
        for courier in couriers:
            why_not = _why_not(courier, facts, rules, unavailable)
            if why_not:
                passed_over.append(f"{courier} {why_not}")
                continue
            reason = f"{rule_name}: {', '.join(conditions)} → {courier}"
            if note:
                reason += f" ({note})"
            if passed_over:
                reason += f"; {'; '.join(passed_over)}, fell back to {courier}"
            return CourierDecision(courier, rule_name, inputs, reason, rules.postage(courier, facts),
                                   tuple(passed_over))
    raise NoCourierAvailable(f"no courier can take a parcel to {facts.province}{facts.city}: "
                             + "; ".join(passed_over))


def _why_not(courier: str, facts: PackageFacts, rules: CourierRules, unavailable) -> str:
    if courier in unavailable:
        return "unavailable"
    if facts.is_cod and courier not in rules.cod_couriers:
        return "does not collect COD"
    if rules.postage(courier, facts) is None:
        return f"does not serve zone {rules.zone_of(facts)}"
    return ""


def _tariffs(rows: Mapping[str, tuple[str, str]]) -> dict[str, Tariff]:
    return {zone: Tariff(1000, Decimal(first), 1000, Decimal(step)) for zone, (first, step) in rows.items()}


def standard_rules() -> CourierRules:
    """A sample policy for a warehouse in Hangzhou, used by the demo and as a starting point."""
    near = ("浙江省", "江苏省", "上海市", "安徽省")
    mid = ("北京市", "天津市", "河北省", "山东省", "河南省", "湖北省", "湖南省", "江西省", "福建省", "广东省",
           "广西壮族自治区", "山西省", "陕西省", "重庆市", "四川省", "贵州省", "云南省", "海南省")
    far = ("辽宁省", "吉林省", "黑龙江省", "甘肃省", "宁夏回族自治区", "青海省", "内蒙古自治区")
    remote = ("新疆维吾尔自治区", "西藏自治区")
    zones = {**{p: "near" for p in near}, **{p: "mid" for p in mid}, **{p: "far" for p in far},
             **{p: "remote" for p in remote}}
    return CourierRules(
        origin_city="杭州市",
        zones=zones,
        rules=(
            CourierRule("cod-parcels", ("SF", "YTO"), cod=True, note="COD needs a courier that collects money"),
            CourierRule("remote-regions", ("YTO", "ZTO"), zones=frozenset({"remote"}),
                        note="the only contracts reaching Xinjiang and Tibet"),
            CourierRule("heavy-parcels", ("ZTO", "YTO"), weight_at_least=5000, note="cheapest per extra kg"),
            CourierRule("bulky-parcels", ("ZTO", "YTO"), volume_at_least=60000, note="charged by volume anyway"),
            CourierRule("light-and-near", ("YTO", "ZTO"), zones=frozenset({"same_city", "near"}),
                        weight_below=1000, note="cheapest first weight nearby"),
        ),
        fallback=("ZTO", "YTO", "SF"),
        cod_couriers=frozenset({"SF", "YTO"}),
        tariffs={
            "SF": _tariffs({"same_city": ("12", "2"), "near": ("13", "2"), "mid": ("20", "6"),
                            "far": ("23", "10"), "remote": ("26", "16")}),
            "ZTO": _tariffs({"same_city": ("3.5", "1"), "near": ("4", "1"), "mid": ("8", "2"),
                             "far": ("10", "5"), "remote": ("18", "12")}),
            "YTO": _tariffs({"same_city": ("3", "1.5"), "near": ("3.5", "1.5"), "mid": ("8.5", "3"),
                             "far": ("11", "6"), "remote": ("16", "14")}),
        },
    )


class InvalidCourierRules(InvalidInput):
    """A courier policy written as data that cannot be read: its field and why."""

    code = "invalid_courier_rules"


def rules_as_data(rules: CourierRules) -> dict:
    """The policy as plain JSON-ready data (the shape `rules_from_data` reads), to edit and try elsewhere."""
    def rule(r: CourierRule) -> dict:
        data = {"name": r.name, "couriers": list(r.couriers)}
        for name in ("zones", "provinces", "cities"):
            if getattr(r, name):
                data[name] = sorted(getattr(r, name))
        for name in ("weight_at_least", "weight_below", "volume_at_least", "cod"):
            if getattr(r, name) is not None:
                data[name] = getattr(r, name)
        if r.note:
            data["note"] = r.note
        return data

    return {"origin_city": rules.origin_city, "zones": dict(rules.zones), "default_zone": rules.default_zone,
            "volumetric_divisor": rules.volumetric_divisor, "rules": [rule(r) for r in rules.rules],
            "fallback": list(rules.fallback), "cod_couriers": sorted(rules.cod_couriers),
            "tariffs": {courier: {zone: {"first_weight_grams": t.first_weight_grams, "first_price": str(t.first_price),
                                         "step_grams": t.step_grams, "step_price": str(t.step_price)}
                                  for zone, t in zones.items()} for courier, zones in rules.tariffs.items()}}


def rules_from_data(data: object) -> CourierRules:
    """A policy from plain data (as `rules_as_data` writes it); refused with the field at fault."""
    def need(value, kind, where: str):
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise InvalidCourierRules(f"{where}: expected {getattr(kind, '__name__', 'a value')}, got {value!r:.60}")
        return value

    def whole(value, where: str, low: int = 0) -> int:
        if need(value, int, where) < low:
            raise InvalidCourierRules(f"{where}: at least {low}, got {value}")
        return value

    def money(value, where: str) -> Decimal:
        try:
            amount = Decimal(str(need(value, (str, int, float), where)))
        except ArithmeticError:
            raise InvalidCourierRules(f"{where}: not an amount: {value!r:.40}") from None
        if not amount.is_finite() or not 0 <= amount <= 100_000:
            raise InvalidCourierRules(f"{where}: an amount from 0 to 100000, got {value!r:.40}")
        return amount.quantize(CENT)

    def words(value, where: str) -> tuple[str, ...]:
        return tuple(need(w, str, f"{where}[{n}]") for n, w in enumerate(need(value, list, where)))

    data = need(data, dict, "rules")
    rules = []
    for n, r in enumerate(need(data.get("rules", []), list, "rules")):
        where = f"rules[{n}]"
        r = need(r, dict, where)
        optional = {name: whole(r[name], f"{where}.{name}") for name in ("weight_at_least", "weight_below",
                                                                         "volume_at_least") if r.get(name) is not None}
        if r.get("cod") is not None:
            optional["cod"] = need(r["cod"], bool, f"{where}.cod")
        rules.append(CourierRule(need(r.get("name"), str, f"{where}.name"), words(r.get("couriers"), f"{where}.couriers"),
                                 **{name: frozenset(words(r.get(name, []), f"{where}.{name}"))
                                    for name in ("zones", "provinces", "cities")},
                                 note=str(r.get("note", "")), **optional))
    tariffs = {}
    for courier, zones in need(data.get("tariffs"), dict, "tariffs").items():
        tariffs[courier] = {}
        for zone, t in need(zones, dict, f"tariffs.{courier}").items():
            where = f"tariffs.{courier}.{zone}"
            t = need(t, dict, where)
            tariffs[courier][zone] = Tariff(whole(t.get("first_weight_grams"), f"{where}.first_weight_grams"),
                                            money(t.get("first_price"), f"{where}.first_price"),
                                            whole(t.get("step_grams"), f"{where}.step_grams", 1),
                                            money(t.get("step_price"), f"{where}.step_price"))
    zones = need(data.get("zones", {}), dict, "zones")
    for province, zone in zones.items():
        need(zone, str, f"zones.{province}")
    return CourierRules(origin_city=need(data.get("origin_city", ""), str, "origin_city"), zones=dict(zones),
                        rules=tuple(rules), fallback=words(data.get("fallback", []), "fallback"), tariffs=tariffs,
                        cod_couriers=frozenset(words(data.get("cod_couriers", []), "cod_couriers")),
                        default_zone=need(data.get("default_zone", "far"), str, "default_zone"),
                        volumetric_divisor=whole(data.get("volumetric_divisor", 8000), "volumetric_divisor", 1))
