"""A marketplace shop as the warehouse follows it: how far its orders have been pulled, and its authorisation."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInput
from .ids import NAMESPACE


def shop_id(channel: str, shop: str) -> UUID:
    return uuid5(NAMESPACE, f"shop:{channel}:{shop}")


@dataclass(frozen=True, repr=False)
class ShopTokens:
    """What the platform granted when the merchant authorised us (授权); sealed at rest when a cipher key is set."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"ShopTokens(expires_at={self.expires_at.isoformat()!r})"


class Shop(Aggregate):
    """One shop on one channel; each pull moves its checkpoint forward; its tokens are kept and renewed."""

    tokens: ShopTokens | None = None
    needs_reauthorisation = False
    reauthorisation_reason = ""
    decryption_forbidden = False  # the merchant's choice: no buyer is ever decrypted through the platform for it

    @staticmethod
    def create_id(channel: str, shop: str) -> UUID:
        return shop_id(channel, shop)

    @event("Followed")
    def __init__(self, channel: str, shop: str):
        self.channel = channel
        self.shop = shop
        self.pulled_until: datetime | None = None

    def checkpoint(self, until: datetime, seen: int, imported: int) -> None:
        if self.pulled_until is not None and until < self.pulled_until:
            raise InvalidInput(f"{self.channel}/{self.shop}: a checkpoint cannot move back")
        self._checkpointed(until, seen, imported)

    @event("Checkpointed")
    def _checkpointed(self, until: datetime, seen: int, imported: int) -> None:
        self.pulled_until = until

    def authorise(self, tokens: ShopTokens, by: str) -> None:
        """The merchant granted access (again): its tokens replace any before, and calls may go out."""
        self._authorised(tokens, by)

    @event("Authorised")
    def _authorised(self, tokens: ShopTokens, by: str) -> None:
        self.tokens = tokens
        self.needs_reauthorisation = False
        self.reauthorisation_reason = ""

    def renew(self, tokens: ShopTokens) -> None:
        """The platform renewed the tokens with the refresh token."""
        self._renewed(tokens)

    @event("TokensRenewed")
    def _renewed(self, tokens: ShopTokens) -> None:
        self.tokens = tokens

    def require_reauthorisation(self, reason: str) -> bool:
        """The platform refused the shop's authorisation: nothing goes out for it until the merchant grants it
        again. Saying so twice changes nothing (returns False)."""
        if self.needs_reauthorisation:
            return False
        self._reauthorisation_required(reason[:300])
        return True

    @event("ReauthorisationRequired")
    def _reauthorisation_required(self, reason: str) -> None:
        self.needs_reauthorisation = True
        self.reauthorisation_reason = reason

    def forbid_decryption(self, forbidden: bool, by: str) -> bool:
        """The merchant's setting: forbid (or allow again) decrypting its buyers through the platform's decrypt API.
        False, and nothing recorded, when it is already so."""
        if bool(forbidden) == self.decryption_forbidden:
            return False
        if forbidden:
            self._decryption_forbidden(by)
        else:
            self._decryption_allowed(by)
        return True

    @event("DecryptionForbidden")
    def _decryption_forbidden(self, by: str) -> None:
        self.decryption_forbidden = True

    @event("DecryptionAllowed")
    def _decryption_allowed(self, by: str) -> None:
        self.decryption_forbidden = False
