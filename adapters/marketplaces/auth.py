"""Shop authorisation: the merchant's OAuth grant turned into tokens, renewed before they expire, kept by the shop.

A shop whose authorisation the platform refuses (a token it no longer honours, a refresh token spent or expired)
is marked as needing the merchant again; until then its client sends nothing and says so at once."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta

from domain.shop import ShopTokens

from .base import CHINA, MarketplaceClient, PlatformAuthError, TokenSource

RENEW_BEFORE = timedelta(minutes=30)


class ShopNeedsReauthorisation(PlatformAuthError):
    """The merchant must authorise the shop again before anything more is sent for it."""


class TokenStore(ABC):
    """Where one shop's tokens are kept."""

    @abstractmethod
    def load(self) -> ShopTokens | None:
        """The shop's tokens, or None while it has only the configured access token."""

    @abstractmethod
    def save(self, tokens: ShopTokens, *, renewed: bool) -> None:
        """Keep new tokens: from the merchant's grant, or renewed with the refresh token."""

    @abstractmethod
    def needs_reauthorisation(self) -> str:
        """Why the merchant must authorise again ('' when not)."""

    @abstractmethod
    def require_reauthorisation(self, reason: str) -> None:
        """The platform refused the shop's authorisation."""


class ShopAuthorisation(TokenSource):
    """One shop's access token for its client: renewed a while before it expires, refused once the platform
    has refused the shop's authorisation."""

    def __init__(self, client: MarketplaceClient, store: TokenStore, *, renew_before: timedelta = RENEW_BEFORE,
                 clock: Callable[[], datetime] | None = None):
        self.client = client
        self.store = store
        self.renew_before = renew_before
        self._clock = clock or (lambda: datetime.now(CHINA))
        self._lock = threading.Lock()
        client.tokens = self

    def authorise(self, code: str, redirect_uri: str = "") -> ShopTokens:
        """Exchange the code the platform's consent page handed our callback; calls may go out again."""
        tokens = self.client.exchange_code(code, redirect_uri)
        self.store.save(tokens, renewed=False)
        return tokens

    def access_token(self) -> str:
        with self._lock:
            reason = self.store.needs_reauthorisation()
            if reason:
                raise ShopNeedsReauthorisation(f"the shop must be authorised again: {reason}",
                                               channel=self.client.channel)
            tokens = self.store.load()
            if tokens is None:
                return self.client.credentials.access_token
            if tokens.expires_at - self._clock() <= self.renew_before:
                try:
                    tokens = self.client.refresh(tokens.refresh_token)
                except PlatformAuthError as refused:
                    self.store.require_reauthorisation(f"renewal refused: {refused}")
                    raise
                self.store.save(tokens, renewed=True)
            return tokens.access_token

    def rejected(self, error: PlatformAuthError) -> None:
        if not isinstance(error, ShopNeedsReauthorisation):
            self.store.require_reauthorisation(str(error))


class KeptByShop(TokenStore):
    """A shop's tokens as events on its Shop aggregate (sealed at rest with the cipher key when one is set)."""

    def __init__(self, channels, channel: str, shop: str, by: str = "oauth"):
        self.channels, self.channel, self.shop, self.by = channels, channel, shop, by

    def load(self) -> ShopTokens | None:
        followed = self.channels.shop(self.channel, self.shop)
        return followed.tokens if followed is not None else None

    def save(self, tokens: ShopTokens, *, renewed: bool) -> None:
        if renewed:
            self.channels.renew_shop_tokens(self.channel, self.shop, tokens)
        else:
            self.channels.authorise_shop(self.channel, self.shop, tokens, self.by)

    def needs_reauthorisation(self) -> str:
        followed = self.channels.shop(self.channel, self.shop)
        if followed is None or not followed.needs_reauthorisation:
            return ""
        return followed.reauthorisation_reason or "refused by the platform"

    def require_reauthorisation(self, reason: str) -> None:
        self.channels.require_reauthorisation(self.channel, self.shop, reason)
