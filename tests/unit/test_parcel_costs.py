"""Parcel costs in finance: the box a parcel is packed in at its price, the courier fee estimated from the courier
rule's tariff and replaced by the courier's bill, the supplier's price as the cost of goods of dropship lines, and
the reconciliation of a courier's bill against the parcels shipped."""

from decimal import Decimal
from uuid import UUID

import pytest

from domain.courier_choice import PackageFacts, choose, standard_rules
from domain.errors import InvalidInput, RowsRejected
from domain.services.costs import BillAlreadyUploaded
from projections import finance
from projections.dropship import open_dropship_ids
from tests.builders import TEA, TEA_EAN, order
from tests.unit.test_scanner_flows import PIN, Floor
from tests.unit.test_dropship import GIFT, dropship_world


@pytest.fixture
def system(make_system):
    built = make_system()
    dropship_world(built.app)
    built.app.costs.set_box_price("S", "1.20", "ADMIN")
    built.app.costs.set_box_price("M", "2.00", "ADMIN")
    return built


def ship_tea(app, number: str, tracking: str, box: str = "", grams: int = 400) -> object:
    """One tea packed (in `box`), its courier chosen by the standard rule for Hangzhou, handed over."""
    [result] = app.orders.import_orders([order(number, (TEA, 1))], warehouse="WH1")
    order_id = result["order_id"]
    wave = app.fulfilment.create_wave("WH1", f"W-{number}", [order_id], "S1")
    line = app.fulfilment.wave(wave).lines[0]
    app.fulfilment.pick(wave, 0, line["bin"], TEA_EAN, 1, "P1")
    app.fulfilment.verify_item(order_id, TEA_EAN, "K1")
    app.fulfilment.close_package(order_id, "K1")
    if box:
        app.costs.choose_box(order_id, box, "K1")
    app.fulfilment.weigh(order_id, grams, "K1")
    decision = choose(PackageFacts("浙江省", "杭州市", grams), standard_rules())
    app.fulfilment.assign_waybill(order_id, decision.courier, tracking, "HZ", decision.as_record())
    app.fulfilment.hand_over(order_id, "K1")
    return order_id


def day_figures(system) -> dict:
    system.catch_up()
    [day] = finance.daily_finance(system.engine)
    return day


def test_a_parcel_costs_its_box_and_the_courier_fee_the_rule_estimates(system):
    # same city, 400 g: the rule picks YTO, whose first kilo costs 3.00 there
    order_id = ship_tea(system.app, "C-1", "YT100", box="S")

    day = day_figures(system)
    one = finance.order_finance(system.engine, order_id)
    assert (one["packaging"], one["courier_fee"]) == (Decimal("1.20"), Decimal("3.00"))
    assert one["margin"] == day["margin"]
    [listed] = finance.orders_finance(system.engine)
    assert listed["courier_fee"] == Decimal("3.00")

    assert day["packaging"] == Decimal("1.20")
    assert day["courier_fee"] == Decimal("3.00")
    assert day["cogs"] == Decimal("35.50")
    assert day["margin"] == Decimal("20.00") - Decimal("1.20") - Decimal("3.00") - Decimal("35.50")


def test_the_couriers_bill_replaces_the_estimate_and_the_reconciliation_names_every_difference(system):
    app = system.app
    ship_tea(app, "C-2", "YT200", box="M")
    ship_tea(app, "C-3", "YT300", box="S")

    app.costs.upload_courier_bill("YTO", "2026-11", {2: {"tracking_no": "YT200", "fee": "3.60"},
                                                     3: {"tracking_no": "YT999", "fee": "4.00"}}, "ADMIN")

    day = day_figures(system)
    assert day["courier_fee"] == Decimal("3.60") + Decimal("3.00")
    assert day["packaging"] == Decimal("3.20")
    report = finance.courier_reconciliation(system.engine)
    [difference] = report["differences"].page(10)
    assert (difference["tracking_no"], difference["estimated"], difference["billed"], difference["difference"]) == (
        "YT200", Decimal("3.00"), Decimal("3.60"), Decimal("0.60"))
    assert [r["tracking_no"] for r in report["unknown"].page(10)] == ["YT999"]
    assert [r["tracking_no"] for r in report["unbilled"].page(10)] == ["YT300"]


def test_a_bill_with_a_bad_row_or_uploaded_twice_changes_nothing(system):
    app = system.app
    ship_tea(app, "C-4", "YT400")
    app.costs.upload_courier_bill("YTO", "B-1", {2: {"tracking_no": "YT400", "fee": "5.00"}}, "ADMIN")

    with pytest.raises(RowsRejected) as refused:
        app.costs.upload_courier_bill("YTO", "B-2", {2: {"tracking_no": "YT400", "fee": "9.00"},
                                                     3: {"tracking_no": "YT401", "fee": "-1"}}, "ADMIN")
    with pytest.raises(BillAlreadyUploaded):
        app.costs.upload_courier_bill("YTO", "B-1", {2: {"tracking_no": "YT400", "fee": "9.00"}}, "ADMIN")

    assert list(refused.value.errors) == [3]
    assert day_figures(system)["courier_fee"] == Decimal("5.00")


def test_a_box_type_without_a_price_is_refused_at_packing(system):
    with pytest.raises(InvalidInput):
        system.app.costs.set_box_price("XL", "-3", "ADMIN")
    with pytest.raises(InvalidInput, match="box types are: M, S"):
        ship_tea(system.app, "C-5", "YT500", box="XL")


def test_a_box_price_changed_later_leaves_parcels_shipped_before_at_the_old_price(system):
    app = system.app
    ship_tea(app, "C-6", "YT600", box="S")
    system.catch_up()

    app.costs.set_box_price("S", "1.50", "ADMIN")
    ship_tea(app, "C-7", "YT700", box="S")

    assert day_figures(system)["packaging"] == Decimal("2.70")
    assert app.costs.box_prices() == {"S": Decimal("1.50"), "M": Decimal("2.00")}


def test_dropship_lines_cost_the_supplier_price_and_no_box_or_courier_fee_of_ours(system):
    app = system.app
    [result] = app.orders.import_orders([order("D-1", (GIFT, 2))], warehouse="WH1")
    system.catch_up()
    [dropship_id] = open_dropship_ids(system.engine, "HZ-GIFT")

    app.dropship.record_shipment(UUID(dropship_id), "ZTO", "ZT1", "supplier:HZ-GIFT")

    day = day_figures(system)
    assert (day["cogs"], day["packaging"], day["courier_fee"]) == (Decimal("61.00"), 0, 0)
    assert day["margin"] == Decimal("40.00") - Decimal("61.00")
    [gift] = finance.sku_finance(system.engine, GIFT)
    assert (gift["cogs"], gift["units_shipped"]) == (Decimal("61.00"), 2)


def test_margin_per_day_and_channel_puts_sales_and_parcel_costs_together(system):
    app = system.app
    ship_tea(app, "C-8", "YT800", box="M")
    app.orders.import_orders([order("C-9", (TEA, 1), channel="jd")], warehouse="WH1")

    system.catch_up()
    rows = {r["channel"]: r for r in finance.margin_by_day_and_channel(system.engine)}

    assert rows["taobao"]["courier_fee"] == Decimal("3.00") and rows["taobao"]["packaging"] == Decimal("2.00")
    assert rows["taobao"]["margin"] == Decimal("20.00") - Decimal("35.50") - Decimal("2.00") - Decimal("3.00")
    assert (rows["jd"]["orders"], rows["jd"]["revenue"], rows["jd"]["cogs"]) == (1, Decimal("20.00"), 0)


def test_the_packer_scans_the_cartons_box_code_and_the_parcel_costs_that_box(system):
    app = system.app
    app.staff.register_staff("K1", "K1", "packer", PIN, "admin")
    [result] = app.orders.import_orders([order("C-20", (TEA, 1))], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", "W-20", [result["order_id"]], "S1")
    app.fulfilment.pick(wave, 0, app.fulfilment.wave(wave).lines[0]["bin"], TEA_EAN, 1, "P1")
    floor = Floor(system)

    answers = floor.scans("K1", "pack", "C-20", TEA_EAN)
    floor.scan("K1", "pack", "close", kind="action")
    box = floor.scan("K1", "pack", "M")
    weighed = floor.scan("K1", "pack", "420")

    assert [a.outcome for a in answers] == ["ok", "ok"]
    assert (box.outcome, box.key, box.params["box"]) == ("ok", "box_chosen", "M")
    assert (weighed.outcome, weighed.key) == ("ok", "weighed")
    assert app.screens.pack_view("pda-K1")["box"] == "M"
    assert app.fulfilment.package(result["order_id"]).box_type == "M"
