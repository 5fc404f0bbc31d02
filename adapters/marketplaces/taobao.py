"""Taobao / Tmall over TOP (the router/rest gateway)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from urllib.parse import urlencode
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from domain.shop import ShopTokens

from .base import (
    MarketplaceClient,
    OrderLine,
    OrderStatus,
    Page,
    PlatformAuthError,
    PlatformInvalidParameter,
    PlatformMalformedResponse,
    PlatformOrder,
    PlatformRateLimited,
    PlatformRefund,
    PlatformServerError,
    Receiver,
    RefundLine,
    RefundStatus,
    ZERO,
    china_text,
    count,
    money,
    parse_china_text,
    records,
    require,
    section,
)

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")

TRADE_FIELDS = (
    "tid,status,buyer_nick,receiver_name,receiver_mobile,receiver_state,receiver_city,receiver_district,"
    "receiver_address,payment,discount_fee,post_fee,commission_fee,created,modified,buyer_message,orders.oid,"
    "orders.num_iid,orders.sku_id,orders.outer_sku_id,orders.outer_iid,orders.title,orders.num,orders.price,"
    "orders.discount_fee,orders.refund_status"
)
REFUND_FIELDS = ("refund_id,tid,oid,status,refund_fee,reason,created,modified,has_good_return,good_status,num_iid,"
                 "sku,outer_id,num,sid,company_name")

# tmall.exchange.receive.get: Tmall's exchanges (换货), with their status as the platform names it
EXCHANGE_FIELDS = "dispute_id,bizorder_id,num,status,created,modified,reason,buyer_logistic_no,bought_sku,payment"
EXCHANGE_STATUSES = {
    "换货待处理": RefundStatus.REQUESTED,
    "待买家退货": RefundStatus.AGREED,
    "买家已退货，待收货": RefundStatus.RETURNING,
    "换货关闭": RefundStatus.CLOSED,
    "换货成功": RefundStatus.AGREED,
    "待买家修改": RefundStatus.REFUSED,
    "待发出换货商品": RefundStatus.AGREED,
    "待买家收货": RefundStatus.AGREED,
    "请退款": RefundStatus.AGREED,
}

PAID = {"WAIT_SELLER_SEND_GOODS"}
SHIPPED = {"SELLER_CONSIGNED_PART", "WAIT_BUYER_CONFIRM_GOODS", "TRADE_BUYER_SIGNED", "TRADE_FINISHED"}
CANCELLED = {"TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO"}
REFUND_OPEN = {"WAIT_SELLER_AGREE", "WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS", "SELLER_REFUSE_BUYER"}
REFUND_STATUSES = {
    "WAIT_SELLER_AGREE": RefundStatus.REQUESTED,
    "WAIT_BUYER_RETURN_GOODS": RefundStatus.AGREED,
    "WAIT_SELLER_CONFIRM_GOODS": RefundStatus.RETURNING,
    "SELLER_REFUSE_BUYER": RefundStatus.REFUSED,
    "SUCCESS": RefundStatus.REFUNDED,
    "CLOSED": RefundStatus.CLOSED,
}
AUTH_CODES = {"11", "12", "13", "24", "25", "26", "27", "28", "29"}
SERVER_CODES = {"10", "50"}
BAN_SECONDS = re.compile(r"ban will last for (\d+) more seconds")
TOKEN_APIS = {"taobao.top.auth.token.create", "taobao.top.auth.token.refresh"}  # called without a session


def top_timestamp(moment: datetime) -> str:
    """TOP's timestamp: 'YYYY-MM-DD HH:MM:SS' in GMT+8."""
    return china_text(moment)


def sign_top(params: Mapping[str, str], secret: str, sign_method: str = "md5") -> str:
    """TOP's sign: sorted key+value pairs (sign and empty values left out), upper-case hex of
    md5(secret + pairs + secret), hmac_md5(secret, pairs) or hmac_sha256(secret, pairs)."""
    pairs = "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign" and params[key] not in ("", None))
    if sign_method == "md5":
        digest = hashlib.md5(f"{secret}{pairs}{secret}".encode("utf-8")).hexdigest()
    elif sign_method == "hmac":
        digest = hmac.new(secret.encode("utf-8"), pairs.encode("utf-8"), hashlib.md5).hexdigest()
    elif sign_method == "hmac-sha256":
        digest = hmac.new(secret.encode("utf-8"), pairs.encode("utf-8"), hashlib.sha256).hexdigest()
    else:
        raise PlatformInvalidParameter(f"TOP has no sign_method {sign_method!r}", channel="taobao")
    return digest.upper()


def response_key(api: str) -> str:
    return api.removeprefix("taobao.").replace(".", "_") + "_response"


class TaobaoClient(MarketplaceClient):
    """Taobao/Tmall shop over TOP: trades by modified time, TOP signing, TOP error shapes."""

    channel = "taobao"
    default_url = "https://eco.taobao.com/router/rest"
    default_oauth_url = "https://oauth.taobao.com"

    def __init__(self, credentials, *, sign_method: str = "md5", **kwargs: Any):
        if sign_method not in SIGN_METHODS:
            raise PlatformInvalidParameter(f"TOP has no sign_method {sign_method!r}", channel=self.channel)
        self.sign_method = sign_method
        super().__init__(credentials, **kwargs)

    @staticmethod
    def default_courier_codes() -> dict[str, str]:
        return {"SF": "SF", "ZTO": "ZTO", "YTO": "YTO", "STO": "STO", "YUNDA": "YUNDA", "EMS": "EMS", "JD": "JD"}

    def _call_once(self, api: str, **app_params: Any) -> dict:
        """Call one TOP API and return its `<name>_response` object."""
        params = {
            "method": api,
            "app_key": self.credentials.app_key,
            "session": None if api in TOKEN_APIS else self.access_token(),
            "timestamp": top_timestamp(self._clock()),
            "format": "json",
            "v": "2.0",
            "sign_method": self.sign_method,
            **{key: str(value) for key, value in app_params.items() if value is not None},
        }
        params = {key: value for key, value in params.items() if value is not None}
        params["sign"] = sign_top(params, self.credentials.app_secret, self.sign_method)
        body = self._send("POST", self.base_url, data=params)
        if "error_response" in body:
            raise self._top_error(body["error_response"])
        return section(body, response_key(api))

    def _top_error(self, error: Any) -> Exception:
        if not isinstance(error, Mapping):
            return self._error(PlatformServerError, "unreadable error_response")
        code, sub_code = str(error.get("code", "")), str(error.get("sub_code", ""))
        message = f"{error.get('msg', '')} {error.get('sub_msg', '')}".strip()
        details = {"code": code, "sub_code": sub_code}
        if code == "7" or "limit" in sub_code:
            ban = BAN_SECONDS.search(str(error.get("sub_msg", "")))
            return self._error(PlatformRateLimited, message, retry_after=float(ban.group(1)) if ban else None, **details)
        if code in AUTH_CODES or "session" in sub_code:
            return self._error(PlatformAuthError, message, **details)
        if code in SERVER_CODES or sub_code.startswith("isp."):
            return self._error(PlatformServerError, message, **details)
        return self._error(PlatformInvalidParameter, message, **details)

    # -- shop authorisation ----------------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {"response_type": "code", "client_id": self.credentials.app_key, "redirect_uri": redirect_uri,
                 "state": state, "view": "web"}
        return f"{self.oauth_url}/authorize?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str = "") -> ShopTokens:
        return self._token_result(self._granting(lambda: self.call("taobao.top.auth.token.create", code=code)))

    def refresh(self, refresh_token: str) -> ShopTokens:
        return self._token_result(self._granting(
            lambda: self.call("taobao.top.auth.token.refresh", refresh_token=refresh_token)))

    def _token_result(self, answer: Mapping[str, Any]) -> ShopTokens:
        try:
            result = json.loads(str(require(answer, "token_result")))
        except ValueError:
            raise self._error(PlatformMalformedResponse, "token_result is not JSON") from None
        if not isinstance(result, Mapping):
            raise self._error(PlatformMalformedResponse, "token_result is not an object")
        return self._tokens(result.get("access_token"), result.get("refresh_token"), result.get("expires_in"),
                            result.get("re_expires_in"))

    # -- orders ----------------------------------------------------------------------------------------

    def _records_changed(self, start: datetime, end: datetime) -> Iterable[dict]:
        return self._walk_window(start, end, self._trade_page)

    def _trade_page(self, start: datetime, end: datetime, page_no: int) -> Page:
        answer = self.call(
            "taobao.trades.sold.increment.get",
            fields=TRADE_FIELDS,
            start_modified=china_text(start),
            end_modified=china_text(end),
            page_no=page_no,
            page_size=self.page_size,
        )
        return Page(records(answer, "trades", "trade"), count(answer, "total_results"))

    def order_detail(self, order_no: str) -> PlatformOrder:
        answer = self.call("taobao.trade.fullinfo.get", fields=TRADE_FIELDS, tid=order_no)
        return self._paid(self.parse_order(require(answer, "trade")), order_no)

    def _order_from(self, record: Mapping[str, Any]) -> PlatformOrder | None:
        lines = records(record, "orders", "order")
        status = _trade_status(str(record["status"]), lines)
        if status is None:
            return None
        return PlatformOrder(
            channel=self.channel,
            shop=self.credentials.shop,
            order_no=str(record.get("tid_str") or record["tid"]),
            status=status,
            buyer_nick=str(record.get("buyer_nick", "")),
            receiver=Receiver(
                name=str(record.get("receiver_name", "")),
                phone=str(record.get("receiver_mobile") or record.get("receiver_phone") or ""),
                province=str(record.get("receiver_state", "")),
                city=str(record.get("receiver_city", "")),
                district=str(record.get("receiver_district", "")),
                detail=str(record.get("receiver_address", "")),
                protected={"oaid": str(record["oaid"])} if record.get("oaid") else {},
            ),
            lines=tuple(
                OrderLine(
                    platform_sku_id=str(line.get("sku_id", "")),
                    outer_sku_code=str(line.get("outer_sku_id") or line.get("outer_iid") or ""),
                    title=str(line.get("title", "")),
                    quantity=int(line["num"]),
                    unit_price=money(line["price"]),
                    discount=money(line.get("discount_fee")),
                    platform_item_id=str(line.get("num_iid", "")),
                )
                for line in lines
            ),
            amount_paid=money(record["payment"]),
            discount=money(record.get("discount_fee")),
            postage=money(record.get("post_fee")),
            platform_fee=money(record["commission_fee"]) if "commission_fee" in record else None,
            created_at=parse_china_text(record["created"]),
            modified_at=parse_china_text(record["modified"]),
            remark=str(record.get("buyer_message", "")),
        )

    # -- writes ----------------------------------------------------------------------------------------

    def confirm_shipment(self, order_no: str, courier_code: str, tracking_no: str) -> None:
        answer = self.call(
            "taobao.logistics.offline.send", tid=order_no, out_sid=tracking_no, company_code=self._courier(courier_code)
        )
        if not require(answer, "shipping", "is_success"):
            raise self._error(PlatformInvalidParameter, f"shipment of {order_no} was not accepted")

    def update_stock(self, platform_sku: str, quantity: int, *, item_id: str = "") -> None:
        if not item_id:
            raise self._error(PlatformInvalidParameter, "TOP needs the item's num_iid to update a SKU's quantity")
        if quantity < 0:
            raise self._error(PlatformInvalidParameter, "a listed quantity cannot be negative")
        # type=1 is a full (absolute) update; type=2 would add to the current quantity
        answer = self.call("taobao.item.quantity.update", num_iid=item_id, sku_id=platform_sku, quantity=quantity, type=1)
        require(answer, "item")

    def _decrypt(self, order_no: str, protected: Mapping[str, str]) -> dict[str, str]:
        # scene 1001: the seller ships the order itself (自发货); TOP decrypts OAIDs only for unshipped orders
        query = [{"tid": order_no, "oaid": protected.get("oaid", ""), "scene": "1001"}]
        answer = self.call("taobao.top.oaid.decrypt", query_list=json.dumps(query, separators=(",", ":")))
        found = [r for r in records(answer, "receiver_list", "receiver") if str(r.get("tid")) == order_no]
        if not found:
            raise self._error(PlatformMalformedResponse, f"no receiver for {order_no} in the decrypt answer")
        r = found[0]
        return {"name": str(r.get("name", "")), "phone": str(r.get("mobile") or r.get("phone") or ""),
                "province": str(r.get("state", "")), "city": str(r.get("city", "")),
                "district": str(r.get("district", "")), "detail": str(r.get("address_detail", ""))}

    # -- refunds ---------------------------------------------------------------------------------------

    def _refund_records(self, start: datetime, end: datetime) -> Iterable[dict]:
        yield from self._walk_window(start, end, self._refund_page)
        yield from self._walk_window(start, end, self._exchange_page)

    def _exchange_page(self, start: datetime, end: datetime, page_no: int) -> Page:
        answer = self.call(
            "tmall.exchange.receive.get",
            fields=EXCHANGE_FIELDS,
            start_gmt_modified_time=china_text(start),
            end_gmt_modifed_time=china_text(end),  # sic: the parameter is spelt so
            page_no=page_no,
            page_size=self.page_size,
        )
        return Page(records(answer, "results", "exchange"), count(answer, "total_results"))

    def _refund_page(self, start: datetime, end: datetime, page_no: int) -> Page:
        answer = self.call(
            "taobao.refunds.receive.get",
            fields=REFUND_FIELDS,
            start_modified=china_text(start),
            end_modified=china_text(end),
            page_no=page_no,
            page_size=self.page_size,
        )
        return Page(records(answer, "refunds", "refund"), count(answer, "total_results"))

    def _exchange_from(self, record: Mapping[str, Any]) -> PlatformRefund:
        lines = ()
        if record.get("num"):
            lines = (RefundLine(str(record.get("bought_sku", "")), "", int(record["num"]), ZERO),)
        return PlatformRefund(
            channel=self.channel,
            shop=self.credentials.shop,
            refund_id=str(record["dispute_id"]),
            order_no=str(record.get("biz_order_id") or record["bizorder_id"]),
            status=EXCHANGE_STATUSES.get(str(record["status"]), RefundStatus.CLOSED),
            amount=ZERO,
            reason=str(record.get("reason", "")),
            created_at=parse_china_text(record["created"]),
            modified_at=parse_china_text(record["modified"]),
            kind="exchange",
            lines=lines,
            return_tracking_no=str(record.get("buyer_logistic_no", "") or ""),
        )

    def _refund_from(self, record: Mapping[str, Any]) -> PlatformRefund:
        if "dispute_id" in record:
            return self._exchange_from(record)
        status = REFUND_STATUSES.get(str(record["status"]), RefundStatus.CLOSED)
        modified = parse_china_text(record["modified"])
        lines = ()
        if record.get("num"):
            lines = (RefundLine(str(record.get("sku", "")).split("|")[0], str(record.get("outer_id", "")),
                                int(record["num"]), money(record.get("refund_fee"))),)
        return PlatformRefund(
            channel=self.channel,
            shop=self.credentials.shop,
            refund_id=str(record["refund_id"]),
            order_no=str(record["tid"]),
            status=status,
            amount=money(record.get("refund_fee")),
            reason=str(record.get("reason", "")),
            created_at=parse_china_text(record["created"]),
            modified_at=modified,
            kind="return_refund" if str(record.get("has_good_return", "")).lower() == "true" else "refund_only",
            lines=lines,
            # TOP gives no separate refund time: a refund's last change is its success
            refunded_at=modified if status is RefundStatus.REFUNDED else None,
            return_tracking_no=str(record.get("sid", "") or ""),
        )


def _trade_status(status: str, lines: list[Mapping[str, Any]]) -> OrderStatus | None:
    if status in PAID:
        if any(str(line.get("refund_status", "")) in REFUND_OPEN for line in lines):
            return OrderStatus.REFUND_REQUESTED
        return OrderStatus.PAID
    if status in SHIPPED:
        return OrderStatus.SHIPPED
    if status in CANCELLED:
        return OrderStatus.CANCELLED
    return None
