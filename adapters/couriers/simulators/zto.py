"""ZTO open platform (ZOP) simulator: JSON bodies checked against x-dataDigest."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from adapters.couriers.simulators.common import (
    ARRIVED, COLLECTED, DELIVERED, DELIVERING, DEPARTED, FAILED, RETURNED, CourierSimulator, area_code,
    json_response, masked)

STAGE_TYPES = {
    COLLECTED: ("收件", "【{city}】的业务员已揽收"),
    DEPARTED: ("发件", "【{city}】快件离开【{city}中心】已发往下一站"),
    ARRIVED: ("到件", "【{city}】快件已到达【{city}中心】"),
    DELIVERING: ("派件", "【{city}】的业务员正在派件"),
    DELIVERED: ("签收", "【{city}】快件已签收，感谢使用中通快递"),
    FAILED: ("问题件", "【{city}】收件人拒收"),
    RETURNED: ("退件", "【{city}】快件已退回寄件人"),
}


def _error(code: str, message: str) -> Response:
    return json_response({"status": False, "statusCode": code, "message": message, "result": None})


def _ok(result: Any) -> Response:
    return json_response({"status": True, "statusCode": "SYS000", "message": "请求成功", "result": result})


class ZTOSimulator(CourierSimulator):
    """Accepts one app key and one e-waybill account; refuses bad digests with S211."""

    name = "ZTO"

    def __init__(self, app_key: str = "cangku-zto-key", app_secret: str = "zto-secret-demo", *,
                 account_id: str = "test", account_password: str = "ZTO123", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_key = app_key
        self.app_secret = app_secret
        self.account_id = account_id
        self.account_password = account_password

    def new_number(self) -> str:
        return "7" + self._rng.choice("358") + self._digits(12)

    def busy_response(self) -> Response:
        return _error("S203", "服务暂不可用")

    def handle(self, request: Request):
        raw = request.get_data()
        api = request.path.lstrip("/")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        fields = {"api": api, "body": body}
        app_key = request.headers.get("x-appKey") or request.headers.get("x-companyid")
        digest = request.headers.get("x-dataDigest") or request.headers.get("x-datadigest")
        if app_key != self.app_key:
            return _error("S210", "无权限访问"), "unknown-app-key", fields
        expected = base64.b64encode(hashlib.md5(raw + self.app_secret.encode()).digest()).decode()
        if digest != expected:
            return _error("S211", "签名错误"), "bad-signature", fields
        if not isinstance(body, dict):
            return _error("S202", "非法的JSON"), "bad-json", fields
        handler = {"zto.open.createOrder": self._create, "zto.open.cancelPreOrder": self._cancel,
                   "zto.merchant.waybill.track.query": self._track}.get(api)
        if handler is None:
            return _error("S207", "API不存在"), "unknown-api", fields
        response, outcome = handler(body)
        return response, outcome, fields

    def _create(self, body: dict[str, Any]):
        account = body.get("accountInfo") or {}
        if (account.get("accountId"), account.get("accountPassword")) != (self.account_id, self.account_password):
            return _error("E404", "鉴权失败,未绑定电子面单账号"), "rejected"
        sender, receiver = body.get("senderInfo") or {}, body.get("receiveInfo") or {}
        order_no = body.get("partnerOrderCode")
        if not order_no or not receiver.get("receiverMobile") or not receiver.get("receiverCity"):
            return _error("S208", "partnerOrderCode/receiveInfo不能为空"), "rejected"
        if masked(receiver.get("receiverName"), receiver.get("receiverMobile")):
            return _error("S209", "收件人姓名或手机号不合法"), "rejected"
        parcel = self.find_order(order_no) or self.issue(order_no, sender.get("senderCity", ""),
                                                          receiver.get("receiverCity", ""))
        code = area_code(parcel.dest_city)
        return _ok({
            "billCode": parcel.tracking_no, "orderCode": f"{parcel.created_at:%y%m%d}{self._digits(12)}",
            "partnerOrderCode": order_no, "siteCode": code + "00", "siteName": parcel.origin_city,
            "bigMarkInfo": {"mark": f"{code[:3]}- H{int(code) % 90 + 10} 09", "bagAddr": f"{parcel.dest_city}集包"},
        }), "created"

    def _cancel(self, body: dict[str, Any]):
        why = self.cancel(body.get("billCode", ""))
        if why == "unknown":
            return _error("E416", "不符合中通运单号规则校验"), "rejected"
        if why == "already-cancelled":
            return _error("C001", "订单已取消"), "rejected"
        if why == "collected":
            return _error("C002", "订单已揽收，不能取消"), "rejected"
        return _ok({}), "cancelled"

    def _track(self, body: dict[str, Any]):
        number = body.get("billCode", "")
        stages = self.visible_stages(number) or []
        rows = [{"billCode": number, "scanType": STAGE_TYPES[s.kind][0],
                 "scanDate": int(s.time.timestamp() * 1000), "desc": STAGE_TYPES[s.kind][1].format(city=s.city),
                 "scanSite": {"name": f"{s.city}中心", "city": s.city, "code": area_code(s.city)}}
                for s in stages]
        return _ok(list(reversed(rows))), "routes"
