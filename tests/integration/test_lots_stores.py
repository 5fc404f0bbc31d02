"""Lots on the SQLite file store and on PostgreSQL: received, reserved first expiring first, picked, shipped,
returned, counted and scrapped by lot; the audit's invariants hold and the recall report finds the orders."""

from datetime import date
from decimal import Decimal

import pytest

from projections.invariants import check_log
from projections.lots import expiring, recall
from tests.builders import order, warehouse_with_catalogue

MILK, MILK_GTIN = "MILK-1L", "6901234567892"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def system(request, make_system, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    built = make_system(url)
    app = built.app
    warehouse_with_catalogue(app)
    app.catalogue.edit_sku("TEA-LJ-250", "admin", barcodes=[])
    app.catalogue.register_sku(MILK, "纯牛奶 1L", [MILK_GTIN], 1030, Decimal("9.00"), 0, lot_tracked=True,
                               shelf_life_days=180)
    app.inventory.today = lambda: date(2026, 12, 3)
    return built


def test_a_lot_goes_from_receipt_to_the_buyer_and_back_with_every_invariant_holding(system):
    app = system.app
    app.inventory.receive("WH1", MILK, 6, "R1", lot="B1", expiry="2027-01-31")
    app.inventory.receive("WH1", MILK, 6, "R1", lot="B2", produced="2026-11-20")
    app.inventory.receive("WH1", MILK, 2, "R1", lot="B0", expiry="2026-11-30")
    app.inventory.put_away("WH1", MILK, "A-01-01", 6, "R1", lot="B2")
    app.inventory.put_away("WH1", MILK, "B-02-01", 6, "R1", lot="B1")
    app.inventory.put_away("WH1", MILK, "A-01-02", 2, "R1", lot="B0")
    [first, second] = app.orders.import_orders([order("M1", (MILK, 4)), order("M2", (MILK, 4))], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", "W1", [first["order_id"]], "S1")
    app.fulfilment.pick(wave, 0, "B-02-01", f"010{MILK_GTIN}\x1d10B1\x1d17270131", 4, "P1")
    for _ in range(4):
        app.fulfilment.verify_item(first["order_id"], MILK_GTIN, "K1")
    app.fulfilment.close_package(first["order_id"], "K1")
    app.fulfilment.weigh(first["order_id"], 4200, "K1")
    app.fulfilment.assign_waybill(first["order_id"], "LOCAL", "SF1", "HZ")
    app.fulfilment.hand_over(first["order_id"], "K1")
    app.fulfilment.receive_return(first["order_id"], MILK_GTIN, 1, True, "R1")
    app.counts.count("WH1", MILK, "B-02-01", 1, "cycle count", "C1")
    app.inventory.scrap("WH1", MILK, "A-01-02", 2, "expired", "S1")

    system.catch_up()
    stock = app.inventory.stock_of("WH1", MILK)
    report = recall(system.fresh("lots", "order_desk"), MILK, "B1")
    audit = check_log(app.store, system.fresh("inventory"))

    assert stock.held_lots(second["order_id"]) == {"B-02-01": {"B1": 1}, "A-01-01": {"B2": 3}}
    assert stock.lots_in("A-01-02") == {}
    assert stock.lots_in("RET-01") == {"B1": 1}
    assert [(o["platform_order_no"], o["shipped"], o["returned"]) for o in report["orders"]] == [("M1", 4, 1)]
    assert sorted((r["bin"], r["on_hand"]) for r in report["stock"]) == [("B-02-01", 1), ("RET-01", 1)]
    assert [r["lot"] for r in expiring(system.engine, date(2026, 12, 3), 60).page(10)] == ["B1"]
    assert audit.passed, [f.describe() for f in audit.failures]
    assert audit.checked["lots_within_bins"] >= 4


def test_the_longest_lot_fits_the_views_and_a_longer_one_is_refused(system):
    from domain.errors import InvalidInput
    from projections.lots import lot_stock_listing

    longest = "批" * 20

    system.app.inventory.receive("WH1", MILK, 10_000_000, "R1", lot=longest, expiry="2099-12-31")
    with pytest.raises(InvalidInput, match="1 to 20"):
        system.app.inventory.receive("WH1", MILK, 1, "R1", lot="L" * 21, expiry="2099-12-31")

    [row] = lot_stock_listing(system.fresh("lots")).page(10)
    assert (row["lot"], row["on_hand"], row["expiry"]) == (longest, 10_000_000, "2099-12-31")
