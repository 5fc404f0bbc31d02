"""The courier port: waybill requests, waybills, route events, named errors and the client interface."""

from __future__ import annotations

import abc
import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any, Callable, Iterable, Iterator, Mapping

import httpx

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(timezone.utc)


class RouteStatus(StrEnum):
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    RETURNED = "returned"
    EXCEPTION = "exception"


# Number formats as each courier issues them today: SF "SF"+13 digits; YTO "YT"+13 digits;
# ZTO 14 digits from 7x (older 12-digit 7x/5x numbers still circulate); STO 15 digits from 77;
# Yunda 13 or 15 digits.
TRACKING_NUMBER_FORMATS: dict[str, re.Pattern[str]] = {
    "SF": re.compile(r"^SF\d{13}$"),
    "YTO": re.compile(r"^YT\d{13}$"),
    "ZTO": re.compile(r"^(7\d{13}|[57]\d{11})$"),
    "STO": re.compile(r"^77\d{13}$"),
    "YUNDA": re.compile(r"^(43|46|31)(\d{11}|\d{13})$"),
}


def courier_for_tracking_no(tracking_no: str) -> str | None:
    """The courier whose number format this tracking number has, if exactly one matches."""
    matches = [code for code, pattern in TRACKING_NUMBER_FORMATS.items() if pattern.match(tracking_no)]
    return matches[0] if len(matches) == 1 else None


class CourierError(Exception):
    """Base of every courier adapter error; carries the courier and the platform's own code."""

    retryable = False

    def __init__(self, courier: str, message: str, *, code: str = "") -> None:
        self.courier = courier
        self.message = message
        self.code = code
        suffix = f" [{code}]" if code else ""
        super().__init__(f"{courier}: {message}{suffix}")


class CourierAuthError(CourierError):
    """The platform refused our credentials or signature."""


class CourierUnavailable(CourierError):
    """The platform is down, overloaded or unreachable; try again later."""

    retryable = True


class CourierRejected(CourierError):
    """The platform understood the request and said no."""

    @property
    def reason(self) -> str:
        return self.message


class CourierMalformedResponse(CourierError):
    """The platform answered something we cannot read."""


class InvalidWaybillRequest(CourierError, ValueError):
    """A waybill request that no courier could accept; nothing was sent."""


@dataclass(frozen=True)
class Address:
    province: str
    city: str
    district: str
    detail: str = field(repr=False)


@dataclass(frozen=True)
class Party:
    """A sender or receiver; personal fields stay out of repr so they never reach logs."""

    name: str = field(repr=False)
    phone: str = field(repr=False)
    address: Address


@dataclass(frozen=True)
class WaybillRequest:
    order_no: str
    sender: Party
    receiver: Party
    weight_grams: int
    volume_cm3: int = 0
    cod_amount: Decimal = Decimal("0")
    item_summary: str = ""
    # the marketplace the order came from and its ciphertexts or OAID of the receiver, for a courier platform that
    # takes them in place of the plain contact (Cainiao for Taobao's OAID); the receiver is then the masked text
    platform: str = ""
    receiver_protected: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        problems = []
        if not self.order_no.strip():
            problems.append("order number is empty")
        if self.weight_grams <= 0:
            problems.append("weight must be positive")
        if self.volume_cm3 < 0:
            problems.append("volume cannot be negative")
        if self.cod_amount < 0:
            problems.append("COD amount cannot be negative")
        for role, party in (("sender", self.sender), ("receiver", self.receiver)):
            if not party.name.strip() or not party.phone.strip():
                problems.append(f"{role} name and phone are required")
            if not party.address.province or not party.address.city:
                problems.append(f"{role} province and city are required")
        if problems:
            raise InvalidWaybillRequest("-", "; ".join(problems))

    @property
    def weight_kg(self) -> Decimal:
        return (Decimal(self.weight_grams) / 1000).quantize(Decimal("0.001"))


@dataclass(frozen=True)
class Waybill:
    courier: str
    tracking_no: str
    order_no: str
    sort_code: str = ""
    package_center: str = ""
    print_data: str | None = field(default=None, repr=False)
    product: str = ""  # the courier's service, printed on the label (顺丰标快, ...)


@dataclass(frozen=True)
class RouteEvent:
    tracking_no: str
    time: datetime
    location: str
    description: str
    status: RouteStatus

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise CourierMalformedResponse("-", f"route event time {self.time} has no timezone")


class TrackingClient(abc.ABC):
    """Answers where parcels are."""

    code: str

    @abc.abstractmethod
    def routes(self, tracking_nos: Iterable[str]) -> list[RouteEvent]:
        """Route events of these parcels, oldest first per parcel."""


class CourierClient(TrackingClient):
    """Issues and cancels waybills, and answers where parcels are."""

    def takes_protected(self, platform: str, protected: Mapping[str, str]) -> bool:
        """Whether this courier platform takes the marketplace's protected receiver in place of the plain one."""
        return False

    @abc.abstractmethod
    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Order a waybill number (and its sort code) for one parcel."""

    @abc.abstractmethod
    def cancel_waybill(self, tracking_no: str, order_no: str) -> None:
        """Give an unused waybill number back to the courier."""


class HttpCourier:
    """The HTTP plumbing every client shares: one httpx client, transport errors mapped to named ones."""

    code = "-"

    def __init__(self, base_url: str, *, http: httpx.Client | None = None, timeout: float = 10.0,
                 clock: Clock = utc_now) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout)
        self._clock = clock

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _post(self, url: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.post(url, **kwargs)
        except httpx.TimeoutException as exc:
            raise CourierUnavailable(self.code, "request timed out") from exc
        except httpx.TransportError as exc:
            raise CourierUnavailable(self.code, f"cannot reach the platform ({type(exc).__name__})") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise CourierUnavailable(self.code, f"platform answered HTTP {resp.status_code}",
                                     code=str(resp.status_code))
        if resp.status_code in (401, 403):
            raise CourierAuthError(self.code, f"platform answered HTTP {resp.status_code}",
                                   code=str(resp.status_code))
        if resp.status_code != 200:
            raise CourierRejected(self.code, f"platform answered HTTP {resp.status_code}",
                                  code=str(resp.status_code))
        try:
            return resp.json()
        except ValueError as exc:
            raise CourierMalformedResponse(self.code, "response body is not JSON") from exc

    def _refusal(self, code: str, message: str, *, auth: bool, retry: bool) -> CourierError:
        """The named error for a platform's error body: credentials, a passing fault, or a plain no."""
        kind = CourierAuthError if auth else CourierUnavailable if retry else CourierRejected
        return kind(self.code, message, code=code)

    def _malformed(self, what: str) -> CourierMalformedResponse:
        return CourierMalformedResponse(self.code, what)

    @contextlib.contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Turn a missing or mistyped field while reading an answer into CourierMalformedResponse."""
        try:
            yield
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise CourierMalformedResponse(self.code, f"cannot read {what} ({type(exc).__name__})") from exc


def compact_json(payload: Any) -> str:
    """Serialise once, the way it is signed and sent: no spaces, Chinese kept as is."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def yuan(amount: Decimal) -> str:
    """Money as platforms write it: yuan with two decimals."""
    return str(amount.quantize(Decimal("0.01")))


def parse_china_time(text: str) -> datetime:
    """Parse 'yyyy-MM-dd HH:mm:ss' (GMT+8) or epoch milliseconds into an aware datetime."""
    text = str(text).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, CHINA_TZ)
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)


def format_china_time(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def sort_events(events: list[RouteEvent]) -> list[RouteEvent]:
    return sorted(events, key=lambda e: (e.tracking_no, e.time))
