"""The five marketplace simulators as a fixture, and clients of our own pointed at them."""

import pytest

from adapters.marketplaces import MarketplaceClient, ShopCredentials, client_for
from adapters.marketplaces.simulators.run import run_all
from cangku.bootstrap import simulator_client


@pytest.fixture
def simulators():
    running = run_all(orders=0, shop="main")
    yield running
    running.stop()


def credentials_of(sim, **changes) -> ShopCredentials:
    """The app's key and secrets and the shop's token as the simulator issued them, with any changes."""
    account = sim.credentials
    fields = {"app_key": account.app_key, "app_secret": account.app_secret, "access_token": account.access_token,
              "shop": account.shop, "sign_secret": account.sign_secret, **changes}
    return ShopCredentials(**fields)


def client_of(sim, **options) -> MarketplaceClient:
    """Our client for the simulator's platform, pointed at it, on the simulator's clock."""
    options.setdefault("timeout", 5.0)
    options.setdefault("clock", sim.clock)
    return simulator_client(sim, **options)


def clients(simulators):
    return {(channel, "main"): client_of(sim) for channel, sim in simulators.simulators.items()}


def in_process(sim, **options) -> MarketplaceClient:
    """Our client for the simulator's platform, talking to it in this process (no socket), on its clock."""
    import httpx

    options.setdefault("clock", sim.clock)
    options.setdefault("oauth_url", "http://simulator")
    credentials = options.pop("credentials", None) or credentials_of(sim)
    http = httpx.Client(transport=httpx.WSGITransport(app=sim))
    return client_for(sim.channel, credentials, base_url="http://simulator" + sim.gateway_path, http=http, **options)
