"""SF Express open platform (丰桥 sfapi): order, cancel and route query over the msgDigest protocol."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any, Iterable

from adapters.couriers.base import (
    CourierClient,
    CourierRejected,
    HttpCourier,
    RouteEvent,
    RouteStatus,
    Waybill,
    WaybillRequest,
    compact_json,
    parse_china_time,
    sort_events,
    yuan,
)

CREATE_ORDER = "EXP_RECE_CREATE_ORDER"
UPDATE_ORDER = "EXP_RECE_UPDATE_ORDER"
SEARCH_ROUTES = "EXP_RECE_SEARCH_ROUTES"

SUCCESS = "A1000"
AUTH_CODES = {"A1003", "A1004", "A1006"}  # IP not allowed, no permission, bad digest
RETRY_CODES = {"A1002", "A1005", "A1009", "A1099"}  # expired, throttled, backend down, system error

# opCode → status. 50 收件, 30 分拣发出, 31 到达, 44 派送中, 80 签收, 70 派件不成功, 99 退回.
OP_CODES = {
    "50": RouteStatus.COLLECTED, "54": RouteStatus.COLLECTED,
    "30": RouteStatus.IN_TRANSIT, "31": RouteStatus.IN_TRANSIT, "36": RouteStatus.IN_TRANSIT,
    "44": RouteStatus.DELIVERING, "204": RouteStatus.DELIVERING,
    "80": RouteStatus.DELIVERED, "8000": RouteStatus.DELIVERED,
    "70": RouteStatus.EXCEPTION, "33": RouteStatus.EXCEPTION,
    "99": RouteStatus.RETURNED,
}

_JAVA_URL_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_")


def java_url_encode(text: str) -> str:
    """java.net.URLEncoder.encode(text, "UTF-8"): space → '+', '~' → '%7E', '*' kept."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in _JAVA_URL_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def sf_digest(msg_data: str, timestamp: str, checkword: str) -> str:
    """msgDigest = base64(md5(URLEncoder.encode(msgData + timestamp + checkword)))."""
    encoded = java_url_encode(msg_data + timestamp + checkword)
    return base64.b64encode(hashlib.md5(encoded.encode("ascii")).digest()).decode("ascii")


# expressTypeId values of the SF Open Platform (顺丰开放平台 产品类型), as printed on the label.
EXPRESS_TYPES = {1: "顺丰特快", 2: "顺丰标快"}

class SFExpressClient(HttpCourier, CourierClient):
    """SF Express over the open platform; the service path is /std/service."""

    code = "SF"

    def __init__(self, base_url: str, partner_id: str, checkword: str, *, monthly_card: str = "",
                 express_type_id: int = 2, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._partner_id = partner_id
        self._checkword = checkword
        self._monthly_card = monthly_card
        self._express_type_id = express_type_id

    def __repr__(self) -> str:
        return f"SFExpressClient({self.base_url!r}, partner_id={self._partner_id!r})"

    def _call(self, service_code: str, msg: dict[str, Any]) -> dict[str, Any]:
        msg_data = compact_json(msg)
        timestamp = str(int(self._clock().timestamp() * 1000))
        form = {
            "partnerID": self._partner_id,
            "requestID": uuid.uuid4().hex,
            "serviceCode": service_code,
            "timestamp": timestamp,
            "msgDigest": sf_digest(msg_data, timestamp, self._checkword),
            "msgData": msg_data,
        }
        body = self._post(f"{self.base_url}/std/service", data=form)
        if not isinstance(body, dict):
            raise self._malformed("response is not an object")
        result_code = body.get("apiResultCode")
        if result_code != SUCCESS:
            raise self._refusal(str(result_code), body.get("apiErrorMsg") or "request refused",
                                auth=result_code in AUTH_CODES, retry=result_code in RETRY_CODES)
        data = self._unwrap(body.get("apiResultData"), "apiResultData")
        if not isinstance(data, dict):
            raise self._malformed("apiResultData missing")
        if str(data.get("success")).lower() != "true":
            raise CourierRejected(self.code, data.get("errorMsg") or "business error",
                                  code=str(data.get("errorCode") or ""))
        return self._unwrap(data.get("msgData"), "msgData") or {}

    def _unwrap(self, value: Any, what: str) -> Any:
        """SF nests JSON inside JSON as strings; accept either form."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            raise self._malformed(f"{what} is not JSON") from exc

    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Place an order with a waybill number and route label (EXP_RECE_CREATE_ORDER)."""
        msg: dict[str, Any] = {
            "language": "zh-CN",
            "orderId": req.order_no,
            "cargoDetails": [{"name": req.item_summary or "商品", "count": 1, "unit": "件",
                              "weight": float(req.weight_kg)}],
            "contactInfoList": [_contact(1, req.sender), _contact(2, req.receiver)],
            "payMethod": 1,
            "expressTypeId": self._express_type_id,
            "parcelQty": 1,
            "totalWeight": float(req.weight_kg),
            "isReturnRoutelabel": 1,
            "isUnifiedWaybillNo": 1,
        }
        if self._monthly_card:
            msg["monthlyCard"] = self._monthly_card
        if req.volume_cm3:
            msg["totalVolume"] = req.volume_cm3
        if req.cod_amount > 0:
            msg["serviceList"] = [{"name": "COD", "value": yuan(req.cod_amount),
                                   "value1": self._monthly_card}]
        out = self._call(CREATE_ORDER, msg)
        if out.get("filterResult") == 3:
            raise CourierRejected(self.code, f"address not serviceable ({out.get('remark') or 'filtered'})",
                                  code="filterResult=3")
        numbers = [w.get("waybillNo") for w in out.get("waybillNoInfoList") or [] if w.get("waybillType", 1) == 1]
        if not numbers or not numbers[0]:
            raise self._malformed("no waybill number in the answer")
        label = {}
        for info in out.get("routeLabelInfo") or []:
            if str(info.get("code")) == "1000" and info.get("routeLabelData"):
                label = info["routeLabelData"]
                break
        return Waybill(
            courier=self.code,
            tracking_no=numbers[0],
            order_no=req.order_no,
            sort_code=label.get("destRouteLabel", ""),
            package_center=label.get("codingMapping", ""),
            print_data=compact_json(label) if label else None,
            product=EXPRESS_TYPES.get(self._express_type_id, ""),
        )

    def cancel_waybill(self, tracking_no: str, order_no: str) -> None:
        """Cancel the order and its waybill (EXP_RECE_UPDATE_ORDER, dealType 2)."""
        out = self._call(UPDATE_ORDER, {
            "orderId": order_no,
            "dealType": 2,
            "waybillNoInfoList": [{"waybillType": 1, "waybillNo": tracking_no}],
        })
        if str(out.get("resStatus")) != "2":
            raise CourierRejected(self.code, "order and waybill do not match", code=f"resStatus={out.get('resStatus')}")

    def routes(self, tracking_nos: Iterable[str]) -> list[RouteEvent]:
        """Route events by waybill number (EXP_RECE_SEARCH_ROUTES), ten numbers a call."""
        numbers = list(tracking_nos)
        events: list[RouteEvent] = []
        for start in range(0, len(numbers), 10):
            out = self._call(SEARCH_ROUTES, {"language": "0", "trackingType": "1",
                                             "trackingNumber": numbers[start:start + 10], "methodType": "1"})
            with self._reading("routeResps"):
                for resp in out.get("routeResps") or []:
                    for r in resp.get("routes") or []:
                        events.append(RouteEvent(
                            tracking_no=resp["mailNo"],
                            time=parse_china_time(r["acceptTime"]),
                            location=r.get("acceptAddress") or "",
                            description=r.get("remark") or "",
                            status=OP_CODES.get(str(r.get("opCode")), RouteStatus.IN_TRANSIT),
                        ))
        return sort_events(events)


def _contact(contact_type: int, party) -> dict[str, Any]:
    a = party.address
    return {"contactType": contact_type, "contact": party.name, "mobile": party.phone, "country": "CN",
            "province": a.province, "city": a.city, "county": a.district, "address": a.detail}
