"""Kuaishou shop (快手小店) over openapi.kwaixiaodian.com."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from domain.shop import ShopTokens

from .base import (
    MarketplaceClient,
    OrderLine,
    OrderStatus,
    PlatformAuthError,
    PlatformInvalidParameter,
    PlatformMalformedResponse,
    PlatformOrder,
    PlatformRateLimited,
    PlatformRefund,
    RefundLine,
    PlatformServerError,
    Receiver,
    RefundStatus,
    ciphertexts,
    compact_json,
    fen,
    from_epoch,
    records,
    require,
    to_china,
)

SIGN_METHODS = ("MD5", "HMAC_SHA256")
SIGNED = ("access_token", "appkey", "method", "param", "signMethod", "timestamp", "version")
END_OF_LIST = "nomore"
PAID, SHIPPED, CANCELLED = {30}, {40, 50, 70}, {80}
REFUND_STATUSES = {
    10: RefundStatus.REQUESTED,  # 买家申请，待商家处理
    11: RefundStatus.REQUESTED,
    20: RefundStatus.AGREED,  # 商家同意，待买家退货
    21: RefundStatus.RETURNING,  # 买家已退货，待商家收货
    22: RefundStatus.REQUESTED,  # 平台介入中
    30: RefundStatus.AGREED,  # 商家确认收货，待退款
    40: RefundStatus.REFUSED,  # 商家拒绝
    50: RefundStatus.AGREED,  # 退款执行中
    60: RefundStatus.REFUNDED,  # 退款成功
    70: RefundStatus.CLOSED,  # 售后关闭
}
HANDLING_WAYS = {1: "return_refund", 10: "refund_only", 3: "exchange", 4: "reship"}  # handlingWay
REFUND_OPEN = {10, 11, 20, 21, 22, 30}
AUTH_WORDS = ("sign", "签名", "token", "授权", "鉴权")
RATE_WORDS = ("exceed qps limit", "exceed quota limit", "限流")
SERVER_WORDS = ("系统", "繁忙", "timeout", "internal")


def kuaishou_timestamp(moment: datetime) -> str:
    """Unix milliseconds."""
    return str(int(to_china(moment).timestamp() * 1000))


def sign_string(params: Mapping[str, str], sign_secret: str) -> str:
    pairs = "&".join(f"{key}={params[key]}" for key in sorted(params) if key in SIGNED and params[key] is not None)
    return f"{pairs}&signSecret={sign_secret}"


def sign_kuaishou(params: Mapping[str, str], sign_secret: str, sign_method: str = "HMAC_SHA256") -> str:
    """Sign 'k=v&…&signSecret=…' over the sorted system parameters: lower-case hex MD5, or base64 HMAC-SHA256."""
    text = sign_string(params, sign_secret).encode("utf-8")
    if sign_method == "MD5":
        return hashlib.md5(text).hexdigest()
    if sign_method == "HMAC_SHA256":
        return base64.b64encode(hmac.new(sign_secret.encode("utf-8"), text, hashlib.sha256).digest()).decode("ascii")
    raise PlatformInvalidParameter(f"Kuaishou has no signMethod {sign_method!r}", channel="kuaishou")


class KuaishouClient(MarketplaceClient):
    """Kuaishou shop: the cursor order list by update time, oldest first; {result, error_msg} errors."""

    channel = "kuaishou"
    default_url = "https://openapi.kwaixiaodian.com"
    max_window = timedelta(days=7)
    max_page_size = 50

    default_oauth_url = "https://open.kwaixiaodian.com"

    def __init__(self, credentials, *, sign_method: str = "HMAC_SHA256", **kwargs: Any):
        if sign_method not in SIGN_METHODS:
            raise PlatformInvalidParameter(f"Kuaishou has no signMethod {sign_method!r}", channel=self.channel)
        if not credentials.sign_secret:
            # API calls are signed with the signSecret issued with the app, never with the app secret
            raise PlatformInvalidParameter("Kuaishou shops need the app's signSecret (应用详情 → signSecret)",
                                           channel=self.channel)
        self.sign_method = sign_method
        super().__init__(credentials, **kwargs)

    @staticmethod
    def default_courier_codes() -> dict[str, str]:
        return {"SF": "4", "ZTO": "9", "YTO": "6", "STO": "3", "YUNDA": "11", "EMS": "2", "JD": "14"}

    def _call_once(self, api: str, param: Mapping[str, Any], *, write: bool = False) -> Any:
        """Call one API at its path (dots as slashes); reads go as GET, writes as a form POST. Returns `data`."""
        params = {
            "appkey": self.credentials.app_key,
            "access_token": self.access_token(),
            "method": api,
            "param": compact_json(param),
            "timestamp": kuaishou_timestamp(self._clock()),
            "version": "1",
            "signMethod": self.sign_method,
        }
        params["sign"] = sign_kuaishou(params, self.credentials.sign_secret, self.sign_method)
        url = f"{self.base_url}/{api.replace('.', '/')}"
        body = self._send("POST", url, data=params) if write else self._send("GET", url, params=params)
        if body.get("result") != 1:
            raise self._kuaishou_error(body)
        return body.get("data")

    def _kuaishou_error(self, body: Mapping[str, Any]) -> Exception:
        code = str(body.get("result", ""))
        message = str(body.get("error_msg") or body.get("msg") or "")
        lowered = message.lower()
        details = {"code": code, "sub_code": str(body.get("sub_code") or "")}
        if "result" not in body:
            return self._error(PlatformMalformedResponse, "no result field in the response")
        if any(word in lowered for word in RATE_WORDS):
            return self._error(PlatformRateLimited, message, **details)
        if any(word in lowered for word in AUTH_WORDS):
            return self._error(PlatformAuthError, message, **details)
        if any(word in lowered for word in SERVER_WORDS):
            return self._error(PlatformServerError, message, **details)
        return self._error(PlatformInvalidParameter, message, **details)

    # -- shop authorisation ----------------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {"app_id": self.credentials.app_key, "redirect_uri": redirect_uri, "response_type": "code",
                 "scope": "merchant_order,merchant_item", "state": state}
        return f"{self.oauth_url}/oauth/authorize?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str = "") -> ShopTokens:
        return self._oauth("access_token", grant_type="code", code=code)

    def refresh(self, refresh_token: str) -> ShopTokens:
        return self._oauth("refresh_token", grant_type="refresh_token", refresh_token=refresh_token)

    def _oauth(self, endpoint: str, **query: str) -> ShopTokens:
        answer = self._send("GET", f"{self.base_url}/oauth2/{endpoint}", params={
            "app_id": self.credentials.app_key, "app_secret": self.credentials.app_secret, **query})
        if answer.get("result") != 1:
            raise self._error(PlatformAuthError, f"authorisation refused: {answer.get('error_msg', '')}",
                              code=str(answer.get("result", "")))
        return self._tokens(answer.get("access_token"), answer.get("refresh_token"), answer.get("expires_in"),
                            answer.get("refresh_token_expires_in"))

    # -- orders ----------------------------------------------------------------------------------------

    def _records_changed(self, start: datetime, end: datetime) -> Iterable[dict]:
        # ascending by update time with a cursor: new and re-modified orders land after the cursor
        return self._cursor_walk("open.order.cursor.list", "cursor", "orderList", {
            "orderViewStatus": 1,  # all
            "pageSize": self.page_size,
            "sort": 2,  # 1: newest first, 2: oldest first
            "queryType": 2,  # 1: by creation time, 2: by update time
            "beginTime": int(start.timestamp() * 1000),
            "endTime": int(end.timestamp() * 1000),
            "cpsType": 0,
        })

    def _cursor_walk(self, api: str, cursor_key: str, list_key: str, param: dict[str, Any]) -> Iterator[dict]:
        cursor = ""
        while True:
            data = self.call(api, {**param, cursor_key: cursor})
            yield from records(data, list_key)
            cursor = str(require(data, cursor_key))
            if cursor == END_OF_LIST:
                return

    def order_detail(self, order_no: str) -> PlatformOrder:
        if not order_no.isdigit():
            raise self._error(PlatformInvalidParameter, "Kuaishou order numbers are numbers")
        return self._paid(self.parse_order(self.call("open.order.detail", {"oid": int(order_no)})), order_no)

    def _order_from(self, record: Mapping[str, Any]) -> PlatformOrder | None:
        base, item = record["orderBaseInfo"], record["orderItemInfo"]
        address = record.get("orderAddress") or {}
        refunds = records(record, "orderRefundList")
        status = _order_status(int(base["status"]), refunds)
        if status is None:
            return None
        return PlatformOrder(
            channel=self.channel,
            shop=self.credentials.shop,
            order_no=str(base["oid"]),
            status=status,
            buyer_nick=str(base.get("buyerNick", "")),
            receiver=Receiver(
                name=str(address.get("desensitiseConsignee") or address.get("consignee", "")),
                phone=str(address.get("desensitiseMobile") or address.get("mobile", "")),
                province=str(address.get("province", "")),
                city=str(address.get("city", "")),
                district=str(address.get("district", "")),
                detail=str(address.get("desensitiseAddress") or address.get("address", "")),
                protected=ciphertexts(address, name="encryptedConsignee", phone="encryptedMobile",
                                address="encryptedAddress"),
            ),
            lines=(
                OrderLine(
                    platform_sku_id=str(item["skuId"]),
                    outer_sku_code=str(item.get("skuNick", "")),
                    title=str(item.get("itemTitle", "")),
                    quantity=int(item["num"]),
                    unit_price=fen(item["price"]),
                    discount=fen(item.get("discountFee")),
                    platform_item_id=str(item.get("itemId", "")),
                ),
            ),
            amount_paid=fen(base["totalFee"]),
            discount=fen(base.get("discountFee")),
            postage=fen(base.get("expressFee")),
            platform_fee=None,
            created_at=from_epoch(int(base["createTime"]) / 1000),
            modified_at=from_epoch(int(base["updateTime"]) / 1000),
            remark=str(base.get("remark", "")),
        )

    # -- writes ----------------------------------------------------------------------------------------

    def confirm_shipment(self, order_no: str, courier_code: str, tracking_no: str) -> None:
        if not order_no.isdigit():
            raise self._error(PlatformInvalidParameter, "Kuaishou order numbers are numbers")
        self.call("open.seller.order.goods.deliver",
                  {"orderId": int(order_no), "expressNo": tracking_no, "expressCode": int(self._courier(courier_code))},
                  write=True)

    def _decrypt(self, order_no: str, protected: Mapping[str, str]) -> dict[str, str]:
        data = self.call("open.order.decrypt.batch", {"batchDecryptList": [
            {"bizId": order_no, "encryptedData": cipher} for cipher in protected.values()]}, write=True)
        answers = {str(r.get("encryptedData")): str(r.get("decryptedData") or "")
                   for r in records(data, "decryptList") if not r.get("errorCode")}
        return self._decrypted_fields(protected, answers)

    def update_stock(self, platform_sku: str, quantity: int, *, item_id: str = "") -> None:
        if not item_id or not item_id.isdigit() or not platform_sku.isdigit():
            raise self._error(PlatformInvalidParameter, "Kuaishou needs the numeric kwaiItemId and skuId")
        if quantity < 0:
            raise self._error(PlatformInvalidParameter, "a listed quantity cannot be negative")
        # the platform only adds or removes stock, so the absolute quantity becomes a change from the current one
        skus = self.call("open.item.sku.list.get", {"kwaiItemId": int(item_id)})
        if not isinstance(skus, list) or not all(isinstance(sku, Mapping) for sku in skus):
            raise self._error(PlatformMalformedResponse, "the SKU list is not a list of SKUs")
        current = next((sku for sku in skus if str(sku.get("kwaiSkuId")) == platform_sku), None)
        if current is None:
            raise self._error(PlatformInvalidParameter, f"SKU {platform_sku} is not on item {item_id}")
        change = quantity - int(current.get("skuStock", 0))
        if change:
            self.call("open.item.sku.stock.update",
                      {"kwaiItemId": int(item_id), "skuId": int(platform_sku), "skuChangeStock": abs(change),
                       "changeType": 1 if change > 0 else 2},
                      write=True)

    # -- refunds ---------------------------------------------------------------------------------------

    def _refund_records(self, start: datetime, end: datetime) -> Iterable[dict]:
        return self._cursor_walk("open.seller.order.refund.pcursor.list", "pcursor", "refundOrderInfoList", {
            "beginTime": int(start.timestamp() * 1000),
            "endTime": int(end.timestamp() * 1000),
            "type": 9,  # all after-sale types
            "pageSize": self.page_size,
            "sort": 2,
            "queryType": 2,
        })

    def _refund_from(self, record: Mapping[str, Any]) -> PlatformRefund:
        status = REFUND_STATUSES.get(int(record["status"]), RefundStatus.CLOSED)
        modified = from_epoch(int(record["updateTime"]) / 1000)
        lines = ()
        if record.get("refundCount"):
            lines = (RefundLine(str(record.get("skuId", "")), str(record.get("skuNick", "") or ""),
                                int(record["refundCount"]), fen(record.get("refundFee"))),)
        return PlatformRefund(
            channel=self.channel,
            shop=self.credentials.shop,
            refund_id=str(record["refundId"]),
            order_no=str(record["oid"]),
            status=status,
            amount=fen(record.get("refundFee")),
            reason=str(record.get("refundReasonDesc", "")),
            created_at=from_epoch(int(record["createTime"]) / 1000),
            modified_at=modified,
            kind=HANDLING_WAYS.get(int(record.get("handlingWay", 10)), "refund_only"),
            lines=lines,
            refunded_at=modified if status is RefundStatus.REFUNDED else None,
            return_tracking_no=str(record.get("expressNo", "") or ""),
        )


def _order_status(status: int, refunds: list[Mapping[str, Any]]) -> OrderStatus | None:
    if status in PAID:
        open_refund = any(int(r.get("refundStatus", 0)) in REFUND_OPEN for r in refunds)
        return OrderStatus.REFUND_REQUESTED if open_refund else OrderStatus.PAID
    if status in SHIPPED:
        return OrderStatus.SHIPPED
    if status in CANCELLED:
        return OrderStatus.CANCELLED
    return None
