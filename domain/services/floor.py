"""The scanner floor: logins, and numbered scans applied exactly once, each recorded on its device."""

from dataclasses import replace

from eventsourcing.persistence import IntegrityError

from ..errors import ConcurrentUpdate, DomainError, InvalidInput, UnknownWarehouse
from ..scanning import (
    ENTRIES,
    KINDS,
    SCAN_SCREENS,
    KeyedEntryOff,
    LoginRefused,
    Device,
    Scan,
    ScannerPorts,
    ScanResult,
    StaleSequence,
    Step,
    check_device,
    clean_value,
)
from ..staff import READERS_OF_REPORTS, NotAllowed, pin_matches
from .screens import Screens
from .staff import StaffMembers
from .store import (
    CONFLICT_RETRIES,
    PENDING_SCAN,
    AlreadyRecorded,
    EventStore,
    PendingScan,
    floor_read,
    retry_on_conflict,
)


class Floor:
    """The scanner floor: logins, and numbered scans applied exactly once, each recorded on its device."""

    def __init__(self, store: EventStore, staff: StaffMembers, screens: Screens):
        self.store = store
        self.staff = staff
        self.screens = screens

    def login(self, device: str, badge: str, pin: str, screen: str = "", warehouse: str = "",
              default_warehouse: str = "") -> dict:
        """Check a badge and PIN at a device (and that its role may use the screen the person is going to, and
        the warehouse chosen, else the device's last one or the default); the attempt and the warehouse are recorded
        on the device (the PIN never is). A refusal says whether the badge, the PIN or the warehouse is wrong."""
        device = check_device(device)
        chosen = (warehouse or "").strip()[:32]
        warehouse = chosen or self.device_warehouse(device) or default_warehouse
        try:
            try:
                member = self.staff.member(badge)
            except NotAllowed:
                raise LoginRefused(f"badge {badge} is not known", "unknown_badge", "badge", badge=badge) from None
            if not member.active:
                raise LoginRefused(f"badge {badge} is no longer active", "badge_inactive", "badge", badge=badge)
            if not pin_matches(pin or "", member.pin_hash):
                raise LoginRefused(f"wrong PIN for badge {badge}", "wrong_pin", "pin", badge=badge)
            allowed = member.role in READERS_OF_REPORTS if screen == "supervisor" else member.may_use(screen)
            if screen and not allowed:
                raise LoginRefused(f"badge {badge} is a {member.role}, not allowed on the {screen} screen",
                                   "badge_not_for_screen", "badge", badge=badge, role=member.role, screen=screen)
            self._check_warehouse(member, warehouse, chosen=bool(chosen))
        except NotAllowed as error:
            self._note(device, "login", "login", badge, "", "refused", error.code, str(error))
            raise
        # only a warehouse chosen is remembered: a device signed in without a choice keeps following the default
        self._note(device, "login", "login", member.badge, member.badge, "ok", "logged_in", "", chosen)
        return {**self.staff.staff_member(member.badge), "warehouse": warehouse}

    def _check_warehouse(self, member, warehouse: str, chosen: bool) -> None:
        """A warehouse chosen must exist (the default may not yet: a new site signs in before any is set up), and the
        person must be allowed in it."""
        if not warehouse:
            return
        try:
            self.screens.inventory.warehouse(warehouse, to_change=False)
        except UnknownWarehouse:
            if not chosen:
                return
            raise LoginRefused(f"there is no warehouse {warehouse}", "unknown_warehouse_login", "warehouse",
                               warehouse=warehouse) from None
        if not member.may_work_in(warehouse):
            raise LoginRefused(f"badge {member.badge} does not work in warehouse {warehouse}",
                               "warehouse_not_allowed", "warehouse", badge=member.badge, warehouse=warehouse)

    @floor_read
    def device_warehouse(self, device: str) -> str:
        """The warehouse the device last worked in ("" for a device never signed in with one)."""
        return self.store.device(check_device(device), to_change=False).warehouse

    def logout(self, device: str, badge: str) -> None:
        self._note(check_device(device), "login", "logout", badge, badge, "ok", "logged_out", "")

    @retry_on_conflict
    def _note(self, device: str, screen: str, kind: str, value: str, staff: str, outcome: str, key: str,
              message: str, warehouse: str = "") -> None:
        """Record something that happened at a device outside the numbered scans (login, logout), and the
        warehouse it works in from a login on."""
        record = self.store.device(device)
        scan = Scan(device, record.last_sequence + 1, staff, screen, value, kind)
        record.record(scan, outcome, key, {}, message, None)
        if warehouse:
            record.choose_warehouse(warehouse, staff)
        self.store.save(record)

    @floor_read
    def next_sequence(self, device: str) -> int:
        return self.store.device(check_device(device), to_change=False).last_sequence + 1

    @floor_read
    def scan_answer(self, device: str, sequence: int) -> dict | None:
        """What the device's numbered scan was answered, while it is among the recent ones."""
        seen = self.store.device(check_device(device), to_change=False).recent.get(str(sequence))
        return dict(seen) if seen else None

    def scan(self, scan: Scan, ports: ScannerPorts) -> ScanResult:
        """Apply one numbered scan exactly once; a resent scan gets the answer recorded the first time."""
        scan = self._checked(scan)
        with self.store.floor_reads():
            for attempt in range(CONFLICT_RETRIES):
                if attempt:
                    self.store.refresh_floor()
                device = self.store.device(scan.device)
                answer = device.answer_to(scan)
                if answer is not None:
                    return answer
                try:
                    return self._run(scan, device, ports)
                except (AlreadyRecorded, IntegrityError):
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
        if scan.entry not in ENTRIES:
            raise InvalidInput("a scan's entry is 'scanned', 'keyed' or empty")
        return replace(scan, device=check_device(scan.device))

    def _run(self, scan: Scan, device: Device, ports: ScannerPorts) -> ScanResult:
        member = self.staff.member(scan.staff)
        if not member.may_use(scan.screen):
            raise NotAllowed(f"a {member.role} may not use the {scan.screen} screen", key="refusal:role_not_on_screen",
                             role=member.role, screen=scan.screen)
        value = clean_value(scan.value)
        if scan.entry == "keyed" and scan.kind == "scan" and scan.screen not in ports.keyed_screens \
                and not (value.isdigit() and len(value) <= 6):
            # Quantities, weights and grades are always typed; codes must come from the scanner on this screen.
            raise KeyedEntryOff(f"typing a code is off on the {scan.screen} screen: scan the barcode",
                                screen=scan.screen)
        flow = getattr(self.screens, f"_{scan.screen}_step")
        context = device.context(scan.screen)
        step = Step({}, "cancelled") if scan.kind == "cancel" else flow(context, value, scan, ports)
        pending = PendingScan(scan, step, device)
        token = PENDING_SCAN.set(pending)
        try:
            if step.do is not None:
                step.do()
        finally:
            PENDING_SCAN.reset(token)
        if pending.result is not None:
            return pending.result
        result = device.record(scan, "ok", step.key, step.params, "", step.context)
        self.store.save(device)
        return result

    def _refuse(self, scan: Scan, error: DomainError) -> ScanResult:
        device = self.store.device(scan.device)
        answer = device.answer_to(scan)
        if answer is not None:
            return answer
        params = dict(getattr(error, "params", {}), **({"refusal": error.key} if error.key else {}))
        result = device.record(scan, "refused", error.code, params, str(error), None)
        self.store.save(device)
        return result

    @floor_read
    def screen_context(self, device: str, screen: str) -> dict:
        return self.store.device(check_device(device), to_change=False).context(screen)
