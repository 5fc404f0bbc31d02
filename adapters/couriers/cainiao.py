"""Cainiao e-waybill through the Taobao open platform (TOP): cainiao.waybill.ii.get / .cancel."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from adapters.couriers.base import (
    CourierClient,
    CourierRejected,
    HttpCourier,
    RouteEvent,
    TrackingClient,
    Waybill,
    WaybillRequest,
    compact_json,
    format_china_time,
    yuan,
)
from adapters.couriers.print_data import PrintData, read_print_data
from adapters.marketplaces.taobao import sign_top

GET_WAYBILL = "cainiao.waybill.ii.get"
CANCEL_WAYBILL = "cainiao.waybill.ii.cancel"

AUTH_CODES = {"11", "12", "25", "26", "27", "28", "29"}  # permissions, signature, session, app key
RETRY_CODES = {"1", "7", "520"}  # service unavailable, app call limited, isp timeout
OAID_CHANNELS = {"taobao": "TB"}  # marketplace → Cainiao's order_channels_type for orders whose receiver is an OAID


class CainiaoClient(HttpCourier, CourierClient):
    """Cainiao cloud-print waybills for one courier (cp_code); routes come from a separate tracker."""

    def __init__(self, base_url: str, app_key: str, app_secret: str, session: str, *, cp_code: str,
                 tracker: TrackingClient, template_url: str = "", **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._app_key = app_key
        self._app_secret = app_secret
        self._session = session
        self._cp_code = cp_code
        self._tracker = tracker
        self._template_url = template_url
        self.code = f"CAINIAO-{cp_code}"

    def __repr__(self) -> str:
        return f"CainiaoClient({self.base_url!r}, app_key={self._app_key!r}, cp_code={self._cp_code!r})"

    def _call(self, method: str, business: dict[str, str]) -> dict[str, Any]:
        params = {
            "method": method,
            "app_key": self._app_key,
            "session": self._session,
            "timestamp": format_china_time(self._clock()),
            "format": "json",
            "v": "2.0",
            "sign_method": "md5",
            **business,
        }
        params["sign"] = sign_top(params, self._app_secret)
        answer = self._post(f"{self.base_url}/router/rest", data=params)
        if not isinstance(answer, dict):
            raise self._malformed("response is not an object")
        if "error_response" in answer:
            err = answer["error_response"] or {}
            code = str(err.get("code", ""))
            sub_code = str(err.get("sub_code") or "")
            message = err.get("sub_msg") or err.get("msg") or "request refused"
            label = f"{code}/{sub_code}" if sub_code else code
            raise self._refusal(label, message, auth=code in AUTH_CODES,
                                retry=code in RETRY_CODES or sub_code.startswith("isp."))
        key = method.replace(".", "_") + "_response"
        if key not in answer:
            raise self._malformed(f"{key} missing")
        return answer[key]

    def takes_protected(self, platform: str, protected: Mapping[str, str]) -> bool:
        """Cainiao reads a Taobao order's receiver from its OAID (and the order's tid) itself."""
        return platform in OAID_CHANNELS and bool(protected.get("oaid"))

    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Take one waybill number with its cloud-print data (cainiao.waybill.ii.get)."""
        recipient = user_info(req.receiver)
        channel = "OTHERS"
        if self.takes_protected(req.platform, req.receiver_protected):
            # the masked name and phone travel as they came; Cainiao decrypts the OAID for the courier
            recipient.update(oaid=req.receiver_protected["oaid"], tid=req.order_no)
            channel = OAID_CHANNELS[req.platform]
        trade_order: dict[str, Any] = {
            "object_id": "1",
            "order_info": {"order_channels_type": channel, "trade_order_list": [req.order_no]},
            "package_info": {"id": req.order_no, "items": [{"count": 1, "name": req.item_summary or "商品"}],
                             "weight": req.weight_grams, "volume": req.volume_cm3},
            "recipient": recipient,
            "template_url": self._template_url,
            "user_id": 0,
        }
        if req.cod_amount > 0:
            trade_order["logistics_services"] = compact_json(
                {"SVC-COD": {"value": yuan(req.cod_amount)}})
        request = {"cp_code": self._cp_code, "sender": user_info(req.sender),
                   "trade_order_info_dtos": [trade_order], "need_encrypt": False}
        answer = self._call(GET_WAYBILL, {"param_waybill_cloud_print_apply_new_request": compact_json(request)})
        with self._reading("waybill_cloud_print_response"):
            modules = answer["modules"]
            rows = modules["waybill_cloud_print_response"] if isinstance(modules, dict) else modules
            row = rows[0]
            number = row["waybill_code"]
            print_data = row.get("print_data") or ""
            facts = read_print_data(print_data) or PrintData("", "", False)
        if not number:
            raise self._malformed("no waybill_code in the answer")
        return Waybill(
            courier=self.code,
            tracking_no=number,
            order_no=req.order_no,
            sort_code=facts.sort_code,
            package_center=facts.package_centre,
            print_data=print_data or None,
        )

    def cancel_waybill(self, tracking_no: str, order_no: str) -> None:
        """Give the number back (cainiao.waybill.ii.cancel)."""
        answer = self._call(CANCEL_WAYBILL, {"cp_code": self._cp_code, "waybill_code": tracking_no})
        if answer.get("cancel_result") is not True:
            raise CourierRejected(self.code, "cancel refused", code="cancel_result=false")

    def routes(self, tracking_nos: Iterable[str]) -> list[RouteEvent]:
        """Cainiao numbers are tracked by the courier's own tracker (Kuaidi100 or the courier)."""
        return self._tracker.routes(tracking_nos)


def user_info(party) -> dict[str, Any]:
    """A sender or recipient as the cloud-print waybill APIs take it (Cainiao's, and PDD's after it)."""
    a = party.address
    return {"name": party.name, "mobile": party.phone,
            "address": {"province": a.province, "city": a.city, "district": a.district, "detail": a.detail}}
