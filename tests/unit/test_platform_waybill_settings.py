"""CANGKU_PLATFORM_WAYBILLS: a Pinduoduo or Douyin shop's orders get that marketplace's own e-waybills (which read
the receiver ciphertexts the order came with), set up from the settings like every other courier."""

import pytest

from adapters.couriers.platform_waybills import DouyinWaybillClient, JdWaybillClient, PddWaybillClient
from cangku.bootstrap import courier_clients, shop_clients
from cangku.settings import ConfigurationError, Settings

SHOPS = {
    "CANGKU_SHOPS": "pinduoduo:pdd-flagship,douyin:dy-shop",
    "CANGKU_SHOP_PINDUODUO_PDD_FLAGSHIP_APP_KEY": "k", "CANGKU_SHOP_PINDUODUO_PDD_FLAGSHIP_APP_SECRET": "s",
    "CANGKU_SHOP_DOUYIN_DY_SHOP_APP_KEY": "k", "CANGKU_SHOP_DOUYIN_DY_SHOP_APP_SECRET": "s",
    "CANGKU_COURIER_KUAIDI100": '{"base_url": "http://127.0.0.1:1", "key": "k", "customer": "c"}',
}


def settings(**env) -> Settings:
    return Settings.from_env({**SHOPS, **{f"CANGKU_{k.upper()}": v for k, v in env.items()}})


def test_each_shop_named_gets_its_marketplace_s_e_waybill_for_the_courier_named():
    configured = settings(platform_waybills="pinduoduo:pdd-flagship=yto, douyin:dy-shop=ZTO")
    clients, tracker = courier_clients(configured, shop_clients(configured))
    assert isinstance(clients["pinduoduo/YTO"], PddWaybillClient)
    assert isinstance(clients["douyin/ZTO"], DouyinWaybillClient)
    assert clients["pinduoduo/YTO"].code == "PDD-YTO" and tracker is not None


@pytest.mark.parametrize("entry, refusal", [
    ("taobao:flagship=YTO", "issues no e-waybills"),
    ("pinduoduo:elsewhere=YTO", "not in CANGKU_SHOPS"),
    ("pinduoduo:pdd-flagship", "look like pinduoduo:flagship=YTO"),
])
def test_an_entry_that_cannot_work_stops_the_start_with_why(entry, refusal):
    with pytest.raises(ConfigurationError, match=refusal):
        settings(platform_waybills=entry)


def test_a_platform_e_waybill_needs_a_tracker_to_follow_its_parcels():
    env = {k: v for k, v in SHOPS.items() if "KUAIDI100" not in k}
    configured = Settings.from_env({**env, "CANGKU_PLATFORM_WAYBILLS": "pinduoduo:pdd-flagship=YTO"})
    with pytest.raises(ConfigurationError, match="KUAIDI100"):
        courier_clients(configured, shop_clients(configured))


def test_a_jd_shop_gets_jds_e_waybill_with_its_waybill_account():
    env = {**SHOPS, "CANGKU_SHOPS": "jd:jd-main", "CANGKU_SHOP_JD_JD_MAIN_APP_KEY": "k",
           "CANGKU_SHOP_JD_JD_MAIN_APP_SECRET": "s",
           "CANGKU_SHOP_JD_JD_MAIN_WAYBILL_ACCOUNT": '{"vendor_code": "V10086", "branch_code": "571001"}',
           "CANGKU_PLATFORM_WAYBILLS": "jd:jd-main=YTO"}
    configured = Settings.from_env(env)

    clients, _ = courier_clients(configured, shop_clients(configured))

    assert isinstance(clients["jd/YTO"], JdWaybillClient) and clients["jd/YTO"].code == "JD-YTO"
    assert clients["jd/YTO"]._vendor_code == "V10086"


def test_a_waybill_account_that_is_not_a_json_object_of_known_fields_stops_the_start():
    env = {**SHOPS, "CANGKU_SHOPS": "jd:jd-main", "CANGKU_SHOP_JD_JD_MAIN_WAYBILL_ACCOUNT": '{"vendor": 1}'}
    with pytest.raises(ConfigurationError, match="WAYBILL_ACCOUNT"):
        Settings.from_env(env)
