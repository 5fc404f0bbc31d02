"""Pinduoduo e-waybill (拼多多电子面单, pdd.waybill.get) through the shop's own POP client: a PDD order's receiver goes
as the ciphertexts the order came with, which PDD reads itself; the answer carries the cloud-print data."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.couriers.base import (
    CourierAuthError,
    CourierClient,
    CourierMalformedResponse,
    CourierRejected,
    CourierUnavailable,
    RouteEvent,
    TrackingClient,
    Waybill,
    WaybillRequest,
)
from adapters.couriers.cainiao import user_info
from adapters.marketplaces.base import (
    MarketplaceClient,
    MarketplaceError,
    PlatformAuthError,
    PlatformRateLimited,
    PlatformServerError,
)

GET_WAYBILL = "pdd.waybill.get"
CANCEL_WAYBILL = "pdd.waybill.cancel"
CIPHER_FIELDS = ("name", "phone", "address")  # PDD's receiver ciphertexts, each taken in place of the plain field


class PddWaybillClient(CourierClient):
    """E-waybills of one courier (wp_code) ordered on the Pinduoduo open platform; routes come from a tracker."""

    def __init__(self, shop: MarketplaceClient, *, wp_code: str, tracker: TrackingClient) -> None:
        self._shop = shop
        self._wp_code = wp_code
        self._tracker = tracker
        self.code = f"PDD-{wp_code}"

    def __repr__(self) -> str:
        return f"PddWaybillClient(wp_code={self._wp_code!r})"

    def takes_protected(self, platform: str, protected: Mapping[str, str]) -> bool:
        """PDD reads its own orders' receiver ciphertexts (name, phone and address all needed)."""
        return platform == "pinduoduo" and all(protected.get(name) for name in CIPHER_FIELDS)

    def _call(self, api: str, answer_key: str, **business: Any) -> Mapping[str, Any]:
        try:
            return self._shop.call(api, answer_key, **business)
        except PlatformAuthError as error:
            raise CourierAuthError(self.code, str(error), code=error.code) from None
        except (PlatformRateLimited, PlatformServerError) as error:
            raise CourierUnavailable(self.code, str(error), code=error.code) from None
        except MarketplaceError as error:
            raise CourierRejected(self.code, str(error), code=error.code) from None

    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Take one waybill number with its cloud-print data (pdd.waybill.get)."""
        recipient = user_info(req.receiver)
        channel = "OTHERS"
        if self.takes_protected(req.platform, req.receiver_protected):
            protected = req.receiver_protected
            recipient.update(name=protected["name"], mobile=protected["phone"])
            recipient["address"]["detail"] = protected["address"]
            channel = "PDD"
        trade_order = {
            "object_id": "1",
            "order_info": {"order_channels_type": channel, "trade_order_list": [req.order_no]},
            "package_info": {"id": req.order_no, "items": [{"count": 1, "name": req.item_summary or "商品"}],
                             "weight": req.weight_grams, "volume": req.volume_cm3},
            "recipient": recipient,
            "user_id": 0,
        }
        request = {"wp_code": self._wp_code, "sender": user_info(req.sender), "trade_order_info_dtos": [trade_order],
                   "need_encrypt": False}
        answer = self._call(GET_WAYBILL, "pdd_waybill_get_response", param_waybill_cloud_print_apply_new_request=request)
        try:
            row = answer["modules"][0]
            number = row["waybill_code"]
            print_data = row.get("print_data") or ""
            routing = ((json.loads(print_data) if print_data else {}).get("data") or {}).get("routingInfo") or {}
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise CourierMalformedResponse(self.code, f"cannot read the waybill ({type(exc).__name__})") from None
        if not number:
            raise CourierRejected(self.code, "no waybill_code in the answer")
        return Waybill(courier=self.code, tracking_no=number, order_no=req.order_no,
                       sort_code=(routing.get("sortation") or {}).get("name", ""),
                       package_center=(routing.get("consolidation") or {}).get("name", ""),
                       print_data=print_data or None)

    def cancel_waybill(self, tracking_no: str, order_no: str) -> None:
        """Give the number back (pdd.waybill.cancel)."""
        answer = self._call(CANCEL_WAYBILL, "pdd_waybill_cancel_response", wp_code=self._wp_code,
                            waybill_code=tracking_no)
        if answer.get("cancel_result") is not True:
            raise CourierRejected(self.code, "cancel refused", code="cancel_result=false")

    def routes(self, tracking_nos: Iterable[str]) -> list[RouteEvent]:
        return self._tracker.routes(tracking_nos)

