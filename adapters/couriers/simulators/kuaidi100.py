"""Kuaidi100 real-time query simulator (poll/query.do): tracks the parcels other simulators issue."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from adapters.couriers.base import format_china_time
from adapters.couriers.simulators.common import (
    ARRIVED, COLLECTED, DELIVERED, DELIVERING, DEPARTED, FAILED, RETURNED, CourierSimulator, Parcel,
    json_response)

COMPANY_OF = {"SF": "shunfeng", "ZTO": "zhongtong", "YTO": "yuantong", "STO": "shentong", "YUNDA": "yunda"}

# kind → (row status with resultv2=1, overall state digit, wording)
STAGE_ROWS = {
    COLLECTED: ("揽收", "1", "[{city}] 快件已揽收"),
    DEPARTED: ("在途", "0", "[{city}] 快件已发出，下一站 转运中心"),
    ARRIVED: ("在途", "0", "[{city}] 快件已到达 {city}转运中心"),
    DELIVERING: ("派件", "5", "[{city}] 快递员正在派件"),
    DELIVERED: ("签收", "3", "[{city}] 快件已签收"),
    FAILED: ("疑难", "2", "[{city}] 收件人拒收"),
    RETURNED: ("退回", "6", "[{city}] 快件已退回寄件人"),
}


def _error(code: str, message: str) -> Response:
    return json_response({"result": False, "returnCode": code, "message": message})


class Kuaidi100Simulator(CourierSimulator):
    """Knows every parcel issued by the simulators it follows, as Kuaidi100 knows every courier's."""

    name = "KUAIDI100"

    def __init__(self, customer: str = "CANGKU100", key: str = "kuaidi100-key-demo", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.customer = customer
        self.key = key
        self._sources: dict[str, tuple[Parcel, CourierSimulator]] = {}

    def follow(self, *simulators: CourierSimulator) -> None:
        """Learn about every parcel these simulators issue from now on."""
        for sim in simulators:
            sim.on_issue.append(lambda parcel, sim=sim: self._sources.__setitem__(parcel.tracking_no, (parcel, sim)))

    def busy_response(self) -> Response:
        return _error("502", "服务器繁忙")

    def handle(self, request: Request):
        form = request.form.to_dict()
        fields = {"customer": form.get("customer"), "param": form.get("param")}
        if request.path != "/poll/query.do":
            return Response("not found", 404), "not-found", fields
        if not form.get("customer") or not form.get("param") or not form.get("sign"):
            return _error("400", "提交的数据不完整"), "missing-field", fields
        expected = hashlib.md5((form["param"] + self.key + self.customer).encode()).hexdigest().upper()
        if form["customer"] != self.customer or form["sign"] != expected:
            return _error("503", "验证签名失败"), "bad-signature", fields
        try:
            param = json.loads(form["param"])
        except ValueError:
            return _error("400", "param不是合法的JSON"), "bad-json", fields
        number, company = param.get("num", ""), param.get("com", "")
        source = self._sources.get(number)
        if source is None or COMPANY_OF.get(source[0].courier) != company:
            return _error("500", "查询无结果，请隔段时间再查"), "no-result", fields
        parcel, sim = source
        stages = sim.visible_stages(number)
        if not stages:
            return _error("500", "查询无结果，请隔段时间再查"), "no-result", fields
        rows = [{"time": format_china_time(s.time), "ftime": format_china_time(s.time),
                 "context": STAGE_ROWS[s.kind][2].format(city=s.city), "location": s.city, "areaName": s.city,
                 "status": STAGE_ROWS[s.kind][0]} for s in stages]
        if param.get("order", "desc") != "asc":
            rows.reverse()
        last = stages[-1].kind
        return json_response({"message": "ok", "nu": number, "ischeck": "1" if last in (DELIVERED, RETURNED) else "0",
                      "condition": "F00", "com": company, "status": "200", "state": STAGE_ROWS[last][1],
                      "data": rows}), "routes", fields
