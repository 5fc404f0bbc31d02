"""The small HTTP server every marketplace simulator shares: orders, shop accounts and their tokens, a per-second
rate limit, faults on demand, a record of writes.

Nothing here or in a platform's simulator imports the marketplace clients: each simulator checks requests with its
own reading of the platform's documentation, so a client that signs or sends wrongly is refused as the platform
would refuse it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from ...simulation import BackgroundServer

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class OrderStatus(StrEnum):
    """An order's state as the simulators keep it (the same words the warehouse uses)."""

    PAID = "paid"
    REFUND_REQUESTED = "refund_requested"
    CANCELLED = "cancelled"
    SHIPPED = "shipped"


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    AGREED = "agreed"
    RETURNING = "returning"  # the buyer sent the goods back
    REFUSED = "refused"
    REFUNDED = "refunded"
    CLOSED = "closed"


def china_text(moment: datetime) -> str:
    """'yyyy-MM-dd HH:mm:ss' in GMT+8, the date-time format of TOP, JOS and POP answers."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def parse_china_text(text: str) -> datetime:
    """A GMT+8 'yyyy-MM-dd HH:mm:ss' as sent to the platforms; PlatformRefusal when it is not one."""
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError:
        raise PlatformRefusal("invalid", f"not a date-time yyyy-MM-dd HH:mm:ss: {text!r}") from None


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), CHINA)


def masked_name(name: str) -> str:
    """王小明 → 王**, as the platforms show a receiver's name."""
    return name[:1] + "*" * max(len(name) - 1, 1)


def masked_phone(phone: str) -> str:
    """13812345678 → 138****5678."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "*" * len(phone)


def masked_detail(detail: str) -> str:
    """The street address's first half, the rest starred."""
    return detail[:max(len(detail) // 2, 1)] + "****"


def with_query(base: str, **query: str) -> str:
    """base with query parameters added, URL-encoded."""
    return base + ("&" if "?" in base else "?") + urlencode(query)

# waybill numbers as each courier issues them (prefix, digits after it)
WAYBILL_NUMBERS = {"YTO": ("YT", 13), "ZTO": ("7", 13), "SF": ("SF", 13), "STO": ("77", 13), "YUNDA": ("43", 13)}
FAULTS = ("rate_limit", "server_error", "malformed", "timeout")

SKUS = (
    # item id, sku id, merchant code, title, price
    ("600101", "4200101", "TEA-LJ-250", "西湖龙井 250g 罐装", Decimal("168.00")),
    ("600101", "4200102", "TEA-LJ-500", "西湖龙井 500g 礼盒", Decimal("318.00")),
    ("600202", "4200201", "CUP-GL-350", "双层玻璃杯 350ml", Decimal("39.90")),
    ("600303", "4200301", "SOCK-WM-L", "羊毛袜 L 码 三双装", Decimal("59.00")),
    ("600303", "4200302", "SOCK-WM-M", "羊毛袜 M 码 三双装", Decimal("59.00")),
    ("600404", "4200401", "PEN-GEL-05", "中性笔 0.5mm 12 支", Decimal("18.80")),
    ("600505", "4200501", "NOTE-A5-DOT", "A5 点阵笔记本", Decimal("24.50")),
    ("600606", "4200601", "BAG-CV-01", "帆布托特包 本白", Decimal("79.00")),
)
PLACES = (
    ("浙江省", "杭州市", "西湖区", "文三路 90 号东部软件园 3 号楼"),
    ("广东省", "深圳市", "南山区", "科技园南区粤海街道 8 号"),
    ("上海市", "上海市", "浦东新区", "张江路 665 号 2 楼"),
    ("北京市", "北京市", "朝阳区", "望京街 10 号院 1 号楼"),
    ("四川省", "成都市", "武侯区", "天府大道北段 1700 号"),
    ("江苏省", "南京市", "鼓楼区", "中山北路 30 号"),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超")


@dataclass
class SimLine:
    item_id: str
    sku_id: str
    outer_sku: str
    title: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount


@dataclass
class SimRefund:
    refund_id: str
    order_no: str
    status: RefundStatus
    amount: Decimal
    reason: str
    created: datetime
    modified: datetime
    kind: str = "refund_only"  # refund_only, return_refund, exchange, reship: each platform renders its own code
    line: SimLine | None = None  # the line asked about (None: the order as a whole)
    quantity: int = 0
    return_tracking: str = ""


@dataclass
class SimOrder:
    """One order as the simulator keeps it; each platform renders it in its own shape."""

    order_no: str
    status: OrderStatus
    buyer_nick: str
    receiver_name: str
    receiver_phone: str
    province: str
    city: str
    district: str
    detail: str
    lines: list[SimLine]
    created: datetime
    modified: datetime
    discount: Decimal = ZERO
    postage: Decimal = ZERO
    platform_fee: Decimal = ZERO
    remark: str = ""
    refund: SimRefund | None = None

    @property
    def goods_total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), ZERO)

    @property
    def amount_paid(self) -> Decimal:
        line_discounts = sum((line.discount for line in self.lines), ZERO)
        return self.goods_total - line_discounts - self.discount + self.postage


class PlatformRefusal(Exception):
    """Raised inside a handler: answer with the platform's own error body."""

    def __init__(self, kind: str, message: str = ""):
        self.kind = kind  # "auth", "signature", "invalid", "rate_limit", "not_found"
        self.message = message
        super().__init__(message)


@dataclass
class Call:
    """One parsed request: the API name, its business parameters, and what the server needs to check it."""

    api: str
    params: dict[str, Any]
    raw: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class AppAccount:
    """What the platform issued: the app's key and secrets, and the demo shop's first access token."""

    app_key: str
    app_secret: str
    access_token: str
    shop: str
    sign_secret: str = ""

    def __repr__(self) -> str:
        return f"AppAccount(app_key={self.app_key!r}, shop={self.shop!r})"


@dataclass
class Grant:
    """One shop's authorisation: an access token until expires_at, renewed once with its refresh token."""

    shop: str
    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime


class MarketplaceSimulator(ABC):
    """A local stand-in for one marketplace: checks signatures, timestamps and tokens the platform's way, issues
    and expires tokens, throttles per second, serves a data set, fails on demand, and keeps every shipment
    confirmation and stock update it receives."""

    channel = ""
    order_api = ""  # the list API whose pages count for after_list_pages
    demo_app_key = "demo-app-key"
    max_lines = 3
    timestamp_skew = timedelta(minutes=10)
    token_lifetime = timedelta(days=1)
    refresh_lifetime = timedelta(days=30)
    qps = 100  # calls per second per app before the platform's rate-limit error
    token_apis: frozenset[str] = frozenset()  # signed APIs called without an access token (token create/refresh)

    def __init__(
        self,
        *,
        shop: str = "demo-shop",
        app_key: str | None = None,
        app_secret: str | None = None,
        access_token: str | None = None,
        sign_secret: str | None = None,
        clock: Callable[[], datetime] | None = None,
        timeout_delay: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.credentials = AppAccount(
            app_key=app_key or self.demo_app_key,
            app_secret=app_secret or f"{self.channel}-demo-secret",
            access_token=access_token or f"{self.channel}-demo-token",
            shop=shop,
            sign_secret=self.demo_sign_secret() if sign_secret is None else sign_secret,
        )
        self.clock = clock or (lambda: datetime.now(CHINA))
        self.timeout_delay = timeout_delay
        self.orders: dict[str, SimOrder] = {}
        self.stock: dict[str, int] = {}
        self.shipments: list[dict[str, Any]] = []
        self.stock_updates: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.refusals: list[str] = []
        self.list_pages_served = 0
        self.grants: dict[str, Grant] = {}
        self.sealed: dict[str, str] = {}  # ciphertext → the buyer's text it stands for
        self.decrypted: list[dict[str, Any]] = []  # each decryption the platform granted: order, API, when
        self.waybills: dict[str, dict[str, Any]] = {}  # e-waybills issued on the platform: number → order, receiver
        self._refreshable: dict[str, Grant] = {}
        self._codes: dict[str, tuple[str, datetime]] = {}
        self._recent: dict[str, deque[float]] = {}
        self.ticks: Callable[[], float] = time.monotonic
        self._faults: deque[tuple[str, float | None]] = deque()
        self._hooks: list[tuple[int, Callable[["MarketplaceSimulator"], None]]] = []
        self._lock = threading.RLock()
        self._rng = random.Random(7)
        self._served = BackgroundServer(self, host, port, f"{self.channel}-simulator")
        self._grant(shop, self.credentials.access_token, f"{self.channel}-demo-refresh")

    def demo_sign_secret(self) -> str:
        return ""

    cipher_mark = "$"

    def seal(self, text: str) -> str:
        """A buyer's name, phone or address as the platform hands it out: an opaque ciphertext, only the platform
        can read (the same text gives the same ciphertext, as the platforms' search indexes need)."""
        digest = hmac.new(self.credentials.app_secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
        cipher = self.cipher_mark + base64.b64encode(digest[:24]).decode("ascii") + self.cipher_mark
        with self._lock:
            self.sealed[cipher] = text
        return cipher

    def unseal(self, order_no: str, cipher: str, api: str) -> str:
        """What a ciphertext of this order stands for, as the platform's decrypt API answers it: only for an order
        still to be shipped (the platforms decrypt for fulfilment only), only for the order's own ciphertexts."""
        order = self.find(order_no)
        text = self.opened(order, cipher)
        if order.status is not OrderStatus.PAID:
            raise PlatformRefusal("invalid", f"订单 {order_no} 状态为 {order.status}，不允许解密")
        with self._lock:
            self.decrypted.append({"order_no": order.order_no, "api": api, "at": self.clock()})
        return text

    def opened(self, order: SimOrder, cipher: str) -> str:
        """What one of this order's own ciphertexts stands for; PlatformRefusal for any other text."""
        text = self.sealed.get(str(cipher))
        own = {order.receiver_name, order.receiver_phone, order.detail,
               f"{order.receiver_name}|{order.receiver_phone}|{order.detail}"}
        if text is None or text not in own:
            raise PlatformRefusal("invalid", f"密文不属于订单 {order.order_no}")
        return text

    def check_waybill_receiver(self, platform_order: bool, order_no: str, texts: tuple) -> None:
        """An e-waybill's receiver (name, phone, street): plain, or this platform's ciphertexts of that very order,
        named as an order of the platform; a masked text is refused, as no courier can deliver to it."""
        if not all(texts):
            raise PlatformRefusal("invalid", "收件人姓名、电话和详细地址不能为空")
        ciphers = [str(text) for text in texts if str(text) in self.sealed]
        if any("*" in str(text) for text in texts if str(text) not in ciphers):
            raise PlatformRefusal("invalid", "收件人为脱敏信息，请传入订单的密文")
        if ciphers:
            if not platform_order:
                raise PlatformRefusal("invalid", "密文收件人只能用于本平台订单")
            order = self.find(order_no)
            for cipher in ciphers:
                self.opened(order, cipher)

    def issue_waybill(self, order_no: str, courier: str, city: str | None, receiver: Any) -> tuple[str, str, str]:
        """A waybill number of the courier's format, its sort code and package centre (集包地)."""
        if courier not in WAYBILL_NUMBERS:
            raise PlatformRefusal("invalid", f"不支持的快递公司 {courier}")
        if not city:
            raise PlatformRefusal("invalid", "收件人省市不能为空")
        prefix, digits = WAYBILL_NUMBERS[courier]
        with self._lock:
            number = prefix + "".join(self._rng.choice("0123456789") for _ in range(digits))
            self.waybills[number] = {"order_no": order_no, "courier": courier, "recipient": receiver}
        code = sum(map(ord, city)) % 900 + 100
        return number, f"{code}-{code % 97:02d}", f"{city}集包"

    def unseal_each(self, items: Any, api: str, tag: str, cipher: str) -> list[tuple[dict, str]]:
        """Each (item, text) of a batch decrypt request whose items name their order by `tag`."""
        if not isinstance(items, list) or not 1 <= len(items) <= 100:
            raise PlatformRefusal("invalid", "解密列表需要 1 到 100 条")
        if not all(isinstance(item, dict) and item.get(tag) and item.get(cipher) for item in items):
            raise PlatformRefusal("invalid", f"{tag} 和 {cipher} 必填")
        return [(item, self.unseal(str(item[tag]), item[cipher], api)) for item in items]

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> "MarketplaceSimulator":
        """Serve on host:port (port 0: a free one) in a background thread."""
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()

    def __enter__(self) -> "MarketplaceSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        """http://host:port, where the gateway and the OAuth pages are served."""
        if not self._served.running:
            raise RuntimeError("the simulator is not started")
        return f"http://{self._served.host}:{self._served.bound_port}"

    @property
    def url(self) -> str:
        return self.root + self.gateway_path

    gateway_path = ""

    @property
    def shop(self) -> str:
        return self.credentials.shop

    # -- shop authorisation ----------------------------------------------------------------------------

    def authorise(self, shop: str | None = None) -> str:
        """The merchant of `shop` grants the app access: the one-time code the platform hands the app's callback."""
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = (shop or self.shop, self.clock() + timedelta(minutes=10))
        return code

    def redeem_code(self, code: str) -> Grant:
        with self._lock:
            shop, until = self._codes.pop(str(code), ("", None))
        if until is None or self.clock() > until:
            raise PlatformRefusal("invalid_grant", "code 无效或已过期")
        return self._grant(shop, secrets.token_hex(16), secrets.token_hex(16))

    def redeem_refresh_token(self, refresh_token: str) -> Grant:
        with self._lock:
            old = self._refreshable.pop(str(refresh_token), None)
        if old is None or self.clock() > old.refresh_expires_at:
            raise PlatformRefusal("invalid_grant", "refresh_token 无效或已过期")
        return self._grant(old.shop, secrets.token_hex(16), secrets.token_hex(16))

    def _grant(self, shop: str, access_token: str, refresh_token: str) -> Grant:
        now = self.clock()
        grant = Grant(shop, access_token, refresh_token, now + self.token_lifetime, now + self.refresh_lifetime)
        with self._lock:
            self.grants[access_token] = grant
            self._refreshable[refresh_token] = grant
        return grant

    def revoke(self, shop: str | None = None) -> None:
        """The merchant withdraws the app's authorisation: the shop's tokens, refresh tokens too, stop working."""
        shop = shop or self.shop
        with self._lock:
            self.grants = {token: grant for token, grant in self.grants.items() if grant.shop != shop}
            self._refreshable = {token: grant for token, grant in self._refreshable.items() if grant.shop != shop}

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (refresh tokens still work)."""
        with self._lock:
            for grant in self.grants.values():
                grant.expires_at = self.clock() - timedelta(seconds=1)

    def check_access_token(self, token: str | None) -> Grant:
        grant = self.grants.get(str(token or ""))
        if grant is None:
            raise PlatformRefusal("auth")
        if self.clock() >= grant.expires_at:
            raise PlatformRefusal("token_expired")
        return grant

    # -- throttling ------------------------------------------------------------------------------------

    def throttle_key(self, call: Call) -> str:
        return self.credentials.app_key

    def _admit(self, call: Call) -> None:
        """The platform's per-second limit: more than qps calls within one second are refused."""
        now = self.ticks()
        with self._lock:
            recent = self._recent.setdefault(self.throttle_key(call), deque())
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            if len(recent) >= self.qps:
                raise PlatformRefusal("rate_limit", "1")
            recent.append(now)

    # -- data ------------------------------------------------------------------------------------------

    def seed(self, n: int, start: datetime, end: datetime | None = None, *, seed: int = 7) -> list[SimOrder]:
        """n paid orders modified between start and end (same seed, same orders)."""
        rng = random.Random(seed)
        end = end or start + timedelta(hours=6)
        span = max(int((end - start).total_seconds()), 0)
        made = []
        for _ in range(n):
            modified = start + timedelta(seconds=rng.randint(0, span))
            made.append(self._store(self._random_order(rng, modified)))
        return made

    def add_order(self, **fields: Any) -> SimOrder:
        """One order, random where not given; modified now unless `modified` is given."""
        with self._lock:
            rng = random.Random(self._rng.random())
            modified = fields.pop("modified", None) or self.clock()
            order = self._random_order(rng, modified)
            return self._store(replace(order, **fields))

    def load_orders(self, rows: Iterable[Mapping[str, Any]]) -> list[SimOrder]:
        """Orders from plain (JSON-shaped) rows: SimOrder's fields, times as ISO 8601, amounts as strings,
        lines as dicts of SimLine's fields. Missing fields are made up."""
        loaded = []
        for row in rows:
            fields = dict(row)
            for name in ("created", "modified"):
                if isinstance(fields.get(name), str):
                    fields[name] = datetime.fromisoformat(fields[name])
                    if fields[name].tzinfo is None:
                        fields[name] = fields[name].replace(tzinfo=CHINA)
            for name in ("discount", "postage", "platform_fee"):
                if name in fields:
                    fields[name] = Decimal(str(fields[name]))
            if "status" in fields:
                fields["status"] = OrderStatus(fields["status"])
            if "lines" in fields:
                fields["lines"] = [SimLine(**{**line, "unit_price": Decimal(str(line["unit_price"])),
                                              "discount": Decimal(str(line.get("discount", "0.00")))})
                                   for line in fields["lines"]]
            loaded.append(self.add_order(**fields))
        return loaded

    def change_order(self, order_no: str, *, status: OrderStatus | str, at: datetime | None = None,
                     reason: str = "不想要了") -> SimOrder:
        """Move an order to a new status at `at` (now): refund_requested opens a refund request."""
        with self._lock:
            order = self.orders[order_no]
            order.status = OrderStatus(status)
            order.modified = (at or self.clock()).replace(microsecond=0)
            if order.status is OrderStatus.REFUND_REQUESTED:
                order.refund = SimRefund(
                    refund_id=self._refund_no(order),
                    order_no=order_no,
                    status=RefundStatus.REQUESTED,
                    amount=order.amount_paid,
                    reason=reason,
                    created=order.modified,
                    modified=order.modified,
                )
            elif order.refund and order.status is OrderStatus.CANCELLED:
                order.refund.status = RefundStatus.REFUNDED
                order.refund.modified = order.modified
            return order

    def after_sale(self, order_no: str, kind: str, *, amount: Decimal | None = None, line: int | None = 0,
                   quantity: int | None = None, at: datetime | None = None, reason: str = "不想要了") -> SimRefund:
        """The buyer of a shipped order asks for an after-sale: refund_only, return_refund, exchange or reship, on one
        line (its index; None for the whole order), for `amount` (the line's or order's paid amount when not given)."""
        if kind not in ("refund_only", "return_refund", "exchange", "reship"):
            raise ValueError(f"unknown after-sale kind {kind!r}")
        with self._lock:
            order = self.orders[order_no]
            if order.status is not OrderStatus.SHIPPED:
                raise ValueError(f"order {order_no} is {order.status}; an after-sale needs a shipped order")
            when = (at or self.clock()).replace(microsecond=0)
            chosen = None if line is None else order.lines[line]
            units = quantity or (chosen.quantity if chosen else 0)
            if amount is None and kind in ("exchange", "reship"):
                amount = ZERO
            elif amount is None and chosen is None:
                amount = order.amount_paid
            elif amount is None:
                # what the buyer paid for those units: the line's total less its share of the order's own discount
                lines_total = sum((line.total for line in order.lines), ZERO)
                share = order.discount * chosen.total / lines_total if lines_total else ZERO
                amount = ((chosen.total - share) * units / chosen.quantity).quantize(CENT)
            order.refund = SimRefund(self._refund_no(order), order_no, RefundStatus.REQUESTED, Decimal(amount),
                                     reason, when, when, kind, chosen, units)
            order.modified = when
            return order.refund

    def move_refund(self, order_no: str, status: RefundStatus | str, *, at: datetime | None = None,
                    return_tracking: str = "") -> SimRefund:
        """The order's after-sale moves on: agreed, returning (with the buyer's return waybill), refused, refunded,
        closed (withdrawn)."""
        with self._lock:
            refund = self.orders[order_no].refund
            if refund is None:
                raise ValueError(f"order {order_no} has no after-sale")
            refund.status = RefundStatus(status)
            refund.modified = (at or self.clock()).replace(microsecond=0)
            if return_tracking:
                refund.return_tracking = return_tracking
            return refund

    def evolve(self, count: int, at: datetime | None = None) -> list[str]:
        """Turn `count` paid orders into refund requests, as buyers do over time."""
        with self._lock:
            paid = [o.order_no for o in self.orders.values() if o.status is OrderStatus.PAID]
            chosen = self._rng.sample(paid, min(count, len(paid)))
            for order_no in chosen:
                self.change_order(order_no, status=OrderStatus.REFUND_REQUESTED, at=at)
            return chosen

    def _store(self, order: SimOrder) -> SimOrder:
        with self._lock:
            self.orders[order.order_no] = order
            for line in order.lines:
                self.stock.setdefault(line.sku_id, 100)
            return order

    def _random_order(self, rng: random.Random, modified: datetime) -> SimOrder:
        lines = []
        for item_id, sku_id, code, title, price in rng.sample(SKUS, rng.randint(1, self.max_lines)):
            quantity = rng.randint(1, 3)
            discount = (price * quantity * Decimal(rng.choice((0, 0, 5, 10))) / 100).quantize(CENT)
            lines.append(SimLine(item_id, sku_id, code, title, quantity, price, discount))
        province, city, district, detail = rng.choice(PLACES)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN))
        created = modified - timedelta(seconds=rng.randint(0, 3600))
        return SimOrder(
            order_no=self._order_no(rng, created),
            status=OrderStatus.PAID,
            buyer_nick=f"{rng.choice(('tb', 'buyer', 'xiao', 'hello'))}_{rng.randint(1000, 99999)}",
            receiver_name=name,
            receiver_phone=f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}",
            province=province,
            city=city,
            district=district,
            detail=detail,
            lines=lines,
            created=created.replace(microsecond=0),
            modified=modified.replace(microsecond=0),
            discount=Decimal(rng.choice(("0.00", "0.00", "5.00", "10.00"))),
            postage=Decimal(rng.choice(("0.00", "0.00", "8.00"))),
            platform_fee=Decimal("0.00"),
            remark=rng.choice(("", "", "请尽快发货", "不要放快递柜")),
        )

    def _order_no(self, rng: random.Random, created: datetime) -> str:
        return f"{rng.randint(10**17, 10**18 - 1)}"

    def _refund_no(self, order: SimOrder) -> str:
        return f"9{order.order_no[-9:]}{len(self.orders) % 1000:03d}"

    def window(self, start: datetime, end: datetime) -> list[SimOrder]:
        """Orders modified in [start, end], oldest first."""
        with self._lock:
            return sorted((o for o in self.orders.values() if start <= o.modified <= end),
                          key=lambda o: (o.modified, o.order_no))

    def refunds_in(self, start: datetime, end: datetime) -> list[SimRefund]:
        with self._lock:
            found = [o.refund for o in self.orders.values() if o.refund and start <= o.refund.modified <= end]
            return sorted(found, key=lambda r: (r.modified, r.refund_id))

    def find(self, order_no: str) -> SimOrder:
        try:
            return self.orders[str(order_no)]
        except KeyError:
            raise PlatformRefusal("not_found", f"order {order_no} does not exist") from None

    def find_sku(self, sku_id: str) -> str:
        sku_id = str(sku_id)
        if sku_id not in {s[1] for s in SKUS} and sku_id not in self.stock:
            raise PlatformRefusal("not_found", f"sku {sku_id} does not exist")
        return sku_id

    # -- faults and hooks ------------------------------------------------------------------------------

    def fail_next(self, kind: str, times: int = 1, *, retry_after: float | None = None) -> None:
        """The next `times` requests fail: rate_limit, server_error (5xx), malformed (body) or timeout."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.extend([(kind, retry_after)] * times)

    def after_list_pages(self, pages: int, action: Callable[["MarketplaceSimulator"], None]) -> None:
        """Run `action` once, right after the order list has served `pages` more pages."""
        with self._lock:
            self._hooks.append((self.list_pages_served + pages, action))

    # -- HTTP ------------------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        response = self._answer(request)
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        oauth = self.oauth_pages().get(request.path)
        if oauth is not None:
            return oauth(request)
        try:
            call = self.read_call(request)
            try:
                sent = self.sent_at(call)
            except (ValueError, OverflowError, OSError, PlatformRefusal):
                raise PlatformRefusal("timestamp", "timestamp 格式不对") from None
            self.check_timestamp(sent)
            self.check_signature(call, request)
            if call.api not in self.token_apis:
                self.check_access_token(self.access_token_of(call))
            self._admit(call)
        except PlatformRefusal as refusal:
            self.refusals.append(refusal.kind)
            return self.refusal(refusal)
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is not None:
            kind, retry_after = fault
            if kind == "timeout":
                time.sleep(self.timeout_delay)
            elif kind == "server_error":
                return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502, mimetype="text/html")
            elif kind == "malformed":
                return Response('{"' + self.malformed_prefix(call) + '": {"tot', mimetype="application/json")
            elif kind == "rate_limit":
                return self.refusal(PlatformRefusal("rate_limit", str(int(retry_after or 1))))
        handler = self.handlers().get(call.api)
        if handler is None:
            return self.refusal(PlatformRefusal("invalid", f"unknown API {call.api}"))
        try:
            with self._lock:
                self.calls.append(call.api)
                body = handler(call.params)
                due = []
                if call.api == self.order_api:
                    self.list_pages_served += 1
                    due = [hook for hook in self._hooks if hook[0] <= self.list_pages_served]
                    self._hooks = [hook for hook in self._hooks if hook[0] > self.list_pages_served]
        except PlatformRefusal as refusal:
            return self.refusal(refusal)
        for _, action in due:
            action(self)
        return self.json(body)

    def check_timestamp(self, sent: datetime) -> None:
        if abs(sent - self.clock()) > self.timestamp_skew:
            raise PlatformRefusal("timestamp", f"timestamp 与服务器时间相差超过 {self.timestamp_skew}")

    consent_client_field = "client_id"  # how the consent page's query names the app

    def consent(self, request: Request) -> Response:
        """The merchant, logged in on the platform, agrees at once: back to the app's callback with a code."""
        client_id = request.args.get(self.consent_client_field, "")
        redirect_uri = request.args.get("redirect_uri", "")
        if client_id != self.credentials.app_key or not redirect_uri:
            return Response("unknown app or no redirect_uri", status=400, mimetype="text/plain")
        shop = request.args.get("shop") or self.shop
        location = with_query(redirect_uri, code=self.authorise(shop), state=request.args.get("state", ""))
        return Response("", status=302, headers={"Location": location})

    def token_request(self, request: Request, client_field: str, grant_type: str, redeem: Callable[[str], Grant],
                      name: str) -> Grant:
        """An OAuth token endpoint's request (app id and secret, grant type, code or refresh token) granted."""
        args = {**request.args.to_dict(), **request.form.to_dict()}
        if args.get(client_field) != self.credentials.app_key or args.get("app_secret") != self.credentials.app_secret:
            raise PlatformRefusal("invalid_client", f"{client_field} 或 app_secret 错误")
        if args.get("grant_type") != grant_type:
            raise PlatformRefusal("unsupported_grant_type", f"grant_type 应为 {grant_type}")
        return redeem(args.get(name, ""))

    def oauth_pages(self) -> dict[str, Callable[[Request], Response]]:
        """Paths outside the signed gateway: the consent page, and for some platforms the token endpoints."""
        return {}

    @staticmethod
    def json(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                        mimetype="application/json")

    def malformed_prefix(self, call: Call) -> str:
        return call.api.replace(".", "_")

    # -- what each platform supplies -------------------------------------------------------------------

    @abstractmethod
    def read_call(self, request: Request) -> Call:
        """Parse the platform's request format, refusing what the platform's gateway refuses."""

    @abstractmethod
    def check_signature(self, call: Call, request: Request) -> None:
        """Recompute the sign the platform's way from what was received; PlatformRefusal if it differs."""

    @abstractmethod
    def sent_at(self, call: Call) -> datetime:
        """When the caller says it sent the request (its timestamp parameter)."""

    def access_token_of(self, call: Call) -> str | None:
        """The access token the request carries."""
        return call.raw.get("access_token")

    @abstractmethod
    def refusal(self, refusal: PlatformRefusal) -> Response:
        """The platform's own error body for a refusal."""

    @abstractmethod
    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """API name → handler returning the success body."""

    # -- helpers for handlers --------------------------------------------------------------------------

    def record_shipment(self, order_no: str, courier: str, tracking_no: str) -> None:
        order = self.find(order_no)
        if order.status is not OrderStatus.PAID:
            raise PlatformRefusal("invalid", f"order {order_no} cannot be shipped in status {order.status}")
        self.shipments.append({"order_no": order.order_no, "courier": str(courier), "tracking_no": str(tracking_no),
                               "at": self.clock()})
        order.status = OrderStatus.SHIPPED
        order.modified = self.clock().replace(microsecond=0)

    def record_stock(self, sku_id: str, quantity: int, **extra: Any) -> None:
        sku_id = self.find_sku(sku_id)
        if quantity < 0:
            raise PlatformRefusal("invalid", "quantity cannot be negative")
        self.stock[sku_id] = quantity
        self.stock_updates.append({"sku_id": sku_id, "quantity": quantity, **extra})

    @staticmethod
    def integer(params: Mapping[str, Any], name: str, default: int | None = None) -> int:
        value = params.get(name, default)
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise PlatformRefusal("invalid", f"parameter {name} must be a whole number") from None

    def page_of(self, items: list, page: int, size: int, *, first: int = 1) -> list:
        offset = (page - first) * size
        if offset < 0:
            raise PlatformRefusal("invalid", "page must be positive")
        return items[offset:offset + size]
