"""ZTO open platform (ZOP): JSON body signed in the x-dataDigest header."""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal
from typing import Any, Iterable

from adapters.couriers.base import (
    CourierClient,
    HttpCourier,
    RouteEvent,
    RouteStatus,
    Waybill,
    WaybillRequest,
    compact_json,
    parse_china_time,
    sort_events,
)

CREATE_ORDER = "zto.open.createOrder"
CANCEL_ORDER = "zto.open.cancelPreOrder"
TRACK_QUERY = "zto.merchant.waybill.track.query"

AUTH_CODES = {"S210", "S211", "S212", "S214"}  # no permission, bad signature, IP list, bad timestamp
RETRY_CODES = {"S200", "S202", "S203", "S206", "S221"}  # timeout, backend error, unavailable, rate limits

SCAN_TYPES = {
    "收件": RouteStatus.COLLECTED,
    "发件": RouteStatus.IN_TRANSIT,
    "到件": RouteStatus.IN_TRANSIT,
    "派件": RouteStatus.DELIVERING,
    "ARRIVAL": RouteStatus.DELIVERING,
    "签收": RouteStatus.DELIVERED,
    "第三方签收": RouteStatus.DELIVERED,
    "SIGNED": RouteStatus.DELIVERED,
    "退件": RouteStatus.RETURNED,
    "退件签收": RouteStatus.RETURNED,
    "问题件": RouteStatus.EXCEPTION,
}


def zto_digest(body: str, app_secret: str) -> str:
    """x-dataDigest = base64(md5(body + appSecret)), body exactly as sent."""
    return base64.b64encode(hashlib.md5((body + app_secret).encode("utf-8")).digest()).decode("ascii")


class ZTOClient(HttpCourier, CourierClient):
    """ZTO through the ZOP gateway (japi.zto.com / japi-test.zto.com)."""

    code = "ZTO"

    def __init__(self, base_url: str, app_key: str, app_secret: str, *, account_id: str,
                 account_password: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._app_key = app_key
        self._app_secret = app_secret
        self._account_id = account_id
        self._account_password = account_password

    def __repr__(self) -> str:
        return f"ZTOClient({self.base_url!r}, app_key={self._app_key!r})"

    def _call(self, api: str, payload: dict[str, Any]) -> Any:
        body = compact_json(payload)
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "x-appKey": self._app_key,
            "x-dataDigest": zto_digest(body, self._app_secret),
        }
        answer = self._post(f"{self.base_url}/{api}", content=body.encode("utf-8"), headers=headers)
        if not isinstance(answer, dict):
            raise self._malformed("response is not an object")
        if answer.get("status") is not True:
            status_code = str(answer.get("statusCode") or "")
            raise self._refusal(status_code, answer.get("message") or "request refused",
                                auth=status_code in AUTH_CODES, retry=status_code in RETRY_CODES)
        return answer.get("result")

    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Create an e-waybill order and get its bill code and big mark (zto.open.createOrder)."""
        a_s, a_r = req.sender.address, req.receiver.address
        payload: dict[str, Any] = {
            "partnerType": "2",
            "orderType": "1",
            "partnerOrderCode": req.order_no,
            "accountInfo": {"accountId": self._account_id, "accountPassword": self._account_password, "type": 1},
            "senderInfo": {"senderName": req.sender.name, "senderMobile": req.sender.phone,
                           "senderProvince": a_s.province, "senderCity": a_s.city,
                           "senderDistrict": a_s.district, "senderAddress": a_s.detail},
            "receiveInfo": {"receiverName": req.receiver.name, "receiverMobile": req.receiver.phone,
                            "receiverProvince": a_r.province, "receiverCity": a_r.city,
                            "receiverDistrict": a_r.district, "receiverAddress": a_r.detail},
            "summaryInfo": {"quantity": 1},
            "orderItems": [{"name": req.item_summary or "商品", "weight": req.weight_grams, "quantity": 1}],
        }
        if req.cod_amount > 0:
            payload["orderVasList"] = [{"vasType": "COD", "vasAmount": fen(req.cod_amount)}]
        result = self._call(CREATE_ORDER, payload)
        with self._reading("createOrder result"):
            bill_code = result["billCode"]
            mark = result.get("bigMarkInfo") or {}
        if not bill_code:
            raise self._malformed("no bill code in the answer")
        return Waybill(courier=self.code, tracking_no=bill_code, order_no=req.order_no,
                       sort_code=mark.get("mark") or "", package_center=mark.get("bagAddr") or "",
                       print_data=compact_json(result))

    def cancel_waybill(self, tracking_no: str, order_no: str) -> None:
        """Cancel by bill code (zto.open.cancelPreOrder); the number goes back to the account."""
        self._call(CANCEL_ORDER, {"cancelType": "2", "billCode": tracking_no})

    def routes(self, tracking_nos: Iterable[str]) -> list[RouteEvent]:
        """Route events, one bill code a call (zto.merchant.waybill.track.query)."""
        events: list[RouteEvent] = []
        for number in tracking_nos:
            rows = self._call(TRACK_QUERY, {"billCode": number}) or []
            with self._reading("track result"):
                for row in rows:
                    site = row.get("scanSite") or {}
                    events.append(RouteEvent(
                        tracking_no=row.get("billCode") or number,
                        time=parse_china_time(row["scanDate"]),
                        location=site.get("city") or site.get("name") or "",
                        description=row.get("desc") or "",
                        status=SCAN_TYPES.get(row.get("scanType", ""), RouteStatus.IN_TRANSIT),
                    ))
        return sort_events(events)


def fen(amount: Decimal) -> int:
    """ZOP money fields (vasAmount) are integers in fen."""
    return int((amount * 100).to_integral_value())
