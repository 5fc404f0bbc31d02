"""A local Douyin shop open platform: method paths, param_json bodies, sign checks and {code, msg} errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from ..base import OrderStatus, RefundStatus, from_epoch
from ..douyin import SIGN_METHODS, DouyinClient, param_json, sign_douyin
from .base import Call, MarketplaceSimulator, PlatformRefusal, SimOrder, SimRefund

ORDER_STATUS = {
    OrderStatus.PAID: (2, "备货中"),
    OrderStatus.REFUND_REQUESTED: (2, "备货中"),
    OrderStatus.SHIPPED: (3, "已发货"),
    OrderStatus.CANCELLED: (4, "已取消"),
}
AFTER_SALE = {
    RefundStatus.REQUESTED: 6,
    RefundStatus.AGREED: 7,
    RefundStatus.REFUSED: 27,
    RefundStatus.REFUNDED: 12,
    RefundStatus.CLOSED: 28,
}
ERRORS = {
    "signature": (40003, "非法的参数（平台校验）", "isv.signature-invalid", "签名校验失败"),
    "auth": (40003, "非法的参数（平台校验）", "isv.access-token-no-existed", "access_token不存在，请使用最新的access_token访问"),
    "rate_limit": (60000, "超过限流限制", "isv.flow-limit", "请求过于频繁"),
    "invalid": (40004, "非法的参数（业务校验）", "isv.business-failed", "参数不合法"),
    "not_found": (50002, "业务处理失败", "isv.business-failed:order-not-found", "订单不存在"),
}
MAX_SIZE = 100
MAX_WINDOW = timedelta(days=90)


class DouyinSimulator(MarketplaceSimulator):
    """Douyin shop as an app sees it: order.searchList by update time with pages from 0."""

    channel = "douyin"
    client_class = DouyinClient
    order_api = "order.searchList"
    demo_app_key = "6844048284663924231"
    gateway_path = ""

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

    def check_signature(self, call: Call, request: Request) -> None:
        method = call.raw.get("sign_method") or "md5"
        if method not in SIGN_METHODS or call.raw["app_key"] != self.credentials.app_key:
            raise PlatformRefusal("signature")
        # the platform parses param_json and signs its own canonical form of it
        expected = sign_douyin(self.credentials.app_key, self.credentials.app_secret, call.api, call.raw["timestamp"],
                               param_json(call.params), method, call.raw["v"])
        if expected != call.raw["sign"]:
            raise PlatformRefusal("signature")
        if call.raw.get("access_token") != self.credentials.access_token:
            raise PlatformRefusal("auth")

    def refusal(self, refusal: PlatformRefusal) -> Response:
        code, msg, sub_code, sub_msg = ERRORS[refusal.kind]
        return self.json({"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": refusal.message or sub_msg,
                          "log_id": "sim", "data": {}})

    def malformed_prefix(self, call: Call) -> str:
        return "code\": 10000, \"data"

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "order.searchList": self.search_list,
            "order.orderDetail": self.order_detail,
            "order.logisticsAdd": self.logistics_add,
            "sku.syncStock": self.sync_stock,
            "afterSale.List": self.after_sales,
        }

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
        rows = [render(o) for o in self.page_of(found, page, size, first=0)]
        return self.success({"shop_order_list": rows, "total": len(found), "page": page, "size": size})

    def order_detail(self, params: dict[str, Any]) -> dict:
        return self.success({"shop_order_detail": render(self.find(params.get("shop_order_id", "")))})

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


def render(order: SimOrder) -> dict[str, Any]:
    status, description = ORDER_STATUS[order.status]
    after_sale = 6 if order.status is OrderStatus.REFUND_REQUESTED else 0
    return {
        "order_id": order.order_no,
        "order_status": status,
        "order_status_desc": description,
        "create_time": int(order.created.timestamp()),
        "update_time": int(order.modified.timestamp()),
        "user_nick": order.buyer_nick,
        "post_receiver": order.receiver_name,
        "post_tel": order.receiver_phone,
        "post_addr": {
            "province": {"name": order.province},
            "city": {"name": order.city},
            "town": {"name": order.district},
            "detail": order.detail,
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


def render_refund(refund: SimRefund) -> dict[str, Any]:
    return {
        "aftersale_info": {
            "aftersale_id": refund.refund_id,
            "aftersale_status": AFTER_SALE[refund.status],
            "refund_amount": fen(refund.amount),
            "reason": refund.reason,
            "create_time": int(refund.created.timestamp()),
            "update_time": int(refund.modified.timestamp()),
        },
        "order_info": {"shop_order_id": refund.order_no},
    }
