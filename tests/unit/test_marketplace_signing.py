"""Marketplace protocols without a network: signatures, time formats, and how error bodies map to our errors."""

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from adapters.marketplaces import (
    PlatformAuthError,
    PlatformInvalidParameter,
    PlatformMalformedResponse,
    PlatformRateLimited,
    PlatformServerError,
    Receiver,
    ShopCredentials,
)
from adapters.marketplaces.douyin import DouyinClient, douyin_timestamp, param_json, sign_douyin, sign_pattern
from adapters.marketplaces.jd import JdClient, jd_timestamp, sign_jd
from adapters.marketplaces.kuaishou import KuaishouClient, kuaishou_timestamp, sign_kuaishou, sign_string
from adapters.marketplaces.pinduoduo import PinduoduoClient, pdd_timestamp, sign_pdd
from adapters.marketplaces.simulators.douyin import canonical_param_json
from adapters.marketplaces.taobao import TaobaoClient, sign_top, top_timestamp

MIDNIGHT_UTC = datetime(2026, 11, 1, 0, 0, 0, tzinfo=timezone.utc)

# The worked example of TOP's signing documentation (secret "helloworld").
TOP_DOC_PARAMS = {
    "method": "taobao.item.seller.get",
    "app_key": "12345678",
    "session": "test",
    "timestamp": "2016-01-01 12:00:00",
    "format": "json",
    "v": "2.0",
    "fields": "num_iid,title,nick,price,num",
    "num_iid": "11223344",
}

# The worked example of the Douyin shop signing guide (section 6).
DOUYIN_DOC_SECRET = "749698a6-fcb3-4358-b241-ec1d93cf9c1f"
DOUYIN_DOC_KEY = "6844048284663924231"


def test_taobao_md5_sign_matches_the_top_documentation_example():
    params = {**TOP_DOC_PARAMS, "sign_method": "md5"}

    assert sign_top(params, "helloworld", "md5") == "66987CB115214E59E6EC978214934FB8"


def test_taobao_hmac_signs_are_upper_case_hex_keyed_by_the_secret():
    hmac_md5 = sign_top({**TOP_DOC_PARAMS, "sign_method": "hmac"}, "helloworld", "hmac")
    hmac_sha256 = sign_top({**TOP_DOC_PARAMS, "sign_method": "hmac-sha256"}, "helloworld", "hmac-sha256")

    assert hmac_md5 == "D56D7858309C31B6251083A874D48273"
    assert hmac_sha256 == "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8"


def test_taobao_sign_leaves_out_the_sign_itself_and_empty_values():
    params = {**TOP_DOC_PARAMS, "sign_method": "md5"}

    with_extras = {**params, "sign": "ANYTHING", "partner_id": ""}

    assert sign_top(with_extras, "helloworld") == sign_top(params, "helloworld")


def test_jd_sign_hashes_chinese_business_parameters_as_utf8():
    params = {
        "method": "jingdong.pop.order.search",
        "access_token": "jd-token",
        "app_key": "JDKEY",
        "timestamp": "2026-11-01 08:00:00",
        "format": "json",
        "v": "2.0",
        "360buy_param_json": '{"order_state":"WAIT_SELLER_STOCK_OUT","remark":"京东"}',
    }

    assert sign_jd(params, "jdsecret") == "7A9FEB9BF54962E0E9E5CB28D68A00D4"


def test_pinduoduo_sign_is_upper_md5_of_the_secret_wrapped_sorted_pairs():
    params = {
        "type": "pdd.order.number.list.increment.get",
        "client_id": "pddclient",
        "access_token": "pddtoken",
        "timestamp": "1761955200",
        "data_type": "JSON",
        "version": "V1",
        "page": "1",
        "page_size": "100",
    }

    assert sign_pdd(params, "pddsecret") == "2D1C4D06A53E38C7C27920C086923AF9"


def test_douyin_sign_pattern_matches_the_documented_example():
    pattern = sign_pattern(DOUYIN_DOC_KEY, DOUYIN_DOC_SECRET, "product.list", "2020-07-05 22:33:59",
                           '{"page":"0","size":"20"}')

    assert pattern == (DOUYIN_DOC_SECRET + "app_key6844048284663924231methodproduct.list"
                       'param_json{"page":"0","size":"20"}timestamp2020-07-05 22:33:59v2' + DOUYIN_DOC_SECRET)


def test_douyin_signs_are_lower_case_hmac_sha256_or_md5_of_the_pattern():
    args = (DOUYIN_DOC_KEY, DOUYIN_DOC_SECRET, "product.list", "2020-07-05 22:33:59", '{"page":"0","size":"20"}')

    assert sign_douyin(*args, "hmac-sha256") == "a84fc5747114e63196565192a19f80d9d78819b8c8f5940eeb282bf78260901d"
    assert sign_douyin(*args, "md5") == "0a1288b4f742252692e6d5e006035e82"


def test_douyin_param_json_sorts_keys_at_every_depth_and_leaves_html_characters_as_they_are():
    # https://op.jinritemai.com/docs/guide-docs/10/813: the guide's example re-serialises with
    # SetEscapeHTML(false), so <, > and & are signed as themselves, not as \u003c escapes
    payload = {"size": 20, "page": 0, "filter": {"title": "A&B <new>", "code": "x=1"}}

    text = param_json(payload)

    assert text == '{"filter":{"code":"x=1","title":"A&B <new>"},"page":0,"size":20}'
    assert text == canonical_param_json(json.loads(text))


def test_kuaishou_signs_the_sorted_system_parameters_with_the_sign_secret():
    params = {
        "access_token": "xxx",
        "appkey": "ks123",
        "method": "open.order.detail",
        "param": '{"oid":2300000000000001}',
        "signMethod": "MD5",
        "timestamp": "1583271919000",
        "version": "1",
        "sign": "ignored",
    }

    assert sign_string(params, "ks-sign-secret") == (
        'access_token=xxx&appkey=ks123&method=open.order.detail&param={"oid":2300000000000001}'
        "&signMethod=MD5&timestamp=1583271919000&version=1&signSecret=ks-sign-secret"
    )
    assert sign_kuaishou(params, "ks-sign-secret", "MD5") == "fe83082c88c74cb6ea9722d2b4213887"
    hmac_params = {**params, "signMethod": "HMAC_SHA256"}
    assert sign_kuaishou(hmac_params, "ks-sign-secret", "HMAC_SHA256") == "Qseiwt1WmHwkWXyZFbG3wjBp2wd+LKDs2/8LU1s7bi8="


def test_top_and_jd_timestamps_are_beijing_wall_clock_time():
    assert top_timestamp(MIDNIGHT_UTC) == "2026-11-01 08:00:00"
    assert jd_timestamp(MIDNIGHT_UTC + timedelta(hours=16, seconds=5)) == "2026-11-02 00:00:05"


def test_pinduoduo_and_douyin_send_unix_seconds_and_kuaishou_milliseconds():
    assert pdd_timestamp(MIDNIGHT_UTC) == "1793491200"
    assert douyin_timestamp(MIDNIGHT_UTC) == "1793491200"
    assert kuaishou_timestamp(MIDNIGHT_UTC + timedelta(milliseconds=250)) == "1793491200250"


def test_a_naive_datetime_is_refused_with_a_named_error():
    with pytest.raises(PlatformInvalidParameter, match="timezone-aware"):
        top_timestamp(datetime(2026, 11, 1, 8, 0))


# -- error bodies --------------------------------------------------------------------------------------

CREDENTIALS = ShopCredentials(app_key="app-key", app_secret="s3cret-value", access_token="t0ken-value",
                              shop="shop-1", sign_secret="sign-s3cret")


def client_answering(client_class, body, status=200, **options):
    def reply(request: httpx.Request) -> httpx.Response:
        if isinstance(body, (dict, list)):
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=body)

    http = httpx.Client(transport=httpx.MockTransport(reply))
    return client_class(CREDENTIALS, base_url="http://platform.test", http=http, **options)


PLATFORM_ERRORS = [
    (TaobaoClient, {"error_response": {"code": 25, "msg": "Invalid signature"}}, PlatformAuthError),
    (TaobaoClient, {"error_response": {"code": 27, "msg": "Invalid session"}}, PlatformAuthError),
    (TaobaoClient, {"error_response": {"code": 41, "msg": "Invalid arguments", "sub_code": "isv.invalid-parameter"}},
     PlatformInvalidParameter),
    (TaobaoClient, {"error_response": {"code": 15, "msg": "Remote service error", "sub_code": "isp.top-remote-unknown-error"}},
     PlatformServerError),
    (JdClient, {"error_response": {"code": "12", "zh_desc": "无效签名", "en_desc": "Invalid Signature"}}, PlatformAuthError),
    (JdClient, {"error_response": {"code": "2", "zh_desc": "限制时间内调用失败次数", "en_desc": "App Call Limited"}},
     PlatformRateLimited),
    (JdClient, {"error_response": {"code": "66", "zh_desc": "平台连接后端服务不可用"}}, PlatformServerError),
    (JdClient, {"jingdong_pop_order_get_responce": {"code": "0", "orderDetailInfo": {"apiResult": {
        "success": False, "englishErrCode": "param error", "chineseErrCode": "参数错误"}}}}, PlatformInvalidParameter),
    (PinduoduoClient, {"error_response": {"error_code": 20004, "error_msg": "签名验证失败"}}, PlatformAuthError),
    (PinduoduoClient, {"error_response": {"error_code": 10019, "error_msg": "access_token已过期"}}, PlatformAuthError),
    (PinduoduoClient, {"error_response": {"error_code": 70031, "error_msg": "调用过于频繁"}}, PlatformRateLimited),
    (PinduoduoClient, {"error_response": {"error_code": 10000, "error_msg": "参数错误"}}, PlatformInvalidParameter),
    (PinduoduoClient, {"error_response": {"error_code": 50001, "error_msg": "业务服务错误"}}, PlatformServerError),
    (DouyinClient, {"code": 40003, "msg": "非法的参数", "sub_code": "isv.signature-invalid", "sub_msg": "签名校验失败"},
     PlatformAuthError),
    (DouyinClient, {"code": 40003, "msg": "非法的参数", "sub_code": "isv.access-token-expired"}, PlatformAuthError),
    (DouyinClient, {"code": 60000, "msg": "超过限流限制"}, PlatformRateLimited),
    (DouyinClient, {"code": 40004, "msg": "非法的参数（业务校验）"}, PlatformInvalidParameter),
    (DouyinClient, {"code": 50000, "msg": "通用服务器错误"}, PlatformServerError),
    (KuaishouClient, {"result": 50, "error_msg": "签名验证失败"}, PlatformAuthError),
    (KuaishouClient, {"result": 1017, "error_msg": "Exceed qps limit, KEY [apiId:open.order.detail], MAX_QPS [300.0]"},
     PlatformRateLimited),
    (KuaishouClient, {"result": 300004, "error_msg": "SEARCH TIME RANGE EXPAND 7 DAYS"}, PlatformInvalidParameter),
    (KuaishouClient, {"result": 500, "error_msg": "系统繁忙"}, PlatformServerError),
]


@pytest.mark.parametrize(("client_class", "body", "expected"), PLATFORM_ERRORS,
                         ids=[f"{c.channel}-{e.__name__}-{i}" for i, (c, _, e) in enumerate(PLATFORM_ERRORS)])
def test_an_http_200_error_body_becomes_the_matching_named_error(client_class, body, expected):
    client = client_answering(client_class, body)

    with pytest.raises(expected) as raised:
        client.order_detail("2300000000000001")

    assert raised.value.channel == client_class.channel


def test_taobao_rate_limit_carries_the_ban_length_as_retry_after():
    client = client_answering(TaobaoClient, {"error_response": {
        "code": 7, "msg": "App Call Limited", "sub_code": "accesscontrol.limited-by-app-access-count",
        "sub_msg": "This ban will last for 3 more seconds"}})

    with pytest.raises(PlatformRateLimited) as raised:
        client.order_detail("123")

    assert raised.value.retry_after == 3.0


@pytest.mark.parametrize("client_class", [TaobaoClient, JdClient, PinduoduoClient, DouyinClient, KuaishouClient])
def test_a_body_that_is_not_json_is_a_malformed_response(client_class):
    client = client_answering(client_class, "<html>gateway maintenance</html>")

    with pytest.raises(PlatformMalformedResponse):
        client.order_detail("2300000000000001")


@pytest.mark.parametrize("client_class", [TaobaoClient, JdClient, PinduoduoClient, DouyinClient, KuaishouClient])
def test_a_5xx_status_is_a_server_error(client_class):
    client = client_answering(client_class, "upstream down", status=503)

    with pytest.raises(PlatformServerError, match="HTTP 503"):
        client.order_detail("2300000000000001")


def test_error_messages_never_repeat_the_secret_or_the_token():
    client = client_answering(PinduoduoClient, {"error_response": {
        "error_code": 10019, "error_msg": "token t0ken-value expired", "sub_msg": "secret s3cret-value"}})

    with pytest.raises(PlatformAuthError) as raised:
        client.order_detail("231101-1")

    assert "t0ken-value" not in str(raised.value)
    assert "s3cret-value" not in str(raised.value)


def test_credentials_and_receivers_print_without_secrets_or_personal_data():
    receiver = Receiver("张三丰", "13812345678", "浙江省", "杭州市", "西湖区", "文三路 90 号")

    printed = repr(CREDENTIALS) + repr(receiver)

    for secret in ("s3cret-value", "t0ken-value", "sign-s3cret", "张三丰", "13812345678", "文三路"):
        assert secret not in printed
    assert "app-key" in printed


def test_an_unknown_courier_is_refused_before_anything_is_sent():
    sent = []
    http = httpx.Client(transport=httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200)))
    client = TaobaoClient(CREDENTIALS, base_url="http://platform.test", http=http)

    with pytest.raises(PlatformInvalidParameter, match="unknown courier"):
        client.confirm_shipment("123", "PIGEON", "P-1")

    assert sent == []


def test_a_json_answer_missing_documented_fields_is_a_malformed_response():
    client = client_answering(TaobaoClient, {"trade_fullinfo_get_response": {"trade": {"tid": 1, "status": "WAIT_SELLER_SEND_GOODS"}}})

    with pytest.raises(PlatformMalformedResponse):
        client.order_detail("1")


def test_tokens_and_signs_in_request_urls_are_masked_in_http_logs(caplog):
    client = client_answering(DouyinClient, {"code": 50000, "msg": "通用服务器错误"})

    with caplog.at_level("INFO", logger="httpx"), pytest.raises(PlatformServerError):
        client.order_detail("6920000000000000001")

    assert "access_token=%2A%2A%2A" in caplog.text or "access_token=***" in caplog.text
    assert "t0ken-value" not in caplog.text
    assert "sign=%2A%2A%2A" in caplog.text or "sign=***" in caplog.text
