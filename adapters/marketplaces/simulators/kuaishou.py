"""A local Kuaishou shop open platform: API paths, k=v&signSecret signing, cursor lists, {result} errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from ..base import OrderStatus, RefundStatus, from_epoch
from ..kuaishou import END_OF_LIST, SIGN_METHODS, KuaishouClient, sign_kuaishou
from .base import SKUS, Call, MarketplaceSimulator, PlatformRefusal, SimOrder, SimRefund

STATUS = {OrderStatus.PAID: 30, OrderStatus.REFUND_REQUESTED: 30, OrderStatus.SHIPPED: 40, OrderStatus.CANCELLED: 80}
REFUND_STATUS = {
    RefundStatus.REQUESTED: 10,
    RefundStatus.AGREED: 20,
    RefundStatus.REFUSED: 40,
    RefundStatus.REFUNDED: 60,
    RefundStatus.CLOSED: 70,
}
ERRORS = {
    "signature": (50, "签名验证失败"),
    "auth": (28, "access_token 无效或已过期"),
    "rate_limit": (1017, "Exceed qps limit, KEY [apiId:{api};appkey:{appkey}], MAX_QPS [300.0]"),
    "invalid": (300004, "参数错误"),
    "not_found": (300011, "订单不存在"),
}
MAX_PAGE_SIZE = 50
MAX_WINDOW = timedelta(days=7)


def fen(amount) -> int:
    return int(amount * 100)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class KuaishouSimulator(MarketplaceSimulator):
    """Kuaishou shop as an app sees it: one SKU per order, cursor pages of at most 50, windows of 7 days."""

    channel = "kuaishou"
    client_class = KuaishouClient
    order_api = "open.order.cursor.list"
    demo_app_key = "ks6887777777779839"
    gateway_path = ""
    max_lines = 1

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._current_api = ""

    @property
    def signing_secret(self) -> str:
        # the platform issues a separate signSecret; without one the simulator signs with the app secret,
        # as the client does
        return self.credentials.sign_secret or self.credentials.app_secret

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

    def check_signature(self, call: Call, request: Request) -> None:
        method = call.raw["signMethod"]
        if method not in SIGN_METHODS or call.raw["appkey"] != self.credentials.app_key:
            raise PlatformRefusal("signature")
        if sign_kuaishou(call.raw, self.signing_secret, method) != call.raw["sign"]:
            raise PlatformRefusal("signature")
        if call.raw.get("access_token") != self.credentials.access_token:
            raise PlatformRefusal("auth")

    def refusal(self, refusal: PlatformRefusal) -> Response:
        code, message = ERRORS[refusal.kind]
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
            cursor = END_OF_LIST
        return page, cursor

    def cursor_list(self, params: dict[str, Any]) -> dict:
        start, end, _, _ = self._window(params)
        page, cursor = self._cursor_page(self.window(start, end), lambda o: (millis(o.modified), o.order_no),
                                         params, "cursor")
        return self.success({"cursor": cursor, "orderList": [render(o) for o in page]})

    def detail(self, params: dict[str, Any]) -> dict:
        return self.success(render(self.find(str(params.get("oid", "")))))

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


def render(order: SimOrder) -> dict[str, Any]:
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
            "consignee": order.receiver_name,
            "mobile": order.receiver_phone,
            "province": order.province,
            "city": order.city,
            "district": order.district,
            "address": order.detail,
        },
        "orderRefundList": refunds,
    }


def render_refund(refund: SimRefund) -> dict[str, Any]:
    return {
        "refundId": int(refund.refund_id),
        "oid": int(refund.order_no),
        "status": REFUND_STATUS[refund.status],
        "refundFee": fen(refund.amount),
        "refundReasonDesc": refund.reason,
        "createTime": millis(refund.created),
        "updateTime": millis(refund.modified),
    }
