"""A local Kuaishou shop open platform: API paths, k=v&signSecret signing, cursor lists, {result} errors.

Written from the Kuaishou e-commerce open platform's API guide (open.kwaixiaodian.com, 签名算法说明): the request
parameters but `sign` sorted by name as name=value joined with &, then &signSecret=<the signSecret the platform
issued with the app, not the app secret>; signMethod MD5 (lower-case hex) or HMAC_SHA256 keyed by the signSecret
(base64). signMethod is required: there is no default. The timestamp is unix milliseconds. Tokens come from
/oauth2/access_token and /oauth2/refresh_token with the app secret; the official SDK signs API calls with
AccessTokenKsMerchantClient(appKey, signSecret) (SDK使用说明, pageSign 2cb0d14623549774e8c8e06994bbcadb1614263973792)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from .base import (
    SKUS,
    Call,
    Grant,
    MarketplaceSimulator,
    OrderStatus,
    PlatformRefusal,
    RefundStatus,
    SimOrder,
    SimRefund,
    from_epoch,
    masked_detail,
    masked_name,
    masked_phone,
)

NO_MORE = "nomore"

STATUS = {OrderStatus.PAID: 30, OrderStatus.REFUND_REQUESTED: 30, OrderStatus.SHIPPED: 40, OrderStatus.CANCELLED: 80}
REFUND_STATUS = {
    RefundStatus.REQUESTED: 10,
    RefundStatus.AGREED: 20,
    RefundStatus.RETURNING: 21,
    RefundStatus.REFUSED: 40,
    RefundStatus.REFUNDED: 60,
    RefundStatus.CLOSED: 70,
}
ERRORS = {
    "signature": (50, "签名验证失败"),
    "timestamp": (300004, "参数错误：timestamp 与服务器时间相差过大"),
    "auth": (28, "access_token 无效"),
    "token_expired": (28, "access_token 已过期"),
    "invalid_grant": (28, "code 或 refresh_token 无效或已过期"),
    "rate_limit": (1017, "Exceed qps limit, KEY [apiId:{api};appkey:{appkey}], MAX_QPS [300.0]"),
    "invalid": (300004, "参数错误"),
    "not_found": (300011, "订单不存在"),
}
OAUTH_ERRORS = {"invalid_client": 100010, "unsupported_grant_type": 100011, "invalid_grant": 100012}
MAX_PAGE_SIZE = 50
MAX_WINDOW = timedelta(days=7)


def kwai_sign(received: Mapping[str, str], sign_secret: str) -> str:
    """The sign the platform expects for the parameters received."""
    text = "&".join(f"{name}={received[name]}" for name in sorted(received) if name != "sign")
    text += f"&signSecret={sign_secret}"
    if received["signMethod"] == "MD5":
        return hashlib.md5(text.encode("utf-8")).hexdigest()
    keyed = hmac.new(sign_secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(keyed.digest()).decode("ascii")


def fen(amount) -> int:
    return int(amount * 100)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class KuaishouSimulator(MarketplaceSimulator):
    """Kuaishou shop as an app sees it: one SKU per order, cursor pages of at most 50, windows of 7 days."""

    channel = "kuaishou"
    token_lifetime = timedelta(hours=48)
    refresh_lifetime = timedelta(days=180)
    qps = 300
    order_api = "open.order.cursor.list"
    demo_app_key = "ks6887777777779839"
    gateway_path = ""
    consent_client_field = "app_id"
    max_lines = 1

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._current_api = ""

    def demo_sign_secret(self) -> str:
        return "kuaishou-demo-sign-secret"

    def throttle_key(self, call: Call) -> str:
        return f"{call.api};{self.credentials.app_key}"

    def _order_no(self, rng, created: datetime) -> str:
        return str(rng.randint(2 * 10**15, 3 * 10**15))

    def read_call(self, request: Request) -> Call:
        raw = {**request.args.to_dict(), **request.form.to_dict()}
        for name in ("appkey", "method", "timestamp", "sign", "version", "signMethod"):
            if not raw.get(name):
                raise PlatformRefusal("invalid", f"缺少参数 {name}")
        if request.path.strip("/").replace("/", ".") != raw["method"]:
            raise PlatformRefusal("invalid", "Invalid url")
        try:
            param = json.loads(raw.get("param") or "{}")
        except ValueError:
            raise PlatformRefusal("invalid", "param 不是合法的 JSON") from None
        self._current_api = raw["method"]
        return Call(raw["method"], param if isinstance(param, dict) else {}, raw)

    def sent_at(self, call: Call) -> datetime:
        if not call.raw["timestamp"].isdigit():
            raise PlatformRefusal("timestamp")
        return from_epoch(int(call.raw["timestamp"]) / 1000)

    def check_signature(self, call: Call, request: Request) -> None:
        if call.raw["signMethod"] not in ("MD5", "HMAC_SHA256") or call.raw["appkey"] != self.credentials.app_key:
            raise PlatformRefusal("signature")
        if not self.credentials.sign_secret:
            raise PlatformRefusal("signature", "应用没有 signSecret")
        if not hmac.compare_digest(kwai_sign(call.raw, self.credentials.sign_secret), call.raw["sign"]):
            raise PlatformRefusal("signature")

    def oauth_pages(self) -> dict[str, Callable[[Request], Response]]:
        return {"/oauth/authorize": self.consent, "/oauth2/access_token": self.access_token,
                "/oauth2/refresh_token": self.refresh_token}


    def _token_answer(self, request: Request, grant_type: str, redeem: Callable[[str], Grant], name: str) -> Response:
        try:
            grant = self.token_request(request, "app_id", grant_type, redeem, name)
        except PlatformRefusal as refusal:
            return self.json({"result": OAUTH_ERRORS[refusal.kind], "error": refusal.kind, "error_msg": refusal.message})
        now = self.clock()
        return self.json({"result": 1, "access_token": grant.access_token, "refresh_token": grant.refresh_token,
                          "expires_in": int((grant.expires_at - now).total_seconds()),
                          "refresh_token_expires_in": int((grant.refresh_expires_at - now).total_seconds()),
                          "open_id": grant.shop, "scopes": ["merchant_order", "merchant_item"]})

    def access_token(self, request: Request) -> Response:
        return self._token_answer(request, "code", self.redeem_code, "code")

    def refresh_token(self, request: Request) -> Response:
        return self._token_answer(request, "refresh_token", self.redeem_refresh_token, "refresh_token")

    def refusal(self, refusal: PlatformRefusal) -> Response:
        code, message = ERRORS[refusal.kind if refusal.kind in ERRORS else "auth"]
        if refusal.kind == "rate_limit":
            message = message.format(api=self._current_api, appkey=self.credentials.app_key)
        elif refusal.kind in ("invalid", "not_found") and refusal.message:
            message = refusal.message
        return self.json({"result": code, "error_msg": message, "code": str(code), "request_id": "sim"})

    def malformed_prefix(self, call: Call) -> str:
        return "result\": 1, \"data"

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "open.order.cursor.list": self.cursor_list,
            "open.order.detail": self.detail,
            "open.seller.order.goods.deliver": self.deliver,
            "open.order.decrypt.batch": self.decrypt_batch,
            "open.item.sku.list.get": self.sku_list,
            "open.item.sku.stock.update": self.stock_update,
            "open.seller.order.refund.pcursor.list": self.refund_list,
        }

    @staticmethod
    def success(data: Any) -> dict:
        return {"result": 1, "msg": "success", "data": data}

    def _window(self, params: dict[str, Any]) -> tuple[datetime, datetime, int, bool]:
        start = from_epoch(self.integer(params, "beginTime") / 1000)
        end = from_epoch(self.integer(params, "endTime") / 1000)
        if end < start or end - start > MAX_WINDOW:
            raise PlatformRefusal("invalid", "SEARCH TIME RANGE EXPAND 7 DAYS 查询范围不能大于7天")
        size = self.integer(params, "pageSize", 20)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise PlatformRefusal("invalid", "每页请求数量 最多一页50条")
        return start, end, size, self.integer(params, "sort", 1) == 2

    @staticmethod
    def _after(items: list, key: Callable[[Any], tuple], cursor: str, ascending: bool) -> list:
        if not cursor:
            return items
        try:
            millis_text, number = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
            mark = (int(millis_text), number)
        except ValueError:
            raise PlatformRefusal("invalid", "cursor 不合法") from None
        return [i for i in items if (key(i) > mark if ascending else key(i) < mark)]

    def _cursor_page(self, items: list, key: Callable[[Any], tuple], params: dict[str, Any], cursor_key: str):
        start, end, size, ascending = self._window(params)
        items = sorted(items, key=key, reverse=not ascending)
        rest = self._after(items, key, str(params.get(cursor_key) or ""), ascending)
        page = rest[:size]
        if len(rest) > size:
            last_millis, last_number = key(page[-1])
            cursor = base64.urlsafe_b64encode(f"{last_millis}:{last_number}".encode()).decode()
        else:
            cursor = NO_MORE
        return page, cursor

    def cursor_list(self, params: dict[str, Any]) -> dict:
        start, end, _, _ = self._window(params)
        page, cursor = self._cursor_page(self.window(start, end), lambda o: (millis(o.modified), o.order_no),
                                         params, "cursor")
        return self.success({"cursor": cursor, "orderList": [render(o, self.seal) for o in page]})

    def detail(self, params: dict[str, Any]) -> dict:
        return self.success(render(self.find(str(params.get("oid", ""))), self.seal))

    def decrypt_batch(self, params: dict[str, Any]) -> dict:
        """open.order.decrypt.batch: batchDecryptList [{bizId: order id, encryptedData}] → decryptList."""
        found = self.unseal_each(params.get("batchDecryptList"), "open.order.decrypt.batch", "bizId", "encryptedData")
        return self.success({"decryptList": [
            {"bizId": item["bizId"], "encryptedData": item["encryptedData"], "decryptedData": text, "errorCode": 0}
            for item, text in found]})

    def deliver(self, params: dict[str, Any]) -> dict:
        if not params.get("expressNo") or not params.get("expressCode"):
            raise PlatformRefusal("invalid", "expressNo 和 expressCode 必填")
        self.record_shipment(str(params.get("orderId", "")), params["expressCode"], params["expressNo"])
        return self.success(None)

    def sku_list(self, params: dict[str, Any]) -> dict:
        item_id = str(params.get("kwaiItemId", ""))
        skus = [{"kwaiSkuId": int(sku_id), "kwaiItemId": int(item), "skuNick": code, "skuStock": self.stock.get(sku_id, 0)}
                for item, sku_id, code, _, _ in SKUS if item == item_id]
        if not skus:
            raise PlatformRefusal("not_found", "商品不存在")
        return self.success(skus)

    def stock_update(self, params: dict[str, Any]) -> dict:
        sku_id = self.find_sku(str(params.get("skuId", "")))
        change, change_type = self.integer(params, "skuChangeStock"), self.integer(params, "changeType")
        if not 0 < change < 9999999 or change_type not in (1, 2):
            raise PlatformRefusal("invalid", "skuChangeStock 取值范围：大于 0 小于 9999999；changeType 1-增加 2-减少")
        current = self.stock.get(sku_id, 0)
        self.record_stock(sku_id, current + change if change_type == 1 else current - change,
                          item_id=str(params.get("kwaiItemId", "")), change=change if change_type == 1 else -change)
        return self.success(None)

    def refund_list(self, params: dict[str, Any]) -> dict:
        start, end, _, _ = self._window(params)
        page, cursor = self._cursor_page(self.refunds_in(start, end), lambda r: (millis(r.modified), r.refund_id),
                                         params, "pcursor")
        return self.success({"pcursor": cursor, "refundOrderInfoList": [render_refund(r) for r in page]})


def render(order: SimOrder, seal: Callable[[str], str]) -> dict[str, Any]:
    line = order.lines[0]
    refunds = []
    if order.refund is not None:
        refunds.append({"refundId": int(order.refund.refund_id), "refundStatus": REFUND_STATUS[order.refund.status]})
    return {
        "orderBaseInfo": {
            "oid": int(order.order_no),
            "status": STATUS[order.status],
            "createTime": millis(order.created),
            "payTime": millis(order.created),
            "updateTime": millis(order.modified),
            "totalFee": fen(order.amount_paid),
            "discountFee": fen(order.discount),
            "expressFee": fen(order.postage),
            "buyerNick": order.buyer_nick,
            "remark": order.remark,
        },
        "orderItemInfo": {
            "itemId": int(line.item_id),
            "skuId": int(line.sku_id),
            "relSkuId": 0,
            "skuNick": line.outer_sku,
            "itemTitle": line.title,
            "num": line.quantity,
            "price": fen(line.unit_price),
            "discountFee": fen(line.discount),
        },
        "orderAddress": {
            "encryptedConsignee": seal(order.receiver_name),
            "encryptedMobile": seal(order.receiver_phone),
            "encryptedAddress": seal(order.detail),
            "desensitiseConsignee": masked_name(order.receiver_name),
            "desensitiseMobile": masked_phone(order.receiver_phone),
            "desensitiseAddress": masked_detail(order.detail),
            "province": order.province,
            "city": order.city,
            "district": order.district,
        },
        "orderRefundList": refunds,
    }


HANDLING_WAYS = {"return_refund": 1, "refund_only": 10, "exchange": 3, "reship": 4}


def render_refund(refund: SimRefund) -> dict[str, Any]:
    shown = {
        "refundId": int(refund.refund_id),
        "oid": int(refund.order_no),
        "status": REFUND_STATUS[refund.status],
        "handlingWay": HANDLING_WAYS[refund.kind],
        "refundFee": fen(refund.amount),
        "refundReasonDesc": refund.reason,
        "createTime": millis(refund.created),
        "updateTime": millis(refund.modified),
        "expressNo": refund.return_tracking,
    }
    if refund.line is not None:
        shown.update(skuId=int(refund.line.sku_id), relSkuId=int(refund.line.sku_id), skuNick=refund.line.outer_sku,
                     itemId=int(refund.line.item_id), refundCount=refund.quantity)
    return shown
