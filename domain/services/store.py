"""The event store every service saves through: one eventsourcing application, so that a command touching
several aggregates of several contexts (an order and the stock it reserves) saves them in one transaction.

How events reach the database (group commit, the floor cache, bounded writes) is the event-store adapter's
business (`adapters/event_store`): it extends this class and overrides the hooks marked below.
"""

import functools
import json
import random
import time
from base64 import b64decode, b64encode
from contextlib import nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding
from eventsourcing.utils import Environment

from ..errors import ConcurrentUpdate, DomainError, RowsRejected
from ..order import Buyer
from ..shop import ShopTokens
from ..scanning import Device, Scan, ScanResult, Step, device_id
from ..stock import Stock

CONFLICT_RETRIES = 40


def retry_on_conflict(command: Callable) -> Callable:
    """Re-run a command whose save lost an optimistic-concurrency race, a bounded number of times."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        for attempt in range(CONFLICT_RETRIES):
            try:
                return command(*args, **kwargs)
            except IntegrityError:
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise ConcurrentUpdate(f"{command.__name__} kept meeting concurrent updates; try again")

    return wrapper


def floor_read(query: Callable) -> Callable:
    """A query of the scanner screens, answered inside the store's floor reads (see `EventStore.floor_reads`)."""

    @functools.wraps(query)
    def wrapper(self, *args, **kwargs):
        with self.store.floor_reads():
            return query(self, *args, **kwargs)

    return wrapper


def each_row(rows: dict, command: Callable, progress: Callable[[int], None] | None = None,
             rejected: dict[int, str] | None = None) -> None:
    """Run the command on every numbered row; every row's error (and those of rows already `rejected` before they
    got here, such as unreadable cells) is collected and raised together."""
    errors = dict(rejected or {})
    for done, (number, row) in enumerate(rows.items(), 1):
        try:
            command(**row) if isinstance(row, dict) else command(*row)
        except DomainError as error:
            errors[number] = error
        except (ValueError, TypeError, ArithmeticError) as error:
            errors[number] = str(error)
        if progress is not None and done % 1000 == 0:
            progress(1000)
    if progress is not None and len(rows) % 1000:
        progress(len(rows) % 1000)
    if errors:
        raise RowsRejected(errors)


def ids_of(make_id: Callable, keys: Iterable) -> list[UUID]:
    """The ids of the keys that make one (a malformed key is left to the row's own check)."""
    made = []
    for key in keys:
        try:
            made.append(make_id(*key) if isinstance(key, tuple) else make_id(key))
        except (ValueError, TypeError):
            continue
    return made


class KnownIds:
    """Ids known to exist, most recent kept: aggregates are never deleted, so a hit needs no query."""

    def __init__(self, size: int):
        self.size = size
        self.ids: dict[UUID, None] = {}

    def __contains__(self, item: UUID) -> bool:
        return item in self.ids

    def update(self, items) -> None:
        for item in items:
            self.ids[item] = None
        while len(self.ids) > self.size:
            del self.ids[next(iter(self.ids))]


@dataclass(frozen=True)
class Recorded:
    """Aggregates known to be recorded among the ids asked about; any other id is looked up when asked."""

    asked: set[UUID]
    found: set[UUID]
    repository: Any

    def __contains__(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self.asked:
            return aggregate_id in self.found
        return aggregate_id in self.repository


class BuyerAsJSON(Transcoding):
    """Buyer personal data, sealed with AES-GCM when a cipher is given."""

    type = Buyer
    name = "buyer"

    def __init__(self, cipher=None):
        self.cipher = cipher

    def encode(self, obj: Buyer) -> Any:
        data = {"nickname": obj.nickname, "name": obj.name, "phone": obj.phone, "address": obj.address}
        if obj.protected:
            data["protected"] = dict(obj.protected)
        if self.cipher is None:
            return data
        plain = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return {"sealed": b64encode(self.cipher.encrypt(plain)).decode("ascii")}

    def decode(self, data: Any) -> Buyer:
        if "sealed" in data:
            if self.cipher is None:
                return Buyer("<sealed>", "<sealed>", "<sealed>", "<sealed>")
            data = json.loads(self.cipher.decrypt(b64decode(data["sealed"])))
        return Buyer(**data)


class ShopTokensAsJSON(Transcoding):
    """A shop's marketplace tokens, sealed with AES-GCM when a cipher is given (the buyers' cipher key)."""

    type = ShopTokens
    name = "shop_tokens"

    def __init__(self, cipher=None):
        self.cipher = cipher

    def encode(self, obj: ShopTokens) -> Any:
        data = {"access_token": obj.access_token, "refresh_token": obj.refresh_token,
                "expires_at": obj.expires_at.isoformat(),
                "refresh_expires_at": obj.refresh_expires_at.isoformat() if obj.refresh_expires_at else None}
        if self.cipher is None:
            return data
        return {"sealed": b64encode(self.cipher.encrypt(json.dumps(data).encode("utf-8"))).decode("ascii")}

    def decode(self, data: Any) -> ShopTokens:
        if "sealed" in data:
            if self.cipher is None:
                return ShopTokens("<sealed>", "<sealed>", datetime.min.replace(tzinfo=timezone.utc))
            data = json.loads(self.cipher.decrypt(b64decode(data["sealed"])))
        renew_by = data.get("refresh_expires_at")
        return ShopTokens(data["access_token"], data["refresh_token"], datetime.fromisoformat(data["expires_at"]),
                          datetime.fromisoformat(renew_by) if renew_by else None)


class AlreadyRecorded(Exception):
    """Another request recorded this scan number first; answer with what it recorded."""


@dataclass
class PendingScan:
    """A scan being applied: its device's record is saved with whatever the scan's command saves."""

    scan: Scan
    step: Step
    device: Device | None = None  # as loaded before the step; reloaded after a failed save
    result: ScanResult | None = None


PENDING_SCAN: ContextVar[PendingScan | None] = ContextVar("cangku_pending_scan", default=None)


class EventStore(Application):
    """Cangku's event store: one log for every context, saved to atomically."""

    name = "Cangku"
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000", "DEEPCOPY_FROM_AGGREGATE_CACHE": "y"}
    # Every scan appends to its device's stream, every movement to its SKU's: snapshots keep loading them fast.
    snapshotting_intervals = {Stock: 50, Device: 100}

    def construct_env(self, name: str, env=None) -> Environment:
        """The library's settings come only from the env given (built from Cangku's own settings), never from the
        process environment: there `CANGKU_CIPHER_KEY`, our key for buyer fields, would also be read as the
        library's own cipher key (the application is named Cangku) and seal whole event rows."""
        settings = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            settings["IS_SNAPSHOTTING_ENABLED"] = "y"
        settings.update(env or {})
        return Environment(name, settings)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        cipher = None
        if self.env.get("BUYER_CIPHER_KEY"):
            from eventsourcing.cipher import AESCipher

            cipher = AESCipher(Environment(env={"CIPHER_KEY": self.env.get("BUYER_CIPHER_KEY")}))
        transcoder.register(BuyerAsJSON(cipher))
        transcoder.register(ShopTokensAsJSON(cipher))

    def get(self, aggregate_id: UUID, missing: Exception, to_change: bool = True):
        """The aggregate (a copy to change, or the cached one to read), or the given error when it does not exist."""
        try:
            return self.repository.get(aggregate_id, deepcopy_from_cache=to_change)
        except AggregateNotFoundError:
            raise missing from None

    def peek(self, aggregate_id: UUID):
        """An aggregate to read, not to change: the cached copy itself, not a deep copy of it."""
        return self.repository.get(aggregate_id, deepcopy_from_cache=False)

    def check_new(self, aggregate_id: UUID, exists: Exception) -> None:
        if aggregate_id in self.repository:
            raise exists

    def save_new(self, *aggregates, conflict: Exception) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError:
            raise conflict from None

    def recorded(self, aggregate_ids: Iterable[UUID]) -> Recorded:
        """Which aggregates have been recorded: these ids looked up together, any other id one look each."""
        asked = set(aggregate_ids)
        return Recorded(asked, self.recorded_among(asked), self.repository)

    def recorded_among(self, aggregate_ids: set[UUID]) -> set[UUID]:
        """Those of these aggregates that have been recorded: one look each here; the adapter asks in bulk."""
        return {aggregate_id for aggregate_id in aggregate_ids if aggregate_id in self.repository}

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]:
        """The current state, as copies to change, of those of these aggregates that exist."""
        loaded = {}
        for aggregate_id in aggregate_ids:
            try:
                loaded[aggregate_id] = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                continue
        return loaded

    def save(self, *objects, **kwargs):
        """Save; inside a scan, the device's record of the scan goes in the same transaction."""
        pending = PENDING_SCAN.get()
        if pending is None or pending.result is not None:
            return self.record_saved(objects, kwargs)
        device, pending.device = pending.device or self.device(pending.scan.device), None
        if device.answer_to(pending.scan) is not None:
            raise AlreadyRecorded()
        step = pending.step
        result = device.record(pending.scan, "ok", step.key, step.params, "", step.context)
        recordings = self.record_saved((*objects, device), kwargs)
        pending.result = result
        return recordings

    def device(self, device: str, to_change: bool = True) -> Device:
        """A scanner device's stream (a new one for a device never seen)."""
        try:
            return self.repository.get(device_id(device), deepcopy_from_cache=to_change)
        except AggregateNotFoundError:
            return Device(device)

    # Hooks for the event-store adapter

    def record_saved(self, objects: tuple, kwargs: dict):
        """Write the objects' pending events (the adapter adds its caches around this)."""
        return super().save(*objects, **kwargs)

    def floor_reads(self):
        """A context in which the scanner floor's reads are served; plainly from the store here."""
        return nullcontext()

    def warm_floor(self, aggregate_ids: Iterable[UUID], then: Callable[[list], Iterable[UUID]] | None = None) -> None:
        """Read ahead aggregates with short streams the floor is about to scan (`then(loaded)` names more, found
        from those); here nothing is read ahead, the event-store adapter does it in bulk."""

    def refresh_floor(self) -> None:
        """Bring what the floor reads up to date with the log (after a lost race)."""
