"""Douyin shop (抖店) over openapi-fxg.jinritemai.com."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from domain.shop import ShopTokens

from .base import (
    MarketplaceClient,
    OrderLine,
    OrderStatus,
    Page,
    PlatformAuthError,
    PlatformInvalidParameter,
    PlatformOrder,
    PlatformRateLimited,
    PlatformRefund,
    RefundLine,
    PlatformServerError,
    Receiver,
    RefundStatus,
    ciphertexts,
    count,
    fen,
    from_epoch,
    records,
    require,
    section,
    to_china,
)

SIGN_METHODS = ("md5", "hmac-sha256")
SUCCESS = 10000
PAID = {2, 105}
SHIPPED = {3, 5, 101}
CANCELLED = {4}
AFTER_SALE_STATUSES = {  # aftersale_status
    6: RefundStatus.REQUESTED,  # 售后申请
    7: RefundStatus.AGREED,  # 售后退货中：待买家退货
    8: RefundStatus.AGREED,  # 待商家发货（换货、补寄）
    11: RefundStatus.RETURNING,  # 售后已发货：买家已寄回
    12: RefundStatus.REFUNDED,  # 售后成功
    13: RefundStatus.AGREED,  # 换货补寄待收货
    14: RefundStatus.AGREED,  # 换货补寄成功
    27: RefundStatus.REFUSED,  # 拒绝售后申请
    28: RefundStatus.CLOSED,  # 售后失败（关闭）
    29: RefundStatus.REFUSED,  # 退货后拒绝
}
AFTER_SALE_KINDS = {0: "return_refund", 1: "refund_only", 2: "refund_only", 3: "exchange", 7: "reship"}
AFTER_SALE_OPEN = {6, 7, 11}
AUTH_SUB_CODES = ("isv.signature", "isv.access-token", "isv.app-id", "isv.authorization")
TOKEN_APIS = {"token.create", "token.refresh"}  # signed, sent without an access token


def douyin_timestamp(moment: datetime) -> str:
    """Unix seconds, as the official SDKs send it."""
    return str(int(to_china(moment).timestamp()))


def _sorted_deep(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted_deep(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_deep(item) for item in value]
    return value


def param_json(payload: Mapping[str, Any]) -> str:
    """The business parameters as the platform signs them: keys sorted at every depth, compact, UTF-8, with
    <, > and & left as they are (the signing guide's example serialises with SetEscapeHTML(false))."""
    return json.dumps(_sorted_deep(payload), ensure_ascii=False, separators=(",", ":"))


def sign_pattern(app_key: str, secret: str, method: str, timestamp: str, param: str, v: str = "2") -> str:
    return f"{secret}app_key{app_key}method{method}param_json{param}timestamp{timestamp}v{v}{secret}"


def sign_douyin(app_key: str, secret: str, method: str, timestamp: str, param: str, sign_method: str = "hmac-sha256",
                v: str = "2") -> str:
    """Lower-case hex of hmac_sha256(secret, pattern) or md5(pattern); access_token and sign_method are not signed."""
    pattern = sign_pattern(app_key, secret, method, timestamp, param, v).encode("utf-8")
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode("utf-8"), pattern, hashlib.sha256).hexdigest()
    if sign_method == "md5":
        return hashlib.md5(pattern).hexdigest()
    raise PlatformInvalidParameter(f"Douyin has no sign_method {sign_method!r}", channel="douyin")


class DouyinClient(MarketplaceClient):
    """Douyin shop: order.searchList by update time, HMAC-SHA256 signing, {code, msg, sub_code} errors."""

    channel = "douyin"
    default_url = "https://openapi-fxg.jinritemai.com"
    default_oauth_url = "https://fuwu.jinritemai.com"

    def __init__(self, credentials, *, sign_method: str = "hmac-sha256", **kwargs: Any):
        if sign_method not in SIGN_METHODS:
            raise PlatformInvalidParameter(f"Douyin has no sign_method {sign_method!r}", channel=self.channel)
        self.sign_method = sign_method
        super().__init__(credentials, **kwargs)

    @staticmethod
    def default_courier_codes() -> dict[str, str]:
        return {"SF": "shunfeng", "ZTO": "zhongtong", "YTO": "yuantong", "STO": "shentong", "YUNDA": "yunda",
                "EMS": "ems", "JD": "jd"}

    def _call_once(self, api: str, payload: Mapping[str, Any]) -> Any:
        """POST one API (its path is the method with dots as slashes) and return its `data`."""
        body_text = param_json(payload)
        timestamp = douyin_timestamp(self._clock())
        query = {
            "app_key": self.credentials.app_key,
            "method": api,
            "v": "2",
            "timestamp": timestamp,
            "sign_method": self.sign_method,
            "sign": sign_douyin(self.credentials.app_key, self.credentials.app_secret, api, timestamp, body_text,
                                self.sign_method),
        }
        if api not in TOKEN_APIS:
            query["access_token"] = self.access_token()
        body = self._send("POST", f"{self.base_url}/{api.replace('.', '/')}", params=query,
                          content=body_text.encode("utf-8"),
                          headers={"Content-Type": "application/json;charset=UTF-8"})
        code = body.get("code")
        if code != SUCCESS:
            raise self._douyin_error(body)
        return section(body, "data")

    def _douyin_error(self, body: Mapping[str, Any]) -> Exception:
        code, sub_code = str(body.get("code", "")), str(body.get("sub_code") or "")
        message = f"{body.get('msg', '')} {body.get('sub_msg', '')}".strip()
        details = {"code": code, "sub_code": sub_code}
        if code == "60000":
            return self._error(PlatformRateLimited, message, **details)
        if code in ("30001", "30002") or sub_code.startswith(AUTH_SUB_CODES):
            return self._error(PlatformAuthError, message, **details)
        if code in ("20000", "50000", "50001", "70000", "90000") or not code.isdigit():
            return self._error(PlatformServerError, message, **details)
        return self._error(PlatformInvalidParameter, message, **details)

    # -- shop authorisation ----------------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {"app_key": self.credentials.app_key, "redirect_uri": redirect_uri, "state": state}
        return f"{self.oauth_url}/authorize?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str = "") -> ShopTokens:
        return self._grant(self._granting(
            lambda: self.call("token.create", {"code": code, "grant_type": "authorization_code"})))

    def refresh(self, refresh_token: str) -> ShopTokens:
        return self._grant(self._granting(
            lambda: self.call("token.refresh", {"refresh_token": refresh_token, "grant_type": "refresh_token"})))

    def _grant(self, data: Any) -> ShopTokens:
        return self._tokens(require(data, "access_token"), require(data, "refresh_token"), require(data, "expires_in"))

    # -- orders ----------------------------------------------------------------------------------------

    def _records_changed(self, start: datetime, end: datetime) -> Iterable[dict]:
        return self._walk_window(start, end, self._order_page)

    def _order_page(self, start: datetime, end: datetime, page_no: int) -> Page:
        data = self.call("order.searchList", {
            "update_time_start": int(start.timestamp()),
            "update_time_end": int(end.timestamp()),
            "order_by": "update_time",
            "order_asc": True,
            "page": page_no - 1,  # pages count from 0 here
            "size": self.page_size,
        })
        return Page(records(data, "shop_order_list"), count(data, "total"))

    def order_detail(self, order_no: str) -> PlatformOrder:
        data = self.call("order.orderDetail", {"shop_order_id": order_no})
        return self._paid(self.parse_order(require(data, "shop_order_detail")), order_no)

    def _order_from(self, record: Mapping[str, Any]) -> PlatformOrder | None:
        skus = records(record, "sku_order_list")
        status = _order_status(int(record["order_status"]), skus)
        if status is None:
            return None
        address = record.get("post_addr") or {}
        return PlatformOrder(
            channel=self.channel,
            shop=self.credentials.shop,
            order_no=str(record["order_id"]),
            status=status,
            buyer_nick=str(record.get("user_nick", "")),
            receiver=Receiver(
                name=str(record.get("mask_post_receiver") or record.get("post_receiver", "")),
                phone=str(record.get("mask_post_tel") or record.get("post_tel", "")),
                province=str((address.get("province") or {}).get("name", "")),
                city=str((address.get("city") or {}).get("name", "")),
                district=str((address.get("town") or {}).get("name", "")),
                detail=str((record.get("mask_post_addr") or {}).get("detail") or address.get("detail", "")),
                protected=ciphertexts({**record, **address}, name="encrypt_post_receiver", phone="encrypt_post_tel",
                                address="encrypt_detail"),
            ),
            lines=tuple(
                OrderLine(
                    platform_sku_id=str(sku["sku_id"]),
                    outer_sku_code=str(sku.get("out_sku_id") or sku.get("code") or ""),
                    title=str(sku.get("product_name", "")),
                    quantity=int(sku["item_num"]),
                    unit_price=fen(sku["goods_price"]),
                    discount=fen(sku.get("promotion_amount")),
                    platform_item_id=str(sku.get("product_id", "")),
                )
                for sku in skus
            ),
            amount_paid=fen(record["pay_amount"]),
            discount=fen(record.get("promotion_amount")),
            postage=fen(record.get("post_amount")),
            platform_fee=fen(record["platform_cost_amount"]) if "platform_cost_amount" in record else None,
            created_at=from_epoch(record["create_time"]),
            modified_at=from_epoch(record["update_time"]),
            remark=str(record.get("buyer_words", "")),
        )

    # -- writes ----------------------------------------------------------------------------------------

    def confirm_shipment(self, order_no: str, courier_code: str, tracking_no: str) -> None:
        self.call("order.logisticsAdd", {"order_id": order_no, "company_code": self._courier(courier_code),
                                         "logistics_code": tracking_no})

    def _decrypt(self, order_no: str, protected: Mapping[str, str]) -> dict[str, str]:
        data = self.call("order.batchDecrypt", {"cipher_infos": [{"auth_id": order_no, "cipher_text": cipher}
                                                                 for cipher in protected.values()]})
        answers = {str(r.get("cipher_text")): str(r.get("decrypt_text") or "")
                   for r in records(data, "decrypt_infos") if not r.get("err_no")}
        return self._decrypted_fields(protected, answers)

    def update_stock(self, platform_sku: str, quantity: int, *, item_id: str = "") -> None:
        if quantity < 0:
            raise self._error(PlatformInvalidParameter, "a listed quantity cannot be negative")
        if not platform_sku.isdigit() or not (item_id or "0").isdigit():
            raise self._error(PlatformInvalidParameter, "Douyin SKU and product ids are numbers")
        payload: dict[str, Any] = {"sku_id": int(platform_sku), "stock_num": quantity, "incremental": False}
        if item_id:
            payload["product_id"] = int(item_id)
        self.call("sku.syncStock", payload)

    # -- refunds ---------------------------------------------------------------------------------------

    def _refund_records(self, start: datetime, end: datetime) -> Iterable[dict]:
        return self._walk_window(start, end, self._refund_page)

    def _refund_page(self, start: datetime, end: datetime, page_no: int) -> Page:
        data = self.call("afterSale.List", {
            "update_start_time": int(start.timestamp()),
            "update_end_time": int(end.timestamp()),
            "order_by": ["update_time asc"],
            "page": page_no - 1,
            "size": self.page_size,
        })
        return Page(records(data, "items"), count(data, "total"))

    def _refund_from(self, record: Mapping[str, Any]) -> PlatformRefund:
        info = record["aftersale_info"]
        status = AFTER_SALE_STATUSES.get(int(info["aftersale_status"]), RefundStatus.CLOSED)
        modified = from_epoch(info["update_time"])
        lines = tuple(RefundLine(str(item.get("sku_id", "")), str(item.get("shop_sku_code", "") or ""),
                                 int(item["aftersale_item_num"]), fen(item.get("refund_amount", 0)))
                      for item in records(record, "order_info", "related_order_info") if item.get("aftersale_item_num"))
        return PlatformRefund(
            channel=self.channel,
            shop=self.credentials.shop,
            refund_id=str(info["aftersale_id"]),
            order_no=str(record["order_info"]["shop_order_id"]),
            status=status,
            amount=fen(info.get("refund_amount")),
            reason=str(info.get("reason", "")),
            created_at=from_epoch(info["create_time"]),
            modified_at=modified,
            kind=AFTER_SALE_KINDS.get(int(info.get("aftersale_type", 1)), "refund_only"),
            lines=lines,
            refunded_at=modified if status is RefundStatus.REFUNDED else None,
            return_tracking_no=str(info.get("return_logistics_code", "") or ""),
        )


def _order_status(status: int, skus: list[Mapping[str, Any]]) -> OrderStatus | None:
    if status in PAID:
        after_sale = {int((sku.get("after_sale_info") or {}).get("after_sale_status", 0)) for sku in skus}
        return OrderStatus.REFUND_REQUESTED if after_sale & AFTER_SALE_OPEN else OrderStatus.PAID
    if status in SHIPPED:
        return OrderStatus.SHIPPED
    if status in CANCELLED:
        return OrderStatus.CANCELLED
    return None
