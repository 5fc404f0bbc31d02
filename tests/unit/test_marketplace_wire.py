"""Each client against its simulator in this process (WSGI, no socket): published signing examples pinned on both
sides, signers broken on purpose and refused, timestamps, per-second limits, token expiry and shop authorisation."""

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.marketplaces import PlatformAuthError, PlatformInvalidParameter, PlatformRateLimited
from adapters.marketplaces import douyin, jd, kuaishou, pinduoduo, taobao
from adapters.marketplaces.base import CHINA
from adapters.marketplaces.simulators import SIMULATORS
from adapters.marketplaces.simulators.douyin import doudian_sign
from adapters.marketplaces.simulators.jd import jos_sign
from adapters.marketplaces.simulators.kuaishou import kwai_sign
from adapters.marketplaces.simulators.pinduoduo import pop_sign
from adapters.marketplaces.simulators.taobao import top_sign
from tests.marketplaces import credentials_of, in_process

NOW = datetime(2026, 11, 1, 14, 0, 0, tzinfo=CHINA)
SIGNATURE_ERROR_CODES = {"taobao": "25", "jd": "12", "pinduoduo": "20004", "douyin": "40003", "kuaishou": "50"}
CALLBACK = "https://erp.example.com/shops/callback"


class Ticks:
    """A monotonic clock the test moves: the simulators' per-second windows without waiting a second."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=list(SIMULATORS), ids=list(SIMULATORS))
def sim(request):
    simulator = SIMULATORS[request.param](clock=lambda: NOW)
    simulator.seed(5, NOW - timedelta(hours=1), NOW)
    return simulator


def some_order(sim) -> str:
    return next(iter(sim.orders))


# -- published examples, the same on both sides --------------------------------------------------------------

def test_the_top_guide_example_signs_alike_in_the_client_and_the_simulator():
    # https://open.taobao.com/doc.htm?docId=101617&docType=1 (签名算法, secret "helloworld")
    params = {"method": "taobao.item.seller.get", "app_key": "12345678", "session": "test",
              "timestamp": "2016-01-01 12:00:00", "format": "json", "v": "2.0", "fields": "num_iid,title,nick,price,num",
              "num_iid": "11223344", "sign_method": "md5"}

    assert taobao.sign_top(params, "helloworld", "md5") == "66987CB115214E59E6EC978214934FB8"
    assert top_sign(params, "helloworld", "md5") == "66987CB115214E59E6EC978214934FB8"
    for method in ("hmac", "hmac-sha256"):
        assert taobao.sign_top(params, "helloworld", method) == top_sign(params, "helloworld", method)


def test_the_doudian_guide_example_signs_alike_in_the_client_and_the_simulator():
    # https://op.jinritemai.com/docs/guide-docs/10/813 (签名示例: app_key, secret, product.list, its timestamp)
    secret, key = "749698a6-fcb3-4358-b241-ec1d93cf9c1f", "6844048284663924231"
    args = (key, secret, "product.list", "2020-07-05 22:33:59", '{"page":"0","size":"20"}')

    for method in ("hmac-sha256", "md5"):
        assert douyin.sign_douyin(*args, method) == doudian_sign(*args, "2", method)
    pattern = (secret + "app_key6844048284663924231methodproduct.list"
               'param_json{"page":"0","size":"20"}timestamp2020-07-05 22:33:59v2' + secret)
    assert doudian_sign(*args, "2", "hmac-sha256") == hmac.new(secret.encode(), pattern.encode(),
                                                               hashlib.sha256).hexdigest()


def test_the_kuaishou_guide_example_signs_alike_in_the_client_and_the_simulator():
    # open.kwaixiaodian.com API guide, 签名算法说明: the sorted k=v string with &signSecret= appended
    params = {"access_token": "xxx", "appkey": "ks123", "method": "open.xxx.xxx",
              "param": '{"title":"短袖", "relItemId":123456, "categoryId":12}', "signMethod": "MD5",
              "timestamp": "1583271919000", "version": "1"}
    documented = ('access_token=xxx&appkey=ks123&method=open.xxx.xxx&param={"title":"短袖", "relItemId":123456, '
                  '"categoryId":12}&signMethod=MD5&timestamp=1583271919000&version=1&signSecret=xxxxxx')

    assert kuaishou.sign_kuaishou(params, "xxxxxx", "MD5") == hashlib.md5(documented.encode()).hexdigest()
    assert kwai_sign(params, "xxxxxx") == hashlib.md5(documented.encode()).hexdigest()
    hmac_params = {**params, "signMethod": "HMAC_SHA256"}
    assert kuaishou.sign_kuaishou(hmac_params, "xxxxxx", "HMAC_SHA256") == kwai_sign(hmac_params, "xxxxxx")


def test_jos_and_pop_signs_agree_between_client_and_simulator_on_chinese_parameters():
    # neither guide publishes a worked example; both describe secret + sorted name+value pairs + secret, upper MD5
    jos = {"method": "jingdong.pop.order.search", "access_token": "t", "app_key": "K", "timestamp": "2026-11-01 08:00:00",
           "format": "json", "v": "2.0", "360buy_param_json": '{"remark":"京东 <急>"}'}
    pop = {"type": "pdd.order.information.get", "client_id": "c", "access_token": "t", "timestamp": "1761955200",
           "data_type": "JSON", "version": "V1", "order_sn": "261101-1"}

    assert jd.sign_jd(jos, "s") == jos_sign(jos, "s")
    assert pinduoduo.sign_pdd(pop, "s") == pop_sign(pop, "s")


# -- a client that signs wrongly is refused ---------------------------------------------------------------

BROKEN_SIGNERS = {
    # hex in the wrong case
    "taobao": ("sign_top", lambda real: lambda params, secret, method="md5": real(params, secret, method).lower()),
    # the business parameters left out of the sign
    "jd": ("sign_jd", lambda real: lambda params, secret: real(
        {k: v for k, v in params.items() if k != "360buy_param_json"}, secret)),
    # the access token left out of the sign
    "pinduoduo": ("sign_pdd", lambda real: lambda params, secret: real(
        {k: v for k, v in params.items() if k != "access_token"}, secret)),
    # MD5 sent while sign_method says hmac-sha256
    "douyin": ("sign_douyin", lambda real: lambda *args, **kwargs: real(*args[:5], "md5")),
    # HMAC as hex instead of base64
    "kuaishou": ("sign_kuaishou", lambda real: lambda params, secret, method="HMAC_SHA256": hmac.new(
        secret.encode(), kuaishou.sign_string(params, secret).encode(), hashlib.sha256).hexdigest()),
}
MODULES = {"taobao": taobao, "jd": jd, "pinduoduo": pinduoduo, "douyin": douyin, "kuaishou": kuaishou}


def test_a_client_whose_signer_is_broken_is_refused_with_the_platforms_signature_error(sim, monkeypatch):
    name, breaking = BROKEN_SIGNERS[sim.channel]
    module = MODULES[sim.channel]
    monkeypatch.setattr(module, name, breaking(getattr(module, name)))

    with pytest.raises(PlatformAuthError) as refused:
        in_process(sim).order_detail(some_order(sim))

    assert refused.value.code == SIGNATURE_ERROR_CODES[sim.channel]
    assert sim.calls == []


# -- wire details settled against the guides --------------------------------------------------------------

def test_a_kuaishou_request_without_sign_method_is_refused_not_given_a_default():
    # open.kwaixiaodian.com API guide: signMethod is a required system parameter (MD5 or HMAC_SHA256)
    sim = SIMULATORS["kuaishou"](clock=lambda: NOW)
    params = {"appkey": sim.credentials.app_key, "access_token": sim.credentials.access_token,
              "method": "open.order.detail", "param": "{}", "timestamp": str(int(NOW.timestamp() * 1000)),
              "version": "1"}
    params["sign"] = hashlib.md5(kuaishou.sign_string(params, sim.credentials.sign_secret).encode()).hexdigest()

    answer = httpx.Client(transport=httpx.WSGITransport(app=sim)).get("http://simulator/open/order/detail",
                                                                       params=params).json()

    assert answer["result"] != 1 and "signMethod" in answer["error_msg"]


def test_jos_signs_every_parameter_sent_format_included_and_takes_the_sdks_long_timestamp():
    # http://jos.jd.com/doc/channel.htm?id=157: all request parameters but sign are signed; JOS accepts
    # yyyy-MM-dd HH:mm:ss and the official SDKs' yyyy-MM-dd HH:mm:ss.SSSZ
    sim = SIMULATORS["jd"](clock=lambda: NOW)
    sim.seed(1, NOW - timedelta(hours=1), NOW)
    wire = httpx.Client(transport=httpx.WSGITransport(app=sim))
    params = {"method": "jingdong.pop.order.get", "access_token": sim.credentials.access_token,
              "app_key": sim.credentials.app_key, "timestamp": NOW.strftime("%Y-%m-%d %H:%M:%S.000%z"),
              "format": "json", "v": "2.0", "360buy_param_json": f'{{"order_id":"{some_order(sim)}"}}'}
    params["sign"] = jd.sign_jd(params, sim.credentials.app_secret)

    accepted = wire.post("http://simulator/routerjson", data=params).json()
    refused = wire.post("http://simulator/routerjson", data={**params, "format": "xml"}).json()

    assert "jingdong_pop_order_get_responce" in accepted
    assert refused["error_response"]["code"] == "12"


@pytest.mark.parametrize("minutes_off", [9, -9])
def test_a_timestamp_within_ten_minutes_of_the_platform_clock_is_accepted(sim, minutes_off):
    client = in_process(sim, clock=lambda: NOW + timedelta(minutes=minutes_off))

    assert client.order_detail(some_order(sim)).order_no == some_order(sim)


@pytest.mark.parametrize("minutes_off", [11, -11])
def test_a_timestamp_more_than_ten_minutes_off_is_refused(sim, minutes_off):
    client = in_process(sim, clock=lambda: NOW + timedelta(minutes=minutes_off))

    with pytest.raises(PlatformInvalidParameter):
        client.order_detail(some_order(sim))

    assert sim.refusals == ["timestamp"] and sim.calls == []


# -- per-second limits -----------------------------------------------------------------------------------

def test_calls_beyond_the_platforms_per_second_limit_are_refused_and_the_client_waits_for_the_next_second(sim):
    ticks = Ticks()
    sim.ticks, sim.qps = ticks, 2
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        ticks.sleep(seconds)

    client = in_process(sim, sleep=sleep)
    for _ in range(3):
        client.order_detail(some_order(sim))

    assert sim.refusals == ["rate_limit"]
    assert waits == [1.0]
    assert len(sim.calls) == 3


def test_a_client_told_to_wait_longer_than_it_may_gives_up_with_the_platforms_rate_limit(sim):
    ticks = Ticks()
    sim.ticks, sim.qps = ticks, 1
    client = in_process(sim, sleep=lambda seconds: None, rate_limit_retries=2)
    client.order_detail(some_order(sim))

    with pytest.raises(PlatformRateLimited):
        client.order_detail(some_order(sim))

    assert sim.refusals == ["rate_limit"] * 3


# -- tokens ----------------------------------------------------------------------------------------------

def test_an_expired_access_token_is_refused_and_a_refreshed_one_is_accepted(sim):
    sim.expire_tokens()
    client = in_process(sim)

    with pytest.raises(PlatformAuthError):
        client.order_detail(some_order(sim))
    tokens = client.refresh(f"{sim.channel}-demo-refresh")
    refreshed = in_process(sim, credentials=credentials_of(sim, access_token=tokens.access_token))

    assert sim.refusals == ["token_expired"]
    assert refreshed.order_detail(some_order(sim)).order_no == some_order(sim)
    assert tokens.expires_at == NOW + sim.token_lifetime
    with pytest.raises(PlatformAuthError):
        client.refresh(f"{sim.channel}-demo-refresh")  # a refresh token is spent once used


def test_a_merchant_who_authorises_the_app_gives_it_tokens_for_that_shop(sim):
    client = in_process(sim, credentials=credentials_of(sim, access_token=""))
    consent = client.authorize_url(CALLBACK, state="shop-42")

    answer = httpx.Client(transport=httpx.WSGITransport(app=sim)).get(consent)
    back = urlsplit(answer.headers["location"])
    query = parse_qs(back.query)
    tokens = client.exchange_code(query["code"][0], CALLBACK)

    assert answer.status_code == 302 and f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    assert query["state"] == ["shop-42"]
    assert sim.grants[tokens.access_token].shop == sim.shop
    authorised = in_process(sim, credentials=credentials_of(sim, access_token=tokens.access_token))
    assert authorised.order_detail(some_order(sim)).order_no == some_order(sim)
    with pytest.raises(PlatformAuthError):
        client.exchange_code(query["code"][0], CALLBACK)  # a code is good once


# -- buyers' personal data ---------------------------------------------------------------------------------

def test_receivers_arrive_masked_and_the_client_keeps_the_platforms_ciphertexts_as_they_came(sim):
    kept = sim.orders[some_order(sim)]

    receiver = in_process(sim).order_detail(some_order(sim)).receiver

    assert receiver.name == kept.receiver_name[0] + "*" * (len(kept.receiver_name) - 1)
    assert receiver.phone == kept.receiver_phone[:3] + "****" + kept.receiver_phone[-4:]
    assert kept.detail not in receiver.detail and (receiver.province, receiver.city) == (kept.province, kept.city)
    assert all(sim.sealed[text] for text in receiver.protected.values())  # byte for byte what the platform sent
    assert kept.receiver_phone not in "".join(receiver.protected.values())
    if sim.channel in ("taobao", "jd"):
        assert set(receiver.protected) == {"oaid"}
    else:
        assert {key: sim.sealed[text] for key, text in receiver.protected.items()} == {
            "name": kept.receiver_name, "phone": kept.receiver_phone, "address": kept.detail}
