"""A purchase order received by scan on the SQLite file store and on PostgreSQL: stock, the order's lines and the
moving-average cost are saved together, and finance costs later shipments at that average."""

from decimal import Decimal

import pytest

from projections import finance
from tests.builders import TEA, TEA_EAN, warehouse_with_catalogue
from tests.unit.test_product_master import ship


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def system(request, make_system, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    built = make_system(url)
    warehouse_with_catalogue(built.app, {(TEA, "A-01-01"): 10})
    built.app.purchasing.register_supplier("HZ-TEA", "杭州茶厂", 5, "S1")
    return built


def test_a_receipt_against_a_purchase_order_moves_stock_and_cost_together(system):
    app = system.app
    app.purchasing.draft_order("PO-1", "HZ-TEA", "WH1", [{"sku": TEA, "quantity": 10, "unit_cost": "41.50"}], "S1")
    app.purchasing.approve("PO-1", "S1")

    app.purchasing.receive("PO-1", TEA_EAN, 10, "R1")
    shipped = ship(system, "T1", TEA)
    system.catch_up()

    assert app.inventory.stock_levels("WH1", TEA)["RCV-01"]["on_hand"] == 10
    assert app.purchasing.purchase_order("PO-1")["lines"][TEA]["received"] == 10
    assert app.catalogue.get_sku(TEA)["unit_cost"] == Decimal("38.5000")
    assert finance.order_finance(system.engine, shipped)["cogs"] == Decimal("38.50")


def test_a_sent_order_and_a_revised_supplier_reach_the_view(system):
    from projections import purchasing

    app = system.app
    app.purchasing.draft_order("PO-2", "HZ-TEA", "WH1", [{"sku": TEA, "quantity": 5, "unit_cost": "40"}], "S1")
    app.purchasing.approve("PO-2", "S1")

    app.purchasing.send("PO-2", "csv", "S1")
    app.purchasing.revise_supplier("HZ-TEA", "杭州西湖茶厂", "张三 " + "8" * 190, 7, "S1")
    system.catch_up()

    shown = purchasing.purchase_order(system.engine, "PO-2")
    assert (shown["sent_via"], shown["sent_at"] is not None, shown["status"]) == ("csv", True, "approved")
    [supplier] = purchasing.suppliers(system.engine).page(10)
    assert (supplier["name"], len(supplier["contact"]), supplier["lead_time_days"]) == ("杭州西湖茶厂", 193, 7)
