"""A local TOP gateway: taobao.* APIs over router/rest, TOP signing and TOP error responses.

Written from TOP's API call guide (https://open.taobao.com/doc.htm?docId=101617&docType=1, 签名算法): every
parameter but `sign` (and empty ones) sorted by name, name and value joined with nothing between; md5 wraps that
in the app secret, hmac / hmac-sha256 key it with the secret; upper-case hex. The timestamp is GMT+8
yyyy-MM-dd HH:mm:ss and may be 10 minutes off the server's clock."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
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

STATUS = {
    OrderStatus.PAID: "WAIT_SELLER_SEND_GOODS",
    OrderStatus.REFUND_REQUESTED: "WAIT_SELLER_SEND_GOODS",
    OrderStatus.SHIPPED: "WAIT_BUYER_CONFIRM_GOODS",
    OrderStatus.CANCELLED: "TRADE_CLOSED",
}
REFUND_STATUS = {
    RefundStatus.REQUESTED: "WAIT_SELLER_AGREE",
    RefundStatus.AGREED: "WAIT_BUYER_RETURN_GOODS",
    RefundStatus.RETURNING: "WAIT_SELLER_CONFIRM_GOODS",
    RefundStatus.REFUSED: "SELLER_REFUSE_BUYER",
    RefundStatus.REFUNDED: "SUCCESS",
    RefundStatus.CLOSED: "CLOSED",
}
TOP_DIGESTS = {"md5": hashlib.md5, "hmac": hashlib.md5, "hmac-sha256": hashlib.sha256}
ERRORS = {
    "signature": {"code": 25, "msg": "Invalid signature"},
    "timestamp": {"code": 31, "msg": "Invalid timestamp"},
    "auth": {"code": 27, "msg": "Invalid session", "sub_code": "invalid-sessionkey"},
    "token_expired": {"code": 27, "msg": "Invalid session", "sub_code": "session-expired"},
    "invalid_grant": {"code": 15, "msg": "Remote service error", "sub_code": "isv.invalid-grant"},
    "invalid": {"code": 41, "msg": "Invalid arguments", "sub_code": "isv.invalid-parameter"},
    "not_found": {"code": 15, "msg": "Remote service error", "sub_code": "isv.trade-not-exist"},
    "rate_limit": {"code": 7, "msg": "App Call Limited", "sub_code": "accesscontrol.limited-by-app-access-count"},
}
MAX_PAGE_SIZE = 100
MAX_WINDOW = timedelta(days=1)


def top_sign(received: Mapping[str, str], secret: str, sign_method: str) -> str:
    """The sign TOP expects for the parameters received."""
    text = "".join(name + received[name] for name in sorted(received) if name != "sign" and received[name])
    if sign_method == "md5":
        digest = hashlib.md5((secret + text + secret).encode("utf-8")).hexdigest()
    else:
        digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), TOP_DIGESTS[sign_method]).hexdigest()
    return digest.upper()


def answer_key(api: str) -> str:
    """taobao.trade.fullinfo.get answers under trade_fullinfo_get_response."""
    return api.split(".", 1)[1].replace(".", "_") + "_response"


class TaobaoSimulator(MarketplaceSimulator):
    """TOP as seen from a seller app: trades newest-modified first, windows of at most one day."""

    channel = "taobao"
    order_api = "taobao.trades.sold.increment.get"
    demo_app_key = "12345678"
    gateway_path = "/router/rest"
    token_apis = frozenset({"taobao.top.auth.token.create", "taobao.top.auth.token.refresh"})

    def read_call(self, request: Request) -> Call:
        if request.path != self.gateway_path:
            raise PlatformRefusal("invalid", f"no such path {request.path}")
        raw = {**request.args.to_dict(), **request.form.to_dict()}
        for name in ("method", "app_key", "timestamp", "sign", "v"):
            if not raw.get(name):
                raise PlatformRefusal("invalid", f"missing system parameter {name}")
        return Call(raw["method"], raw, raw)

    def sent_at(self, call: Call) -> datetime:
        try:
            return parse_china_text(call.raw["timestamp"])
        except PlatformRefusal:
            raise PlatformRefusal("timestamp", "timestamp is not yyyy-MM-dd HH:mm:ss") from None

    def check_signature(self, call: Call, request: Request) -> None:
        method = call.raw.get("sign_method", "md5")
        if method not in TOP_DIGESTS or call.raw["app_key"] != self.credentials.app_key:
            raise PlatformRefusal("signature")
        if not hmac.compare_digest(top_sign(call.raw, self.credentials.app_secret, method), call.raw["sign"]):
            raise PlatformRefusal("signature")

    def access_token_of(self, call: Call) -> str | None:
        return call.raw.get("session")

    def refusal(self, refusal: PlatformRefusal) -> Response:
        error = dict(ERRORS[refusal.kind])
        if refusal.kind == "rate_limit":
            error["sub_msg"] = f"This ban will last for {refusal.message} more seconds"
        elif refusal.message:
            error["sub_msg"] = refusal.message
        error["request_id"] = "sim" + str(len(self.calls))
        return self.json({"error_response": error})

    def malformed_prefix(self, call: Call) -> str:
        return answer_key(call.api)


    def oauth_pages(self) -> dict[str, Callable[[Request], Response]]:
        return {"/authorize": self.consent}

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "taobao.trades.sold.increment.get": self.trades_changed,
            "taobao.trade.fullinfo.get": self.trade_detail,
            "taobao.logistics.offline.send": self.offline_send,
            "taobao.item.quantity.update": self.quantity_update,
            "taobao.refunds.receive.get": self.refunds_changed,
            "tmall.exchange.receive.get": self.exchanges_changed,
            "taobao.top.oaid.decrypt": self.oaid_decrypt,
            "taobao.top.auth.token.create": self.token_create,
            "taobao.top.auth.token.refresh": self.token_refresh,
        }

    def _token_result(self, api: str, grant: Grant) -> dict:
        now = self.clock()
        result = {
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "expires_in": int((grant.expires_at - now).total_seconds()),
            "refresh_token": grant.refresh_token,
            "re_expires_in": int((grant.refresh_expires_at - now).total_seconds()),
            "taobao_user_nick": grant.shop,
            "taobao_user_id": str(int(hashlib.md5(grant.shop.encode("utf-8")).hexdigest()[:8], 16)),
        }
        return {answer_key(api): {"token_result": json.dumps(result, ensure_ascii=False)}}

    def token_create(self, params: dict[str, Any]) -> dict:
        return self._token_result("taobao.top.auth.token.create", self.redeem_code(params.get("code", "")))

    def token_refresh(self, params: dict[str, Any]) -> dict:
        grant = self.redeem_refresh_token(params.get("refresh_token", ""))
        return self._token_result("taobao.top.auth.token.refresh", grant)

    # -- APIs ------------------------------------------------------------------------------------------

    def _window(self, params: dict[str, Any]) -> tuple[datetime, datetime, int, int]:
        try:
            start, end = parse_china_text(params["start_modified"]), parse_china_text(params["end_modified"])
        except Exception:
            raise PlatformRefusal("invalid", "start_modified and end_modified are required, yyyy-MM-dd HH:mm:ss") from None
        if end < start or end - start > MAX_WINDOW:
            raise PlatformRefusal("invalid", "end_modified must follow start_modified by at most one day")
        page_size = self.integer(params, "page_size", 40)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise PlatformRefusal("invalid", "page_size must be between 1 and 100")
        return start, end, self.integer(params, "page_no", 1), page_size

    def trades_changed(self, params: dict[str, Any]) -> dict:
        start, end, page_no, page_size = self._window(params)
        newest_first = list(reversed(self.window(start, end)))
        page = self.page_of(newest_first, page_no, page_size)
        answer: dict[str, Any] = {"total_results": len(newest_first), "trades": {"trade": [render(o, self.seal) for o in page]}}
        if params.get("use_has_next") == "true":
            answer = {"has_next": page_no * page_size < len(newest_first), "trades": answer["trades"]}
        return {answer_key(self.order_api): answer}

    def trade_detail(self, params: dict[str, Any]) -> dict:
        return {answer_key("taobao.trade.fullinfo.get"): {"trade": render(self.find(params.get("tid", "")), self.seal)}}

    def offline_send(self, params: dict[str, Any]) -> dict:
        for name in ("tid", "out_sid", "company_code"):
            if not params.get(name):
                raise PlatformRefusal("invalid", f"{name} is required")
        self.record_shipment(params["tid"], params["company_code"], params["out_sid"])
        return {answer_key("taobao.logistics.offline.send"): {"shipping": {"is_success": True}}}

    def quantity_update(self, params: dict[str, Any]) -> dict:
        if not params.get("num_iid"):
            raise PlatformRefusal("invalid", "num_iid is required")
        if params.get("type", "1") != "1":
            raise PlatformRefusal("invalid", "only full updates (type=1) are simulated")
        quantity = self.integer(params, "quantity")
        self.record_stock(params.get("sku_id", ""), quantity, item_id=params["num_iid"])
        item = {"num_iid": int(params["num_iid"]), "num": quantity, "modified": china_text(self.clock())}
        return {answer_key("taobao.item.quantity.update"): {"item": item}}

    def oaid_decrypt(self, params: dict[str, Any]) -> dict:
        """taobao.top.oaid.decrypt: query_list [{tid, oaid, scene}] → receiver_list, one receiver per query."""
        try:
            queries = json.loads(params.get("query_list", ""))
        except ValueError:
            raise PlatformRefusal("invalid", "query_list 不是合法的 JSON") from None
        if not isinstance(queries, list) or not 1 <= len(queries) <= 100:
            raise PlatformRefusal("invalid", "query_list 需要 1 到 100 条")
        receivers = []
        for query in queries:
            if not all(query.get(name) for name in ("tid", "oaid", "scene")):
                raise PlatformRefusal("invalid", "tid、oaid 和 scene 必填")
            name, mobile, detail = self.unseal(str(query["tid"]), query["oaid"], "taobao.top.oaid.decrypt").split("|")
            order = self.find(str(query["tid"]))
            receivers.append({"tid": str(query["tid"]), "oaid": query["oaid"], "name": name, "mobile": mobile,
                              "state": order.province, "city": order.city, "district": order.district,
                              "address_detail": detail, "matched": True})
        return {answer_key("taobao.top.oaid.decrypt"): {"receiver_list": {"receiver": receivers}}}

    def refunds_changed(self, params: dict[str, Any]) -> dict:
        start, end, page_no, page_size = self._window(params)
        newest_first = [r for r in reversed(self.refunds_in(start, end)) if r.kind != "exchange"]
        page = self.page_of(newest_first, page_no, page_size)
        refunds = {"refund": [render_refund(r) for r in page]}
        return {answer_key("taobao.refunds.receive.get"): {"total_results": len(newest_first), "refunds": refunds}}


    def exchanges_changed(self, params: dict[str, Any]) -> dict:
        """Tmall's exchange list, by modified time (its end parameter is spelt end_gmt_modifed_time)."""
        window = {"start_modified": params.get("start_gmt_modified_time"),
                  "end_modified": params.get("end_gmt_modifed_time"), "page_no": params.get("page_no", 1),
                  "page_size": params.get("page_size", 20)}
        start, end, page_no, page_size = self._window(window)
        found = [r for r in self.refunds_in(start, end) if r.kind == "exchange"]
        page = self.page_of(found, page_no, page_size)
        return {"tmall_exchange_receive_get_response": {
            "total_results": len(found), "has_next": page_no * page_size < len(found),
            "results": {"exchange": [render_exchange(r) for r in page]}}}


EXCHANGE_STATUS = {
    RefundStatus.REQUESTED: "换货待处理",
    RefundStatus.AGREED: "待买家退货",
    RefundStatus.RETURNING: "买家已退货，待收货",
    RefundStatus.REFUSED: "待买家修改",
    RefundStatus.REFUNDED: "请退款",
    RefundStatus.CLOSED: "换货关闭",
}


def render_exchange(refund: SimRefund) -> dict[str, Any]:
    line = refund.line
    shown = {
        "dispute_id": refund.refund_id,
        "biz_order_id": refund.order_no,
        "status": EXCHANGE_STATUS[refund.status],
        "reason": refund.reason,
        "created": china_text(refund.created),
        "modified": china_text(refund.modified),
        "buyer_logistic_no": refund.return_tracking,
    }
    if line is not None:
        shown.update(bought_sku=line.sku_id, num=refund.quantity, title=line.title, payment=f"{line.total:.2f}")
    return shown


def render(order: SimOrder, seal: Callable[[str], str]) -> dict[str, Any]:
    refund_status = "WAIT_SELLER_AGREE" if order.status is OrderStatus.REFUND_REQUESTED else "NO_REFUND"
    return {
        "tid": int(order.order_no),
        "tid_str": order.order_no,
        "status": STATUS[order.status],
        "buyer_nick": order.buyer_nick,
        # TOP hands out receivers masked, with an OAID standing for the real ones (decrypted only by TOP)
        "oaid": seal(f"{order.receiver_name}|{order.receiver_phone}|{order.detail}"),
        "receiver_name": masked_name(order.receiver_name),
        "receiver_mobile": masked_phone(order.receiver_phone),
        "receiver_state": order.province,
        "receiver_city": order.city,
        "receiver_district": order.district,
        "receiver_address": masked_detail(order.detail),
        "payment": f"{order.amount_paid:.2f}",
        "discount_fee": f"{order.discount:.2f}",
        "post_fee": f"{order.postage:.2f}",
        "commission_fee": f"{order.platform_fee:.2f}",
        "created": china_text(order.created),
        "modified": china_text(order.modified),
        "buyer_message": order.remark,
        "orders": {
            "order": [
                {
                    "oid": int(f"{order.order_no[-12:]}{n}"),
                    "num_iid": int(line.item_id),
                    "sku_id": line.sku_id,
                    "outer_sku_id": line.outer_sku,
                    "title": line.title,
                    "num": line.quantity,
                    "price": f"{line.unit_price:.2f}",
                    "discount_fee": f"{line.discount:.2f}",
                    "payment": f"{line.total:.2f}",
                    "refund_status": refund_status,
                }
                for n, line in enumerate(order.lines, 1)
            ]
        },
    }


def render_refund(refund: SimRefund) -> dict[str, Any]:
    # taobao.refunds.receive.get serves refunds and returns (has_good_return); exchanges are tmall.exchange.* and
    # a reshipment is no refund on Taobao: the simulator renders those as refunds of their amount
    line = refund.line
    shown = {
        "refund_id": int(refund.refund_id),
        "tid": int(refund.order_no),
        "oid": int(refund.order_no),
        "status": REFUND_STATUS[refund.status],
        "refund_fee": f"{refund.amount:.2f}",
        "reason": refund.reason,
        "created": china_text(refund.created),
        "modified": china_text(refund.modified),
        "has_good_return": refund.kind in ("return_refund", "exchange"),
        "good_status": "BUYER_RETURNED_GOODS" if refund.return_tracking else "BUYER_RECEIVED",
    }
    if line is not None:
        shown.update(num_iid=int(line.item_id), sku=line.sku_id, outer_id=line.outer_sku, num=refund.quantity)
    if refund.return_tracking:
        shown.update(sid=refund.return_tracking, company_name="顺丰速运")
    return shown
