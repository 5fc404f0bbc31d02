"""A local Douyin shop open platform: method paths, param_json bodies, sign checks and {code, msg} errors.

Written from the 抖店 signing guide (https://op.jinritemai.com/docs/guide-docs/10/813): the platform parses the
business parameters and serialises them again with keys sorted at every depth, compact, HTML characters (<, >, &)
left as they are (its Go example calls SetEscapeHTML(false)); it signs
secret + app_key… method… param_json… timestamp… v… + secret, lower-case hex of HMAC-SHA256 keyed by the secret
(sign_method=hmac-sha256) or of MD5 (sign_method md5 or absent). The timestamp (unix seconds, or GMT+8
yyyy-MM-dd HH:mm:ss) may be 10 minutes off. Shops authorise through token.create / token.refresh."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
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
    from_epoch,
    masked_detail,
    masked_name,
    masked_phone,
    parse_china_text,
)

ORDER_STATUS = {
    OrderStatus.PAID: (2, "备货中"),
    OrderStatus.REFUND_REQUESTED: (2, "备货中"),
    OrderStatus.SHIPPED: (3, "已发货"),
    OrderStatus.CANCELLED: (4, "已取消"),
}
AFTER_SALE = {
    RefundStatus.REQUESTED: 6,
    RefundStatus.AGREED: 7,
    RefundStatus.RETURNING: 11,
    RefundStatus.REFUSED: 27,
    RefundStatus.REFUNDED: 12,
    RefundStatus.CLOSED: 28,
}
ERRORS = {
    "signature": (40003, "非法的参数（平台校验）", "isv.signature-invalid", "签名校验失败"),
    "timestamp": (40003, "非法的参数（平台校验）", "isv.parameter-invalid:timestamp", "timestamp与服务器时间相差超过10分钟"),
    "auth": (40003, "非法的参数（平台校验）", "isv.access-token-no-existed", "access_token不存在，请使用最新的access_token访问"),
    "token_expired": (40003, "非法的参数（平台校验）", "isv.access-token-expired", "access_token已过期"),
    "invalid_grant": (40004, "非法的参数（业务校验）", "isv.business-failed:invalid-grant", "code或refresh_token无效"),
    "rate_limit": (60000, "超过限流限制", "isv.flow-limit", "请求过于频繁"),
    "invalid": (40004, "非法的参数（业务校验）", "isv.business-failed", "参数不合法"),
    "not_found": (50002, "业务处理失败", "isv.business-failed:order-not-found", "订单不存在"),
}
MAX_SIZE = 100
MAX_WINDOW = timedelta(days=90)


def canonical_param_json(params: Any) -> str:
    """The business parameters as the platform serialises them again before checking the sign."""
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def doudian_sign(app_key: str, secret: str, method: str, timestamp: str, param_json: str, v: str,
                 sign_method: str) -> str:
    pattern = f"{secret}app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v{v}{secret}"
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode("utf-8"), pattern.encode("utf-8"), hashlib.sha256).hexdigest()
    return hashlib.md5(pattern.encode("utf-8")).hexdigest()


class DouyinSimulator(MarketplaceSimulator):
    """Douyin shop as an app sees it: order.searchList by update time with pages from 0."""

    channel = "douyin"
    token_lifetime = timedelta(days=7)
    refresh_lifetime = timedelta(days=14)
    token_apis = frozenset({"token.create", "token.refresh"})
    order_api = "order.searchList"
    demo_app_key = "6844048284663924231"
    gateway_path = ""
    cipher_mark = "#"
    consent_client_field = "app_key"

    def _order_no(self, rng, created: datetime) -> str:
        return str(rng.randint(6 * 10**18, 7 * 10**18))

    def read_call(self, request: Request) -> Call:
        query = request.args.to_dict()
        for name in ("app_key", "method", "timestamp", "sign", "v"):
            if not query.get(name):
                raise PlatformRefusal("invalid", f"缺少公共参数 {name}")
        if request.path.strip("/").replace("/", ".") != query["method"]:
            raise PlatformRefusal("invalid", "请求路径与 method 不一致")
        text = request.get_data(as_text=True) or "{}"
        try:
            payload = json.loads(text)
        except ValueError:
            raise PlatformRefusal("invalid", "业务参数json解析失败") from None
        if not isinstance(payload, dict):
            raise PlatformRefusal("invalid", "业务参数必须是 JSON 对象")
        return Call(query["method"], payload, query)

    def sent_at(self, call: Call) -> datetime:
        timestamp = call.raw["timestamp"]
        return from_epoch(int(timestamp)) if timestamp.isdigit() else parse_china_text(timestamp)


    def check_signature(self, call: Call, request: Request) -> None:
        method = call.raw.get("sign_method") or "md5"
        if method not in ("md5", "hmac-sha256") or call.raw["app_key"] != self.credentials.app_key:
            raise PlatformRefusal("signature")
        expected = doudian_sign(self.credentials.app_key, self.credentials.app_secret, call.api,
                                call.raw["timestamp"], canonical_param_json(call.params), call.raw["v"], method)
        if not hmac.compare_digest(expected, call.raw["sign"]):
            raise PlatformRefusal("signature")


    def oauth_pages(self) -> dict[str, Callable[[Request], Response]]:
        return {"/authorize": self.consent}

    def refusal(self, refusal: PlatformRefusal) -> Response:
        code, msg, sub_code, sub_msg = ERRORS[refusal.kind if refusal.kind in ERRORS else "auth"]
        return self.json({"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": refusal.message or sub_msg,
                          "log_id": "sim", "data": {}})

    def malformed_prefix(self, call: Call) -> str:
        return "code\": 10000, \"data"

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "order.searchList": self.search_list,
            "order.orderDetail": self.order_detail,
            "order.logisticsAdd": self.logistics_add,
            "order.batchDecrypt": self.batch_decrypt,
            "logistics.newCreateOrder": self.new_create_order,
            "logistics.cancelOrder": self.cancel_order,
            "sku.syncStock": self.sync_stock,
            "afterSale.List": self.after_sales,
            "token.create": self.token_create,
            "token.refresh": self.token_refresh,
        }

    def _token(self, grant: Grant) -> dict:
        return self.success({
            "access_token": grant.access_token,
            "expires_in": int((grant.expires_at - self.clock()).total_seconds()),
            "refresh_token": grant.refresh_token,
            "scope": "SCOPE",
            "shop_id": grant.shop,
            "shop_name": grant.shop,
        })

    def token_create(self, params: dict[str, Any]) -> dict:
        if params.get("grant_type") != "authorization_code":
            raise PlatformRefusal("invalid", "grant_type 应为 authorization_code")
        return self._token(self.redeem_code(params.get("code", "")))

    def token_refresh(self, params: dict[str, Any]) -> dict:
        if params.get("grant_type") != "refresh_token":
            raise PlatformRefusal("invalid", "grant_type 应为 refresh_token")
        return self._token(self.redeem_refresh_token(params.get("refresh_token", "")))

    @staticmethod
    def success(data: Any) -> dict:
        return {"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "", "log_id": "sim", "data": data}

    def _window(self, params: dict[str, Any], start_key: str, end_key: str) -> tuple[datetime, datetime, int, int]:
        start, end = from_epoch(self.integer(params, start_key)), from_epoch(self.integer(params, end_key))
        size = self.integer(params, "size", 10)
        if end < start or end - start > MAX_WINDOW or not 1 <= size <= MAX_SIZE:
            raise PlatformRefusal("invalid", "时间范围或 size 不合法（size 最大 100）")
        return start, end, self.integer(params, "page", 0), size

    def search_list(self, params: dict[str, Any]) -> dict:
        start, end, page, size = self._window(params, "update_time_start", "update_time_end")
        found = self.window(start, end)
        if not params.get("order_asc", False):
            found.reverse()
        rows = [render(o, self.seal) for o in self.page_of(found, page, size, first=0)]
        return self.success({"shop_order_list": rows, "total": len(found), "page": page, "size": size})

    def order_detail(self, params: dict[str, Any]) -> dict:
        return self.success({"shop_order_detail": render(self.find(params.get("shop_order_id", "")), self.seal)})

    def batch_decrypt(self, params: dict[str, Any]) -> dict:
        """order.batchDecrypt: cipher_infos [{auth_id: shop_order_id, cipher_text}] → decrypt_infos."""
        found = self.unseal_each(params.get("cipher_infos"), "order.batchDecrypt", "auth_id", "cipher_text")
        return self.success({"decrypt_infos": [
            {"auth_id": item["auth_id"], "cipher_text": item["cipher_text"], "decrypt_text": text, "err_no": 0,
             "err_msg": ""} for item, text in found], "custom_err": {"err_code": 0, "err_msg": ""}})

    def new_create_order(self, params: dict[str, Any]) -> dict:
        """logistics.newCreateOrder (电子面单取号): a Douyin order's receiver may be the order's own ciphertexts."""
        orders = params.get("order_infos") or []
        if not params.get("logistics_code") or not params.get("sender_info") or not 1 <= len(orders) <= 10:
            raise PlatformRefusal("invalid", "logistics_code、sender_info 与 1 到 10 条 order_infos 必填")
        issued = []
        for order in orders:
            receiver = order.get("receiver_info") or {}
            contact, address = receiver.get("contact") or {}, receiver.get("address") or {}
            order_no = str(order.get("order_id", ""))
            self.check_waybill_receiver(order_no in self.orders, order_no,
                                        (contact.get("name"), contact.get("mobile") or contact.get("phone"),
                                         address.get("detail_address")))
            number, sort_code, centre = self.issue_waybill(order_no, params["logistics_code"],
                                                           address.get("city_name"), receiver)
            issued.append({"order_id": order_no, "pack_id": order.get("pack_id", ""), "track_no": number,
                           "sort_code": sort_code, "package_center_name": centre})
        return self.success({"ebill_infos": issued, "err_infos": []})

    def cancel_order(self, params: dict[str, Any]) -> dict:
        if self.waybills.pop(str(params.get("track_no", "")), None) is None:
            raise PlatformRefusal("invalid", "运单号不存在")
        return self.success({"cancel_result": True})

    def logistics_add(self, params: dict[str, Any]) -> dict:
        if not params.get("company_code") or not params.get("logistics_code"):
            raise PlatformRefusal("invalid", "company_code 和 logistics_code 必填")
        self.record_shipment(params.get("order_id", ""), params["company_code"], params["logistics_code"])
        return self.success({})

    def sync_stock(self, params: dict[str, Any]) -> dict:
        if params.get("incremental"):
            raise PlatformRefusal("invalid", "only full updates (incremental=false) are simulated")
        self.record_stock(str(params.get("sku_id", "")), self.integer(params, "stock_num"),
                          item_id=str(params.get("product_id", "")))
        return self.success({})

    def after_sales(self, params: dict[str, Any]) -> dict:
        start, end, page, size = self._window(params, "update_start_time", "update_end_time")
        found = self.refunds_in(start, end)
        rows = [render_refund(r) for r in self.page_of(found, page, size, first=0)]
        return self.success({"items": rows, "total": len(found), "has_more": (page + 1) * size < len(found)})


def fen(amount) -> int:
    return int(amount * 100)


def render(order: SimOrder, seal: Callable[[str], str]) -> dict[str, Any]:
    status, description = ORDER_STATUS[order.status]
    after_sale = 6 if order.status is OrderStatus.REFUND_REQUESTED else 0
    return {
        "order_id": order.order_no,
        "order_status": status,
        "order_status_desc": description,
        "create_time": int(order.created.timestamp()),
        "update_time": int(order.modified.timestamp()),
        "user_nick": order.buyer_nick,
        "encrypt_post_receiver": seal(order.receiver_name),
        "encrypt_post_tel": seal(order.receiver_phone),
        "mask_post_receiver": masked_name(order.receiver_name),
        "mask_post_tel": masked_phone(order.receiver_phone),
        "mask_post_addr": {"detail": masked_detail(order.detail)},
        "post_addr": {
            "province": {"name": order.province},
            "city": {"name": order.city},
            "town": {"name": order.district},
            "encrypt_detail": seal(order.detail),
        },
        "order_amount": fen(order.goods_total),
        "pay_amount": fen(order.amount_paid),
        "promotion_amount": fen(order.discount),
        "post_amount": fen(order.postage),
        "platform_cost_amount": fen(order.platform_fee),
        "buyer_words": order.remark,
        "sku_order_list": [
            {
                "order_id": f"{order.order_no}{n}",
                "product_id": int(line.item_id),
                "sku_id": int(line.sku_id),
                "out_sku_id": line.outer_sku,
                "product_name": line.title,
                "item_num": line.quantity,
                "goods_price": fen(line.unit_price),
                "promotion_amount": fen(line.discount),
                "after_sale_info": {"after_sale_status": after_sale, "refund_status": 1 if after_sale else 0},
            }
            for n, line in enumerate(order.lines, 1)
        ],
    }


AFTER_SALE_TYPES = {"return_refund": 0, "refund_only": 1, "exchange": 3, "reship": 7}


def render_refund(refund: SimRefund) -> dict[str, Any]:
    status = AFTER_SALE[refund.status]
    if refund.kind in ("exchange", "reship") and refund.status is RefundStatus.AGREED:
        status = 8
    related = []
    if refund.line is not None:
        related.append({"sku_id": int(refund.line.sku_id), "shop_sku_code": refund.line.outer_sku,
                        "product_id": int(refund.line.item_id), "aftersale_item_num": refund.quantity,
                        "refund_amount": fen(refund.amount)})
    return {
        "aftersale_info": {
            "aftersale_id": refund.refund_id,
            "aftersale_type": AFTER_SALE_TYPES[refund.kind],
            "aftersale_status": status,
            "refund_amount": fen(refund.amount),
            "reason": refund.reason,
            "create_time": int(refund.created.timestamp()),
            "update_time": int(refund.modified.timestamp()),
            "return_logistics_code": refund.return_tracking,
        },
        "order_info": {"shop_order_id": refund.order_no, "related_order_info": related},
    }
