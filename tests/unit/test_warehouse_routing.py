"""Warehouse routing (分仓): the rules choose the shipping warehouse by stock, region and priority (and say how to
split when no warehouse has it all); each choice is recorded on the order with the rules' version and what they saw."""

from dataclasses import replace

import pytest

from domain.errors import InvalidInput, UnknownWarehouse
from domain.order import Order
from domain.routing import RoutingRule, choose_warehouse
from tests.builders import BINS, CUP, TEA, TEA_EAN, order, warehouse_with_catalogue

BEIJING = "北京市"


@pytest.fixture
def app(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 5, (CUP, "A-01-02"): 5})
    system.app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        system.app.inventory.add_location("WH2", bin, zone, area, sequence)
    system.app.inventory.load_opening_stock({2: ("WH2", TEA, "A-01-01", 5)}, "opening")
    return system.app


def in_beijing(new):
    return replace(new, region={"province": BEIJING, "city": "北京市", "district": "朝阳区"})


def decision_of(app, order_id) -> Order.WarehouseChosen:
    [chosen] = [e for e in app.store.events.get(order_id) if isinstance(e, Order.WarehouseChosen)]
    return chosen


def test_the_warehouse_serving_the_buyers_province_ships_when_it_has_the_stock(app):
    app.routing.revise_rules([{"warehouse": "WH1", "priority": 1, "provinces": "浙江省,上海市"},
                              {"warehouse": "WH2", "priority": 2, "provinces": [BEIJING]}], False, "S1")

    [result] = app.orders.import_orders([in_beijing(order("R1", (TEA, 2)))], warehouse="WH1")

    placed = app.orders.get_order(result["order_id"])
    assert (placed["status"], placed["warehouse"]) == ("reserved", "WH2")
    assert decision_of(app, result["order_id"]).province == BEIJING


def test_priority_decides_between_warehouses_serving_the_same_province(app):
    app.routing.revise_rules([{"warehouse": "WH1", "priority": 5}, {"warehouse": "WH2", "priority": 1}], False, "S1")

    [result] = app.orders.import_orders([order("R2", (TEA, 1))], warehouse="WH1")

    assert app.orders.get_order(result["order_id"])["warehouse"] == "WH2"


def test_a_warehouse_without_all_the_stock_is_passed_over_for_one_that_has_it_even_outside_the_region(app):
    app.routing.revise_rules([{"warehouse": "WH1", "priority": 2, "provinces": "浙江省"},
                              {"warehouse": "WH2", "priority": 1, "provinces": BEIJING}], False, "S1")

    [result] = app.orders.import_orders([in_beijing(order("R3", (TEA, 1), (CUP, 1)))], warehouse="WH1")

    placed = app.orders.get_order(result["order_id"])
    assert (placed["status"], placed["warehouse"]) == ("reserved", "WH1")
    chosen = decision_of(app, result["order_id"])
    assert chosen.available == {"WH1": {TEA: 5, CUP: 5}, "WH2": {TEA: 5, CUP: 0}}
    assert chosen.reason.startswith(f"no warehouse serving {BEIJING} has all the stock")


def test_with_no_warehouse_holding_it_all_the_order_waits_in_the_first_by_priority_unless_a_split_is_allowed(app):
    app.routing.revise_rules([{"warehouse": "WH1", "priority": 1}, {"warehouse": "WH2", "priority": 2}], False, "S1")

    [waiting] = app.orders.import_orders([order("R4", (TEA, 8))], warehouse="WH1")
    app.orders.import_orders([order("R4B", (TEA, 5))], warehouse="WH1")
    version = app.routing.revise_rules([{"warehouse": "WH1", "priority": 1}, {"warehouse": "WH2", "priority": 2}],
                                       True, "S1")
    [split] = app.orders.import_orders([order("R5", (TEA, 1), (CUP, 5))], warehouse="WH1")

    assert app.orders.get_order(waiting["order_id"])["status"] == "awaiting_stock"
    assert app.orders.get_order(waiting["order_id"])["warehouse"] == "WH1"
    chosen = decision_of(app, split["order_id"])
    assert (chosen.warehouse, chosen.rule_version) == ("WH1", version)
    assert chosen.split == {"WH1": {CUP: 5}, "WH2": {TEA: 1}}
    assert app.orders.order(split["order_id"]).routed == {"warehouse": "WH1", "rule_version": version,
                                                          "split": {"WH1": {CUP: 5}, "WH2": {TEA: 1}}}
    assert app.orders.get_order(split["order_id"])["status"] == "awaiting_stock"


def test_the_split_names_which_warehouse_ships_each_sku_when_none_has_everything():
    rules = [RoutingRule("WH1", 1), RoutingRule("WH2", 2)]

    decision = choose_warehouse(rules, True, "浙江省", {TEA: 3, CUP: 2}, {"WH1": {TEA: 1, CUP: 2},
                                                                         "WH2": {TEA: 3, CUP: 0}})

    assert decision.split == {"WH1": {CUP: 2}, "WH2": {TEA: 3}}
    assert decision.warehouse == "WH2"


def test_each_decision_names_the_rules_version_it_was_made_under(app):
    first = app.routing.revise_rules([{"warehouse": "WH1", "priority": 1}], False, "S1")
    [a] = app.orders.import_orders([order("R6", (TEA, 1))], warehouse="WH1")
    second = app.routing.revise_rules([{"warehouse": "WH2", "priority": 1}], False, "S1")
    [b] = app.orders.import_orders([order("R7", (TEA, 1))], warehouse="WH1")

    assert (decision_of(app, a["order_id"]).rule_version, decision_of(app, b["order_id"]).rule_version) == (1, 2)
    assert (first, second) == (1, 2)
    assert app.orders.get_order(b["order_id"])["warehouse"] == "WH2"
    assert app.routing.describe()["rules"] == [{"warehouse": "WH2", "priority": 1, "provinces": []}]


def test_a_waiting_order_routed_again_ships_from_the_warehouse_that_now_has_its_stock(app):
    app.routing.revise_rules([{"warehouse": "WH2", "priority": 1}], False, "S1")
    [result] = app.orders.import_orders([order("R8", (CUP, 1))], warehouse="WH1")
    waiting = app.orders.get_order(result["order_id"])
    app.routing.revise_rules([{"warehouse": "WH2", "priority": 1}, {"warehouse": "WH1", "priority": 2}], False, "S1")

    routed = app.orders.route_order(result["order_id"], "S1")

    assert (waiting["status"], waiting["warehouse"]) == ("awaiting_stock", "WH2")
    assert (routed["warehouse"], routed["status"]) == ("WH1", "reserved")


def test_without_rules_orders_are_reserved_in_the_warehouse_given_and_no_decision_is_recorded(app):
    [result] = app.orders.import_orders([order("R9", (TEA, 1))], warehouse="WH1")

    assert app.orders.get_order(result["order_id"])["warehouse"] == "WH1"
    assert not [e for e in app.store.events.get(result["order_id"]) if isinstance(e, Order.WarehouseChosen)]
    released, _ = app.orders.import_order(order("R10", (TEA, 1)))
    with pytest.raises(InvalidInput, match="no routing rules"):
        app.orders.route_order(released, "S1")


def test_rules_naming_an_unknown_warehouse_twice_or_a_bad_priority_are_refused_and_change_nothing(app):
    with pytest.raises(UnknownWarehouse):
        app.routing.revise_rules([{"warehouse": "WH9", "priority": 1}], False, "S1")
    with pytest.raises(InvalidInput):
        app.routing.revise_rules([{"warehouse": "WH1", "priority": 1}, {"warehouse": "WH1", "priority": 2}],
                                 False, "S1")
    with pytest.raises(InvalidInput):
        app.routing.revise_rules([{"warehouse": "WH1", "priority": -1}], False, "S1")

    assert app.routing.describe() == {"version": 0, "split_allowed": False, "rules": []}


def test_the_order_desk_timeline_shows_the_warehouse_chosen_with_the_rules_version_and_the_free_stock(make_system):
    from projections.order_desk import timeline

    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 5})
    system.app.routing.revise_rules([{"warehouse": "WH1", "priority": 1}], False, "S1")
    [result] = system.app.orders.import_orders([order("R11", (TEA, 2))], warehouse="WH1")

    entries = timeline(system.fresh("order_desk"), result["order_id"])

    [chosen] = [e["detail"] for e in entries if e["event"] == "WarehouseChosen"]
    assert chosen.startswith(f"WH1 by routing rules v1: has all the stock") and f"WH1: {TEA}×5" in chosen


def test_pulls_reserve_by_the_rules_even_when_the_configured_warehouse_does_not_exist(app):
    before = app.routing.reserving_in("WH-GONE")
    app.routing.revise_rules([{"warehouse": "WH2", "priority": 1}], False, "S1")

    warehouse = app.routing.reserving_in("WH-GONE")
    [result] = app.orders.import_orders([order("R12", (TEA, 1))], by="pull:taobao", warehouse=warehouse)

    assert before == ""
    assert app.orders.get_order(result["order_id"])["warehouse"] == "WH2"


def test_a_parcel_from_a_warehouse_with_its_own_sender_carries_that_sender_on_label_and_waybill(app):
    from workers.shipping import Shipping

    beijing = {"name": "北京仓", "phone": "010-88886666", "province": "北京市", "city": "北京市", "district": "朝阳区",
               "address": "酒仙桥路 10 号"}
    app.inventory.set_warehouse_sender("WH2", beijing, "S1")
    app.routing.revise_rules([{"warehouse": "WH2", "priority": 1}], False, "S1")
    [result] = app.orders.import_orders([order("R13", (TEA, 1))], warehouse="WH1")
    configured = Shipping(app, None, {}, None, None, "the configured sender", {})

    sender = configured.sender_for(app.orders.order(result["order_id"]).warehouse)

    assert (sender.name, sender.address.province, sender.address.detail) == ("北京仓", "北京市", "酒仙桥路 10 号")
    assert configured.sender_for("WH1") == "the configured sender"
    assert app.inventory.sender_of("WH1") == {}


def test_the_waybill_label_shows_the_shipping_warehouses_own_sender_when_it_has_one(make_system):
    from domain.printing import Contact
    from tests.builders import shipped

    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 5})
    order_id = shipped(system.app, "R14", TEA, TEA_EAN, 1, "YT1000")
    configured = Contact("Cangku", "0571-1", "浙江省 杭州市")
    before = system.app.fulfilment.waybill_label(order_id, configured)
    system.app.inventory.set_warehouse_sender("WH1", {"name": "杭州一号仓", "phone": "0571-2", "province": "浙江省",
                                                      "address": "余杭区仓前街道 1 号"}, "S1")

    after = system.app.fulfilment.waybill_label(order_id, configured)

    assert before.sender == configured
    assert (after.sender.name, after.sender.address) == ("杭州一号仓", "浙江省 余杭区仓前街道 1 号")
