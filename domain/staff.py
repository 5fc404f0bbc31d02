"""Warehouse staff: who may use which scanner screen, identified by a badge barcode and a short PIN."""

import hashlib
import hmac
import os
import secrets
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidInput, NotFound
from .ids import NAMESPACE

ROLES = ("picker", "packer", "receiver", "supervisor", "auditor", "admin")
WORK_SCREENS = ("receive", "putaway", "pick", "pack", "handover", "count", "returns", "dispatch")
SCREENS_BY_ROLE = {
    "picker": ("pick", "dispatch"),
    "packer": ("pack", "handover"),
    "receiver": ("receive", "putaway", "count", "returns", "dispatch"),
    "supervisor": (*WORK_SCREENS, "supervisor"),
    "auditor": (),
    "admin": (*WORK_SCREENS, "supervisor"),
}
READERS_OF_REPORTS = ("supervisor", "auditor", "admin")

# scrypt at n=2**14, r=8 costs ~16 MiB and tens of milliseconds: cheap for one login, ruinous for guessing.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class NotAllowed(DomainError):
    """The person is not allowed to do this (unknown badge, wrong PIN, role without the screen)."""

    code = "not_allowed"


class UnknownToken(NotFound):
    code = "unknown_token"


def staff_id(badge: str) -> UUID:
    return uuid5(NAMESPACE, f"staff:{badge}")


def check_badge(badge: str) -> str:
    badge = (badge or "").strip()
    if not badge or len(badge) > 32 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in badge):
        raise InvalidInput("a badge is 1-32 letters, digits, '-', '_' or '.'")
    return badge


def check_pin(pin: str) -> str:
    if not isinstance(pin, str) or not pin.isdigit() or not pin.isascii() or not 4 <= len(pin) <= 8:
        raise InvalidInput("a PIN is 4-8 digits")
    return pin


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """The PIN as 'scrypt$n$r$p$salt$hash' (hex); the PIN itself is never stored."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(check_pin(pin).encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(str(pin).encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                   dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def new_token(badge: str) -> tuple[str, str, str]:
    """A fresh API token 'badge.id.secret', its id, and the hash of its secret (the only part kept)."""
    token_id, secret = secrets.token_hex(4), secrets.token_hex(32)
    return f"{badge}.{token_id}.{secret}", token_id, hash_token_secret(secret)


def hash_token_secret(secret: str) -> str:
    # The secret is 256 random bits, so one SHA-256 resists guessing and keeps every API request cheap.
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def read_token(token: str) -> tuple[str, str, str]:
    """The badge, token id and secret of a token; NotAllowed when it is not shaped like one."""
    parts = (token or "").rsplit(".", 2)
    if len(parts) != 3 or not all(parts) or len(token) > 200:
        raise NotAllowed("token not accepted", key="refusal:token_not_accepted")
    return parts[0], parts[1], parts[2]


TOKEN_MARK = "#"  # never in a badge, so an actor with it is always an API token


def token_actor(badge: str, token_id: str) -> str:
    """Who an API call acts as, recorded on its events: the token (its badge and id, `S1#a1b2c3d4`), so its work is
    told apart from what the person did themselves."""
    return f"{badge}{TOKEN_MARK}{token_id}"


def badge_of(actor: str) -> str:
    """The badge behind an actor: itself, or the badge of an API token."""
    return actor.partition(TOKEN_MARK)[0]


def may_use(role: str, screen: str) -> bool:
    return screen in SCREENS_BY_ROLE.get(role, ())


class Staff(Aggregate):
    """A member of staff: badge, name, one role and a hashed PIN."""

    @staticmethod
    def create_id(badge: str, **_) -> UUID:
        return staff_id(badge)

    @event("Registered")
    def __init__(self, badge: str, name: str, role: str, pin_hash: str, by: str):
        self.badge = badge
        self.name = name
        self.role = role
        self.pin_hash = pin_hash
        self.active = True
        self.tokens: dict[str, dict] = {}

    def __repr__(self) -> str:
        return f"Staff({self.badge!r}, role={self.role!r})"

    @classmethod
    def register(cls, badge: str, name: str, role: str, pin: str, by: str) -> "Staff":
        name = (name or "").strip()
        if not name or len(name) > 64:
            raise InvalidInput("a name is 1-64 characters")
        if role not in ROLES:
            raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}")
        return cls(check_badge(badge), name, role, hash_pin(pin), by)

    def change_pin(self, pin: str, by: str) -> None:
        self._pin_changed(hash_pin(pin), by)

    def change_role(self, role: str, by: str) -> None:
        if role not in ROLES:
            raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}")
        self._role_changed(role, by)

    def deactivate(self, by: str) -> None:
        self._deactivated(by)

    def may_use(self, screen: str) -> bool:
        return self.active and may_use(self.role, screen)

    @property
    def allowed_warehouses(self) -> list[str]:
        """The warehouses this person may work in; none named means every one."""
        return list(getattr(self, "warehouses", []))

    def may_work_in(self, warehouse: str) -> bool:
        return not self.allowed_warehouses or warehouse in self.allowed_warehouses

    def allow_warehouses(self, warehouses: list[str], by: str) -> None:
        codes = sorted({(w or "").strip() for w in warehouses} - {""})
        if len(codes) > 100 or any(len(c) > 32 for c in codes):
            raise InvalidInput("at most 100 warehouse codes of up to 32 characters")
        if codes != self.allowed_warehouses:
            self._warehouses_allowed(codes, by)

    def issue_token(self, token_id: str, token_hash: str, label: str, by: str) -> None:
        """Record a new API token of this person by its id and hash; the token itself is never stored."""
        if not self.active:
            raise NotAllowed(f"badge {self.badge} is deactivated", key="refusal:badge_deactivated", badge=self.badge)
        if len(label or "") > 64:
            raise InvalidInput("a token label is at most 64 characters")
        self._token_issued(token_id, token_hash, label or "", by)

    def revoke_token(self, token_id: str, by: str) -> None:
        if token_id not in self.tokens:
            raise UnknownToken(f"{self.badge} has no token {token_id[:16]!r}")
        self._token_revoked(token_id, by)

    def token_matches(self, token_id: str, secret: str) -> bool:
        issued = self.tokens.get(token_id)
        return (self.active and issued is not None
                and hmac.compare_digest(issued["hash"], hash_token_secret(secret)))

    @event("PinChanged")
    def _pin_changed(self, pin_hash: str, by: str) -> None:
        self.pin_hash = pin_hash

    @event("RoleChanged")
    def _role_changed(self, role: str, by: str) -> None:
        self.role = role

    @event("Deactivated")
    def _deactivated(self, by: str) -> None:
        self.active = False

    @event("TokenIssued")
    def _token_issued(self, token_id: str, token_hash: str, label: str, by: str) -> None:
        self.tokens[token_id] = {"hash": token_hash, "label": label}

    @event("WarehousesAllowed")
    def _warehouses_allowed(self, warehouses: list[str], by: str) -> None:
        self.warehouses = list(warehouses)

    @event("TokenRevoked")
    def _token_revoked(self, token_id: str, by: str) -> None:
        del self.tokens[token_id]


def login_key(subject: str) -> str:
    """The lockout key of a badge ('S1') or a device ('device:desk-1')."""
    return subject if subject.startswith("device:") else f"badge:{subject.strip().upper()}"


def login_keys(badge: str, device: str) -> tuple[str, str]:
    """The lockout keys a login attempt counts against: its badge and its device."""
    return login_key(badge), f"device:{device}"


def login_guard_id(key: str) -> UUID:
    return uuid5(NAMESPACE, f"login-guard:{key}")


class LoginGuard(Aggregate):
    """Logins for one badge, or at one device: an attempt counts as a wrong PIN from the moment it begins until the
    PIN is accepted, and too many wrong PINs within the period lock the key for the period (or until a supervisor
    unlocks it). Every server process reads the same stream, so they all count together."""

    KEPT = 50  # attempts kept: more than any limit a warehouse would set

    @staticmethod
    def create_id(key: str, **_) -> UUID:
        return login_guard_id(key)

    @event("Opened")
    def __init__(self, key: str):
        self.key = key
        self.attempts: list[datetime] = []
        self.locked_until: datetime | None = None

    def recent(self, now: datetime, period: timedelta) -> list[datetime]:
        return [at for at in self.attempts if at > now - period]

    def locked_at(self, now: datetime, max_failures: int, period: timedelta) -> datetime | None:
        """Until when the key is locked at this instant, or None; attempts still being checked fill the allowance."""
        if self.locked_until is not None and self.locked_until > now:
            return self.locked_until
        recent = self.recent(now, period)
        return min(recent) + period if len(recent) >= max_failures else None

    def begin(self, now: datetime) -> None:
        self._attempted(now)

    def refuse(self, now: datetime, max_failures: int, period: timedelta) -> None:
        """The PIN was wrong: at the limit, the key is locked for the period from now."""
        if len(self.recent(now, period)) >= max_failures:
            self._locked_out(now + period)

    def accept(self) -> None:
        """The PIN was right: the key's wrong PINs are forgotten."""
        if self.attempts:
            self._cleared()

    def withdraw(self) -> None:
        """The attempt checked no PIN: it does not count."""
        if self.attempts:
            self._withdrawn()

    def unlock(self, now: datetime, by: str) -> None:
        if self.locked_until is None or self.locked_until <= now:
            raise InvalidInput(f"{self.key} is not locked")
        self._unlocked(by)

    @event("Attempted")
    def _attempted(self, at: datetime) -> None:
        self.attempts = (self.attempts + [at])[-self.KEPT:]

    @event("LockedOut")
    def _locked_out(self, until: datetime) -> None:
        self.locked_until = until
        self.attempts = []

    @event("Cleared")
    def _cleared(self) -> None:
        self.attempts = []

    @event("Withdrawn")
    def _withdrawn(self) -> None:
        self.attempts = self.attempts[:-1]

    @event("Unlocked")
    def _unlocked(self, by: str) -> None:
        self.locked_until = None
        self.attempts = []
