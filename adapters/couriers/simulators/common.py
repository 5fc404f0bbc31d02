"""What every courier simulator shares: a local HTTP server, parcels whose routes advance with a clock,
outages on demand, and a record of every request received."""

from __future__ import annotations

import json
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from adapters.couriers.base import CHINA_TZ, Clock, utc_now
from adapters.simulation import BackgroundServer


class SimulatorNotRunning(RuntimeError):
    """The simulator has no URL until it is started."""


class UnknownOutageMode(ValueError):
    """Outages come as '5xx' or 'busy'."""


class ManualClock:
    """A clock that moves only when told to, shared by simulators and tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 2, 9, 0, tzinfo=CHINA_TZ)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)
            return self._now


class Fate(StrEnum):
    DELIVERED = "delivered"
    STUCK = "stuck"
    RETURNED = "returned"


# Stage kinds every simulator translates into its own codes and wording.
COLLECTED, DEPARTED, ARRIVED, DELIVERING, DELIVERED, FAILED, RETURNED = (
    "collected", "departed", "arrived", "delivering", "delivered", "failed", "returned")

JOURNEYS = {
    Fate.DELIVERED: (COLLECTED, DEPARTED, ARRIVED, DELIVERING, DELIVERED),
    Fate.STUCK: (COLLECTED, DEPARTED),
    Fate.RETURNED: (COLLECTED, DEPARTED, ARRIVED, DELIVERING, FAILED, RETURNED),
}


@dataclass(frozen=True)
class Stage:
    time: datetime
    kind: str
    city: str


@dataclass
class Parcel:
    courier: str
    tracking_no: str
    order_no: str
    created_at: datetime
    origin_city: str
    dest_city: str
    fate: Fate = Fate.DELIVERED
    cancelled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def stages(self, now: datetime, step: timedelta) -> list[Stage]:
        """The stages reached by now: one every step after the waybill was issued."""
        if self.cancelled:
            return []
        reached = []
        for index, kind in enumerate(JOURNEYS[self.fate]):
            moment = self.created_at + step * (index + 1)
            if moment > now:
                break
            city = self.origin_city if kind in (COLLECTED, DEPARTED) else self.dest_city
            reached.append(Stage(moment, kind, city))
        return reached


@dataclass(frozen=True)
class Received:
    """One request as the simulator saw it, and what it made of it."""

    path: str
    fields: dict[str, Any]
    outcome: str


# Three-digit area codes used to make plausible sort codes.
AREA_CODES = {
    "北京市": "010", "上海市": "021", "天津市": "022", "重庆市": "023", "广州市": "020", "深圳市": "755",
    "杭州市": "571", "宁波市": "574", "南京市": "025", "苏州市": "512", "成都市": "028", "武汉市": "027",
    "西安市": "029", "郑州市": "371", "长沙市": "731", "沈阳市": "024", "哈尔滨市": "451", "乌鲁木齐市": "991",
    "拉萨市": "891", "昆明市": "871", "厦门市": "592", "福州市": "591", "青岛市": "532", "济南市": "531",
}


def masked(*texts: Any) -> bool:
    """A marketplace's masked contact (王**, 138****5678): no courier can deliver to it or call it."""
    return any("*" in str(text or "") for text in texts)


def json_response(payload: Any) -> Response:
    """A platform answer: HTTP 200 and a JSON body, success or not."""
    return Response(json.dumps(payload, ensure_ascii=False), 200, mimetype="application/json")


def area_code(city: str) -> str:
    return AREA_CODES.get(city, "999")


class CourierSimulator:
    """Base of the simulators: start()/stop()/url, outage(), set_fate(), received, parcels."""

    name = "courier"

    def __init__(self, *, clock: Clock | None = None, step: timedelta = timedelta(hours=4),
                 seed: int | None = None) -> None:
        self.clock = clock or utc_now
        self.step = step
        self.received: list[Received] = []
        self.parcels: dict[str, Parcel] = {}
        self.recycled: list[str] = []
        self.on_issue: list[Callable[[Parcel], None]] = []
        self._rng = random.Random(None if seed is None else f"{self.name}:{seed}")
        self._outage: str | None = None
        self._lock = threading.RLock()
        self._served = BackgroundServer(self._wsgi, "127.0.0.1", 0, f"{self.name}-sim")

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "CourierSimulator":
        """Serve on 127.0.0.1 on a free port, in a background thread."""
        self._served.start()
        return self

    def stop(self) -> None:
        """Stop serving; connections are refused afterwards."""
        self._served.stop()

    @property
    def url(self) -> str:
        if not self._served.running:
            raise SimulatorNotRunning(f"{self.name} simulator is not started")
        return f"http://127.0.0.1:{self._served.bound_port}"

    def __enter__(self) -> "CourierSimulator":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- behaviour on demand ---------------------------------------------------------------------
    def outage(self, mode: str = "5xx") -> None:
        """Fail every request: '5xx' answers HTTP 503, 'busy' answers the platform's own busy error."""
        if mode not in ("5xx", "busy"):
            raise UnknownOutageMode(f"unknown outage mode {mode!r}; use '5xx' or 'busy'")
        self._outage = mode

    def restore(self) -> None:
        self._outage = None

    def set_fate(self, tracking_no: str, fate: Fate | str) -> None:
        """Make this parcel stick in transit, come back, or be delivered."""
        with self._lock:
            self.parcels[tracking_no].fate = Fate(fate)

    def outcomes(self) -> list[str]:
        return [r.outcome for r in self.received]

    # -- for subclasses ------------------------------------------------------------------------
    def handle(self, request: Request) -> tuple[Response, str, dict[str, Any]]:
        """Answer one request; return the response, an outcome word and the fields to record."""
        raise NotImplementedError

    def busy_response(self) -> Response:
        raise NotImplementedError

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        if self._outage == "5xx":
            self._record(request.path, {}, "outage")
            response = Response("<html><body>503 Service Temporarily Unavailable</body></html>", 503,
                                mimetype="text/html")
        elif self._outage == "busy":
            self._record(request.path, {}, "busy")
            response = self.busy_response()
        else:
            try:
                response, outcome, fields = self.handle(request)
            except Exception as exc:  # a simulator bug must show as a 500, as a real gateway would
                response, outcome, fields = Response("internal error", 500), f"crash: {exc!r}", {}
            self._record(request.path, fields, outcome)
        return response(environ, start_response)

    def _record(self, path: str, fields: dict[str, Any], outcome: str) -> None:
        with self._lock:
            self.received.append(Received(path, fields, outcome))

    def _digits(self, count: int) -> str:
        return "".join(self._rng.choice("0123456789") for _ in range(count))

    def new_number(self) -> str:
        raise NotImplementedError

    def issue(self, order_no: str, origin_city: str, dest_city: str, *, courier: str | None = None,
              **extra: Any) -> Parcel:
        """A new parcel under a fresh number in this courier's format."""
        with self._lock:
            number = self.new_number()
            while number in self.parcels:
                number = self.new_number()
            parcel = Parcel(courier or self.name, number, order_no, self.clock(), origin_city, dest_city,
                            extra=extra)
            self.parcels[number] = parcel
        for listener in self.on_issue:
            listener(parcel)
        return parcel

    def find_order(self, order_no: str) -> Parcel | None:
        with self._lock:
            return next((p for p in self.parcels.values() if p.order_no == order_no and not p.cancelled), None)

    def cancel(self, tracking_no: str) -> str | None:
        """Cancel and recycle the number; returns why not, or None when done."""
        with self._lock:
            parcel = self.parcels.get(tracking_no)
            if parcel is None:
                return "unknown"
            if parcel.cancelled:
                return "already-cancelled"
            if parcel.stages(self.clock(), self.step):
                return "collected"
            parcel.cancelled = True
            self.recycled.append(tracking_no)
            return None

    def visible_stages(self, tracking_no: str) -> list[Stage] | None:
        with self._lock:
            parcel = self.parcels.get(tracking_no)
            if parcel is None or parcel.cancelled:
                return None
            return parcel.stages(self.clock(), self.step)

    @staticmethod
    def request_id() -> str:
        return uuid.uuid4().hex
