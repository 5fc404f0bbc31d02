"""Staff: badges, roles, PINs and API tokens."""

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ..errors import Conflict, InvalidInput
from ..staff import (LoginGuard, NotAllowed, Staff, check_badge, login_guard_id, new_token, read_token, staff_id,
                     token_actor)
from .store import EventStore, retry_on_conflict


class StaffMembers:
    """Staff: badges, roles, PINs and API tokens."""

    def __init__(self, store: EventStore):
        self.store = store

    def register_staff(self, badge: str, name: str, role: str, pin: str, by: str) -> UUID:
        """Register a member of staff with a role and a PIN (stored only as a scrypt hash)."""
        member = Staff.register(badge, name, role, pin, by)
        self.store.check_new(member.id, Conflict(f"badge {member.badge} is already registered"))
        self.store.save_new(member, conflict=Conflict(f"badge {member.badge} is already registered"))
        return member.id

    @retry_on_conflict
    def change_staff(self, badge: str, by: str, role: str | None = None, pin: str | None = None,
                     active: bool | None = None, warehouses: list[str] | None = None) -> None:
        member = self.member(badge, to_change=True)
        if warehouses is not None:
            member.allow_warehouses(warehouses, by)
        if role is not None:
            member.change_role(role, by)
        if pin is not None:
            member.change_pin(pin, by)
        if active is False and member.active:
            member.deactivate(by)
        self.store.save(member)

    def staff_member(self, badge: str) -> dict:
        member = self.member(badge)
        return {"badge": member.badge, "name": member.name, "role": member.role, "active": member.active,
                "warehouses": member.allowed_warehouses}

    def member(self, badge: str, to_change: bool = False) -> Staff:
        try:
            return self.store.repository.get(staff_id(check_badge(badge)), deepcopy_from_cache=to_change)
        except (AggregateNotFoundError, InvalidInput):
            raise NotAllowed("unknown badge", key="refusal:unknown_badge") from None

    @retry_on_conflict
    def issue_token(self, badge: str, label: str, by: str) -> str:
        """Issue an API token to a member of staff (it acts with their role); returns the token, shown once."""
        member = self.member(badge, to_change=True)
        token, token_id, token_hash = new_token(member.badge)
        member.issue_token(token_id, token_hash, label, by)
        self.store.save(member)
        return token

    @retry_on_conflict
    def revoke_token(self, badge: str, token_id: str, by: str) -> None:
        member = self.member(badge, to_change=True)
        member.revoke_token(token_id, by)
        self.store.save(member)

    def staff_tokens(self, badge: str) -> list[dict]:
        return [{"id": token_id, "label": issued["label"]} for token_id, issued in self.member(badge).tokens.items()]

    def authenticate(self, token: str) -> dict:
        """The member of staff an API token belongs to, with the `actor` its calls are recorded as (the token);
        NotAllowed for a malformed, unknown or revoked token."""
        badge, token_id, secret = read_token(token)
        member = self.member(badge)
        if not member.token_matches(token_id, secret):
            raise NotAllowed("token not accepted", key="refusal:token_not_accepted")
        return dict(self.staff_member(member.badge), token_id=token_id, actor=token_actor(member.badge, token_id))

    # Login lockouts, shared by every process through the store

    def _guards(self, keys: tuple[str, ...], create: bool = False) -> list[LoginGuard]:
        guards = []
        for key in keys:
            try:
                guards.append(self.store.repository.get(login_guard_id(key)))
            except AggregateNotFoundError:
                if create:
                    guards.append(LoginGuard(key))
        return guards

    @retry_on_conflict
    def begin_login(self, keys: tuple[str, ...], now: datetime, max_failures: int,
                    period: timedelta) -> datetime | None:
        """Start a login attempt on these keys (a badge, a device): the instant one of them is locked until, or None
        with the attempt recorded, counted as a wrong PIN until it is accepted."""
        guards = self._guards(keys, create=True)
        until = max(filter(None, (guard.locked_at(now, max_failures, period) for guard in guards)), default=None)
        if until is not None:
            return until
        for guard in guards:
            guard.begin(now)
        self.store.save(*guards)
        return None

    def login_refused(self, keys: tuple[str, ...], now: datetime, max_failures: int, period: timedelta) -> None:
        """The attempt's PIN was wrong: a key at the limit is locked for the period from now."""
        self._each_guard(keys, lambda guard: guard.refuse(now, max_failures, period))

    def login_accepted(self, keys: tuple[str, ...]) -> None:
        self._each_guard(keys, LoginGuard.accept)

    def login_withdrawn(self, keys: tuple[str, ...]) -> None:
        self._each_guard(keys, LoginGuard.withdraw)

    @retry_on_conflict
    def _each_guard(self, keys: tuple[str, ...], settle) -> None:
        guards = self._guards(keys)
        for guard in guards:
            settle(guard)
        self.store.save(*guards)

    @retry_on_conflict
    def unlock_login(self, key: str, now: datetime, by: str) -> None:
        """A supervisor lifts a lockout of a badge ('badge:S1') or a device ('device:desk-1')."""
        guard = next(iter(self._guards((key,))), None) or LoginGuard(key)  # a key never seen is refused as unlocked
        guard.unlock(now, by)
        self.store.save(guard)
