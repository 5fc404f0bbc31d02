"""Courier adapters: waybills, cancellations and route tracking over each platform's real protocol."""

from adapters.couriers.base import (
    Address,
    CourierAuthError,
    CourierClient,
    CourierError,
    CourierMalformedResponse,
    CourierRejected,
    CourierUnavailable,
    InvalidWaybillRequest,
    Party,
    RouteEvent,
    RouteStatus,
    TrackingClient,
    Waybill,
    WaybillRequest,
    courier_for_tracking_no,
)

__all__ = [
    "Address", "CourierAuthError", "CourierClient", "CourierError", "CourierMalformedResponse", "CourierRejected",
    "CourierUnavailable", "InvalidWaybillRequest", "Party", "RouteEvent", "RouteStatus", "TrackingClient",
"Waybill", "WaybillRequest", "courier_for_tracking_no",
]
