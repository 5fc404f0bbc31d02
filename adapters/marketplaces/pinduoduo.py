"""Pinduoduo (拼多多) over the POP gateway (gw-api.pinduoduo.com/api/router)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
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
    compact_json,
    count,
    fen,
    money,
    parse_china_text,
    records,
    require,
    section,
    to_china,
)

REFUND_OPEN = {2, 3}  # 售后处理中, 退款中
REFUND_DONE = 4  # 退款成功
AFTER_SALE_STATUSES = {  # after_sales_status
    2: RefundStatus.REQUESTED,  # 买家申请退款，待商家处理
    3: RefundStatus.REQUESTED,  # 退货退款，待商家处理
    4: RefundStatus.AGREED,  # 商家同意退款，退款中
    5: RefundStatus.AGREED,  # 平台同意退款，退款中
    6: RefundStatus.REFUSED,  # 驳回退款，待买家处理
    7: RefundStatus.AGREED,  # 已同意退货退款，待用户发货
    8: RefundStatus.REQUESTED,  # 平台处理中
    9: RefundStatus.CLOSED,  # 平台拒绝退款，退款关闭
    10: RefundStatus.REFUNDED,  # 退款成功
    11: RefundStatus.CLOSED,  # 买家撤销
    12: RefundStatus.CLOSED,  # 买家逾期未处理，退款失败
    13: RefundStatus.CLOSED,  # 买家逾期，超过有效期
    14: RefundStatus.REQUESTED,  # 换货补寄待商家处理
    15: RefundStatus.AGREED,  # 换货补寄待用户处理
    16: RefundStatus.AGREED,  # 换货补寄成功
    17: RefundStatus.CLOSED,  # 换货补寄失败
    18: RefundStatus.AGREED,  # 换货补寄待用户确认完成
}
AFTER_SALE_KINDS = {2: "refund_only", 3: "return_refund", 4: "exchange", 5: "reship"}  # after_sales_type
AUTH_CODES = {10019, 20004, 20005, 20031, 20032}
RATE_CODES = {70031, 70032, 70033}
SERVER_CODES = {50000, 50001, 50002}
TOKEN_APIS = {"pdd.pop.auth.token.create", "pdd.pop.auth.token.refresh"}  # called without an access token


def pdd_timestamp(moment: datetime) -> str:
    """POP's timestamp: unix seconds."""
    return str(int(to_china(moment).timestamp()))


def sign_pdd(params: Mapping[str, str], secret: str) -> str:
    """Upper-case md5(client_secret + sorted key+value pairs + client_secret), UTF-8."""
    pairs = "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign")
    return hashlib.md5(f"{secret}{pairs}{secret}".encode("utf-8")).hexdigest().upper()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return compact_json(value)
    return str(value)


class PinduoduoClient(MarketplaceClient):
    """Pinduoduo merchant: the incremental order list by update time, POP signing, POP error shapes."""

    channel = "pinduoduo"
    default_url = "https://gw-api.pinduoduo.com/api/router"
    default_oauth_url = "https://fuwu.pinduoduo.com"
    max_window = timedelta(minutes=30)

    @staticmethod
    def default_courier_codes() -> dict[str, str]:
        return {"SF": "44", "ZTO": "115", "YTO": "85", "STO": "1", "YUNDA": "121", "EMS": "118", "JD": "120"}

    def _call_once(self, api: str, answer_key: str, **business: Any) -> dict:
        """Call one POP API (`type`) and return the named response object."""
        params = {
            "type": api,
            "client_id": self.credentials.app_key,
            "timestamp": pdd_timestamp(self._clock()),
            "data_type": "JSON",
            "version": "V1",
            **{key: _text(value) for key, value in business.items() if value is not None},
        }
        if api not in TOKEN_APIS:
            params["access_token"] = self.access_token()
        params["sign"] = sign_pdd(params, self.credentials.app_secret)
        body = self._send("POST", self.base_url, data=params)
        if "error_response" in body:
            raise self._pop_error(body["error_response"])
        return section(body, answer_key)

    def _pop_error(self, error: Any) -> Exception:
        if not isinstance(error, Mapping):
            return self._error(PlatformServerError, "unreadable error_response")
        try:
            code = int(error.get("error_code", 0))
        except (TypeError, ValueError):
            code = 0
        message = f"{error.get('error_msg', '')} {error.get('sub_msg', '')}".strip()
        details = {"code": str(code), "sub_code": str(error.get("sub_code") or "")}
        if code in RATE_CODES:
            return self._error(PlatformRateLimited, message, **details)
        if code in AUTH_CODES:
            return self._error(PlatformAuthError, message, **details)
        if code in SERVER_CODES:
            return self._error(PlatformServerError, message, **details)
        return self._error(PlatformInvalidParameter, message, **details)

    # -- shop authorisation ----------------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {"response_type": "code", "client_id": self.credentials.app_key, "redirect_uri": redirect_uri,
                 "state": state}
        return f"{self.oauth_url}/service-market/auth?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str = "") -> ShopTokens:
        return self._grant(self._granting(
            lambda: self.call("pdd.pop.auth.token.create", "pop_auth_token_create_response", code=code)))

    def refresh(self, refresh_token: str) -> ShopTokens:
        return self._grant(self._granting(lambda: self.call(
            "pdd.pop.auth.token.refresh", "pop_auth_token_refresh_response", refresh_token=refresh_token)))

    def _grant(self, answer: Mapping[str, Any]) -> ShopTokens:
        return self._tokens(require(answer, "access_token"), require(answer, "refresh_token"),
                            require(answer, "expires_in"), answer.get("refresh_token_expires_in"))

    # -- orders ----------------------------------------------------------------------------------------

    def _records_changed(self, start: datetime, end: datetime) -> Iterable[dict]:
        return self._walk_window(start, end, self._order_page)

    def _order_page(self, start: datetime, end: datetime, page_no: int) -> Page:
        answer = self.call(
            "pdd.order.number.list.increment.get",
            "order_sn_increment_get_response",
            is_lucky_flag=0,
            order_status=5,  # all delivery states
            refund_status=5,  # all after-sale states
            start_updated_at=pdd_timestamp(start),
            end_updated_at=pdd_timestamp(end),
            page=page_no,
            page_size=self.page_size,
        )
        return Page(records(answer, "order_sn_list"), count(answer, "total_count"))

    def order_detail(self, order_no: str) -> PlatformOrder:
        answer = self.call("pdd.order.information.get", "order_info_get_response", order_sn=order_no)
        return self._paid(self.parse_order(require(answer, "order_info")), order_no)

    def _order_from(self, record: Mapping[str, Any]) -> PlatformOrder | None:
        status = _order_status(int(record["order_status"]), int(record.get("refund_status", 1)))
        if status is None:
            return None
        return PlatformOrder(
            channel=self.channel,
            shop=self.credentials.shop,
            order_no=str(record["order_sn"]),
            status=status,
            buyer_nick="",  # POP does not give the buyer's nickname to merchants
            receiver=Receiver(
                name=str(record.get("receiver_name_mask") or record.get("receiver_name", "")),
                phone=str(record.get("receiver_phone_mask") or record.get("receiver_phone", "")),
                province=str(record.get("province", "")),
                city=str(record.get("city", "")),
                district=str(record.get("town", "")),
                detail=str(record.get("address_mask") or record.get("address", "")),
                protected=ciphertexts(record, name="receiver_name_encrypted", phone="receiver_phone_encrypted",
                                address="address_encrypted"),
            ),
            lines=tuple(
                OrderLine(
                    platform_sku_id=str(item["sku_id"]),
                    outer_sku_code=str(item.get("outer_id") or item.get("outer_goods_id") or ""),
                    title=str(item.get("goods_name", "")),
                    quantity=int(item["goods_count"]),
                    unit_price=money(item["goods_price"]),
                    platform_item_id=str(item.get("goods_id", "")),
                )
                for item in records(record, "item_list")
            ),
            amount_paid=money(record["pay_amount"]),
            discount=money(record.get("discount_amount")),
            postage=money(record.get("postage")),
            platform_fee=None,
            created_at=parse_china_text(record["created_time"]),
            modified_at=parse_china_text(record["updated_at"]),
            remark=str(record.get("buyer_memo", "")),
        )

    # -- writes ----------------------------------------------------------------------------------------

    def confirm_shipment(self, order_no: str, courier_code: str, tracking_no: str) -> None:
        answer = self.call("pdd.logistics.online.send", "logistics_online_send_response", order_sn=order_no,
                           logistics_id=self._courier(courier_code), tracking_number=tracking_no)
        if not answer.get("is_success"):
            raise self._error(PlatformInvalidParameter, f"shipment of {order_no} was not accepted")

    def _decrypt(self, order_no: str, protected: Mapping[str, str]) -> dict[str, str]:
        items = [{"data_tag": order_no, "encrypted_data": cipher} for cipher in protected.values()]
        answer = self.call("pdd.open.decrypt.batch", "open_decrypt_batch_response", data_list=items)
        answers = {str(r.get("encrypted_data")): str(r.get("decrypted_data") or "")
                   for r in records(answer, "data_decrypt_list") if not r.get("error_code")}
        return self._decrypted_fields(protected, answers)

    def update_stock(self, platform_sku: str, quantity: int, *, item_id: str = "") -> None:
        if not item_id:
            raise self._error(PlatformInvalidParameter, "POP needs the goods_id to update a SKU's quantity")
        if quantity < 0:
            raise self._error(PlatformInvalidParameter, "a listed quantity cannot be negative")
        answer = self.call("pdd.goods.quantity.update", "goods_quantity_update_response", goods_id=item_id,
                           sku_id=platform_sku, quantity=quantity, update_type=1)  # 1: full, 2: delta
        if not answer.get("is_success"):
            raise self._error(PlatformInvalidParameter, f"quantity of {platform_sku} was not accepted")

    # -- refunds ---------------------------------------------------------------------------------------

    def _refund_records(self, start: datetime, end: datetime) -> Iterable[dict]:
        return self._walk_window(start, end, self._refund_page)

    def _refund_page(self, start: datetime, end: datetime, page_no: int) -> Page:
        answer = self.call(
            "pdd.refund.list.increment.get",
            "refund_increment_get_response",
            after_sales_status=1,  # all
            after_sales_type=1,  # all
            start_updated_at=pdd_timestamp(start),
            end_updated_at=pdd_timestamp(end),
            page=page_no,
            page_size=self.page_size,
        )
        return Page(records(answer, "refund_list"), count(answer, "total_count"))

    def _refund_from(self, record: Mapping[str, Any]) -> PlatformRefund:
        status = AFTER_SALE_STATUSES.get(int(record["after_sales_status"]), RefundStatus.CLOSED)
        tracking = str(record.get("tracking_number", "") or "")
        if status is RefundStatus.AGREED and tracking:
            status = RefundStatus.RETURNING  # the buyer filled in the return waybill
        modified = parse_china_text(record["updated_time"])
        lines = ()
        if record.get("goods_number"):
            lines = (RefundLine(str(record.get("sku_id", "")), str(record.get("outer_id", "") or ""),
                                int(record["goods_number"]), fen(record.get("refund_amount"))),)
        return PlatformRefund(
            channel=self.channel,
            shop=self.credentials.shop,
            refund_id=str(record["id"]),
            order_no=str(record["order_sn"]),
            status=status,
            amount=fen(record.get("refund_amount")),
            reason=str(record.get("after_sale_reason", "")),
            created_at=parse_china_text(record["created_time"]),
            modified_at=modified,
            kind=AFTER_SALE_KINDS.get(int(record.get("after_sales_type", 2)), "refund_only"),
            lines=lines,
            refunded_at=modified if status is RefundStatus.REFUNDED else None,
            return_tracking_no=tracking,
        )


def _order_status(order_status: int, refund_status: int) -> OrderStatus | None:
    if refund_status == REFUND_DONE:
        return OrderStatus.CANCELLED
    if order_status == 1:
        return OrderStatus.REFUND_REQUESTED if refund_status in REFUND_OPEN else OrderStatus.PAID
    if order_status in (2, 3):
        return OrderStatus.SHIPPED
    return None
