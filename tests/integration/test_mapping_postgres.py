"""Platform SKU mapping at the domain's largest values on PostgreSQL: the longest codes, titles and shop names on
the most order lines, and kits of the most SKUs at the most units, pass through every view."""

from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.limits import MAX_KIT_COMPONENTS, MAX_NAME, MAX_ORDER_LINES, MAX_UNITS
from domain.order import Buyer, OrderLine
from domain.services import NewOrder
from projections.channel_stock import channel_stock
from projections.unmapped_skus import unmapped_skus

pytestmark = pytest.mark.postgres

CHANNEL, SHOP = "渠" * 16, "旗" * 64  # a listing's channel is at most 16 characters
NAME = "特大号加厚纯棉连衣裙" * (MAX_NAME // 10)
REGION = {"province": "浙江省", "city": "杭州市", "district": "西湖区"}


def code(prefix: str, n: int) -> str:
    return f"{prefix}{'长' * (59 - len(prefix))}{n:05d}"  # 64 characters


def widest_order(number: str) -> NewOrder:
    return NewOrder(CHANNEL, SHOP, number, [
        OrderLine(n + 1, code("平台", n), code("编码", n), NAME, MAX_UNITS, Decimal("1000000"), Decimal("0"),
                  code("商品", n)) for n in range(MAX_ORDER_LINES)],
        Buyer("买" * 64, "王" * 40, "1" * 20, "浙江省杭州市" * 60), REGION, Decimal("1"))


@pytest.fixture
def system(make_system, postgres_url):
    built = make_system(postgres_url)
    built.app.catalogue.register_skus({n + 2: {"code": code("SKU", n), "name": NAME, "unit_weight_g": 1,
                                               "unit_cost": Decimal("1"), "safety_stock": 0}
                                       for n in range(MAX_KIT_COMPONENTS)})
    built.app.inventory.open_warehouse("WH1", "Hangzhou")
    return built


def test_the_widest_unmapped_order_and_the_largest_kit_pass_through_every_view(system):
    app = system.app
    kit = {code("SKU", n): MAX_UNITS for n in range(MAX_KIT_COMPONENTS)}
    app.orders.import_orders([widest_order("9" * 64)], warehouse="WH1")

    listed = unmapped_skus(system.fresh("unmapped_skus"))
    waiting, first = listed.count(), listed.page(1, 0)[0]
    mapped = system.map_platform_sku(CHANNEL, SHOP, code("平台", 0), kit, "审单员" * 20, code("商品", 0))
    system.map_platform_sku(CHANNEL, SHOP, code("平台", 0), {**kit, code("SKU", 0): 1}, "审单员")
    system.catch_up()

    assert waiting == MAX_ORDER_LINES
    assert first["title"] == NAME and first["shop"] == SHOP and first["outer_id"] == code("编码", 0)
    assert mapped["orders"][0]["mapped"] is True
    assert unmapped_skus(system.engine).count() == MAX_ORDER_LINES - 1
    [listing] = channel_stock(system.engine)
    assert listing["platform_sku"] == code("平台", 0)
    for name, runner in system.runners.items():
        status = runner.status()
        assert status.lag == 0 and status.stuck_at is None, f"{name} stopped at {status.position}: {status.error}"


def test_one_past_the_largest_kit_is_refused_and_writes_nothing(system):
    before = system.app.store.recorder.max_notification_id()
    kit = {code("SKU", n): 1 for n in range(MAX_KIT_COMPONENTS)}

    for channel, refused in ((CHANNEL, {**kit, "ONE-MORE": 1}), (CHANNEL, {code("SKU", 0): MAX_UNITS + 1}),
                             (CHANNEL + "渠", kit)):
        with pytest.raises(InvalidInput):
            system.map_platform_sku(channel, SHOP, "p1", refused, "审单员")

    assert system.app.store.recorder.max_notification_id() == before
