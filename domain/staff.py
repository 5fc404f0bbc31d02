"""Warehouse staff: who may use which scanner screen, identified by a badge barcode and a short PIN."""

import hashlib
import hmac
import os
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidInput
from .ids import NAMESPACE

ROLES = ("picker", "packer", "receiver", "supervisor", "auditor", "admin")
WORK_SCREENS = ("receive", "putaway", "pick", "pack", "handover", "count", "returns")
SCREENS_BY_ROLE = {
    "picker": ("pick",),
    "packer": ("pack", "handover"),
    "receiver": ("receive", "putaway", "count", "returns"),
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

    @event("PinChanged")
    def _pin_changed(self, pin_hash: str, by: str) -> None:
        self.pin_hash = pin_hash

    @event("RoleChanged")
    def _role_changed(self, role: str, by: str) -> None:
        self.role = role

    @event("Deactivated")
    def _deactivated(self, by: str) -> None:
        self.active = False
