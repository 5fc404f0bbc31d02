"""The largest values the domain accepts go through every view on PostgreSQL (which, unlike SQLite, enforces
column sizes), and one past each limit is refused before anything is written."""

from decimal import Decimal

import pytest

from domain.errors import InvalidInput, InvalidQuantity
from domain.limits import MAX_MONEY, MAX_NAME, MAX_ORDER_AMOUNT, MAX_ORDER_LINES, MAX_UNITS, MAX_WEIGHT_G
from domain.order import Buyer, OrderLine
from domain.services import NewOrder

pytestmark = pytest.mark.postgres

LONG_CODE = "SKU-" + "长" * 60  # 64 characters
NAME = "特大号加厚纯棉连衣裙" * (MAX_NAME // 10)
BIN = "A-" + "9" * 30  # 32 characters
BUYER = Buyer("买" * 64, "王" * 40, "1" * 20, "浙江省杭州市" * 60)
REGION = {"province": "浙江省", "city": "杭州市", "district": "西湖区"}


def sku(n: int) -> str:
    return f"{LONG_CODE[:-5]}{n:05d}"


def big_order(number: str, lines: int, quantity: int, price: Decimal) -> NewOrder:
    return NewOrder("渠" * 64, "旗" * 64, number, [
        OrderLine(n + 1, "p" * 64, sku(n), NAME, quantity, price, Decimal("0")) for n in range(lines)],
        BUYER, REGION, MAX_ORDER_AMOUNT, MAX_ORDER_AMOUNT, MAX_MONEY, MAX_MONEY, remark="备注" * 100)


@pytest.fixture
def system(make_system, postgres_url):
    built = make_system(postgres_url)
    app = built.app
    app.catalogue.register_skus({n + 2: {"code": sku(n), "name": NAME, "unit_weight_g": MAX_WEIGHT_G,
                                         "unit_cost": MAX_MONEY, "safety_stock": MAX_UNITS}
                                 for n in range(MAX_ORDER_LINES)})
    app.inventory.add_locations({2: ("WH1", "R" + BIN[1:], "R", "receiving", 0),
                                 3: ("WH1", "P" + BIN[1:], "P", "packing", 1_000_000),
                                 4: ("WH1", "X" + BIN[1:], "X", "returns", 1_000_000),
                                 5: ("WH1", BIN, "A", "storage", 1_000_000)})
    app.inventory.load_opening_stock({n + 2: ("WH1", sku(n), BIN, MAX_UNITS) for n in range(MAX_ORDER_LINES)},
                                     "期初" * 32)
    return built


def test_the_largest_accepted_values_pass_through_every_view(system):
    app = system.app
    app.inventory.receive("WH1", sku(0), MAX_UNITS, "收货员" * 20, reference="PO" + "9" * 62)
    app.inventory.put_away("WH1", sku(0), BIN, MAX_UNITS, "上架员" * 20)
    [big] = app.orders.import_orders([big_order("9" * 64, MAX_ORDER_LINES, MAX_UNITS, MAX_MONEY)],
                                     warehouse="WH1")
    if big["status"] != "reserved":
        app.orders.release_order(big["order_id"], "审单员")
        app.orders.reserve_order(big["order_id"], "WH1", "审单员")
    wave = app.fulfilment.create_wave("WH1", "W" + "9" * 31, [big["order_id"]], "主管")
    for index in range(3):
        app.fulfilment.pick(wave, index, BIN, sku(index), MAX_UNITS, "拣货员" * 20)
    app.inventory.count("WH1", sku(0), BIN, MAX_UNITS, "盘点" * 100, "盘点员")
    app.inventory.receive("WH1", sku(1), 1, "收货员")
    app.inventory.scrap("WH1", sku(1), "R" + BIN[1:], 1, "破损" * 100, "质检员")
    [small] = app.orders.import_orders([big_order("8" * 64, 1, 1, MAX_MONEY)], warehouse="WH1")
    order_id = small["order_id"]
    app.orders.release_order(order_id, "审单员")
    app.orders.reserve_order(order_id, "WH1", "审单员")
    small_wave = app.fulfilment.create_wave("WH1", "V" + "9" * 31, [order_id], "主管")
    app.fulfilment.pick(small_wave, 0, BIN, sku(0), 1, "拣货员")
    app.fulfilment.verify_item(order_id, sku(0), "打包员")
    app.fulfilment.close_package(order_id, "打包员")
    app.fulfilment.weigh(order_id, MAX_WEIGHT_G, "打包员")
    app.fulfilment.assign_waybill(order_id, "SF", "SF" + "9" * 38, "大头笔" * 20)
    app.fulfilment.hand_over(order_id, "交接员")
    app.fulfilment.receive_return(order_id, sku(0), 1, True, "退货员")
    app.orders.refund_order(order_id, "客服", "退款原因" * 50)

    system.catch_up()

    for name, runner in system.runners.items():
        status = runner.status()
        assert status.lag == 0, f"{name} stopped at {status.position} of {status.head}"


@pytest.mark.parametrize("change, refused", [
    (lambda app: app.catalogue.register_sku("TOO-LONG", "名" * (MAX_NAME + 1)), InvalidInput),
    (lambda app: app.catalogue.register_sku("TOO-COSTLY", "贵", unit_cost=MAX_MONEY + 1), InvalidInput),
    (lambda app: app.catalogue.register_sku("TOO-SAFE", "多", safety_stock=3_000_000_000), InvalidInput),
    (lambda app: app.catalogue.register_sku("TOO-HEAVY", "重", unit_weight_g=MAX_WEIGHT_G + 1), InvalidInput),
    (lambda app: app.inventory.receive("WH1", sku(0), 6901234500103, "收货员"), InvalidQuantity),
    (lambda app: app.inventory.count("WH1", sku(0), BIN, MAX_UNITS + 1, "盘点", "盘点员"), InvalidQuantity),
    (lambda app: app.orders.import_orders([big_order("L1", MAX_ORDER_LINES + 1, 1, Decimal("1"))]), InvalidInput),
    (lambda app: app.orders.import_orders([big_order("L2", 1, 3_000_000_000, Decimal("1"))]), InvalidQuantity),
    (lambda app: app.orders.import_orders([big_order("L3", 1, 1, MAX_MONEY + 1)]), InvalidInput),
])
def test_one_past_a_limit_is_refused_and_writes_nothing(system, change, refused):
    before = system.app.store.recorder.max_notification_id()

    with pytest.raises(refused):
        change(system.app)

    assert system.app.store.recorder.max_notification_id() == before
