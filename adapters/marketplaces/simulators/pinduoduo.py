"""A local POP gateway: pdd.* APIs over api/router, POP signing and POP error responses.

Written from the POP API call guide on open.pinduoduo.com (API 调用说明, 签名规则): every parameter but `sign` sorted by name, name and value joined, wrapped in client_secret, upper-case
MD5. The timestamp is unix seconds. Shops authorise through pdd.pop.auth.token.create / .refresh."""

from __future__ import annotations

import hashlib
import json
import hmac
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
    from_epoch,
    masked_detail,
    masked_name,
    masked_phone,
)

AFTER_SALE = {
    RefundStatus.REQUESTED: 2,
    RefundStatus.AGREED: 4,
    RefundStatus.RETURNING: 7,
    RefundStatus.REFUSED: 6,
    RefundStatus.REFUNDED: 10,
    RefundStatus.CLOSED: 11,
}
ERRORS = {
    "signature": (20004, "签名验证失败"),
    "timestamp": (10000, "参数错误：timestamp 与服务器时间相差超过10分钟"),
    "auth": (20032, "access_token不存在"),
    "token_expired": (10019, "access_token已过期"),
    "invalid_grant": (10019, "code或refresh_token无效或已过期"),
    "rate_limit": (70031, "调用过于频繁，请调整调用频率"),
    "invalid": (10000, "参数错误"),
    "not_found": (10000, "参数错误"),
}
MAX_PAGE_SIZE = 100
MAX_WINDOW = timedelta(minutes=30)


def pop_sign(received: Mapping[str, str], client_secret: str) -> str:
    """The sign POP expects for the parameters received."""
    text = "".join(f"{name}{received[name]}" for name in sorted(received) if name != "sign")
    return hashlib.md5((client_secret + text + client_secret).encode("utf-8")).hexdigest().upper()


class PinduoduoSimulator(MarketplaceSimulator):
    """POP as seen from an ERP app: orders by update time, oldest first, windows of 30 minutes."""

    channel = "pinduoduo"
    token_apis = frozenset({"pdd.pop.auth.token.create", "pdd.pop.auth.token.refresh"})
    order_api = "pdd.order.number.list.increment.get"
    demo_app_key = "4b6d3f0c2a9e4d1f8c7b6a5e4d3c2b1a"
    gateway_path = "/api/router"
    cipher_mark = "~"

    def _order_no(self, rng, created: datetime) -> str:
        return f"{created:%y%m%d}-{rng.randint(10**14, 10**15 - 1)}"

    def read_call(self, request: Request) -> Call:
        if request.path != self.gateway_path:
            raise PlatformRefusal("invalid", f"no such path {request.path}")
        raw = {**request.args.to_dict(), **request.form.to_dict()}
        if not raw and request.is_json:
            raw = {key: str(value) for key, value in (request.get_json(silent=True) or {}).items()}
        for name in ("type", "client_id", "timestamp", "sign"):
            if not raw.get(name):
                raise PlatformRefusal("invalid", f"公共参数 {name} 缺失")
        return Call(raw["type"], raw, raw)

    def sent_at(self, call: Call) -> datetime:
        if not call.raw["timestamp"].isdigit() or len(call.raw["timestamp"]) > 10:
            raise PlatformRefusal("timestamp", "timestamp 必须是秒级时间戳")
        return from_epoch(int(call.raw["timestamp"]))

    def check_signature(self, call: Call, request: Request) -> None:
        if call.raw["client_id"] != self.credentials.app_key:
            raise PlatformRefusal("signature")
        if not hmac.compare_digest(pop_sign(call.raw, self.credentials.app_secret), call.raw["sign"]):
            raise PlatformRefusal("signature")


    def oauth_pages(self) -> dict[str, Callable[[Request], Response]]:
        return {"/service-market/auth": self.consent}

    def refusal(self, refusal: PlatformRefusal) -> Response:
        code, message = ERRORS[refusal.kind if refusal.kind in ERRORS else "auth"]
        return self.json({"error_response": {"error_code": code, "error_msg": message, "sub_code": str(code),
                                             "sub_msg": refusal.message or message, "request_id": "sim"}})

    def malformed_prefix(self, call: Call) -> str:
        return "order_sn_increment_get_response"

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "pdd.order.number.list.increment.get": self.orders_changed,
            "pdd.order.information.get": self.order_information,
            "pdd.logistics.online.send": self.online_send,
            "pdd.open.decrypt.batch": self.decrypt_batch,
            "pdd.waybill.get": self.waybill_get,
            "pdd.waybill.cancel": self.waybill_cancel,
            "pdd.goods.quantity.update": self.quantity_update,
            "pdd.refund.list.increment.get": self.refunds_changed,
            "pdd.pop.auth.token.create": self.token_create,
            "pdd.pop.auth.token.refresh": self.token_refresh,
        }

    def _token(self, key: str, grant: Grant) -> dict:
        now = self.clock()
        return {key: {
            "access_token": grant.access_token,
            "expires_in": int((grant.expires_at - now).total_seconds()),
            "expires_at": int(grant.expires_at.timestamp()),
            "refresh_token": grant.refresh_token,
            "refresh_token_expires_in": int((grant.refresh_expires_at - now).total_seconds()),
            "refresh_token_expires_at": int(grant.refresh_expires_at.timestamp()),
            "owner_id": grant.shop,
            "owner_name": grant.shop,
            "scope": ["pdd.order.number.list.increment.get", "pdd.logistics.online.send"],
        }}

    def token_create(self, params: dict[str, Any]) -> dict:
        return self._token("pop_auth_token_create_response", self.redeem_code(params.get("code", "")))

    def token_refresh(self, params: dict[str, Any]) -> dict:
        return self._token("pop_auth_token_refresh_response", self.redeem_refresh_token(params.get("refresh_token", "")))

    def _window(self, params: dict[str, Any]) -> tuple[datetime, datetime, int, int]:
        start = from_epoch(self.integer(params, "start_updated_at"))
        end = from_epoch(self.integer(params, "end_updated_at"))
        if end < start or end - start > MAX_WINDOW:
            raise PlatformRefusal("invalid", "开始时间结束时间间距不超过 30 分钟")
        page_size = self.integer(params, "page_size", 100)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise PlatformRefusal("invalid", "page_size 最大 100")
        return start, end, self.integer(params, "page", 1), page_size

    def orders_changed(self, params: dict[str, Any]) -> dict:
        start, end, page, size = self._window(params)
        found = self.window(start, end)
        rows = [render(o, self.seal) for o in self.page_of(found, page, size)]
        return {"order_sn_increment_get_response": {"total_count": len(found), "order_sn_list": rows}}

    def order_information(self, params: dict[str, Any]) -> dict:
        return {"order_info_get_response": {"order_info": render(self.find(params.get("order_sn", "")), self.seal)}}

    def decrypt_batch(self, params: dict[str, Any]) -> dict:
        """pdd.open.decrypt.batch: data_list [{data_tag: order_sn, encrypted_data}] → data_decrypt_list."""
        try:
            items = json.loads(params.get("data_list", ""))
        except ValueError:
            raise PlatformRefusal("invalid", "data_list 不是合法的 JSON") from None
        found = self.unseal_each(items, "pdd.open.decrypt.batch", "data_tag", "encrypted_data")
        return {"open_decrypt_batch_response": {"data_decrypt_list": [
            {"data_tag": item["data_tag"], "encrypted_data": item["encrypted_data"], "decrypted_data": text,
             "error_code": 0} for item, text in found]}}

    def waybill_get(self, params: dict[str, Any]) -> dict:
        """pdd.waybill.get (电子面单云打印取号): a PDD order (order_channels_type PDD) may name its receiver by the
        order's own ciphertexts."""
        try:
            request = json.loads(params.get("param_waybill_cloud_print_apply_new_request", ""))
        except ValueError:
            raise PlatformRefusal("invalid", "param_waybill_cloud_print_apply_new_request 不是合法的 JSON") from None
        wp_code = request.get("wp_code")
        orders = request.get("trade_order_info_dtos") or []
        if not 1 <= len(orders) <= 10:
            raise PlatformRefusal("invalid", "trade_order_info_dtos 需要 1 到 10 条")
        modules = []
        for order in orders:
            info, recipient = order.get("order_info") or {}, order.get("recipient") or {}
            address = recipient.get("address") or {}
            order_no = (info.get("trade_order_list") or [""])[0]
            self.check_waybill_receiver(info.get("order_channels_type") == "PDD", order_no,
                                        (recipient.get("name"), recipient.get("mobile"), address.get("detail")))
            number, sort_code, centre = self.issue_waybill(order_no, wp_code, address.get("city"), recipient)
            data = {"waybillCode": number, "wpCode": wp_code,
                    "routingInfo": {"sortation": {"name": sort_code}, "consolidation": {"name": centre}}}
            modules.append({"object_id": order.get("object_id", "1"), "waybill_code": number,
                            "print_data": json.dumps({"data": data, "signature": "sim", "templateUrl": ""},
                                                     ensure_ascii=False)})
        return {"pdd_waybill_get_response": {"modules": modules}}

    def waybill_cancel(self, params: dict[str, Any]) -> dict:
        if self.waybills.pop(str(params.get("waybill_code", "")), None) is None:
            raise PlatformRefusal("invalid", "面单号不存在")
        return {"pdd_waybill_cancel_response": {"cancel_result": True}}

    def online_send(self, params: dict[str, Any]) -> dict:
        if not params.get("logistics_id") or not params.get("tracking_number"):
            raise PlatformRefusal("invalid", "logistics_id 和 tracking_number 必填")
        self.record_shipment(params.get("order_sn", ""), params["logistics_id"], params["tracking_number"])
        return {"logistics_online_send_response": {"is_success": True}}

    def quantity_update(self, params: dict[str, Any]) -> dict:
        if not params.get("goods_id"):
            raise PlatformRefusal("invalid", "goods_id 必填")
        if params.get("update_type", "1") != "1":
            raise PlatformRefusal("invalid", "only full updates (update_type=1) are simulated")
        self.record_stock(params.get("sku_id", ""), self.integer(params, "quantity"), item_id=params["goods_id"])
        return {"goods_quantity_update_response": {"is_success": True}}

    def refunds_changed(self, params: dict[str, Any]) -> dict:
        start, end, page, size = self._window(params)
        found = self.refunds_in(start, end)
        rows = [render_refund(r) for r in self.page_of(found, page, size)]
        return {"refund_increment_get_response": {"total_count": len(found), "refund_list": rows}}


def render(order: SimOrder, seal: Callable[[str], str]) -> dict[str, Any]:
    order_status = 2 if order.status is OrderStatus.SHIPPED else 1
    refund_status = {OrderStatus.REFUND_REQUESTED: 2, OrderStatus.CANCELLED: 4}.get(order.status, 1)
    return {
        "order_sn": order.order_no,
        "order_status": order_status,
        "refund_status": refund_status,
        "confirm_status": 1,
        "created_time": china_text(order.created),
        "confirm_time": china_text(order.created),
        "updated_at": china_text(order.modified),
        "receiver_name_encrypted": seal(order.receiver_name),
        "receiver_phone_encrypted": seal(order.receiver_phone),
        "address_encrypted": seal(order.detail),
        "receiver_name_mask": masked_name(order.receiver_name),
        "receiver_phone_mask": masked_phone(order.receiver_phone),
        "address_mask": masked_detail(order.detail),
        "province": order.province,
        "city": order.city,
        "town": order.district,
        "goods_amount": float(order.goods_total),
        "discount_amount": float(order.discount + sum(line.discount for line in order.lines)),
        "postage": float(order.postage),
        "pay_amount": float(order.amount_paid),
        "buyer_memo": order.remark,
        "item_list": [
            {
                "goods_id": int(line.item_id),
                "sku_id": int(line.sku_id),
                "outer_id": line.outer_sku,
                "outer_goods_id": "",
                "goods_name": line.title,
                "goods_count": line.quantity,
                "goods_price": float(line.unit_price),
            }
            for line in order.lines
        ],
    }


AFTER_SALE_TYPES = {"refund_only": 2, "return_refund": 3, "exchange": 4, "reship": 5}


def render_refund(refund: SimRefund) -> dict[str, Any]:
    status = AFTER_SALE[refund.status]
    if refund.kind != "refund_only" and refund.status is RefundStatus.REQUESTED:
        status = 3 if refund.kind == "return_refund" else 14
    elif refund.kind == "return_refund" and refund.status is RefundStatus.AGREED:
        status = 7
    shown = {
        "id": int(refund.refund_id),
        "order_sn": refund.order_no,
        "after_sales_type": AFTER_SALE_TYPES[refund.kind],
        "after_sales_status": status,
        "refund_amount": int(refund.amount * 100),
        "after_sale_reason": refund.reason,
        "created_time": china_text(refund.created),
        "updated_time": china_text(refund.modified),
        "tracking_number": refund.return_tracking,
    }
    if refund.line is not None:
        shown.update(goods_id=int(refund.line.item_id), sku_id=int(refund.line.sku_id),
                     outer_id=refund.line.outer_sku, goods_number=refund.quantity)
    return shown
