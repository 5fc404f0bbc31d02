"""SF Express open platform simulator: /std/service with msgDigest checked the way SF checks it."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from typing import Any

from werkzeug.wrappers import Request, Response

from adapters.couriers.base import format_china_time
from adapters.couriers.simulators.common import (
    ARRIVED, COLLECTED, DELIVERED, DELIVERING, DEPARTED, FAILED, RETURNED, CourierSimulator, area_code,
    json_response, masked)

STAGE_CODES = {
    COLLECTED: ("50", "顺丰速运 已收取快件"),
    DEPARTED: ("30", "快件在【{city}营业部】完成分拣,准备发往下一站"),
    ARRIVED: ("31", "快件到达 【{city}中转场】"),
    DELIVERING: ("44", "正在派送途中,请您准备签收"),
    DELIVERED: ("80", "您的快件已签收,感谢您使用顺丰"),
    FAILED: ("70", "快件派送不成功,收方客户拒收"),
    RETURNED: ("99", "快件已退回寄件人"),
}


def _expected_digest(msg_data: str, timestamp: str, checkword: str) -> str:
    # Java URLEncoder rules, built independently of the client's encoder.
    encoded = urllib.parse.quote_plus(msg_data + timestamp + checkword, safe="*").replace("~", "%7E")
    return base64.b64encode(hashlib.md5(encoded.encode()).digest()).decode()


class SFSimulator(CourierSimulator):
    """Accepts one partner; refuses bad digests with A1006."""

    name = "SF"

    def __init__(self, partner_id: str = "CANGKU_SF", checkword: str = "sf-checkword-demo", *,
                 unserviceable_provinces: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.partner_id = partner_id
        self.checkword = checkword
        self.unserviceable_provinces = unserviceable_provinces

    def new_number(self) -> str:
        return "SF" + self._rng.choice("1357") + self._digits(12)

    def busy_response(self) -> Response:
        return json_response(self._api_error("A1009", "目标服务异常或不可达"))

    def _api_error(self, code: str, message: str) -> dict[str, Any]:
        return {"apiErrorMsg": message, "apiResponseID": self.request_id().upper(), "apiResultCode": code,
                "apiResultData": None}

    def _ok(self, msg_data: Any) -> Response:
        data = {"success": True, "errorCode": "S0000", "errorMsg": None, "msgData": msg_data}
        return json_response({"apiErrorMsg": "", "apiResponseID": self.request_id().upper(), "apiResultCode": "A1000",
                      "apiResultData": json.dumps(data, ensure_ascii=False)})

    def _business_error(self, code: str, message: str) -> Response:
        data = {"success": False, "errorCode": code, "errorMsg": message, "msgData": None}
        return json_response({"apiErrorMsg": "", "apiResponseID": self.request_id().upper(), "apiResultCode": "A1000",
                      "apiResultData": json.dumps(data, ensure_ascii=False)})

    def handle(self, request: Request):
        form = request.form.to_dict()
        fields = {k: v for k, v in form.items() if k != "msgDigest"}
        if request.path != "/std/service" or request.method != "POST":
            return Response("not found", 404), "not-found", fields
        missing = [k for k in ("partnerID", "requestID", "serviceCode", "timestamp", "msgDigest", "msgData")
                   if not form.get(k)]
        if missing:
            return json_response(self._api_error("A1001", f"必传参数不可为空: {missing[0]}")), "missing-field", fields
        if form["partnerID"] != self.partner_id:
            return json_response(self._api_error("A1004", "无对应服务权限")), "unknown-partner", fields
        if form["msgDigest"] != _expected_digest(form["msgData"], form["timestamp"], self.checkword):
            return json_response(self._api_error("A1006", "数字签名无效")), "bad-signature", fields
        try:
            msg = json.loads(form["msgData"])
        except ValueError:
            return self._business_error("1010", "msgData不是合法的JSON"), "bad-json", fields
        handler = {"EXP_RECE_CREATE_ORDER": self._create, "EXP_RECE_UPDATE_ORDER": self._update,
                   "EXP_RECE_SEARCH_ROUTES": self._routes}.get(form["serviceCode"])
        if handler is None:
            return json_response(self._api_error("A1004", "无对应服务权限")), "unknown-service", fields
        response, outcome = handler(msg)
        return response, outcome, fields

    def _create(self, msg: dict[str, Any]):
        order_no = msg.get("orderId")
        contacts = {c.get("contactType"): c for c in msg.get("contactInfoList") or []}
        if not order_no or 1 not in contacts or 2 not in contacts or not msg.get("cargoDetails"):
            return self._business_error("1014", "订单号、收寄方信息或托寄物不能为空"), "rejected"
        receiver = contacts[2]
        if masked(receiver.get("contact"), receiver.get("mobile"), receiver.get("tel")):
            return self._business_error("8016", "收件人姓名或电话不合法"), "rejected"
        parcel = self.find_order(order_no)
        if parcel is None:
            if receiver.get("province") in self.unserviceable_provinces:
                return self._ok({"orderId": order_no, "filterResult": 3, "remark": "1",
                                 "waybillNoInfoList": [], "routeLabelInfo": []}), "filtered"
            parcel = self.issue(order_no, contacts[1].get("city", ""), receiver.get("city", ""))
        code = area_code(parcel.dest_city)
        label = {"waybillNo": parcel.tracking_no, "destCityCode": code, "destDeptCode": f"{code}CK",
                 "destRouteLabel": f"{code}W-F0-CK", "codingMapping": "K35", "proCode": "T4",
                 "twoDimensionCode": f"MMM={{'k1':'{code}W','k2':'{code}CK','k5':'{parcel.tracking_no}'}}"}
        return self._ok({
            "orderId": order_no, "originCode": area_code(parcel.origin_city), "destCode": code, "filterResult": 2,
            "remark": "", "waybillNoInfoList": [{"waybillType": 1, "waybillNo": parcel.tracking_no}],
            "routeLabelInfo": [{"code": "1000", "routeLabelData": label, "message": f"{parcel.tracking_no}:"}],
        }), "created"

    def _update(self, msg: dict[str, Any]):
        order_no = msg.get("orderId")
        numbers = [w.get("waybillNo") for w in msg.get("waybillNoInfoList") or []]
        if msg.get("dealType") != 2:
            return self._ok({"orderId": order_no, "resStatus": 2}), "confirmed"
        parcel = next((p for p in self.parcels.values() if p.order_no == order_no), None)
        if parcel is None or (numbers and parcel.tracking_no not in numbers):
            return self._ok({"orderId": order_no, "resStatus": 1}), "mismatch"
        why = self.cancel(parcel.tracking_no)
        if why == "already-cancelled":
            return self._business_error("8016", "订单已取消，请勿重复操作"), "rejected"
        if why == "collected":
            return self._business_error("8252", "订单已收件，不能取消"), "rejected"
        return self._ok({"orderId": order_no, "resStatus": 2,
                         "waybillNoInfoList": [{"waybillType": 1, "waybillNo": parcel.tracking_no}]}), "cancelled"

    def _routes(self, msg: dict[str, Any]):
        resps = []
        for number in msg.get("trackingNumber") or []:
            stages = self.visible_stages(number) or []
            resps.append({"mailNo": number, "routes": [
                {"acceptTime": format_china_time(s.time), "acceptAddress": s.city,
                 "remark": STAGE_CODES[s.kind][1].format(city=s.city), "opCode": STAGE_CODES[s.kind][0]}
                for s in stages]})
        return self._ok({"routeResps": resps}), "routes"
