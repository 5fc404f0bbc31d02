"""Dropship and parcel costs on the SQLite file store and on PostgreSQL: a supplier's tracking number ships its
order and the dropship view follows; a courier's largest bill is stored in one piece and replaces the estimates."""

import re
import time
from decimal import Decimal
from uuid import UUID

import pytest
from click.testing import CliRunner

from cangku.audit_cli import audit
from domain.costs import MAX_BILL_LINES
from projections import finance
from projections.dropship import dropship_listing, open_dropship_ids
from tests.builders import order
from tests.unit.test_dropship import GIFT, dropship_world
from tests.unit.test_parcel_costs import ship_tea


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, sqlite_url):
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture
def system(make_system, database_url):
    built = make_system(database_url)
    dropship_world(built.app)
    built.app.costs.set_box_price("S", "1.20", "ADMIN")
    return built


def test_a_supplier_ships_its_dropship_order_and_finance_costs_it_at_the_supplier_price(system):
    app = system.app
    [result] = app.orders.import_orders([order("DS-1", (GIFT, 2))], warehouse="WH1")
    system.catch_up()
    [dropship_id] = open_dropship_ids(system.engine, "HZ-GIFT")

    app.dropship.record_shipment(UUID(dropship_id), "ZTO", "ZT" + "9" * 62, "supplier:HZ-GIFT")
    system.catch_up()

    assert app.orders.order(result["order_id"]).status == "shipped"
    [row] = dropship_listing(system.engine, "HZ-GIFT", "shipped").page(5)
    assert row["tracking_no"] == "ZT" + "9" * 62
    assert finance.order_finance(system.engine, result["order_id"])["cogs"] == Decimal("61.00")


def test_the_largest_courier_bill_is_stored_and_replaces_the_estimate(system):
    app = system.app
    ship_tea(app, "C-1", "YT00000", box="S")
    rows = {n + 2: {"tracking_no": f"YT{n:05d}", "fee": "3.10"} for n in range(MAX_BILL_LINES)}

    started = time.perf_counter()
    app.costs.upload_courier_bill("YTO", "2026-11", rows, "ADMIN")
    system.catch_up()
    seconds = time.perf_counter() - started

    [day] = finance.daily_finance(system.engine)
    assert day["courier_fee"] == Decimal("3.10")
    report = finance.courier_reconciliation(system.engine)
    assert report["unknown"].count() == MAX_BILL_LINES - 1
    assert seconds < 60


def test_a_log_with_dropship_orders_and_parcel_costs_passes_the_audit_check(system, database_url, tmp_path):
    app = system.app
    ship_tea(app, "C-9", "YT900", box="S")
    app.orders.import_orders([order("DS-9", (GIFT, 1)), order("DS-10", ("TEA-LJ-250", 1), (GIFT, 1))],
                             warehouse="WH1")
    system.catch_up()
    for dropship_id in open_dropship_ids(system.engine, "HZ-GIFT"):
        app.dropship.record_shipment(UUID(dropship_id), "ZTO", f"ZT{dropship_id[:8]}", "supplier:HZ-GIFT")
    app.costs.upload_courier_bill("YTO", "B-9", {2: {"tracking_no": "YT900", "fee": "3.20"}}, "ADMIN")
    system.catch_up()

    result = CliRunner().invoke(audit, ["check"], env={"CANGKU_DATABASE_URL": database_url,
                                                       "CANGKU_DATA_DIR": str(tmp_path)}, catch_exceptions=False)

    assert result.exit_code == 0, result.stdout
    assert "FAILED" not in result.stdout
    assert re.search(r"^ok +shipped_orders_scanned +[1-9][\d,]* checked$", result.stdout, re.M), result.stdout


def test_a_courier_bill_file_is_imported_from_the_command_line(system, database_url, tmp_path):
    from cangku.cli import main

    ship_tea(system.app, "C-7", "YT777")
    bill = tmp_path / "bill.csv"
    bill.write_text("tracking_no,fee\nYT777,4.20\n", encoding="gb18030")

    result = CliRunner().invoke(main, ["import", "courier-bill", str(bill), "--courier", "YTO", "--reference", "B-7"],
                                env={"CANGKU_DATABASE_URL": database_url, "CANGKU_DATA_DIR": str(tmp_path)},
                                catch_exceptions=False)
    system.catch_up()

    assert result.exit_code == 0, result.output
    assert "imported 1 bill lines" in result.output
    assert finance.daily_finance(system.engine)[0]["courier_fee"] == Decimal("4.20")
