"""What every marketplace client shares: normalised orders and refunds, credentials, named errors, paging."""

from __future__ import annotations

import json
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import httpx

from domain.shop import ShopTokens

logger = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
DEFAULT_RATE_WAIT = 1.0  # the platforms limit calls per second; an answer that names no wait means the next second
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class OrderStatus(StrEnum):
    PAID = "paid"
    REFUND_REQUESTED = "refund_requested"
    CANCELLED = "cancelled"
    SHIPPED = "shipped"


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    AGREED = "agreed"
    RETURNING = "returning"  # the buyer sent the goods back; the warehouse is to receive them
    REFUSED = "refused"
    REFUNDED = "refunded"
    CLOSED = "closed"


def _mask(text: str, keep: int = 1) -> str:
    if not text:
        return ""
    return text[:keep] + "*" * max(len(text) - keep, 1)


@dataclass(frozen=True, repr=False)
class Receiver:
    """Who the parcel goes to, as the platform hands it out: name, phone and street address usually masked
    (王**, 138****5678), with `protected` keeping the platform's ciphertexts or OAID as they came, for the
    platform's own decrypt and e-waybill APIs."""

    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    protected: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        phone = self.phone[:3] + "****" + self.phone[-4:] if len(self.phone) >= 7 else _mask(self.phone, 0)
        return f"Receiver(name={_mask(self.name)!r}, phone={phone!r}, province={self.province!r}, city={self.city!r})"


@dataclass(frozen=True)
class OrderLine:
    platform_sku_id: str
    outer_sku_code: str
    title: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO
    platform_item_id: str = ""


@dataclass(frozen=True)
class PlatformOrder:
    """One marketplace order in the same shape whatever the channel."""

    channel: str
    shop: str
    order_no: str
    status: OrderStatus
    buyer_nick: str = field(repr=False)
    receiver: Receiver
    lines: tuple[OrderLine, ...]
    amount_paid: Decimal
    discount: Decimal
    postage: Decimal
    platform_fee: Decimal | None
    created_at: datetime
    modified_at: datetime
    remark: str = ""


@dataclass(frozen=True)
class RefundLine:
    """The order line an after-sale names: the platform's SKU id, the merchant code, units, the amount asked."""

    platform_sku_id: str
    outer_sku_code: str
    quantity: int
    amount: Decimal


@dataclass(frozen=True)
class PlatformRefund:
    """One refund or after-sale request, normalised: its kind (refund_only 仅退款, return_refund 退货退款, exchange
    换货, reship 补发), the lines it names, when the platform refunded and the buyer's return waybill."""

    channel: str
    shop: str
    refund_id: str
    order_no: str
    status: RefundStatus
    amount: Decimal
    reason: str
    created_at: datetime
    modified_at: datetime
    kind: str = "refund_only"
    lines: tuple[RefundLine, ...] = ()
    refunded_at: datetime | None = None
    return_tracking_no: str = ""


@dataclass(frozen=True, repr=False)
class ShopCredentials:
    """What one shop's client needs; the secret and token never appear in a repr."""

    app_key: str
    app_secret: str
    access_token: str
    shop: str = ""
    sign_secret: str = ""  # Kuaishou signs with a separate signSecret

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.app_secret, self.access_token, self.sign_secret) if s)

    def __repr__(self) -> str:
        return f"ShopCredentials(app_key={self.app_key!r}, shop={self.shop!r}, app_secret='***', access_token='***')"


class TokenSource(ABC):
    """Where a client gets the shop's current access token (refreshed before it expires)."""

    @abstractmethod
    def access_token(self) -> str:
        """The token to send now."""

    def rejected(self, error: "PlatformAuthError") -> None:
        """The platform refused a call for the shop's authorisation."""


class MarketplaceError(Exception):
    """A marketplace call failed; carries the platform's code, never a credential."""

    def __init__(self, message: str, *, channel: str = "", code: str = "", sub_code: str = ""):
        self.channel = channel
        self.code = code
        self.sub_code = sub_code
        detail = " ".join(p for p in (f"[{channel}]" if channel else "", f"code={code}" if code else "",
                                      f"sub_code={sub_code}" if sub_code else "") if p)
        super().__init__(f"{detail} {message}".strip())


class PlatformAuthError(MarketplaceError):
    """Bad signature, expired or unknown token, or missing permission."""


class PlatformRateLimited(MarketplaceError):
    """The platform throttled us; retry after `retry_after` seconds when it said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class PlatformInvalidParameter(MarketplaceError):
    """The request was refused as malformed or out of range; retrying will not help."""


class PlatformServerError(MarketplaceError):
    """The platform failed, timed out or was unreachable; worth retrying."""


class PlatformMalformedResponse(MarketplaceError):
    """The platform answered with something that is not the documented shape."""


def to_china(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise PlatformInvalidParameter("datetimes passed to a marketplace client must be timezone-aware")
    return moment.astimezone(CHINA)


def china_text(moment: datetime) -> str:
    """'YYYY-MM-DD HH:MM:SS' in GMT+8, the time format of TOP and JD."""
    return to_china(moment).strftime("%Y-%m-%d %H:%M:%S")


def parse_china_text(text: str) -> datetime:
    try:
        return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except (TypeError, ValueError) as exc:
        raise PlatformMalformedResponse(f"not a GMT+8 date-time: {text!r}") from exc


def from_epoch(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(float(seconds), CHINA)
    except (TypeError, ValueError, OverflowError) as exc:
        raise PlatformMalformedResponse(f"not a unix timestamp: {seconds!r}") from exc


def ciphertexts(record: Mapping[str, Any], **fields: str) -> dict[str, str]:
    """The platform's ciphertexts of a receiver (name, phone, address → the record's field), those it sent."""
    return {name: str(record[key]) for name, key in fields.items() if record.get(key)}


def money(value: Any) -> Decimal:
    """Yuan as Decimal, from a number or a numeric string."""
    if value is None or value == "":
        return ZERO
    try:
        return Decimal(str(value)).quantize(CENT)
    except InvalidOperation as exc:
        raise PlatformMalformedResponse(f"not an amount: {value!r}") from exc


def fen(value: Any) -> Decimal:
    """Yuan from an integer amount in fen (分)."""
    return (money(value) / 100).quantize(CENT)


def compact_json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def records(mapping: Any, *path: str) -> list[dict]:
    """The list at mapping[path…]; an absent or null list is empty, anything else malformed."""
    node = mapping
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
        if node is None:
            return []
    if not isinstance(node, list):
        raise PlatformMalformedResponse(f"response field {'.'.join(path)} is not a list")
    return node


def require(mapping: Any, *path: str) -> Any:
    """mapping[path[0]][path[1]]…, or PlatformMalformedResponse naming the missing key."""
    node = mapping
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            raise PlatformMalformedResponse(f"response lacks {'.'.join(path)}")
        node = node[key]
    return node


def section(mapping: Any, *path: str) -> Mapping[str, Any]:
    """The JSON object at mapping[path…], or PlatformMalformedResponse."""
    node = require(mapping, *path)
    if not isinstance(node, Mapping):
        raise PlatformMalformedResponse(f"response field {'.'.join(path)} is not an object")
    return node


def count(mapping: Any, *path: str) -> int:
    """The whole number at mapping[path…], or PlatformMalformedResponse."""
    value = require(mapping, *path)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PlatformMalformedResponse(f"response field {'.'.join(path)} is not a count") from None


@dataclass
class Page:
    """One page of a windowed list: raw records and the window's total when the platform gives it."""

    records: list[dict]
    total: int


FetchPage = Callable[[datetime, datetime, int], Page]


SENSITIVE_QUERY = frozenset({"access_token", "session", "sign", "app_secret", "client_secret"})


class RedactedUrls(logging.Filter):
    """Masks tokens and signs in the URLs httpx logs (Douyin and Kuaishou put them in the query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _redacted(value: Any) -> Any:
    if isinstance(value, httpx.URL) and value.query:
        return value.copy_with(params=[(k, "***" if k in SENSITIVE_QUERY else v) for k, v in value.params.multi_items()])
    return value


def _redact_http_logs() -> None:
    http_logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactedUrls) for f in http_logger.filters):
        http_logger.addFilter(RedactedUrls())


class MarketplaceClient(ABC):
    """The small synchronous interface every channel speaks; one instance per shop."""

    channel: str = ""
    default_url: str = ""
    default_oauth_url: str = ""
    max_window: timedelta = timedelta(days=1)
    max_page_size: int = 100
    time_resolution: timedelta = timedelta(seconds=1)

    def __init__(
        self,
        credentials: ShopCredentials,
        *,
        base_url: str | None = None,
        http: httpx.Client | None = None,
        timeout: float = 15.0,
        page_size: int | None = None,
        clock: Callable[[], datetime] | None = None,
        courier_codes: Mapping[str, str] | None = None,
        tokens: TokenSource | None = None,
        oauth_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_rate_wait: float = 5.0,
        rate_limit_retries: int = 3,
    ):
        if not (credentials.app_key and (credentials.app_secret or credentials.sign_secret)):
            raise PlatformInvalidParameter("shop credentials need an app key and a secret", channel=self.channel)
        _redact_http_logs()
        self.credentials = credentials
        self.base_url = (base_url or self.default_url).rstrip("/")
        self._http = http or httpx.Client(timeout=timeout)
        self._owns_http = http is None
        if page_size is not None and page_size < 1:
            raise PlatformInvalidParameter("page_size must be at least 1", channel=self.channel)
        self.page_size = min(page_size or self.max_page_size, self.max_page_size)
        self._clock = clock or (lambda: datetime.now(CHINA))
        overrides = {code.upper(): value for code, value in (courier_codes or {}).items()}
        self.courier_codes = {**self.default_courier_codes(), **overrides}
        self.tokens = tokens
        self.oauth_url = (oauth_url or self.default_oauth_url).rstrip("/")
        self._sleep = sleep
        self.max_rate_wait = max_rate_wait
        self.rate_limit_retries = rate_limit_retries

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """One platform API call; a rate-limit answer is waited out as it asks (a second where it names no
        wait), up to rate_limit_retries times and never longer than max_rate_wait, else raised with its wait."""
        for attempt in range(self.rate_limit_retries + 1):
            try:
                return self._call_once(*args, **kwargs)
            except PlatformAuthError as refused:
                if self.tokens is not None:
                    self.tokens.rejected(refused)
                raise
            except PlatformRateLimited as limited:
                wait = limited.retry_after if limited.retry_after is not None else DEFAULT_RATE_WAIT
                if attempt == self.rate_limit_retries or wait > self.max_rate_wait:
                    raise
                logger.info("%s asked us to slow down; waiting %.1f s", self.channel, wait)
                self._sleep(wait)
        raise AssertionError("unreachable")

    @abstractmethod
    def _call_once(self, *args: Any, **kwargs: Any) -> Any:
        """Send one API request and read its answer."""

    def access_token(self) -> str:
        """The shop's access token: from its token source when it has one, else the configured one."""
        return self.tokens.access_token() if self.tokens is not None else self.credentials.access_token

    # -- shop authorisation (OAuth 2 authorisation code) -----------------------------------------------

    @abstractmethod
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the merchant to grant this app access to the shop."""

    @abstractmethod
    def exchange_code(self, code: str, redirect_uri: str = "") -> ShopTokens:
        """The tokens the platform grants for the code its consent page handed our callback."""

    @abstractmethod
    def refresh(self, refresh_token: str) -> ShopTokens:
        """New tokens for the refresh token (the old refresh token is spent)."""

    def _granting(self, api_call: Callable[[], Any]) -> Any:
        """A token request: the platform refusing the code or refresh token is an authorisation failure."""
        try:
            return api_call()
        except PlatformInvalidParameter as refused:
            raise self._error(PlatformAuthError, f"authorisation refused: {refused}", code=refused.code,
                              sub_code=refused.sub_code) from None

    def _tokens(self, access_token: Any, refresh_token: Any, expires_in: Any, refresh_expires_in: Any = None) -> ShopTokens:
        now = self._clock()
        try:
            return ShopTokens(str(access_token), str(refresh_token), now + timedelta(seconds=int(expires_in)),
                          now + timedelta(seconds=int(refresh_expires_in)) if refresh_expires_in else None)
        except (TypeError, ValueError):
            raise self._error(PlatformMalformedResponse, "the token answer lacks a token or its lifetime") from None

    # -- the interface ---------------------------------------------------------------------------------

    def orders_changed(self, start: datetime, end: datetime) -> Iterator[PlatformOrder]:
        """Every order modified in [start, end], each once in its latest version seen, oldest first."""
        seen: dict[str, datetime] = {}
        for chunk_start, chunk_end in self._chunks(start, end):
            latest: dict[str, PlatformOrder] = {}
            for order in map(self.parse_order, self._records_changed(chunk_start, chunk_end)):
                if order is None:
                    continue
                kept = latest.get(order.order_no)
                if kept is None or order.modified_at >= kept.modified_at:
                    latest[order.order_no] = order
            for order in sorted(latest.values(), key=lambda o: o.modified_at):
                if order.order_no not in seen or order.modified_at > seen[order.order_no]:
                    seen[order.order_no] = order.modified_at
                    yield order

    @abstractmethod
    def order_detail(self, order_no: str) -> PlatformOrder:
        """One order, fetched by its platform number."""

    @abstractmethod
    def confirm_shipment(self, order_no: str, courier_code: str, tracking_no: str) -> None:
        """Tell the platform the order left with this courier and tracking number."""

    @abstractmethod
    def update_stock(self, platform_sku: str, quantity: int, *, item_id: str = "") -> None:
        """Set the listed quantity of one platform SKU (item_id where the platform needs it)."""

    def decrypt_receiver(self, order_no: str, protected: Mapping[str, str]) -> Receiver:
        """The receiver's real name, phone and street address, decrypted by the platform's own decrypt API from
        the ciphertexts or OAID it handed out with the order (for a waybill only; the result is never kept)."""
        if not protected:
            raise self._error(PlatformInvalidParameter, f"order {order_no} carries no ciphertext to decrypt")
        texts = self._decrypt(order_no, protected)
        missing = sorted({"name", "phone", "detail"} - {k for k, v in texts.items() if v})
        if missing:
            raise self._error(PlatformMalformedResponse, f"the decrypt answer lacks {', '.join(missing)}")
        return Receiver(texts["name"], texts["phone"], texts.get("province", ""), texts.get("city", ""),
                        texts.get("district", ""), texts["detail"])

    def _decrypt(self, order_no: str, protected: Mapping[str, str]) -> dict[str, str]:
        """The platform's decrypt API: name, phone and detail (province, city, district where it answers them)."""
        raise self._error(PlatformInvalidParameter, "this platform's decrypt API is not supported")

    def _decrypted_fields(self, protected: Mapping[str, str], answers: Mapping[str, str]) -> dict[str, str]:
        """Plain texts by field (name, phone, address → detail) from a batch answer of ciphertext → text."""
        fields = {"name": "name", "phone": "phone", "address": "detail"}
        return {fields[name]: answers.get(cipher, "") for name, cipher in protected.items() if name in fields}

    def refunds_changed(self, start: datetime, end: datetime) -> Iterator[PlatformRefund]:
        """Every refund request modified in [start, end], each once."""
        seen: set[tuple[str, datetime]] = set()
        for chunk_start, chunk_end in self._chunks(start, end):
            for refund in map(self.parse_refund, self._refund_records(chunk_start, chunk_end)):
                key = (refund.refund_id, refund.modified_at)
                if key not in seen:
                    seen.add(key)
                    yield refund

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "MarketplaceClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what each platform supplies -------------------------------------------------------------------

    @abstractmethod
    def _records_changed(self, start: datetime, end: datetime) -> Iterable[dict]:
        """Raw order records modified in one window no longer than max_window."""

    @abstractmethod
    def _refund_records(self, start: datetime, end: datetime) -> Iterable[dict]:
        """Raw refund records modified in one window no longer than max_window."""

    @abstractmethod
    def _order_from(self, record: Mapping[str, Any]) -> PlatformOrder | None:
        """A raw platform order as a PlatformOrder; None while it is unpaid (nothing to fulfil yet)."""

    @abstractmethod
    def _refund_from(self, record: Mapping[str, Any]) -> PlatformRefund:
        """A raw platform refund as a PlatformRefund."""

    def parse_order(self, record: Any) -> PlatformOrder | None:
        """A raw platform order as a PlatformOrder, or PlatformMalformedResponse."""
        try:
            return self._order_from(record)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._error(PlatformMalformedResponse, f"unreadable order record: {type(exc).__name__}") from None

    def parse_refund(self, record: Any) -> PlatformRefund:
        """A raw platform refund as a PlatformRefund, or PlatformMalformedResponse."""
        try:
            return self._refund_from(record)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._error(PlatformMalformedResponse, f"unreadable refund record: {type(exc).__name__}") from None

    @staticmethod
    def default_courier_codes() -> dict[str, str]:
        return {}

    # -- shared machinery ------------------------------------------------------------------------------

    def _error(self, kind: type[MarketplaceError], message: str, **kwargs: Any) -> MarketplaceError:
        for secret in self.credentials.secrets():
            message = message.replace(secret, "***")
        return kind(message[:300], channel=self.channel, **kwargs)

    def _paid(self, order: PlatformOrder | None, order_no: str) -> PlatformOrder:
        if order is None:
            raise self._error(PlatformInvalidParameter, f"order {order_no} is not paid yet")
        return order

    def _courier(self, courier_code: str) -> str:
        try:
            return self.courier_codes[courier_code.upper()]
        except KeyError:
            known = ", ".join(sorted(self.courier_codes))
            raise self._error(PlatformInvalidParameter, f"unknown courier {courier_code!r}; known: {known}") from None

    def _chunks(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        start, end = to_china(start), to_china(end)
        if end <= start:
            raise self._error(PlatformInvalidParameter, "the window's end must come after its start")
        while start < end:
            chunk_end = min(start + self.max_window, end)
            yield start, chunk_end
            start = chunk_end  # both ends are inclusive on the platforms: the shared second is read twice, not lost

    def _walk_window(self, start: datetime, end: datetime, fetch: FetchPage) -> Iterator[dict]:
        """Records of one window, halving it until each slice fits one page, oldest slice first.

        A slice read in one request cannot shift under us while new orders arrive; a one-second slice
        still too full is paged from its last page back, then re-counted, so nothing is skipped."""
        first = fetch(start, end, 1)
        if first.total <= self.page_size:
            yield from first.records
            return
        if end - start <= self.time_resolution:
            yield from self._page_backwards(start, end, fetch, first.total)
            return
        middle = (start + (end - start) / 2).replace(microsecond=0)
        if middle <= start:
            middle = start + self.time_resolution
        yield from self._walk_window(start, middle, fetch)
        yield from self._walk_window(middle, end, fetch)

    def _page_backwards(self, start: datetime, end: datetime, fetch: FetchPage, total: int) -> Iterator[dict]:
        for _ in range(3):
            for page_no in range(math.ceil(total / self.page_size), 0, -1):
                yield from fetch(start, end, page_no).records
            recount = fetch(start, end, 1).total
            if recount <= total:
                return
            total = recount
        raise self._error(PlatformServerError, "orders kept arriving in a one-second slice; pull again")

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        """One HTTP exchange: transport trouble and 5xx become PlatformServerError, a non-JSON body
        PlatformMalformedResponse. The platform's own error body is for the caller to map."""
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise self._error(PlatformServerError, "timed out waiting for the platform") from None
        except httpx.TransportError as exc:
            raise self._error(PlatformServerError, f"could not reach the platform: {type(exc).__name__}") from None
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            raise self._error(PlatformRateLimited, "HTTP 429",
                              retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)
        if response.status_code >= 500:
            raise self._error(PlatformServerError, f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise self._error(PlatformMalformedResponse, f"HTTP {response.status_code} with a body that is not JSON") from None
        if not isinstance(body, dict):
            raise self._error(PlatformMalformedResponse, "the response is not a JSON object")
        logger.debug("%s answered HTTP %s", self.channel, response.status_code)
        return body
