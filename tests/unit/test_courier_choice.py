"""Courier choice over the standard Hangzhou policy: which courier, why, and at what estimated postage."""

import json
from decimal import Decimal

import pytest

from domain.courier_choice import (
    CourierRule,
    CourierRules,
    InvalidCourierRules,
    InvalidPackageFacts,
    NoCourierAvailable,
    PackageFacts,
    Tariff,
    choose,
    rules_as_data,
    rules_from_data,
    standard_rules,
)

RULES = standard_rules()


@pytest.mark.parametrize(
    ("province", "city", "grams", "volume", "cod", "courier", "rule", "reason", "postage"),
    [
        ("浙江省", "杭州市", 300, 0, "0", "YTO", "light-and-near", "zone same_city, weight 300 g < 1000 g", "3.00"),
        ("上海市", "上海市", 800, 0, "0", "YTO", "light-and-near", "zone near, weight 800 g < 1000 g", "3.50"),
        ("江苏省", "苏州市", 1800, 0, "0", "ZTO", "fallback", "no rule matched", "5.00"),
        ("广东省", "深圳市", 6200, 0, "0", "ZTO", "heavy-parcels", "weight 6200 g ≥ 5000 g", "20.00"),
        ("四川省", "成都市", 2000, 70000, "0", "ZTO", "bulky-parcels", "volume 70000 cm³ ≥ 60000 cm³", "24.00"),
        ("新疆维吾尔自治区", "乌鲁木齐市", 500, 0, "0", "YTO", "remote-regions", "zone remote", "16.00"),
        ("西藏自治区", "拉萨市", 7000, 0, "0", "YTO", "remote-regions", "zone remote", "100.00"),
        ("广东省", "广州市", 700, 0, "120", "SF", "cod-parcels", "COD 120", "20.00"),
        ("北京市", "北京市", 1500, 0, "0", "ZTO", "fallback", "no rule matched", "10.00"),
        ("黑龙江省", "哈尔滨市", 900, 0, "0", "ZTO", "fallback", "no rule matched", "10.00"),
    ],
)
def test_parcel_goes_to_the_courier_its_rule_names(province, city, grams, volume, cod, courier, rule, reason,
                                                   postage):
    facts = PackageFacts(province, city, grams, volume, Decimal(cod))

    decision = choose(facts, RULES)

    assert decision.courier == courier
    assert decision.rule == rule
    assert decision.reason.startswith(f"{rule}: {reason} → {courier}")
    assert decision.estimated_postage == Decimal(postage)


def test_unavailable_first_choice_falls_back_to_the_second_and_says_so():
    heavy = PackageFacts("广东省", "深圳市", 6200)

    decision = choose(heavy, RULES, unavailable={"ZTO"})

    assert decision.courier == "YTO"
    assert decision.rule == "heavy-parcels"
    assert "ZTO unavailable, fell back to YTO" in decision.reason
    assert decision.passed_over == ("ZTO unavailable",)
    assert decision.estimated_postage == Decimal("26.50")


def test_cod_parcel_skips_couriers_that_do_not_collect_money_even_in_the_fallback():
    cod = PackageFacts("广东省", "广州市", 700, cod_amount=Decimal("120"))

    decision = choose(cod, RULES, unavailable={"SF"})

    assert decision.courier == "YTO"
    assert "SF unavailable" in decision.reason


def test_when_every_allowed_courier_is_down_the_choice_is_refused_by_name():
    cod = PackageFacts("广东省", "广州市", 700, cod_amount=Decimal("120"))

    with pytest.raises(NoCourierAvailable) as refused:
        choose(cod, RULES, unavailable={"SF", "YTO"})

    assert "ZTO does not collect COD" in str(refused.value)


def test_a_rule_whose_couriers_are_all_down_gives_way_to_the_fallback_order():
    near_light = PackageFacts("浙江省", "宁波市", 400)

    decision = choose(near_light, RULES, unavailable={"YTO", "ZTO"})

    assert decision.courier == "SF"
    assert decision.rule == "fallback"
    assert "YTO unavailable; ZTO unavailable" in decision.reason


def test_decision_record_holds_the_inputs_needed_to_explain_it_later():
    decision = choose(PackageFacts("四川省", "成都市", 2000, 70000), RULES, unavailable={"SF"})

    record = decision.as_record()

    assert record["inputs"] == {
        "province": "四川省", "city": "成都市", "zone": "mid", "weight_grams": "2000", "volume_cm3": "70000",
        "chargeable_grams": "8750", "cod_amount": "0", "unavailable": "SF",
    }
    assert record["estimated_postage"] == "24.00"
    assert record["rule"] == "bulky-parcels"


def test_courier_without_a_price_for_the_zone_is_passed_over():
    rules = CourierRules(
        origin_city="杭州市",
        zones={"新疆维吾尔自治区": "remote"},
        rules=(CourierRule("everything", ("CHEAP", "ZTO")),),
        fallback=(),
        tariffs={"CHEAP": {"far": Tariff(1000, Decimal("2"), 1000, Decimal("1"))},
                 "ZTO": {"remote": Tariff(1000, Decimal("18"), 1000, Decimal("12"))}},
    )

    decision = choose(PackageFacts("新疆维吾尔自治区", "喀什市", 2500), rules)

    assert decision.courier == "ZTO"
    assert "CHEAP does not serve zone remote" in decision.reason
    assert decision.estimated_postage == Decimal("42.00")


def test_tariff_charges_each_started_step_after_the_first_weight():
    tariff = Tariff(1000, Decimal("8"), 1000, Decimal("2"))

    assert [tariff.price(g) for g in (1, 1000, 1001, 2000, 2001)] == [
        Decimal("8.00"), Decimal("8.00"), Decimal("10.00"), Decimal("10.00"), Decimal("12.00")]


@pytest.mark.parametrize("bad", [dict(weight_grams=0), dict(province=""), dict(volume_cm3=-1),
                                 dict(cod_amount=Decimal("-1"))])
def test_package_facts_that_make_no_sense_are_refused_by_name(bad):
    facts = dict(province="浙江省", city="杭州市", weight_grams=100)
    facts.update(bad)

    with pytest.raises(InvalidPackageFacts):
        PackageFacts(**facts)


def test_a_policy_written_as_data_reads_back_as_the_same_policy():
    data = json.loads(json.dumps(rules_as_data(RULES), ensure_ascii=False))

    assert rules_from_data(data) == RULES


@pytest.mark.parametrize(("change", "refusal"), [
    (lambda d: d["rules"][0].update(weight_below="heavy"), "rules[0].weight_below: expected int"),
    (lambda d: d["tariffs"]["SF"]["near"].update(first_price="-1"), "tariffs.SF.near.first_price: an amount from 0"),
    (lambda d: d["tariffs"]["SF"]["near"].update(step_grams=0), "tariffs.SF.near.step_grams: at least 1"),
    (lambda d: d.update(fallback="ZTO"), "fallback: expected list"),
])
def test_a_policy_with_a_wrong_field_is_refused_naming_it(change, refusal):
    data = rules_as_data(RULES)
    change(data)

    with pytest.raises(InvalidCourierRules, match=refusal.replace("[", r"\[").replace("]", r"\]")):
        rules_from_data(data)
