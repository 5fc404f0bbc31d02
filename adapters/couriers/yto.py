"""YTO open platform: {timestamp, param, format, sign} with sign = base64(md5(param + method + v + secret))."""

from __future__ import annotations

import base64
import hashlib
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
    yuan,
)

CREATE_ORDER = "privacy_create_adapter"
CANCEL_ORDER = "korder_cancel_adapter"
TRACK_QUERY = "track_query_adapter"
VERSION = "v1"

INFO_CONTENT = {
    "GOT": RouteStatus.COLLECTED,
    "ARRIVAL": RouteStatus.IN_TRANSIT,
    "DEPARTURE": RouteStatus.IN_TRANSIT,
    "PACKAGE": RouteStatus.IN_TRANSIT,
    "SENT_SCAN": RouteStatus.DELIVERING,
    "INBOUND": RouteStatus.DELIVERING,
    "SIGNED": RouteStatus.DELIVERED,
    "FAILED": RouteStatus.EXCEPTION,
    "FORWARDING": RouteStatus.IN_TRANSIT,
    "TMS_RETURN": RouteStatus.RETURNED,
}

AUTH_WORDS = ("签名", "sign", "密钥", "权限")
RETRY_WORDS = ("繁忙", "超时", "busy", "系统异常")


def yto_sign(param: str, method: str, version: str, secret: str) -> str:
    """sign = base64(md5(param + method + version + secret)); the timestamp is not signed."""
    raw = (param + method + version + secret).encode("utf-8")
    return base64.b64encode(hashlib.md5(raw).digest()).decode("ascii")


class YTOClient(HttpCourier, CourierClient):
    """YTO through /open/{method}/v1/{app_id}/{user_id}."""

    code = "YTO"

    def __init__(self, base_url: str, app_id: str, customer_code: str, secret: str, *,
                 track_user_id: str = "TEST", track_secret: str | None = None, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._app_id = app_id
        self._customer_code = customer_code
        self._secret = secret
        # Each YTO interface is granted its own credentials; tracking usually has a separate pair.
        self._track_user_id = track_user_id
        self._track_secret = secret if track_secret is None else track_secret

    def __repr__(self) -> str:
        return f"YTOClient({self.base_url!r}, app_id={self._app_id!r}, customer_code={self._customer_code!r})"

    def _call(self, method: str, payload: dict[str, Any], *, user_id: str, secret: str) -> Any:
        param = compact_json(payload)
        envelope = {
            "timestamp": str(int(self._clock().timestamp() * 1000)),
            "param": param,
            "format": "JSON",
            "sign": yto_sign(param, method, VERSION, secret),
        }
        url = f"{self.base_url}/open/{method}/{VERSION}/{self._app_id}/{user_id}"
        answer = self._post(url, content=compact_json(envelope).encode("utf-8"),
                            headers={"Content-Type": "application/json; charset=UTF-8"})
        if isinstance(answer, dict) and str(answer.get("success", "true")).lower() == "false":
            code = str(answer.get("code") or "")
            message = answer.get("reason") or answer.get("message") or "request refused"
            raise self._refusal(code, message, auth=any(word in message for word in AUTH_WORDS),
                                retry=any(word in message for word in RETRY_WORDS))
        return answer

    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Create a K-order and get its waybill number and three-segment code (privacy_create_adapter)."""
        a_s, a_r = req.sender.address, req.receiver.address
        payload: dict[str, Any] = {
            "logisticsNo": req.order_no,
            "senderName": req.sender.name, "senderMobile": req.sender.phone,
            "senderProvinceName": a_s.province, "senderCityName": a_s.city,
            "senderCountyName": a_s.district, "senderAddress": a_s.detail,
            "recipientName": req.receiver.name, "recipientMobile": req.receiver.phone,
            "recipientProvinceName": a_r.province, "recipientCityName": a_r.city,
            "recipientCountyName": a_r.district, "recipientAddress": a_r.detail,
            "weight": float(req.weight_kg),
            "goods": [{"name": req.item_summary or "商品", "quantity": 1}],
        }
        if req.cod_amount > 0:
            payload["increments"] = [{"type": 1, "amount": float(yuan(req.cod_amount))}]
        answer = self._call(CREATE_ORDER, payload, user_id=self._customer_code, secret=self._secret)
        with self._reading("order answer"):
            mail_no = answer["mailNo"]
        if not mail_no:
            raise self._malformed("no mailNo in the answer")
        return Waybill(courier=self.code, tracking_no=mail_no, order_no=req.order_no,
                       sort_code=answer.get("shortAddress") or "", print_data=compact_json(answer))

    def cancel_waybill(self, tracking_no: str, order_no: str) -> None:
        """Cancel the K-order by our logistics number (korder_cancel_adapter)."""
        self._call(CANCEL_ORDER, {"logisticsNo": order_no, "cancelDesc": "商家取消"},
                   user_id=self._customer_code, secret=self._secret)

    def routes(self, tracking_nos: Iterable[str]) -> list[RouteEvent]:
        """Route events, one number a call (track_query_adapter)."""
        events: list[RouteEvent] = []
        for number in tracking_nos:
            answer = self._call(TRACK_QUERY, {"NUMBER": number}, user_id=self._track_user_id,
                                secret=self._track_secret)
            rows = answer
            if isinstance(answer, dict):  # an empty result comes as {"map": {number: []}, ...}
                rows = (answer.get("map") or {}).get(number, [])
            with self._reading("track rows"):
                for row in rows:
                    events.append(RouteEvent(
                        tracking_no=row.get("waybill_No") or number,
                        time=parse_china_time(row["upload_Time"]),
                        location="",
                        description=row.get("processInfo") or "",
                        status=INFO_CONTENT.get(row.get("infoContent", ""), RouteStatus.IN_TRANSIT),
                    ))
        return sort_events(events)
