"""YTO open platform simulator: /open/{method}/v1/{app_id}/{user_id} with the param+method+v+secret sign."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from adapters.couriers.base import format_china_time
from adapters.couriers.simulators.common import (
    ARRIVED, COLLECTED, DELIVERED, DELIVERING, DEPARTED, FAILED, RETURNED, CourierSimulator, area_code,
    json_response, masked)

STAGE_INFO = {
    COLLECTED: ("GOT", "【{city}】 已收件"),
    DEPARTED: ("DEPARTURE", "【{city}转运中心】 已发出"),
    ARRIVED: ("ARRIVAL", "【{city}转运中心】 已收入"),
    DELIVERING: ("SENT_SCAN", "【{city}】 派件中"),
    DELIVERED: ("SIGNED", "客户签收人: 本人签收 已签收 感谢使用圆通速递"),
    FAILED: ("FAILED", "【{city}】 签收失败: 收件人拒收"),
    RETURNED: ("TMS_RETURN", "【{city}】 快件已退回"),
}


def _error(code: str, reason: str) -> Response:
    return json_response({"success": False, "code": code, "reason": reason, "message": reason})


class YTOSimulator(CourierSimulator):
    """Accepts one app id with a customer code (orders) and a tracking user (routes), each with its secret."""

    name = "YTO"

    def __init__(self, app_id: str = "CangKu", customer_code: str = "K21000119", secret: str = "u2Z1F7Fh", *,
                 track_user_id: str = "TEST", track_secret: str = "123456", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_id = app_id
        self.customer_code = customer_code
        self.secret = secret
        self.track_user_id = track_user_id
        self.track_secret = track_secret
        self.secrets = {customer_code: secret, track_user_id: track_secret}

    def new_number(self) -> str:
        return "YT" + self._rng.choice("2345678") + self._digits(12)

    def busy_response(self) -> Response:
        return _error("S99", "系统繁忙，请稍后再试")

    def handle(self, request: Request):
        parts = request.path.strip("/").split("/")
        try:
            envelope = json.loads(request.get_data() or b"{}")
        except ValueError:
            envelope = {}
        fields = {"path_parts": parts, "param": envelope.get("param") if isinstance(envelope, dict) else None}
        if len(parts) != 5 or parts[0] != "open":
            return Response("not found", 404), "not-found", fields
        _, method, version, app_id, user_id = parts
        secret = self.secrets.get(user_id)
        if app_id != self.app_id or secret is None:
            return _error("S03", "客户编码或用户标识不存在"), "unknown-account", fields
        param = envelope.get("param") if isinstance(envelope, dict) else None
        if not isinstance(param, str) or not envelope.get("sign") or not envelope.get("timestamp"):
            return _error("S01", "参数param、sign、timestamp不能为空"), "missing-field", fields
        expected = base64.b64encode(hashlib.md5((param + method + version + secret).encode()).digest()).decode()
        if envelope["sign"] != expected:
            return _error("S02", "签名验证失败"), "bad-signature", fields
        try:
            payload = json.loads(param)
        except ValueError:
            return _error("S04", "param不是合法的JSON"), "bad-json", fields
        handler = {"privacy_create_adapter": self._create, "korder_create_adapter": self._create,
                   "korder_cancel_adapter": self._cancel, "track_query_adapter": self._track}.get(method)
        if handler is None:
            return _error("S05", "接口不存在"), "unknown-method", fields
        response, outcome = handler(payload)
        return response, outcome, fields

    def _create(self, p: dict[str, Any]):
        order_no = p.get("logisticsNo")
        required = ("senderName", "senderMobile", "recipientName", "recipientMobile", "recipientCityName")
        if not order_no or any(not p.get(k) for k in required):
            return _error("B01", "物流单号或收寄件人信息不能为空"), "rejected"
        if masked(p.get("recipientName"), p.get("recipientMobile")):
            return _error("B04", "收件人姓名或手机号不合法"), "rejected"
        parcel = self.find_order(order_no) or self.issue(order_no, p.get("senderCityName", ""),
                                                          p["recipientCityName"])
        code = area_code(parcel.dest_city)
        return json_response({"customerCode": self.customer_code, "logisticsNo": order_no, "mailNo": parcel.tracking_no,
                      "shortAddress": f"{code} F{int(code) % 50:02d}-00 000", "secretWaybills": []}), "created"

    def _cancel(self, p: dict[str, Any]):
        parcel = next((x for x in self.parcels.values() if x.order_no == p.get("logisticsNo")), None)
        why = "unknown" if parcel is None else self.cancel(parcel.tracking_no)
        if why == "unknown":
            return _error("B02", "订单不存在"), "rejected"
        if why == "already-cancelled":
            return _error("B03", "订单已取消"), "rejected"
        if why == "collected":
            return _error("B04", "订单已揽收，不可取消"), "rejected"
        return json_response({"customerCode": self.customer_code, "logisticsNo": parcel.order_no}), "cancelled"

    def _track(self, p: dict[str, Any]):
        number = p.get("NUMBER") or p.get("Number") or ""
        stages = self.visible_stages(number)
        if not stages:
            return json_response({"code": "1001", "map": {number: []}, "message": "查询结果为空。", "success": True}), "routes"
        return json_response([{"waybill_No": number, "upload_Time": format_china_time(s.time),
                       "infoContent": STAGE_INFO[s.kind][0],
                       "processInfo": STAGE_INFO[s.kind][1].format(city=s.city)} for s in stages]), "routes"
