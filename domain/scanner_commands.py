"""Commands behind the scanner screens (login, scans, mis-scans, overrides), mixed into the application.

Each numbered scan runs one step of its screen's flow. The step decides what the scan means from the screen's
context (kept on the device's stream), refuses it with a named error, or runs one application command. The
device's record of the scan is saved in the same transaction as that command (see `save`), so a scan is applied
exactly once however often it is sent.
"""

import functools
import threading
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, Iterator
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository, project_aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import strtobool

from . import ids
from .errors import (
    BinEmpty,
    Conflict,
    ConcurrentUpdate,
    DomainError,
    InvalidInput,
    InvalidOrderState,
    UnknownBarcode,
    UnknownOrder,
    UnknownWave,
)
from .scanning import (
    KINDS,
    SCAN_SCREENS,
    AmbiguousOrder,
    CountAdjustment,
    Device,
    ItemNotExpected,
    NothingToPutAway,
    Scan,
    ScannerPorts,
    ScanResult,
    StaleSequence,
    Step,
    UnexpectedInput,
    UnknownCountRequest,
    UnknownParcel,
    WrongBinScanned,
    check_device,
    clean_value,
    device_id,
    whole_number,
)
from .staff import NotAllowed, Staff, check_badge, new_token, pin_matches, read_token, staff_id

CONFLICT_RETRIES = 40
PURCHASE_ORDER_PREFIX = "PO"
COUNT_REASON = "cycle count"


def _retried(command: Callable) -> Callable:
    """The application's retry on optimistic-concurrency conflicts (looked up late: that module imports this one)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from .application import retry_on_conflict

        return retry_on_conflict(command)(*args, **kwargs)

    return wrapper


def _floor_read(query: Callable) -> Callable:
    """A query of the scanner screens, answered from the floor cache (see `FloorCache`)."""

    @functools.wraps(query)
    def wrapper(self, *args, **kwargs):
        with self.floor_reads():
            return query(self, *args, **kwargs)

    return wrapper


class _AlreadyRecorded(Exception):
    """Another request recorded this scan number first; answer with what it recorded."""


@dataclass
class _PendingScan:
    scan: Scan
    step: Step
    device: Device | None = None  # as loaded before the step; reloaded after a failed save
    result: ScanResult | None = None


_PENDING: ContextVar[_PendingScan | None] = ContextVar("cangku_pending_scan", default=None)


def _replay(aggregate, events):
    """The library's projector without its runtime protocol check of each event (slow, and always true here)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class FloorCache:
    """The aggregates the scanner floor reads, kept as current as the event log by following it.

    A scan asks the log once what any process recorded since the last look, and brings the cached aggregates it
    touched up to date from those events, instead of asking the store about each aggregate the scan reads.
    Every cached aggregate holds all of its events up to `position`. Cached aggregates are replaced, never
    changed in place, so a reader holding one is not disturbed. A save of a stale copy still fails on its
    version (the store's optimistic-concurrency check), and the scan is retried on fresh state.
    """

    BACKLOG = 5_000  # more unseen notifications than this: start afresh rather than catch up
    CHANGES_KEPT = 200_000

    def __init__(self, repository: Repository, recorder, mapper, maxsize: int):
        self.repository = repository
        self.recorder = recorder
        self.mapper = mapper
        self.maxsize = maxsize
        self.lock = threading.Lock()
        self.aggregates: OrderedDict[UUID, object] = OrderedDict()
        self.position: int | None = None
        self.covered_from = 0  # the highest version seen of each aggregate changed since here is in `changed`
        self.changed: dict[UUID, int] = {}
        self.active: ContextVar[bool] = ContextVar(f"cangku_floor_{id(self)}", default=False)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Reads in this context come from the cache, brought up to date with the log on entry."""
        if self.active.get():
            yield
            return
        self.sync()
        token = self.active.set(True)
        try:
            yield
        finally:
            self.active.reset(token)

    def sync(self) -> None:
        """Apply what was recorded since the last look to the cached aggregates."""
        with self.lock:
            start = self.position
        if start is None:
            head = self.recorder.max_notification_id() or 0
            with self.lock:
                if self.position is None:
                    self.position = self.covered_from = head
            return
        notifications = self.recorder.select_notifications(start + 1, self.BACKLOG + 1)
        if not notifications:
            return
        with self.lock:
            if len(notifications) > self.BACKLOG:
                self.aggregates.clear()
                self.changed.clear()
                self.position = self.covered_from = max(self.position, notifications[-1].id)
                return
            for notification in notifications:
                if notification.id > self.position:
                    self._apply(notification)
                    self.position = notification.id
            if len(self.changed) > self.CHANGES_KEPT:
                self.changed.clear()
                self.covered_from = self.position

    def _apply(self, notification) -> None:
        key = notification.originator_id
        key = key if isinstance(key, UUID) else UUID(str(key))
        version = notification.originator_version
        self.changed[key] = max(version, self.changed.get(key, 0))
        cached = self.aggregates.get(key)
        if cached is None or version <= cached.version:
            return
        if version == cached.version + 1:
            self.aggregates[key] = self.mapper.to_domain_event(notification).mutate(deepcopy(cached))
        else:
            del self.aggregates[key]

    def get(self, aggregate_id: UUID, copy: bool):
        with self.lock:
            found = self.aggregates.get(aggregate_id)
            if found is not None:
                self.aggregates.move_to_end(aggregate_id)
            since = self.position
        if found is None:
            found = Repository.get(self.repository, aggregate_id, projector_func=_replay)
            self.offer(found, since)
        return deepcopy(found) if copy else found

    def offer(self, aggregate, since: int | None) -> None:
        """Cache an aggregate known to hold all its events up to notification `since`, unless it is stale."""
        with self.lock:
            if since is None or since < self.covered_from or aggregate.version < self.changed.get(aggregate.id, 0):
                return
            cached = self.aggregates.get(aggregate.id)
            if cached is not None and cached.version >= aggregate.version:
                return
            self.aggregates[aggregate.id] = aggregate
            self.aggregates.move_to_end(aggregate.id)
            while len(self.aggregates) > self.maxsize:
                self.aggregates.popitem(last=False)

    def saved(self, aggregates, recordings) -> None:
        """Cache aggregates just saved (their events recorded up to the recordings' notification ids)."""
        last = {}
        for recording in recordings:
            key = recording.domain_event.originator_id
            last[key] = max(recording.notification.id, last.get(key, 0))
        for aggregate in aggregates:
            if aggregate.id in last and not aggregate.pending_events:
                self.offer(aggregate, last[aggregate.id])

    def forget(self, aggregate_ids) -> None:
        with self.lock:
            for key in aggregate_ids:
                self.aggregates.pop(key, None)


class GroupCommit:
    """Saves made at the same moment by several threads of one process, recorded in one transaction.

    The event store serialises writers (PostgreSQL locks the events table for each insert, so that notification
    ids are committed in order), so a busy process queues on that lock once per batch instead of once per save.
    Each save stays atomic: when a batch fails (a version conflict in one of its saves), it is recorded again in
    halves, down to single saves, and only a save that fails on its own sees the error.
    """

    def __init__(self, events):
        self.events = events
        self.ready = threading.Condition()
        self.queue: list[_Waiting] = []
        self.writing = False

    def record(self, processing_event) -> list:
        waiting = _Waiting(processing_event.events)
        with self.ready:
            self.queue.append(waiting)
            while self.writing and not waiting.finished:
                self.ready.wait()
            if not waiting.finished:
                batch, self.queue, self.writing = self.queue, [], True
        if not waiting.finished:
            try:
                self._write(batch)
            finally:
                with self.ready:
                    self.writing = False
                    self.ready.notify_all()
        if waiting.error is not None:
            raise waiting.error
        return waiting.recordings

    def _write(self, batch: list["_Waiting"]) -> None:
        try:
            part: list[_Waiting] = []
            written: set = set()
            for waiting in batch:
                keys = {(e.originator_id, e.originator_version) for e in waiting.events}
                if written & keys:  # two saves of one version: the later one must fail on its own
                    self._put(part)
                    part, written = [], set()
                part.append(waiting)
                written |= keys
            self._put(part)
        finally:
            for waiting in batch:
                waiting.finished = True

    def _put(self, batch: list["_Waiting"]) -> None:
        """Record the batch in one transaction; when that fails, each half again, down to single saves."""
        if len(batch) == 1:
            try:
                batch[0].recordings = self.events.put(batch[0].events)
            except Exception as error:
                batch[0].error = error
            return
        try:
            recordings = self.events.put([e for waiting in batch for e in waiting.events])
        except Exception:
            middle = len(batch) // 2
            self._put(batch[:middle])
            self._put(batch[middle:])
            return
        for waiting in batch:
            waiting.recordings, recordings = recordings[:len(waiting.events)], recordings[len(waiting.events):]


@dataclass
class _Waiting:
    events: list
    recordings: list | None = None
    error: Exception | None = None
    finished: bool = False


class FloorRepository(Repository):
    """The application's repository; inside `FloorCache.reading()` current aggregates come from the floor cache."""

    floor: FloorCache

    def get(self, aggregate_id, *, version=None, projector_func=project_aggregate, fastforward_skipping=False,
            deepcopy_from_cache=True):
        if version is None and projector_func is project_aggregate and self.floor.active.get():
            return self.floor.get(aggregate_id, copy=deepcopy_from_cache and self.deepcopy_from_cache)
        return super().get(aggregate_id, version=version, projector_func=projector_func,
                           fastforward_skipping=fastforward_skipping, deepcopy_from_cache=deepcopy_from_cache)


class ScannerCommands:
    """Scanner-side commands of the Cangku application."""

    def __init__(self, env=None, **kwargs):
        # Every scan appends to its device's stream: snapshots keep loading a busy device fast.
        self.snapshotting_intervals = {**type(self).snapshotting_intervals, Device: 100}
        super().__init__(env, **kwargs)

    def construct_repository(self) -> FloorRepository:
        maxsize = int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 5000)
        repository = FloorRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=maxsize,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )
        repository.floor = FloorCache(repository, self.recorder, self.mapper, maxsize)
        self._group_commit = GroupCommit(self.events)
        return repository

    def _record(self, processing_event):
        if processing_event.tracking is not None or processing_event.saved_kwargs:
            return super()._record(processing_event)
        recordings = self._group_commit.record(processing_event)
        if self.repository.cache and not self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        return recordings

    def floor_reads(self):
        """Reads of the scanner floor in this context: one look at the log, then aggregates kept current by it."""
        return self.repository.floor.reading()

    # Staff

    def register_staff(self, badge: str, name: str, role: str, pin: str, by: str) -> UUID:
        """Register a member of staff with a role and a PIN (stored only as a scrypt hash)."""
        member = Staff.register(badge, name, role, pin, by)
        self._check_new(member.id, Conflict(f"badge {member.badge} is already registered"))
        self._save_new(member, conflict=Conflict(f"badge {member.badge} is already registered"))
        return member.id

    @_retried
    def change_staff(self, badge: str, by: str, role: str | None = None, pin: str | None = None,
                     active: bool | None = None) -> None:
        member = self._staff(badge, to_change=True)
        if role is not None:
            member.change_role(role, by)
        if pin is not None:
            member.change_pin(pin, by)
        if active is False and member.active:
            member.deactivate(by)
        self.save(member)

    def staff_member(self, badge: str) -> dict:
        member = self._staff(badge)
        return {"badge": member.badge, "name": member.name, "role": member.role, "active": member.active}

    def _peek(self, aggregate_id: UUID):
        """An aggregate to read, not to change: the cached copy itself, not a deep copy of it."""
        return self.repository.get(aggregate_id, deepcopy_from_cache=False)

    def _staff(self, badge: str, to_change: bool = False) -> Staff:
        try:
            return self.repository.get(staff_id(check_badge(badge)), deepcopy_from_cache=to_change)
        except (AggregateNotFoundError, InvalidInput):
            raise NotAllowed("unknown badge") from None

    @_retried
    def issue_token(self, badge: str, label: str, by: str) -> str:
        """Issue an API token to a member of staff (it acts with their role); returns the token, shown once."""
        member = self._staff(badge, to_change=True)
        token, token_id, token_hash = new_token(member.badge)
        member.issue_token(token_id, token_hash, label, by)
        self.save(member)
        return token

    @_retried
    def revoke_token(self, badge: str, token_id: str, by: str) -> None:
        member = self._staff(badge, to_change=True)
        member.revoke_token(token_id, by)
        self.save(member)

    def staff_tokens(self, badge: str) -> list[dict]:
        return [{"id": token_id, "label": issued["label"]} for token_id, issued in self._staff(badge).tokens.items()]

    def authenticate(self, token: str) -> dict:
        """The member of staff an API token belongs to; NotAllowed for a malformed, unknown or revoked token."""
        badge, token_id, secret = read_token(token)
        member = self._staff(badge)
        if not member.token_matches(token_id, secret):
            raise NotAllowed("token not accepted")
        return self.staff_member(member.badge)

    def login(self, device: str, badge: str, pin: str) -> dict:
        """Check a badge and PIN at a device; the attempt is recorded on the device (the PIN never is)."""
        device = check_device(device)
        try:
            member = self._staff(badge)
            if not member.active or not pin_matches(pin or "", member.pin_hash):
                raise NotAllowed("badge or PIN not accepted")
        except NotAllowed as error:
            self._note(device, "login", "login", badge, "", "refused", error.code, str(error))
            raise
        self._note(device, "login", "login", member.badge, member.badge, "ok", "logged_in", "")
        return self.staff_member(member.badge)

    def logout(self, device: str, badge: str) -> None:
        self._note(check_device(device), "login", "logout", badge, badge, "ok", "logged_out", "")

    @_retried
    def _note(self, device: str, screen: str, kind: str, value: str, staff: str, outcome: str, key: str,
              message: str) -> None:
        """Record something that happened at a device outside the numbered scans (login, logout)."""
        record = self._device(device)
        scan = Scan(device, record.last_sequence + 1, staff, screen, value, kind)
        record.record(scan, outcome, key, {}, message, None)
        self.save(record)

    # The device

    def _device(self, device: str, to_change: bool = True) -> Device:
        try:
            return self.repository.get(device_id(device), deepcopy_from_cache=to_change)
        except AggregateNotFoundError:
            return Device(device)

    @_floor_read
    def next_sequence(self, device: str) -> int:
        return self._device(check_device(device), to_change=False).last_sequence + 1

    @_floor_read
    def scan_answer(self, device: str, sequence: int) -> dict | None:
        """What the device's numbered scan was answered, while it is among the recent ones."""
        seen = self._device(check_device(device), to_change=False).recent.get(str(sequence))
        return dict(seen) if seen else None

    # Scans

    def scan(self, scan: Scan, ports: ScannerPorts) -> ScanResult:
        """Apply one numbered scan exactly once; a resent scan gets the answer recorded the first time."""
        scan = self._checked(scan)
        with self.floor_reads():
            for attempt in range(CONFLICT_RETRIES):
                if attempt:
                    self.repository.floor.sync()
                device = self._device(scan.device)
                answer = device.answer_to(scan)
                if answer is not None:
                    return answer
                try:
                    return self._run(scan, device, ports)
                except (_AlreadyRecorded, IntegrityError):
                    continue
                except StaleSequence:
                    raise
                except DomainError as error:
                    try:
                        return self._refuse(scan, error)
                    except IntegrityError:
                        continue
        raise ConcurrentUpdate("this scan kept meeting concurrent updates; send it again")

    @staticmethod
    def _checked(scan: Scan) -> Scan:
        if scan.screen not in SCAN_SCREENS:
            raise InvalidInput(f"unknown screen {scan.screen[:20]!r}")
        if scan.kind not in KINDS:
            raise InvalidInput(f"unknown kind of input {scan.kind[:20]!r}")
        if isinstance(scan.sequence, bool) or not isinstance(scan.sequence, int) or not 0 < scan.sequence < 2**53:
            raise InvalidInput("a scan's sequence number is a whole number > 0")
        return replace(scan, device=check_device(scan.device))

    def _run(self, scan: Scan, device: Device, ports: ScannerPorts) -> ScanResult:
        member = self._staff(scan.staff)
        if not member.may_use(scan.screen):
            raise NotAllowed(f"a {member.role} may not use the {scan.screen} screen")
        value = clean_value(scan.value)
        flow = getattr(self, f"_{scan.screen}_step")
        context = device.context(scan.screen)
        step = Step({}, "cancelled") if scan.kind == "cancel" else flow(context, value, scan, ports)
        pending = _PendingScan(scan, step, device)
        token = _PENDING.set(pending)
        try:
            if step.do is not None:
                step.do()
        finally:
            _PENDING.reset(token)
        if pending.result is not None:
            return pending.result
        result = device.record(scan, "ok", step.key, step.params, "", step.context)
        self.save(device)
        return result

    def _refuse(self, scan: Scan, error: DomainError) -> ScanResult:
        device = self._device(scan.device)
        answer = device.answer_to(scan)
        if answer is not None:
            return answer
        result = device.record(scan, "refused", error.code, getattr(error, "params", {}), str(error), None)
        self.save(device)
        return result

    def save(self, *objects, **kwargs):
        """Save; inside a scan, the device's record of the scan goes in the same transaction."""
        pending = _PENDING.get()
        if pending is None or pending.result is not None:
            return self._recorded(objects, kwargs)
        device, pending.device = pending.device or self._device(pending.scan.device), None
        if device.answer_to(pending.scan) is not None:
            raise _AlreadyRecorded()
        step = pending.step
        result = device.record(pending.scan, "ok", step.key, step.params, "", step.context)
        recordings = self._recorded((*objects, device), kwargs)
        pending.result = result
        return recordings

    def _recorded(self, objects: tuple, kwargs: dict):
        floor = self.repository.floor
        aggregates = [o for o in objects if hasattr(o, "pending_events")]
        try:
            recordings = super().save(*objects, **kwargs)
        except IntegrityError:
            # Something here was stale: the retry reads these from the store again.
            floor.forget(a.id for a in aggregates)
            raise
        if floor.active.get():
            floor.saved(aggregates, recordings)
        return recordings

    # Picking: led bin by bin through the wave

    def _wave_numbered(self, warehouse: str, number: str):
        try:
            return self._peek(ids.wave_id(warehouse, number))
        except (AggregateNotFoundError, ValueError):
            raise UnknownWave(f"there is no wave {number} in {warehouse}") from None

    @staticmethod
    def _pick_position(wave, context: dict) -> tuple[int | None, str]:
        """The line the picker is on and what is awaited next: 'bin', 'item' or 'quantity'."""
        open_lines = wave.open_lines()
        line = context.get("line")
        if "bin" in context:
            return line, ("quantity" if "sku" in context else "item")
        if line in open_lines:
            return line, "bin"
        return (open_lines[0] if open_lines else None), "bin"

    def _pick_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        if "wave" not in c:
            wave = self._wave_numbered(ports.warehouse, value)
            if not wave.open_lines():
                raise InvalidOrderState(f"wave {wave.number} is already picked")
            return Step({"wave": str(wave.id)}, "wave_opened", {"wave": wave.number})
        wave = self._peek(UUID(c["wave"]))
        index, awaited = self._pick_position(wave, c)
        if index is None:
            return Step({}, "wave_done", {"wave": wave.number})
        line = wave.lines[index]
        remaining = line["quantity"] - line["picked"]
        if awaited != "bin" and index not in wave.open_lines():
            if scan.kind == "scan" and self._is_item(value, line["sku"]):
                raise BinEmpty(f"bin {c['bin']} holds no more {line['sku']} for this line: it was picked already")
            c = {"wave": c["wave"]}
            index, awaited = self._pick_position(wave, c)
            if index is None:
                return Step({}, "wave_done", {"wave": wave.number})
            line = wave.lines[index]
            remaining = line["quantity"] - line["picked"]
        if scan.kind == "action" and value == "short":
            return self._short(wave, index, c, scan.staff)
        if scan.kind != "scan":
            raise UnexpectedInput(f"the pick screen has no action {value!r}")
        if awaited == "bin":
            expected = c.get("alt_bin") if c.get("line") == index and c.get("alt_bin") else line["bin"]
            if value != expected:
                raise WrongBinScanned(f"scanned {value}; go to bin {expected}", expected=expected)
            return Step({**c, "line": index, "bin": value}, "bin_confirmed", {"bin": value, "sku": line["sku"]})
        if awaited == "item":
            sku = self._sku_of(value, expected=line["sku"])
            if sku != line["sku"]:
                raise ItemNotExpected(f"scanned {sku}; this line needs {line['sku']}", expected=line["sku"])
            if remaining > 1:
                return Step({**c, "sku": sku, "barcode": value}, "enter_quantity", {"sku": sku, "remaining": remaining})
            quantity, barcode = 1, value
        else:
            quantity, barcode = whole_number(value, 1, remaining), c["barcode"]
        tote = wave.order_ids.index(line["order_id"]) + 1
        params = {"sku": line["sku"], "quantity": quantity, "bin": c["bin"], "wave": wave.number, "tote": tote}
        return Step({"wave": c["wave"]}, "picked", params,
                    do=lambda: self.pick(wave.id, index, c["bin"], barcode, quantity, scan.staff))

    def _is_item(self, value: str, sku: str) -> bool:
        try:
            return self.sku_for_barcode(value) == sku
        except UnknownBarcode:
            return False

    def _sku_of(self, value: str, expected: str) -> str:
        try:
            return self.sku_for_barcode(value)
        except UnknownBarcode:
            raise ItemNotExpected(f"{value} is not a known item; this line needs {expected}",
                                  expected=expected) from None

    def _short(self, wave, index: int, c: dict, by: str) -> Step:
        """The bin is short: send the picker to the next bin with enough free units, else mark the line short."""
        line = wave.lines[index]
        remaining = line["quantity"] - line["picked"]
        here = c.get("alt_bin") if c.get("line") == index and c.get("alt_bin") else line["bin"]
        tried = sorted(set(c.get("tried", [])) | {here})
        levels = self.stock_levels(wave.warehouse, line["sku"])
        for bin in self.warehouse(wave.warehouse).bins_in("storage"):
            level = levels.get(bin, {"on_hand": 0, "reserved": 0})
            if bin not in tried and level["on_hand"] - level["reserved"] >= remaining:
                return Step({"wave": c["wave"], "line": index, "alt_bin": bin, "tried": tried}, "try_bin",
                            {"sku": line["sku"], "bin": here, "next_bin": bin, "wave": wave.number})
        params = {"sku": line["sku"], "bin": here, "missing": remaining, "wave": wave.number}
        return Step({"wave": c["wave"]}, "line_short", params, do=lambda: self.short_pick(wave.id, index, by))

    @_floor_read
    def pick_view(self, device: str, ports: ScannerPorts) -> dict:
        """What the pick screen shows: the open waves, or the line the picker is led to and what to scan."""
        c = self._device(check_device(device), to_change=False).context("pick")
        if "wave" not in c:
            return {"step": "wave", "waves": ports.open_waves(ports.warehouse)}
        wave = self._peek(UUID(c["wave"]))
        index, awaited = self._pick_position(wave, c)
        if index is not None and awaited != "bin" and index not in wave.open_lines():
            index, awaited = self._pick_position(wave, {"wave": c["wave"]})
            c = {"wave": c["wave"]}
        if index is None:
            return {"step": "wave", "finished": wave.number, "waves": ports.open_waves(ports.warehouse)}
        line = wave.lines[index]
        bin = c.get("alt_bin") if c.get("line") == index and c.get("alt_bin") else line["bin"]
        return {
            "step": awaited, "wave": wave.number, "bin": c.get("bin", bin), "sku": line["sku"],
            "name": self.get_sku(line["sku"])["name"], "remaining": line["quantity"] - line["picked"],
            "tote": wave.order_ids.index(line["order_id"]) + 1, "position": index + 1, "lines": len(wave.lines),
            "done": len(wave.lines) - len(wave.open_lines()),
        }

    # Packing: order or tote, every item, close, weigh, waybill, label

    def _order_for(self, value: str, ports: ScannerPorts) -> UUID:
        """The order a scanned order number, tote label (wave.n) or tracking number stands for."""
        number, _, position = value.rpartition(".")
        if number and position.isdigit():
            try:
                wave = self._wave_numbered(ports.warehouse, number)
            except UnknownWave:
                wave = None
            if wave is not None and 1 <= int(position) <= len(wave.order_ids):
                return wave.order_ids[int(position) - 1]
        found = ports.find_orders(value)
        if not found:
            parcel = ports.find_parcel(value)
            if parcel is None:
                raise UnknownOrder(f"no order, tote or parcel {value}")
            found = [parcel]
        if len(found) > 1:
            raise AmbiguousOrder(f"{len(found)} orders are numbered {value}", count=len(found))
        return found[0]

    def _pack_state(self, order_id: UUID) -> tuple:
        try:
            order = self._peek(order_id)
        except AggregateNotFoundError:
            raise UnknownOrder(f"unknown order {order_id}") from None
        try:
            package = self._peek(ids.package_id(order.id))
        except AggregateNotFoundError:
            package = None
        return order, package

    def _pack_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        by = scan.staff
        if "order" not in c:
            if scan.kind != "scan":
                raise UnexpectedInput("scan an order number or a tote first")
            order, package = self._pack_state(self._order_for(value, ports))
            if order.status != "picked" and not package:
                raise InvalidOrderState(f"order {order.platform_order_no} is {order.status}; it cannot be packed yet")
            return Step({"order": str(order.id)}, "pack_order", {"order": order.platform_order_no})
        order, package = self._pack_state(UUID(c["order"]))
        status = package.status if package else "open"
        number = {"order": order.platform_order_no}
        if scan.kind == "action" and value == "close":
            return Step(c, "closed", number, do=lambda: self.close_package(order.id, by))
        if scan.kind == "action" and value == "waybill":
            if package and package.tracking_no:
                return Step(c, "waybill", {**number, "tracking": package.tracking_no})
            courier, tracking_no, sort_code = ports.allocate_waybill(self.get_order(order.id))
            return Step(c, "waybill", {**number, "tracking": tracking_no},
                        do=lambda: self.assign_waybill(order.id, courier, tracking_no, sort_code))
        if scan.kind == "action" and value == "print":
            return Step({}, "printed", {**number, "tracking": package.tracking_no if package else ""},
                        do=lambda: ports.print_label(order.id, by))
        if scan.kind != "scan":
            raise UnexpectedInput(f"the pack screen has no action {value!r}")
        if status == "open":
            outstanding = package.outstanding() if package else order.quantities()
            expected = ", ".join(f"{s}×{n}" for s, n in outstanding.items()) or "-"
            sku = self._sku_of(value, expected=expected)
            if sku not in outstanding:
                raise ItemNotExpected(f"{sku} is not expected in this package; expected {expected}", expected=expected)
            left = sum(outstanding.values()) - 1
            return Step(c, "verified", {"sku": sku, "left": left}, do=lambda: self.verify_item(order.id, value, by))
        if status in ("closed", "weighed"):
            grams = whole_number(value, 1, 100_000)
            return Step(c, "weighed", {**number, "grams": grams}, do=lambda: self.weigh(order.id, grams, by))
        raise UnexpectedInput("this package is done: print its label or cancel")

    @_floor_read
    def pack_view(self, device: str) -> dict:
        c = self._device(check_device(device), to_change=False).context("pack")
        if "order" not in c:
            return {"step": "order"}
        order, package = self._pack_state(UUID(c["order"]))
        outstanding = package.outstanding() if package else order.quantities()
        status = package.status if package else "open"
        step = {"open": "item" if outstanding else "close", "closed": "weight", "weighed": "waybill",
                "waybilled": "print"}.get(status, "done")
        return {"step": step, "order": order.platform_order_no, "outstanding": outstanding,
                "expected": order.quantities(), "weight_g": package.weight_g if package else 0,
                "tracking": package.tracking_no if package else "", "labels": package.labels_printed if package else 0}

    # Hand-over, receiving, put-away, counting, returns

    def _handover_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        order_id = ports.find_parcel(value)
        if order_id is None:
            raise UnknownParcel(f"no parcel carries tracking number {value}")
        order = self.order(order_id)
        params = {"tracking": value, "order": order.platform_order_no}
        return Step({"count": int(c.get("count", 0)) + 1}, "handed_over", params,
                    do=lambda: self.hand_over(order_id, scan.staff))

    def _receive_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        reference = {"reference": c["reference"]} if c.get("reference") else {}
        if "sku" not in c:
            try:
                sku = self.sku_for_barcode(value)
            except UnknownBarcode:
                if value.upper().startswith(PURCHASE_ORDER_PREFIX) and len(value) > len(PURCHASE_ORDER_PREFIX):
                    return Step({"reference": value}, "reference_set", {"reference": value})
                raise
            return Step({**reference, "sku": sku}, "enter_quantity", {"sku": sku})
        quantity = whole_number(value, 1, 99_999)
        site = self.warehouse(ports.warehouse)
        params = {"sku": c["sku"], "quantity": quantity, "bin": site.first_bin_in("receiving")}
        return Step(reference, "received", params, do=lambda: self.receive(
            ports.warehouse, c["sku"], quantity, scan.staff, reference=c.get("reference", "")))

    def _putaway_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        if "sku" not in c:
            sku = self.sku_for_barcode(value)
            levels = self.stock_levels(ports.warehouse, sku)
            for bin in self.warehouse(ports.warehouse).bins_in("receiving"):
                free = levels.get(bin, {}).get("on_hand", 0) - levels.get(bin, {}).get("reserved", 0)
                if free > 0:
                    context = {"sku": sku, "from_bin": bin, "quantity": free, "available": free}
                    return Step(context, "scan_target_bin", {"sku": sku, "quantity": free, "bin": bin})
            raise NothingToPutAway(f"no {sku} is waiting in a receiving bin", sku=sku)
        if value.isdigit() and len(value) <= 5:
            quantity = whole_number(value, 1, c["available"])
            return Step({**c, "quantity": quantity}, "quantity_set", {"sku": c["sku"], "quantity": quantity})
        params = {"sku": c["sku"], "quantity": c["quantity"], "bin": value}
        return Step({}, "put_away", params, do=lambda: self.put_away(
            ports.warehouse, c["sku"], value, c["quantity"], scan.staff, from_bin=c["from_bin"]))

    def _count_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        if scan.kind == "action" and value == "done":
            return Step({}, "count_done", {"bin": c.get("bin", "")})
        if "bin" not in c:
            self.warehouse(ports.warehouse).location(value)
            return Step({"bin": value}, "count_bin", {"bin": value})
        if "sku" not in c:
            sku = self.sku_for_barcode(value)
            return Step({**c, "sku": sku}, "enter_count", {"sku": sku, "bin": c["bin"]})
        counted = whole_number(value, 0, 99_999)
        bin, sku = c["bin"], c["sku"]
        on_hand = self.stock_levels(ports.warehouse, sku).get(bin, {}).get("on_hand", 0)
        difference = counted - on_hand
        params = {"sku": sku, "bin": bin, "counted": counted, "difference": difference}
        if difference == 0:
            return Step({"bin": bin}, "count_matches", params)
        if abs(difference) <= ports.count_approval_threshold:
            return Step({"bin": bin}, "count_adjusted", params, do=lambda: self.count(
                ports.warehouse, sku, bin, counted, COUNT_REASON, scan.staff))
        return Step({"bin": bin}, "count_pending", params, do=lambda: self.request_count_adjustment(
            ports.warehouse, bin, sku, counted, COUNT_REASON, scan.staff))

    def _returns_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        if scan.kind == "action" and value == "done":
            return Step({}, "returns_done")
        if "order" not in c:
            order = self.order(self._order_for(value, ports))
            if order.status != "shipped":
                raise InvalidOrderState(
                    f"order {order.platform_order_no} is {order.status}; only shipped orders return")
            return Step({"order": str(order.id)}, "return_order", {"order": order.platform_order_no})
        order = self.order(UUID(c["order"]))
        skus = sorted({line["sku"] for line in order.lines.values()})
        if "barcode" not in c:
            sku = self._sku_of(value, expected=", ".join(skus))
            if sku not in skus:
                raise ItemNotExpected(f"{sku} is not part of order {order.platform_order_no}",
                                      expected=", ".join(skus))
            return Step({**c, "barcode": value, "sku": sku}, "grade_prompt", {"sku": sku})
        grades = {"resaleable": True, "1": True, "defective": False, "2": False}
        if value not in grades:
            raise UnexpectedInput("grade the item: resaleable (1) or defective (2)")
        resaleable = grades[value]
        bin = self.warehouse(order.warehouse).first_bin_in("returns")
        params = {"sku": c["sku"], "order": order.platform_order_no, "bin": bin}
        return Step({"order": c["order"]}, "restocked" if resaleable else "scrapped", params,
                    do=lambda: self.receive_return(order.id, c["barcode"], 1, resaleable, scan.staff))

    @_floor_read
    def screen_context(self, device: str, screen: str) -> dict:
        return self._device(check_device(device), to_change=False).context(screen)

    # Supervisor: waves, count approvals

    def _supervisor_step(self, c: dict, value: str, scan: Scan, ports: ScannerPorts) -> Step:
        action, _, subject = value.partition(":")
        if scan.kind == "action" and value == "wave:all":
            orders = [i for i in ports.reserved_orders(ports.warehouse) if self._waveable(i, ports.warehouse)]
            if not orders:
                raise InvalidOrderState("there are no reserved orders to put in a wave")
            number = self._new_wave_number(ports.warehouse)
            return Step({}, "wave_created", {"wave": number, "orders": len(orders)},
                        do=lambda: self.create_wave(ports.warehouse, number, orders, scan.staff))
        if scan.kind == "override" and action in ("approve", "reject"):
            try:
                request_id = UUID(subject)
            except ValueError:
                raise UnknownCountRequest(f"no count adjustment {subject!r}") from None
            if action == "approve":
                return Step({}, "count_approved", {}, do=lambda: self.approve_count_adjustment(request_id, scan.staff))
            return Step({}, "count_rejected", {}, do=lambda: self.reject_count_adjustment(request_id, scan.staff))
        raise UnexpectedInput(f"the supervisor has no action {value!r}")

    def _waveable(self, order_id: UUID, warehouse: str) -> bool:
        order = self.order(order_id)
        return order.status == "reserved" and order.warehouse == warehouse

    def _new_wave_number(self, warehouse: str) -> str:
        base = f"W{datetime.now():%y%m%d-%H%M%S}"
        number, n = base, 1
        while ids.wave_id(warehouse, number) in self.repository:
            n += 1
            number = f"{base}-{n}"
        return number

    def request_count_adjustment(self, warehouse: str, bin: str, sku: str, counted: int, reason: str,
                                 by: str) -> UUID:
        """Hold a large counted difference for a supervisor's approval."""
        self._bin(self.warehouse(warehouse), bin)
        on_hand = self.stock_levels(warehouse, sku).get(bin, {}).get("on_hand", 0)
        request = CountAdjustment(warehouse, bin, sku, counted, on_hand, counted - on_hand, reason, by)
        self.save(request)
        return request.id

    def _count_request(self, request_id: UUID) -> CountAdjustment:
        try:
            return self.repository.get(request_id)
        except AggregateNotFoundError:
            raise UnknownCountRequest(f"no count adjustment {request_id}") from None

    @_retried
    def approve_count_adjustment(self, request_id: UUID, by: str) -> int:
        """Book a held count: the counted quantity is set in the bin; returns the difference booked."""
        request = self._count_request(request_id)
        request.approve(by)
        stock = self._stock(request.warehouse, request.sku, create=True)
        difference = stock.count(request.bin, request.counted, f"{request.reason}, approved by {by}", by)
        self.save(request, stock)
        return difference

    @_retried
    def reject_count_adjustment(self, request_id: UUID, by: str) -> None:
        request = self._count_request(request_id)
        request.reject(by)
        self.save(request)
