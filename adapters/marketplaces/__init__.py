"""Marketplace clients: one per platform, all speaking MarketplaceClient."""

from domain.shop import ShopTokens

from .base import (
    MarketplaceClient,
    MarketplaceError,
    OrderLine,
    OrderStatus,
    PlatformAuthError,
    PlatformInvalidParameter,
    PlatformMalformedResponse,
    PlatformOrder,
    PlatformRateLimited,
    PlatformRefund,
    RefundLine,
    PlatformServerError,
    Receiver,
    RefundStatus,
    ShopCredentials,
    TokenSource,
)
from .auth import KeptByShop, ShopAuthorisation, ShopNeedsReauthorisation, TokenStore
from .douyin import DouyinClient
from .jd import JdClient
from .kuaishou import KuaishouClient
from .pinduoduo import PinduoduoClient
from .taobao import TaobaoClient

CLIENTS: dict[str, type[MarketplaceClient]] = {
    client.channel: client for client in (TaobaoClient, JdClient, PinduoduoClient, DouyinClient, KuaishouClient)
}


def client_for(channel: str, credentials: ShopCredentials, **options) -> MarketplaceClient:
    """The client of one channel ('taobao', 'jd', 'pinduoduo', 'douyin', 'kuaishou') for one shop."""
    try:
        return CLIENTS[channel](credentials, **options)
    except KeyError:
        raise PlatformInvalidParameter(f"unknown channel {channel!r}; one of {', '.join(CLIENTS)}") from None


__all__ = [
    "CLIENTS",
    "KeptByShop",
    "ShopAuthorisation",
    "ShopNeedsReauthorisation",
    "ShopTokens",
    "TokenSource",
    "TokenStore",
    "MarketplaceClient",
    "MarketplaceError",
    "OrderLine",
    "OrderStatus",
    "PlatformAuthError",
    "PlatformInvalidParameter",
    "PlatformMalformedResponse",
    "PlatformOrder",
    "PlatformRateLimited",
    "PlatformRefund",
    "RefundLine",
    "PlatformServerError",
    "Receiver",
    "RefundStatus",
    "ShopCredentials",
    "client_for",
]
