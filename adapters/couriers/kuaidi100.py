"""Kuaidi100 real-time tracking (poll/query.do): one tracker for every courier's numbers."""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Iterable

from adapters.couriers.base import (
    CourierRejected,
    HttpCourier,
    RouteEvent,
    RouteStatus,
    TrackingClient,
    compact_json,
    courier_for_tracking_no,
    parse_china_time,
    sort_events,
)

COMPANY_CODES = {"SF": "shunfeng", "ZTO": "zhongtong", "YTO": "yuantong", "STO": "shentong", "YUNDA": "yunda"}

AUTH_CODES = {"503", "601"}  # bad signature, key expired
RETRY_CODES = {"501", "502"}  # server error, server busy
NOT_FOUND = "500"  # no result yet: an empty route, not an error

# Each row's status with resultv2=1; the overall "state" digit is the fallback.
ROW_STATUS = {
    "揽收": RouteStatus.COLLECTED, "在途": RouteStatus.IN_TRANSIT, "派件": RouteStatus.DELIVERING,
    "签收": RouteStatus.DELIVERED, "退签": RouteStatus.RETURNED, "退回": RouteStatus.RETURNED,
    "疑难": RouteStatus.EXCEPTION, "拒签": RouteStatus.EXCEPTION, "转投": RouteStatus.IN_TRANSIT,
}
STATE_DIGITS = {
    "0": RouteStatus.IN_TRANSIT, "1": RouteStatus.COLLECTED, "2": RouteStatus.EXCEPTION,
    "3": RouteStatus.DELIVERED, "4": RouteStatus.RETURNED, "5": RouteStatus.DELIVERING,
    "6": RouteStatus.RETURNED, "7": RouteStatus.IN_TRANSIT, "14": RouteStatus.EXCEPTION,
}


def kuaidi100_sign(param: str, key: str, customer: str) -> str:
    """sign = upper(md5(param + key + customer)), param exactly as sent."""
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()


class Kuaidi100Client(HttpCourier, TrackingClient):
    """Tracking through Kuaidi100; the courier is told by each number's format unless given."""

    code = "KUAIDI100"

    def __init__(self, base_url: str, customer: str, key: str, *,
                 company_for: Callable[[str], str | None] | None = None, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._customer = customer
        self._key = key
        self._company_for = company_for or _company_by_format

    def __repr__(self) -> str:
        return f"Kuaidi100Client({self.base_url!r}, customer={self._customer!r})"

    def routes(self, tracking_nos: Iterable[str]) -> list[RouteEvent]:
        """Route events of each number, one query a number."""
        events: list[RouteEvent] = []
        for number in tracking_nos:
            events.extend(self._query(number))
        return sort_events(events)

    def _query(self, number: str) -> list[RouteEvent]:
        company = self._company_for(number)
        if not company:
            raise CourierRejected(self.code, f"cannot tell the courier of {number}", code="400")
        param = compact_json({"com": company, "num": number, "resultv2": "1", "order": "asc"})
        form = {"customer": self._customer, "sign": kuaidi100_sign(param, self._key, self._customer),
                "param": param}
        answer = self._post(f"{self.base_url}/poll/query.do", data=form)
        if not isinstance(answer, dict):
            raise self._malformed("response is not an object")
        if answer.get("result") is False or ("returnCode" in answer and "data" not in answer):
            code = str(answer.get("returnCode") or "")
            message = answer.get("message") or "query refused"
            if code == NOT_FOUND:
                return []
            raise self._refusal(code, message, auth=code in AUTH_CODES, retry=code in RETRY_CODES)
        overall = STATE_DIGITS.get(str(answer.get("state")), RouteStatus.IN_TRANSIT)
        with self._reading("query data"):
            rows = sorted(((parse_china_time(r.get("ftime") or r["time"]), r) for r in answer.get("data") or []),
                          key=lambda pair: pair[0])
            return [
                RouteEvent(
                    tracking_no=answer.get("nu") or number,
                    time=moment,
                    location=row.get("location") or row.get("areaName") or "",
                    description=row.get("context") or "",
                    status=ROW_STATUS.get(row.get("status", ""))
                    or (overall if index == len(rows) - 1 else RouteStatus.IN_TRANSIT),
                )
                for index, (moment, row) in enumerate(rows)
            ]


def _company_by_format(number: str) -> str | None:
    courier = courier_for_tracking_no(number)
    return COMPANY_CODES.get(courier) if courier else None
