"""Cainiao e-waybill simulator behind a TOP gateway (/router/rest) with TOP's md5 signature."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from adapters.couriers.simulators.common import CourierSimulator, area_code, json_response, masked

NUMBER_SHAPES = {"ZTO": ("7", "358", 12), "YTO": ("YT", "2345678", 12), "STO": ("77", "3", 12),
                 "YUNDA": ("43", "0123456789", 12)}


class CainiaoSimulator(CourierSimulator):
    """One app key and seller session; issues numbers for the courier named by cp_code."""

    name = "CAINIAO"

    def __init__(self, app_key: str = "12345678", app_secret: str = "top-secret-demo",
                 session: str = "seller-session-demo", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_key = app_key
        self.app_secret = app_secret
        self.session = session
        self._cp_code = "ZTO"

    def new_number(self) -> str:
        prefix, first, rest = NUMBER_SHAPES[self._cp_code]
        return prefix + self._rng.choice(first) + self._digits(rest)

    def _error(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> Response:
        err: dict[str, Any] = {"code": code, "msg": msg, "request_id": self.request_id()[:12]}
        if sub_code:
            err.update(sub_code=sub_code, sub_msg=sub_msg)
        return json_response({"error_response": err})

    def busy_response(self) -> Response:
        return self._error(15, "Remote service error", "isp.remote-service-timeout", "服务超时，请稍后重试")

    def _expected_sign(self, params: dict[str, str]) -> str:
        joined = "".join(k + params[k] for k in sorted(params) if k != "sign")
        return hashlib.md5((self.app_secret + joined + self.app_secret).encode()).hexdigest().upper()

    def handle(self, request: Request):
        params = {**request.args.to_dict(), **request.form.to_dict()}
        fields = {k: v for k, v in params.items() if k not in ("sign", "session")}
        if request.path != "/router/rest":
            return Response("not found", 404), "not-found", fields
        if params.get("app_key") != self.app_key:
            return self._error(29, "Invalid app Key"), "unknown-app-key", fields
        if params.get("sign_method", "md5") != "md5":
            return self._error(25, "Invalid signature", "isv.invalid-signature-method"), "bad-signature", fields
        if params.get("sign") != self._expected_sign(params):
            return self._error(25, "Invalid signature"), "bad-signature", fields
        if params.get("session") != self.session:
            return self._error(27, "Invalid session", "invalid-sessionkey", "session 已失效"), "bad-session", fields
        handler = {"cainiao.waybill.ii.get": self._get, "cainiao.waybill.ii.cancel": self._cancel}.get(
            params.get("method", ""))
        if handler is None:
            return self._error(22, "Invalid method"), "unknown-method", fields
        response, outcome = handler(params)
        return response, outcome, fields

    def _get(self, params: dict[str, str]):
        try:
            req = json.loads(params.get("param_waybill_cloud_print_apply_new_request", ""))
        except ValueError:
            return self._error(41, "Invalid arguments", "isv.invalid-parameter", "入参不是合法JSON"), "rejected"
        cp_code = req.get("cp_code")
        if cp_code not in NUMBER_SHAPES:
            return self._error(15, "Remote service error", "isv.CP_CODE_ERROR", "物流公司编码错误"), "rejected"
        orders = req.get("trade_order_info_dtos") or []
        sender_city = ((req.get("sender") or {}).get("address") or {}).get("city", "")
        modules = []
        for order in orders:
            recipient = order.get("recipient") or {}
            city = (recipient.get("address") or {}).get("city")
            if not city or not recipient.get("mobile"):
                return self._error(15, "Remote service error", "isv.RECIPIENT_ADDRESS_ERROR",
                                   "收件人地址或电话为空"), "rejected"
            order_no = ((order.get("order_info") or {}).get("trade_order_list") or [""])[0]
            refused = self._privacy_refusal(order, recipient, order_no)
            if refused:
                return self._error(15, "Remote service error", "isv.RECIPIENT_PRIVACY_ERROR", refused), "rejected"
            with self._lock:
                self._cp_code = cp_code
                parcel = self.find_order(order_no) or self.issue(order_no, sender_city, city, courier=cp_code)
            code = area_code(city)
            data = {"recipient": {"address": recipient.get("address")}, "waybillCode": parcel.tracking_no,
                    "cpCode": cp_code,
                    "routingInfo": {"sortation": {"name": f"{code}-{int(code) % 97:02d}"},
                                    "consolidation": {"name": f"{city}集包", "code": code + "01"},
                                    "routeCode": f"{code} A1-02"}}
            modules.append({"object_id": order.get("object_id", "1"), "waybill_code": parcel.tracking_no,
                            "cp_code": cp_code, "real_cp_code": cp_code,
                            "print_data": json.dumps({"data": data, "signature": self.request_id(),
                                                      "templateURL": order.get("template_url", "")},
                                                     ensure_ascii=False)})
        return json_response({"cainiao_waybill_ii_get_response": {
            "modules": {"waybill_cloud_print_response": modules}, "request_id": self.request_id()[:12]}}), "created"

    @staticmethod
    def _privacy_refusal(order: dict[str, Any], recipient: dict[str, Any], order_no: str) -> str:
        """Why a recipient cannot be delivered to: a masked contact without the Taobao OAID that stands for it, or an
        OAID sent without its Taobao order (channel TB and the real tid), as Cainiao's privacy guide requires."""
        oaid = recipient.get("oaid")
        if not oaid:
            return "收件人姓名或电话为脱敏信息，请传入 oaid" if masked(recipient.get("name"), recipient.get("mobile")) else ""
        channel = (order.get("order_info") or {}).get("order_channels_type")
        if channel != "TB" or recipient.get("tid") != order_no:
            return "oaid 需配合淘宝订单 (order_channels_type=TB) 与真实 tid 使用"
        return ""

    def _cancel(self, params: dict[str, str]):
        why = self.cancel(params.get("waybill_code", ""))
        if why is not None:
            messages = {"unknown": "面单号不存在", "already-cancelled": "面单已取消", "collected": "面单已揽收，不能取消"}
            return self._error(15, "Remote service error", "isv.WAYBILL_CANCEL_FAILED", messages[why]), "rejected"
        return json_response({"cainiao_waybill_ii_cancel_response": {"cancel_result": True,
                                                             "request_id": self.request_id()[:12]}}), "cancelled"
