"""JD (京东 POP) over the JOS routerjson gateway."""

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
    PlatformMalformedResponse,
    PlatformOrder,
    PlatformRateLimited,
    PlatformRefund,
    PlatformServerError,
    Receiver,
    RefundStatus,
    china_text,
    compact_json,
    count,
    fen,
    money,
    parse_china_text,
    records,
    require,
    section,
)

ORDER_STATES = "WAIT_SELLER_STOCK_OUT,WAIT_GOODS_RECEIVE_CONFIRM,FINISHED_L,TRADE_CANCELED,LOCKED"
ORDER_FIELDS = (
    "orderId,orderState,pin,orderPayment,orderTotalPrice,sellerDiscount,freightPrice,orderStartTime,modified,"
    "orderRemark,consigneeInfo,itemInfoList"
)
STATUSES = {
    "WAIT_SELLER_STOCK_OUT": OrderStatus.PAID,
    "LOCKED": OrderStatus.REFUND_REQUESTED,
    "WAIT_GOODS_RECEIVE_CONFIRM": OrderStatus.SHIPPED,
    "FINISHED_L": OrderStatus.SHIPPED,
    "TRADE_CANCELED": OrderStatus.CANCELLED,
}
REFUND_STATUSES = {
    0: RefundStatus.REQUESTED,
    1: RefundStatus.AGREED,
    2: RefundStatus.REFUSED,
    3: RefundStatus.AGREED,
    4: RefundStatus.REFUSED,
    5: RefundStatus.AGREED,
    6: RefundStatus.REFUNDED,
    9: RefundStatus.REFUNDED,
}
AUTH_CODES = {"11", "12", "18", "19"}
RATE_CODES = {"2"}
SERVER_CODES = {"1", "66", "67"}


def jd_timestamp(moment: datetime) -> str:
    """JOS timestamp: 'YYYY-MM-DD HH:MM:SS' in GMT+8."""
    return china_text(moment)


def sign_jd(params: Mapping[str, str], secret: str) -> str:
    """Upper-case md5(secret + sorted key+value pairs + secret), the string encoded as UTF-8."""
    pairs = "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign")
    # JD's own Python SDK encodes this as latin-1 and fails on any Chinese in 360buy_param_json
    return hashlib.md5(f"{secret}{pairs}{secret}".encode("utf-8")).hexdigest().upper()


def response_key(api: str) -> str:
    return api.replace(".", "_") + "_responce"  # sic: JOS spells it "responce"


class JdClient(MarketplaceClient):
    """JD POP shop: orders by modified time (dateType 0), JOS signing, JOS error shapes."""

    channel = "jd"
    default_url = "https://api.jd.com/routerjson"
    default_oauth_url = "https://open-oauth.jd.com"
    max_window = timedelta(days=30)

    @staticmethod
    def default_courier_codes() -> dict[str, str]:
        return {"SF": "467", "ZTO": "1499", "YTO": "463", "STO": "470", "YUNDA": "1327", "EMS": "465", "JD": "2087"}

    def _call_once(self, api: str, payload: Mapping[str, Any]) -> dict:
        """Call one JOS API with its business payload; returns the `<api>_responce` object."""
        params = {
            "method": api,
            "access_token": self.access_token(),
            "app_key": self.credentials.app_key,
            "timestamp": jd_timestamp(self._clock()),
            "format": "json",
            "v": "2.0",
            "360buy_param_json": compact_json(payload),
        }
        params["sign"] = sign_jd(params, self.credentials.app_secret)
        body = self._send("POST", self.base_url, data=params)
        if "error_response" in body:
            raise self._jos_error(body["error_response"])
        answer = section(body, response_key(api))
        if str(answer.get("code", "0")) != "0":
            raise self._error(PlatformServerError, f"gateway code {answer.get('code')}", code=str(answer.get("code")))
        return answer

    def _jos_error(self, error: Any) -> Exception:
        if not isinstance(error, Mapping):
            return self._error(PlatformServerError, "unreadable error_response")
        code = str(error.get("code", ""))
        message = str(error.get("en_desc") or error.get("zh_desc") or "")
        if code in RATE_CODES:
            return self._error(PlatformRateLimited, message, code=code)
        if code in AUTH_CODES:
            return self._error(PlatformAuthError, message, code=code)
        if code in SERVER_CODES:
            return self._error(PlatformServerError, message, code=code)
        return self._error(PlatformInvalidParameter, message, code=code)

    def _business(self, result: Any, what: str) -> Mapping[str, Any]:
        """JOS answers business failures inside the response with success=false."""
        outcome = result.get("apiResult", result) if isinstance(result, Mapping) else None
        if not isinstance(outcome, Mapping) or "success" not in outcome:
            raise self._error(PlatformMalformedResponse, f"{what}: no success flag in the response")
        if not outcome["success"]:
            english = str(outcome.get("englishErrCode", ""))
            kind = PlatformServerError if "system" in english.lower() else PlatformInvalidParameter
            raise self._error(kind, f"{what}: {english or outcome.get('chineseErrCode', '')}",
                              code=str(outcome.get("numberCode", "")))
        return result

    # -- shop authorisation ----------------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {"app_key": self.credentials.app_key, "response_type": "code", "redirect_uri": redirect_uri,
                 "state": state, "scope": "snsapi_base"}
        return f"{self.oauth_url}/oauth2/to_login?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str = "") -> ShopTokens:
        return self._oauth("access_token", grant_type="authorization_code", code=code)

    def refresh(self, refresh_token: str) -> ShopTokens:
        return self._oauth("refresh_token", grant_type="refresh_token", refresh_token=refresh_token)

    def _oauth(self, endpoint: str, **query: str) -> ShopTokens:
        answer = self._send("GET", f"{self.oauth_url}/oauth2/{endpoint}", params={
            "app_key": self.credentials.app_key, "app_secret": self.credentials.app_secret, **query})
        if str(answer.get("code", "0")) != "0" or not answer.get("access_token"):
            raise self._error(PlatformAuthError, f"authorisation refused: {answer.get('msg', '')}",
                              code=str(answer.get("code", "")))
        return self._tokens(answer["access_token"], answer.get("refresh_token", ""), answer.get("expires_in"))

    # -- orders ----------------------------------------------------------------------------------------

    def _records_changed(self, start: datetime, end: datetime) -> Iterable[dict]:
        return self._walk_window(start, end, self._order_page)

    def _order_page(self, start: datetime, end: datetime, page_no: int) -> Page:
        answer = self.call("jingdong.pop.order.search", {
            "start_date": china_text(start),
            "end_date": china_text(end),
            "order_state": ORDER_STATES,
            "optional_fields": ORDER_FIELDS,
            "page": str(page_no),
            "page_size": str(self.page_size),
            "sortType": 0,
            "dateType": 0,  # 0: by modified time, 1: by creation time
        })
        result = self._business(require(answer, "searchorderinfo_result"), "order search")
        return Page(records(result, "orderInfoList"), count(result, "orderTotal"))

    def order_detail(self, order_no: str) -> PlatformOrder:
        answer = self.call("jingdong.pop.order.get", {"order_id": order_no, "optional_fields": ORDER_FIELDS,
                                                      "order_state": ORDER_STATES})
        detail = self._business(require(answer, "orderDetailInfo"), "order detail")
        return self._paid(self.parse_order(require(detail, "orderInfo")), order_no)

    def _order_from(self, record: Mapping[str, Any]) -> PlatformOrder | None:
        status = STATUSES.get(str(record["orderState"]))
        if status is None:
            return None
        consignee = record.get("consigneeInfo") or {}
        return PlatformOrder(
            channel=self.channel,
            shop=self.credentials.shop,
            order_no=str(record["orderId"]),
            status=status,
            buyer_nick=str(record.get("pin", "")),
            receiver=Receiver(
                name=str(consignee.get("fullname", "")),
                phone=str(consignee.get("mobile") or consignee.get("telephone") or ""),
                province=str(consignee.get("province", "")),
                city=str(consignee.get("city", "")),
                district=str(consignee.get("county", "")),
                detail=str(consignee.get("fullAddress", "")),
                protected={"oaid": str(record["oaid"])} if record.get("oaid") else {},
            ),
            lines=tuple(
                OrderLine(
                    platform_sku_id=str(item["skuId"]),
                    outer_sku_code=str(item.get("outerSkuId", "")),
                    title=str(item.get("skuName", "")),
                    quantity=int(item["itemTotal"]),
                    unit_price=money(item["jdPrice"]),
                    platform_item_id=str(item.get("wareId", "")),
                )
                for item in records(record, "itemInfoList")
            ),
            amount_paid=money(record["orderPayment"]),
            discount=money(record.get("sellerDiscount")),
            postage=money(record.get("freightPrice")),
            platform_fee=None,
            created_at=parse_china_text(record["orderStartTime"]),
            modified_at=parse_china_text(record["modified"]),
            remark=str(record.get("orderRemark", "")),
        )

    # -- writes ----------------------------------------------------------------------------------------

    def confirm_shipment(self, order_no: str, courier_code: str, tracking_no: str) -> None:
        answer = self.call("jingdong.pop.order.shipment",
                           {"order_id": order_no, "logiCoprId": self._courier(courier_code), "logiNo": tracking_no})
        self._business(require(answer, "sopjosshipment_result"), "shipment")

    def _decrypt(self, order_no: str, protected: Mapping[str, str]) -> dict[str, str]:
        # scenesType 1001: the merchant prints the waybill and ships (商家自发货打单)
        answer = self.call("jingdong.jos.order.oaid.decrypt", {"getReceiverInfoListReqVO": {
            "orderType": "POP", "appName": "cangku", "scenesType": "1001",
            "orderInfos": [{"orderId": order_no, "oaid": protected.get("oaid", "")}]}})
        result = self._business(require(answer, "returnType"), "decrypt")
        found = [r for r in records(result, "data") if str(r.get("orderId")) == order_no]
        if not found:
            raise self._error(PlatformMalformedResponse, f"no receiver for {order_no} in the decrypt answer")
        r = found[0]
        address = r.get("address") if isinstance(r.get("address"), Mapping) else {}
        return {"name": str(r.get("customerName", "")), "phone": str(r.get("customerPhone", "")),
                "detail": str(address.get("detailAddress", ""))}

    def update_stock(self, platform_sku: str, quantity: int, *, item_id: str = "") -> None:
        if quantity < 0:
            raise self._error(PlatformInvalidParameter, "a listed quantity cannot be negative")
        answer = self.call("jingdong.stock.write.updateSkuStock", {"skuId": platform_sku, "stockNum": quantity})
        self._business(answer, "stock update")

    # -- refunds ---------------------------------------------------------------------------------------

    def _refund_records(self, start: datetime, end: datetime) -> Iterable[dict]:
        # the list is windowed by the time asked or by the time checked (审核): requests asked in the window, then
        # those whose state changed in it, so a refund approved days after it was asked is still seen
        yield from self._walk_window(start, end, lambda s, e, n: self._refund_page(s, e, n, "applyTime"))
        yield from self._walk_window(start, end, lambda s, e, n: self._refund_page(s, e, n, "checkTime"))

    def _refund_page(self, start: datetime, end: datetime, page_no: int, window: str = "applyTime") -> Page:
        answer = self.call("jingdong.pop.afs.soa.refundapply.queryPageList", {
            f"{window}Start": china_text(start),
            f"{window}End": china_text(end),
            "pageIndex": page_no,
            "pageSize": self.page_size,
        })
        result = self._business(require(answer, "queryResult"), "refund search")
        return Page(records(result, "result"), count(result, "totalCount"))

    def _refund_from(self, record: Mapping[str, Any]) -> PlatformRefund:
        applied = parse_china_text(record["applyTime"])
        checked = parse_china_text(record["checkTime"]) if record.get("checkTime") else applied
        status = REFUND_STATUSES.get(int(record["status"]), RefundStatus.CLOSED)
        return PlatformRefund(
            channel=self.channel,
            shop=self.credentials.shop,
            refund_id=str(record["id"]),
            order_no=str(record["orderId"]),
            status=status,
            amount=fen(record.get("applyRefundSum")),
            reason=str(record.get("reason", "")),
            created_at=applied,
            modified_at=checked,
            kind="refund_only",  # 退款审核单: returns and exchanges are JD's 售后服务单 (jingdong.asc.*), not read here
            refunded_at=checked if status is RefundStatus.REFUNDED else None,
        )
