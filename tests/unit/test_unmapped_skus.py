"""The unmapped-SKU list: what orders wait for per channel, shop and platform SKU, until it is mapped; and the
file of mappings that maps them all together or none."""

import pytest

from cangku.mapping_import import import_mappings
from domain.errors import InvalidInput, RowsRejected
from projections.unmapped_skus import unmapped_skus, waiting_orders
from tests.builders import CUP, TEA, warehouse_with_catalogue
from tests.unit.test_platform_sku_mapping import GIFT_BOX, platform_order


@pytest.fixture
def system(make_system):
    system = make_system("memory:")
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10, (CUP, "A-01-02"): 10})
    return system


def listed(system) -> list[tuple]:
    return [(r["channel"], r["shop"], r["platform_sku"], r["item_id"], r["outer_id"], r["title"], r["orders"])
            for r in unmapped_skus(system.fresh("unmapped_skus"))]


def test_each_platform_sku_orders_wait_for_is_listed_with_how_many_orders_wait(system):
    system.app.orders.import_orders([platform_order("T1", (GIFT_BOX, "BOX-TEA", 1), ("p-cup", CUP, 1)),
                                     platform_order("T2", (GIFT_BOX, "BOX-TEA", 2)),
                                     platform_order("T3", ("999", "", 1)),
                                     platform_order("J1", (GIFT_BOX, "BOX-TEA", 1), channel="jd")], warehouse="WH1")

    assert listed(system) == [
        ("taobao", "flagship", GIFT_BOX, f"item-{GIFT_BOX}", "BOX-TEA", f"title {GIFT_BOX}", 2),
        ("jd", "flagship", GIFT_BOX, f"item-{GIFT_BOX}", "BOX-TEA", f"title {GIFT_BOX}", 1),
        ("taobao", "flagship", "999", "item-999", "", "title 999", 1),
    ]


def test_a_mapped_platform_sku_leaves_the_list_and_its_orders_are_reserved(system):
    results = system.app.orders.import_orders([platform_order("T1", (GIFT_BOX, "BOX-TEA", 1)),
                                               platform_order("T2", (GIFT_BOX, "BOX-TEA", 2))], warehouse="WH1")
    assert len(waiting_orders(system.fresh("unmapped_skus"), "taobao", "flagship", GIFT_BOX)) == 2

    mapped = system.map_platform_sku("taobao", "flagship", GIFT_BOX, {TEA: 1, CUP: 1}, "cs")

    assert (mapped["released"], mapped["reserved"]) == (2, 2)
    assert listed(system) == []
    assert [system.app.orders.order(r["order_id"]).status for r in results] == ["reserved", "reserved"]


def test_a_cancelled_or_refunded_order_no_longer_waits(system):
    [one, two] = system.app.orders.import_orders([platform_order("T1", (GIFT_BOX, "BOX-TEA", 1)),
                                                  platform_order("T2", (GIFT_BOX, "BOX-TEA", 1))], warehouse="WH1")
    system.catch_up()

    system.app.orders.cancel_order(one["order_id"], "buyer cancelled", "cs")
    system.app.orders.refund_order(two["order_id"], "cs", "buyer asked")

    assert listed(system) == []


def write(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "mappings.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_a_file_of_mappings_maps_kits_row_by_row_and_releases_their_orders(system, tmp_path):
    [waiting] = system.app.orders.import_orders([platform_order("T1", (GIFT_BOX, "BOX-TEA", 1))], warehouse="WH1")
    path = write(tmp_path, "channel,shop,platform_sku,sku,quantity,item_id\n"
                           f"taobao,flagship,{GIFT_BOX},{TEA},1,item-1\n"
                           f"taobao,flagship,{GIFT_BOX},{CUP},2,\n"
                           f"taobao,flagship,777,{CUP},1,\n", "gb18030")

    done = import_mappings(system, path, "cs")

    assert done == {"mapped": 2, "released": 1, "reserved": 1}
    assert system.app.orders.order(waiting["order_id"]).quantities() == {TEA: 1, CUP: 2}
    assert system.app.channels.listing("taobao", "flagship", "777")["components"] == {CUP: 1}


def test_a_file_with_one_bad_row_maps_nothing_and_names_the_row(system, tmp_path):
    path = write(tmp_path, "channel,shop,platform_sku,sku,quantity\n"
                           f"taobao,flagship,777,{CUP},1\n"
                           f"taobao,flagship,{GIFT_BOX},NO-SUCH-SKU,1\n"
                           f"taobao,flagship,888,{TEA},two\n")

    with pytest.raises(RowsRejected) as refused:
        import_mappings(system, path, "cs")

    assert set(refused.value.errors) == {4}  # quantity: checked before the SKUs
    path = write(tmp_path, "channel,shop,platform_sku,sku,quantity\n"
                           f"taobao,flagship,777,{CUP},1\n"
                           f"taobao,flagship,{GIFT_BOX},NO-SUCH-SKU,1\n")
    with pytest.raises(RowsRejected) as refused:
        import_mappings(system, path, "cs")
    assert refused.value.errors == {3: "unknown SKU 'NO-SUCH-SKU'"}
    with pytest.raises(InvalidInput, match="not mapped"):
        system.app.channels.listing("taobao", "flagship", "777")
