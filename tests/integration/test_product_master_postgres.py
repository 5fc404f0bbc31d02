"""The product master on PostgreSQL: the largest details the domain accepts pass through every view, and a file
that updates the catalogue lands whole or not at all."""

from decimal import Decimal

import pytest

from domain.errors import RowsRejected
from domain.limits import MAX_LENGTH_MM, MAX_MONEY, MAX_NAME, MAX_SHELF_LIFE_DAYS, MAX_UNITS, MAX_WEIGHT_G
from projections import catalogue, finance, replenishment

pytestmark = pytest.mark.postgres

CODE = "SKU-" + "长" * 60
NAME = "特大号加厚纯棉连衣裙" * (MAX_NAME // 10)
BARCODES = [f"{n:02d}" + "X" * 62 for n in range(20)]
LARGEST = {"unit_weight_g": MAX_WEIGHT_G, "length_mm": MAX_LENGTH_MM, "width_mm": MAX_LENGTH_MM,
           "height_mm": MAX_LENGTH_MM, "unit_cost": MAX_MONEY - Decimal("0.0001"), "safety_stock": MAX_UNITS,
           "lot_tracked": True, "shelf_life_days": MAX_SHELF_LIFE_DAYS}


@pytest.fixture
def system(make_system, postgres_url):
    return make_system(postgres_url)


def test_the_largest_sku_details_edited_and_retired_pass_through_every_view(system):
    app = system.app
    app.catalogue.register_sku(CODE, NAME, BARCODES[:10], **LARGEST)

    app.catalogue.edit_sku(CODE, "主管" * 30, name=NAME[::-1], barcodes=BARCODES[5:], unit_cost=MAX_MONEY)
    app.catalogue.retire_sku(CODE, "停产" * (MAX_NAME // 2), "主管" * 30)
    system.catch_up()

    for name, runner in system.runners.items():
        status = runner.status()
        assert status.lag == 0 and status.stuck_at is None, f"{name} stopped at {status.position}: {status.error}"
    record = catalogue.sku_record(system.engine, CODE)
    assert (record["name"], record["barcodes"], record["unit_cost"], record["retired"]) == (
        NAME[::-1], BARCODES[5:], MAX_MONEY, True)
    assert finance.sku_finance(system.engine, CODE)[0]["unit_cost"] == MAX_MONEY


def test_a_file_updating_some_skus_and_registering_others_lands_whole_and_the_views_follow(system):
    app = system.app
    app.catalogue.register_skus({n: {"code": f"AP-{n:04d}", "name": f"连衣裙 {n}", "unit_cost": Decimal("10")}
                                 for n in range(1_000)})

    counts = app.catalogue.upsert_skus({n: {"code": f"AP-{n:04d}", "name": f"连衣裙 {n}", "unit_cost": Decimal("12.50"),
                                            "safety_stock": 3} for n in range(500, 1_500)}, "import")
    system.catch_up()

    assert counts == {"registered": 500, "updated": 500, "unchanged": 0}
    costs = {r["sku"]: r["unit_cost"] for r in finance.sku_finance(system.engine)}
    assert (costs["AP-0499"], costs["AP-0500"], costs["AP-1499"]) == (Decimal("10"), Decimal("12.50"),
                                                                       Decimal("12.50"))
    [one] = replenishment.replenishment(system.engine, sku="AP-0700")
    assert one["safety_stock"] == 3


def test_a_file_with_one_bad_row_changes_nothing_on_postgres(system):
    app = system.app
    app.catalogue.register_sku("AP-0001", "连衣裙", unit_cost=Decimal("10"))
    before = app.store.recorder.max_notification_id()

    with pytest.raises(RowsRejected) as refused:
        app.catalogue.upsert_skus({2: {"code": "AP-0001", "unit_cost": Decimal("11")},
                                   3: {"code": "AP 0002", "name": "空格"}}, "import")

    assert list(refused.value.errors) == [3]
    assert app.store.recorder.max_notification_id() == before
    assert app.catalogue.get_sku("AP-0001")["unit_cost"] == Decimal("10")
