"""A local JOS gateway: jingdong.* APIs over routerjson, JOS signing and JOS error responses.

Written from JOS's API call guide (http://jos.jd.com/doc/channel.htm?id=157, 签名算法): every request parameter
but `sign` (`format` and `sign_method` too, when sent), sorted by name, name and value joined, wrapped in the app
secret, upper-case MD5 of the UTF-8 bytes. The timestamp is GMT+8 yyyy-MM-dd HH:mm:ss (the official SDKs add
milliseconds and the zone, yyyy-MM-dd HH:mm:ss.SSSZ), at most 10 minutes off. Tokens come from the OAuth server's
/oauth2/access_token and /oauth2/refresh_token.

E-waybills as JD's 无界电子面单 guide describes them: jingdong.ldop.alpha.waybill.receive takes a `content` JSON text
(providerCode, salePlatform, platformOrderNo, vendorCode, weight in kg, fromAddress, toAddress) and answers resultInfo
{statusCode, statusMessage, data {waybillCodeList}}; a JD order's toAddress may carry the order's OAID in place of the
contact. The sort code and package centre come from jingdong.ldop.alpha.vendor.bigshot.query, the encrypted print data
for JD's print component from jingdong.printing.printData.pullData (prePrintDatas[].perPrintData)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug.wrappers import Request, Response

from .base import (
    Call,
    Grant,
    MarketplaceSimulator,
    OrderStatus,
    PlatformRefusal,
    RefundStatus,
    SimOrder,
    SimRefund,
    china_text,
    masked_detail,
    masked_name,
    masked_phone,
    parse_china_text,
)

JOS_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d{3})([+-]\d{4}))?$")

STATE = {
    OrderStatus.PAID: "WAIT_SELLER_STOCK_OUT",
    OrderStatus.REFUND_REQUESTED: "LOCKED",
    OrderStatus.SHIPPED: "WAIT_GOODS_RECEIVE_CONFIRM",
    OrderStatus.CANCELLED: "TRADE_CANCELED",
}
REFUND_STATE = {
    RefundStatus.REQUESTED: 0,
    RefundStatus.AGREED: 1,
    RefundStatus.RETURNING: 1,
    RefundStatus.REFUSED: 2,
    RefundStatus.REFUNDED: 6,
    RefundStatus.CLOSED: 10,
}
GATEWAY_ERRORS = {
    "signature": ("12", "无效签名", "Invalid Signature"),
    "timestamp": ("10", "无效的timestamp参数，与服务器时间相差超过10分钟", "Invalid timestamp"),
    "auth": ("19", "无效access_token", "Invalid access_token"),
    "token_expired": ("18", "access_token已过期", "access_token expired"),
    "invalid_grant": ("19", "无效的code或refresh_token", "Invalid grant"),
    "rate_limit": ("2", "限制时间内调用失败次数", "App Call Limited"),
    "invalid": ("61", "参数错误", "Invalid Parameter"),
    "not_found": ("61", "参数错误", "Invalid Parameter"),
}
OAUTH_ERRORS = {"invalid_client": 401, "unsupported_grant_type": 402, "invalid_grant": 403}
MAX_PAGE_SIZE = 100
MAX_WINDOW = timedelta(days=31)


def jos_sign(received: Mapping[str, str], secret: str) -> str:
    """The sign JOS expects for the parameters received."""
    text = "".join(name + received[name] for name in sorted(received) if name != "sign")
    return hashlib.md5(f"{secret}{text}{secret}".encode("utf-8")).hexdigest().upper()


def answer_key(api: str) -> str:
    return api.replace(".", "_") + "_responce"  # sic, as JOS spells it


def ok(result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiResult": {"success": True, "chineseErrCode": "成功", "englishErrCode": "success", "numberCode": 10100000},
            **(result or {})}


def refused(message: str) -> dict[str, Any]:
    return {"apiResult": {"success": False, "chineseErrCode": message, "englishErrCode": "param error",
                          "numberCode": 10100012}}


class JdSimulator(MarketplaceSimulator):
    """JOS as seen from a POP seller app: orders by modified time, either order, windows of a month."""

    channel = "jd"
    order_api = "jingdong.pop.order.search"
    demo_app_key = "D3MO5A1E0B1C2D3E4F5A6B7C8D9E0F1A"
    gateway_path = "/routerjson"
    consent_client_field = "app_key"

    def _order_no(self, rng, created: datetime) -> str:
        return str(rng.randint(2 * 10**11, 3 * 10**11))

    def read_call(self, request: Request) -> Call:
        if request.path != self.gateway_path:
            raise PlatformRefusal("invalid", f"no such path {request.path}")
        raw = {**request.args.to_dict(), **request.form.to_dict()}
        for name in ("method", "app_key", "timestamp", "sign", "v", "360buy_param_json"):
            if not raw.get(name):
                raise PlatformRefusal("invalid", f"missing {name}")
        try:
            payload = json.loads(raw["360buy_param_json"])
        except ValueError:
            raise PlatformRefusal("invalid", "360buy_param_json is not JSON") from None
        if not isinstance(payload, dict):
            raise PlatformRefusal("invalid", "360buy_param_json must be an object")
        return Call(raw["method"], payload, raw)

    def sent_at(self, call: Call) -> datetime:
        matched = JOS_TIMESTAMP.match(call.raw["timestamp"])
        if matched is None:
            raise PlatformRefusal("timestamp", "timestamp 格式为 yyyy-MM-dd HH:mm:ss")
        sent = parse_china_text(matched.group(1))
        if matched.group(3):
            sign = 1 if matched.group(3)[0] == "+" else -1
            zone = timezone(sign * timedelta(hours=int(matched.group(3)[1:3]), minutes=int(matched.group(3)[3:])))
            sent = sent.replace(tzinfo=zone, microsecond=int(matched.group(2)) * 1000)
        return sent

    def check_signature(self, call: Call, request: Request) -> None:
        if call.raw["app_key"] != self.credentials.app_key:
            raise PlatformRefusal("signature")
        if not hmac.compare_digest(jos_sign(call.raw, self.credentials.app_secret), call.raw["sign"]):
            raise PlatformRefusal("signature")

    def oauth_pages(self) -> dict[str, Callable[[Request], Response]]:
        return {"/oauth2/to_login": self.consent, "/oauth2/access_token": self.access_token,
                "/oauth2/refresh_token": self.refresh_token}


    def _token_answer(self, request: Request, grant_type: str, redeem: Callable[[str], Grant], name: str) -> Response:
        try:
            grant = self.token_request(request, "app_key", grant_type, redeem, name)
        except PlatformRefusal as refusal:
            return self.json({"code": OAUTH_ERRORS[refusal.kind], "msg": refusal.message})
        now = self.clock()
        return self.json({"code": 0, "access_token": grant.access_token, "refresh_token": grant.refresh_token,
                          "expires_in": int((grant.expires_at - now).total_seconds()), "scope": "snsapi_base",
                          "open_id": grant.shop, "uid": grant.shop, "time": int(now.timestamp() * 1000),
                          "token_type": "bearer"})

    def access_token(self, request: Request) -> Response:
        return self._token_answer(request, "authorization_code", self.redeem_code, "code")

    def refresh_token(self, request: Request) -> Response:
        return self._token_answer(request, "refresh_token", self.redeem_refresh_token, "refresh_token")

    def refusal(self, refusal: PlatformRefusal) -> Response:
        code, zh, en = GATEWAY_ERRORS[refusal.kind if refusal.kind in GATEWAY_ERRORS else "auth"]
        return self.json({"error_response": {"code": code, "zh_desc": refusal.message or zh, "en_desc": en}})

    def malformed_prefix(self, call: Call) -> str:
        return answer_key(call.api)

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "jingdong.pop.order.search": self.order_search,
            "jingdong.pop.order.get": self.order_get,
            "jingdong.jos.order.oaid.decrypt": self.oaid_decrypt,
            "jingdong.pop.order.shipment": self.shipment,
            "jingdong.stock.write.updateSkuStock": self.update_stock,
            "jingdong.pop.afs.soa.refundapply.queryPageList": self.refunds,
            "jingdong.ldop.alpha.waybill.receive": self.waybill_receive,
            "jingdong.ldop.alpha.vendor.bigshot.query": self.bigshot_query,
            "jingdong.printing.printData.pullData": self.pull_print_data,
            "jingdong.ldop.alpha.waybill.api.unbind": self.waybill_unbind,
        }

    def _answer_of(self, api: str, content: dict[str, Any]) -> dict:
        return {answer_key(api): {"code": "0", **content}}

    # -- APIs ------------------------------------------------------------------------------------------

    def order_search(self, params: dict[str, Any]) -> dict:
        api = "jingdong.pop.order.search"
        try:
            start, end = parse_china_text(params["start_date"]), parse_china_text(params["end_date"])
        except Exception:
            return self._answer_of(api, {"searchorderinfo_result": refused("start_date/end_date yyyy-MM-dd HH:mm:ss")})
        page, size = self.integer(params, "page", 1), self.integer(params, "page_size", 20)
        if not params.get("optional_fields") or not params.get("order_state"):
            return self._answer_of(api, {"searchorderinfo_result": refused("optional_fields和order_state必填")})
        if end < start or end - start > MAX_WINDOW or not 1 <= size <= MAX_PAGE_SIZE:
            return self._answer_of(api, {"searchorderinfo_result": refused("时间跨度不能超过一个月，每页最多100条")})
        states = set(str(params["order_state"]).split(","))
        found = [o for o in self.window(start, end) if STATE[o.status] in states]
        if str(params.get("sortType", 0)) == "1":
            found.reverse()
        rows = [render(o, self.seal) for o in self.page_of(found, page, size)]
        return self._answer_of(api, {"searchorderinfo_result": ok({"orderTotal": len(found), "orderInfoList": rows})})

    def order_get(self, params: dict[str, Any]) -> dict:
        order = self.find(params.get("order_id", ""))
        return self._answer_of("jingdong.pop.order.get", {"orderDetailInfo": ok({"orderInfo": render(order, self.seal)})})

    def oaid_decrypt(self, params: dict[str, Any]) -> dict:
        """jingdong.jos.order.oaid.decrypt: getReceiverInfoListReqVO {orderType, appName, scenesType,
        orderInfos [{orderId, oaid}]} → the receivers."""
        api = "jingdong.jos.order.oaid.decrypt"
        request = params.get("getReceiverInfoListReqVO")
        if not isinstance(request, dict) or not request.get("scenesType"):
            return self._answer_of(api, {"returnType": refused("getReceiverInfoListReqVO 和 scenesType 必填")})
        try:
            found = self.unseal_each(request.get("orderInfos"), api, "orderId", "oaid")
        except PlatformRefusal as refusal:
            return self._answer_of(api, {"returnType": refused(refusal.message)})
        receivers = []
        for item, text in found:
            name, phone, detail = text.split("|")
            receivers.append({"orderId": str(item["orderId"]), "oaid": item["oaid"], "customerName": name,
                              "customerPhone": phone, "address": {"detailAddress": detail}})
        return self._answer_of(api, {"returnType": ok({"data": receivers})})

    # -- 无界电子面单 (e-waybills): content is a JSON text; answers carry resultInfo {statusCode, statusMessage, data}

    def waybill_receive(self, params: dict[str, Any]) -> dict:
        """jingdong.ldop.alpha.waybill.receive: a JD order (salePlatform 0010001) may name its receiver by the order's
        own OAID in toAddress.oaid, with the masked contact it was handed out with; any other receiver must be plain."""
        api = "jingdong.ldop.alpha.waybill.receive"
        try:
            content = alpha_content(params)
            missing = [name for name in ("providerCode", "salePlatform", "platformOrderNo", "vendorCode", "weight",
                                         "fromAddress", "toAddress") if not content.get(name)]
            if missing:
                raise PlatformRefusal("invalid", f"{', '.join(missing)} 必填")
            to, order_no = content["toAddress"], str(content["platformOrderNo"])
            if not isinstance(to, dict):
                raise PlatformRefusal("invalid", "toAddress 必须是对象")
            if to.get("oaid"):
                if content["salePlatform"] != JD_SALE_PLATFORM:
                    raise PlatformRefusal("invalid", "oaid 只能用于京东平台订单 (salePlatform 0010001)")
                order = self.find(order_no)
                self.opened(order, to["oaid"])
                if order.status is not OrderStatus.PAID:
                    raise PlatformRefusal("invalid", f"订单 {order_no} 状态为 {order.status}，不能取号")
            else:
                self.check_waybill_receiver(False, order_no, (to.get("contact"), to.get("mobile") or to.get("phone"),
                                                               to.get("address")))
            number, sort_code, centre = self.issue_waybill(order_no, str(content["providerCode"]),
                                                           to.get("cityName"), to)
        except PlatformRefusal as refusal:
            return self._answer_of(api, alpha_result(1, refusal.message))
        with self._lock:
            self.waybills[number].update(sort_code=sort_code, package_centre=centre)
        return self._answer_of(api, alpha_result(0, "成功", {"platformOrderNo": order_no, "waybillCodeList": [number]}))

    def bigshot_query(self, params: dict[str, Any]) -> dict:
        """jingdong.ldop.alpha.vendor.bigshot.query: the sort code (大头笔) and package centre (集包地) of a number."""
        api = "jingdong.ldop.alpha.vendor.bigshot.query"
        issued = self.waybills.get(str(params.get("waybillCode", "")))
        if issued is None or issued["courier"] != params.get("providerCode"):
            return self._answer_of(api, alpha_result(1, "运单号不存在"))
        return self._answer_of(api, alpha_result(0, "成功", {
            "waybillCode": params["waybillCode"], "bigShotName": issued["sort_code"], "bigShotCode": "",
            "gatherCenterName": issued["package_centre"], "gatherCenterCode": "", "secondSectionCode": "",
            "thirdSectionCode": ""}))

    def pull_print_data(self, params: dict[str, Any]) -> dict:
        """jingdong.printing.printData.pullData: each waybill's print data, encrypted for JD's print component."""
        api = "jingdong.printing.printData.pullData"
        request = params.get("param1")
        if not isinstance(request, dict) or not request.get("cpCode") or not request.get("wayBillInfos"):
            return self._answer_of(api, {"returnType": {"code": "0", "message": "cpCode 和 wayBillInfos 必填"}})
        rows = []
        for info in request["wayBillInfos"]:
            number = str((info or {}).get("wayBillCode", ""))
            issued = self.waybills.get(number)
            if issued is None:
                rows.append({"wayBillNo": number, "code": "0", "msg": "运单号不存在"})
                continue
            sealed = hmac.new(self.credentials.app_secret.encode(), f"print|{number}".encode(), hashlib.sha256).digest()
            rows.append({"wayBillNo": number, "code": "1", "msg": "操作成功！",
                         "perPrintData": base64.b64encode(sealed * 4).decode("ascii")})
        return self._answer_of(api, {"returnType": {"code": "1", "message": "操作成功！",
                                                    "objectId": request.get("objectId", ""), "prePrintDatas": rows}})

    def waybill_unbind(self, params: dict[str, Any]) -> dict:
        """jingdong.ldop.alpha.waybill.api.unbind: give a number back."""
        api = "jingdong.ldop.alpha.waybill.api.unbind"
        try:
            content = alpha_content(params)
        except PlatformRefusal as refusal:
            return self._answer_of(api, alpha_result(1, refusal.message))
        if self.waybills.pop(str(content.get("waybillCode", "")), None) is None:
            return self._answer_of(api, alpha_result(1, "运单号不存在"))
        return self._answer_of(api, alpha_result(0, "成功"))

    def shipment(self, params: dict[str, Any]) -> dict:
        api = "jingdong.pop.order.shipment"
        if not params.get("logiCoprId") or not params.get("logiNo"):
            return self._answer_of(api, {"sopjosshipment_result": refused("logiCoprId和logiNo必填")})
        try:
            self.record_shipment(params.get("order_id", ""), params["logiCoprId"], params["logiNo"])
        except PlatformRefusal as refusal:
            return self._answer_of(api, {"sopjosshipment_result": refused(refusal.message)})
        return self._answer_of(api, {"sopjosshipment_result": ok()})

    def update_stock(self, params: dict[str, Any]) -> dict:
        self.record_stock(str(params.get("skuId", "")), self.integer(params, "stockNum"))
        return self._answer_of("jingdong.stock.write.updateSkuStock", ok())

    def refunds(self, params: dict[str, Any]) -> dict:
        api = "jingdong.pop.afs.soa.refundapply.queryPageList"
        checked = "checkTimeStart" in params  # windowed by the time checked (审核) rather than asked
        window = "checkTime" if checked else "applyTime"
        try:
            start, end = parse_china_text(params[f"{window}Start"]), parse_china_text(params[f"{window}End"])
        except Exception:
            return self._answer_of(api, {"queryResult": {"success": False, "englishErrCode": "param error"}})
        with self._lock:
            found = sorted((o.refund for o in self.orders.values() if o.refund and (
                start <= o.refund.modified <= end and o.refund.modified != o.refund.created if checked
                else start <= o.refund.created <= end)), key=lambda r: (r.created, r.refund_id))
        page = self.page_of(found, self.integer(params, "pageIndex", 1), self.integer(params, "pageSize", 20))
        return self._answer_of(api, {"queryResult": {"success": True, "totalCount": len(found),
                                                     "result": [render_refund(r) for r in page]}})


JD_SALE_PLATFORM = "0010001"


def alpha_content(params: dict[str, Any]) -> dict[str, Any]:
    """The `content` of a 无界 request: a JSON text (or an object)."""
    content = params.get("content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            raise PlatformRefusal("invalid", "content 不是合法的 JSON") from None
    if not isinstance(content, dict):
        raise PlatformRefusal("invalid", "content 必填")
    return content


def alpha_result(status: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"resultInfo": {"statusCode": status, "statusMessage": message, "data": data}}


def render(order: SimOrder, seal: Callable[[str], str]) -> dict[str, Any]:
    return {
        "orderId": order.order_no,
        "orderState": STATE[order.status],
        "pin": order.buyer_nick,
        "orderTotalPrice": f"{order.goods_total:.2f}",
        "orderPayment": f"{order.amount_paid:.2f}",
        "sellerDiscount": f"{order.discount + sum(line.discount for line in order.lines):.2f}",
        "freightPrice": f"{order.postage:.2f}",
        "orderStartTime": china_text(order.created),
        "modified": china_text(order.modified),
        "orderRemark": order.remark,
        "oaid": seal(f"{order.receiver_name}|{order.receiver_phone}|{order.detail}"),
        "consigneeInfo": {
            "fullname": masked_name(order.receiver_name),
            "mobile": masked_phone(order.receiver_phone),
            "telephone": "",
            "province": order.province,
            "city": order.city,
            "county": order.district,
            "town": "",
            "fullAddress": f"{order.province}{order.city}{order.district}{masked_detail(order.detail)}",
        },
        "itemInfoList": [
            {
                "skuId": line.sku_id,
                "outerSkuId": line.outer_sku,
                "skuName": line.title,
                "jdPrice": f"{line.unit_price:.2f}",
                "itemTotal": str(line.quantity),
                "wareId": line.item_id,
            }
            for line in order.lines
        ],
    }


def render_refund(refund: SimRefund) -> dict[str, Any]:
    return {
        "id": int(refund.refund_id),
        "orderId": int(refund.order_no),
        "status": REFUND_STATE[refund.status],
        "applyRefundSum": int(refund.amount * 100),
        "reason": refund.reason,
        "applyTime": china_text(refund.created),
        "checkTime": china_text(refund.modified) if refund.modified != refund.created else "",
    }
