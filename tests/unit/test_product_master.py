"""The product master: SKUs edited and retired as events, and every view that shows SKU data following the edits."""

from decimal import Decimal

import pytest

from domain.errors import BarcodeTaken, InvalidInput, RowsRejected, SkuRetired, UnknownBarcode
from projections import catalogue, finance, inventory, replenishment
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, warehouse_with_catalogue

NEW_EAN = "6901234567809"


@pytest.fixture
def system(make_system):
    built = make_system()
    warehouse_with_catalogue(built.app, {(TEA, "A-01-01"): 20, (CUP, "A-01-02"): 10})
    return built


def test_an_edit_changes_every_detail_given_and_keeps_the_others(system):
    app = system.app

    app.catalogue.edit_sku(TEA, "S1", name="西湖龙井 250g", unit_cost=Decimal("41.00"), length_mm=120, width_mm=80,
                           height_mm=60, lot_tracked=True, shelf_life_days=540)

    sku = app.catalogue.get_sku(TEA)
    assert (sku["name"], sku["unit_cost"], sku["unit_weight_g"], sku["safety_stock"]) == (
        "西湖龙井 250g", Decimal("41.00"), 260, 5)
    assert (sku["length_mm"], sku["width_mm"], sku["height_mm"], sku["lot_tracked"], sku["shelf_life_days"]) == (
        120, 80, 60, True, 540)


def test_an_edit_that_changes_nothing_records_nothing(system):
    before = system.app.store.recorder.max_notification_id()

    system.app.catalogue.edit_sku(TEA, "S1", name="龙井茶 250g", unit_cost=Decimal("35.5"))

    assert system.app.store.recorder.max_notification_id() == before


def test_a_bad_value_in_an_edit_is_refused_with_its_range_and_changes_nothing(system):
    before = system.app.store.recorder.max_notification_id()

    with pytest.raises(InvalidInput, match="from 0 to 10,000"):
        system.app.catalogue.edit_sku(TEA, "S1", name="新名字", length_mm=10_001)

    assert system.app.catalogue.get_sku(TEA)["name"] == "龙井茶 250g"
    assert system.app.store.recorder.max_notification_id() == before


def test_a_barcode_taken_off_one_sku_scans_as_nothing_until_another_sku_takes_it(system):
    app = system.app

    app.catalogue.edit_sku(TEA, "S1", barcodes=[NEW_EAN])
    with pytest.raises(UnknownBarcode):
        app.catalogue.sku_for_barcode(TEA_EAN)
    app.catalogue.edit_sku(CUP, "S1", barcodes=[CUP_EAN, TEA_EAN])

    assert app.catalogue.sku_for_barcode(TEA_EAN) == CUP
    assert app.catalogue.sku_for_barcode(NEW_EAN) == TEA
    with pytest.raises(BarcodeTaken):
        app.catalogue.edit_sku(TEA, "S1", barcodes=[NEW_EAN, TEA_EAN])


def test_views_follow_the_edits_of_name_cost_and_safety_stock(system):
    app = system.app
    app.orders.import_orders([order("T1", (TEA, 1))], warehouse="WH1")

    app.catalogue.edit_sku(TEA, "S1", name="明前龙井", unit_cost=Decimal("50.00"), safety_stock=30)
    system.catch_up()

    engine = system.engine
    assert catalogue.sku_record(engine, TEA)["name"] == "明前龙井"
    assert [r for r in inventory.low_stock(engine, "WH1") if r["sku"] == TEA] == [
        {"sku": TEA, "name": "明前龙井", "available": 19, "safety_stock": 30}]
    [tea] = replenishment.replenishment(engine, sku=TEA)
    assert (tea["name"], tea["safety_stock"]) == ("明前龙井", 30)
    [costed] = [line for line in finance.stock_valuation(engine)["lines"] if line["sku"] == TEA]
    assert costed["unit_cost"] == Decimal("50.00")
    assert finance.sku_finance(engine, TEA)[0]["unit_cost"] == Decimal("50.00")


def test_goods_shipped_before_a_cost_change_keep_the_old_cost_and_later_ones_take_the_new(system):
    app = system.app
    first = ship(system, "T1", TEA)
    app.catalogue.edit_sku(TEA, "S1", unit_cost=Decimal("50.00"))
    second = ship(system, "T2", TEA)
    system.catch_up()

    assert finance.order_finance(system.engine, first)["cogs"] == Decimal("35.50")
    assert finance.order_finance(system.engine, second)["cogs"] == Decimal("50.00")


def ship(system, number: str, sku: str):
    app = system.app
    [placed] = app.orders.import_orders([order(number, (sku, 1))], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", f"W-{number}", [placed["order_id"]], "S1")
    app.fulfilment.pick(wave, 0, "A-01-01", sku, 1, "P1")
    app.fulfilment.verify_item(placed["order_id"], sku, "P2")
    app.fulfilment.close_package(placed["order_id"], "P2")
    app.fulfilment.weigh(placed["order_id"], 300, "P2")
    app.fulfilment.assign_waybill(placed["order_id"], "SF", f"SF{number}", "杭州")
    app.fulfilment.hand_over(placed["order_id"], "H1")
    return placed["order_id"]


def test_a_retired_sku_is_not_received_and_its_orders_wait_for_review_but_its_history_stays(system):
    app = system.app
    app.orders.import_orders([order("T1", (TEA, 2))], warehouse="WH1")

    app.catalogue.retire_sku(TEA, "停产", "S1")

    with pytest.raises(SkuRetired):
        app.inventory.receive("WH1", TEA, 5, "R1")
    with pytest.raises(RowsRejected) as refused:
        app.inventory.load_opening_stock({2: ("WH1", TEA, "A-01-01", 5)}, "opening")
    assert "retired" in refused.value.errors[2]
    [late] = app.orders.import_orders([order("T2", (TEA, 1))], warehouse="WH1")
    assert late["status"] == "held"
    assert "retired SKU TEA-LJ-250" in app.orders.get_order(late["order_id"])["hold_reasons"]
    with pytest.raises(SkuRetired):
        app.catalogue.edit_sku(TEA, "S1", name="改名")
    system.catch_up()
    assert [r["sku"] for r in inventory.stock_by_bin(system.engine, "WH1", TEA)] == [TEA]
    assert [r["code"] for r in catalogue.skus(system.engine, retired=True)] == [TEA]
    assert TEA not in [r["sku"] for r in replenishment.replenishment(system.engine)]


def test_a_reinstated_sku_is_received_again(system):
    app = system.app
    app.catalogue.retire_sku(TEA, "", "S1")

    app.catalogue.reinstate_sku(TEA, "S1")
    app.inventory.receive("WH1", TEA, 5, "R1")

    assert app.inventory.stock_levels("WH1", TEA)["RCV-01"]["on_hand"] == 5


def test_a_file_updates_existing_skus_registers_new_ones_and_leaves_the_rest(system):
    app = system.app

    counts = app.catalogue.upsert_skus({
        2: {"code": TEA, "unit_cost": Decimal("40.00"), "safety_stock": 8},
        3: {"code": CUP, "name": "Glass tea cup"},
        4: {"code": "BOWL-01", "name": "青瓷碗", "barcodes": [NEW_EAN], "lot_tracked": True},
    }, "S1")

    assert counts == {"registered": 1, "updated": 1, "unchanged": 1}
    tea = app.catalogue.get_sku(TEA)
    assert (tea["name"], tea["unit_cost"], tea["safety_stock"], tea["barcodes"]) == (
        "龙井茶 250g", Decimal("40.00"), 8, [TEA_EAN])
    assert app.catalogue.sku_for_barcode(NEW_EAN) == "BOWL-01"


def test_a_file_with_bad_rows_names_each_of_them_and_writes_nothing(system):
    app = system.app
    before = app.store.recorder.max_notification_id()

    with pytest.raises(RowsRejected) as refused:
        app.catalogue.upsert_skus({
            2: {"code": TEA, "unit_cost": Decimal("40.00")},
            3: {"code": "BAD CODE", "name": "有空格"},
            4: {"code": "BOWL-01", "name": "青瓷碗"},
            5: {"code": "PLATE-01", "name": "盘", "unit_weight_g": -1},
        }, "S1")

    assert sorted(refused.value.errors) == [3, 5]
    assert "without spaces" in refused.value.errors[3]
    assert app.store.recorder.max_notification_id() == before
    assert app.catalogue.get_sku(TEA)["unit_cost"] == Decimal("35.50")


# A SKU registered before the product master kept dimensions, lot tracking and shelf life, as stored then.
OLD_REGISTERED = (b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-03T15:15:12.742655+00:00"},'
                  b'"originator_topic":"domain.catalogue:Sku","code":"TEA-OLD","name":"\xe8\x80\x81\xe8\x8c\xb6",'
                  b'"barcodes":["6901234567892"],"unit_weight_g":260,"unit_cost":{"_type_":"decimal_str",'
                  b'"_data_":"35.50"},"safety_stock":5}')


def test_a_sku_stored_in_the_old_shape_loads_without_the_new_details_and_can_be_edited(make_system):
    from eventsourcing.persistence import StoredEvent

    from domain import ids

    system = make_system()
    app = system.app
    app.store.recorder.insert_events([StoredEvent(ids.sku_id("TEA-OLD"), 1, "domain.catalogue:Sku.Registered",
                                                  OLD_REGISTERED)])

    old = app.catalogue.get_sku("TEA-OLD")
    app.catalogue.edit_sku("TEA-OLD", "S1", shelf_life_days=365)
    system.catch_up()

    assert (old["name"], old["unit_cost"], old["length_mm"], old["lot_tracked"], old["shelf_life_days"]) == (
        "老茶", Decimal("35.50"), 0, False, 0)
    assert catalogue.sku_record(system.engine, "TEA-OLD")["shelf_life_days"] == 365
