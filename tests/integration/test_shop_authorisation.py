"""Shop authorisation against each platform's simulator over HTTP, tokens kept on PostgreSQL: the merchant's grant,
renewal before expiry, tokens sealed at rest, and a refused authorisation that stops the shop's calls and jobs."""

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.marketplaces import KeptByShop, PlatformAuthError, ShopAuthorisation, ShopNeedsReauthorisation
from adapters.marketplaces.base import CHINA
from adapters.marketplaces.simulators import SIMULATORS
from domain.shop import Shop
from tests.marketplaces import client_of, credentials_of
from tests.waiting import FAST_RETRIES, until

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 1, 14, 0, 0, tzinfo=CHINA)
KEY = "3q2+7w8QZxK0b5V9mC1cJ1l0xYv4hX2uQ0sN3rT6aE8="
CALLBACK = "https://erp.example.com/shops/callback"


class MovingClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=list(SIMULATORS), ids=list(SIMULATORS))
def platform(request):
    clock = MovingClock(NOW)
    sim = SIMULATORS[request.param](clock=clock, shop="tea-house")
    sim.seed(3, NOW - timedelta(hours=1), NOW)
    sim.start()
    yield sim, clock
    sim.stop()


def merchant_grants(sim, client) -> str:
    """The merchant opens the consent page and agrees; the platform sends them back to our callback."""
    answer = httpx.get(client.authorize_url(CALLBACK, state="tea-house"))
    assert answer.status_code == 302 and answer.headers["location"].startswith(CALLBACK)
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def authorised_shop(system, sim, clock):
    client = client_of(sim, credentials=credentials_of(sim, access_token=""), oauth_url=sim.root)
    authorisation = ShopAuthorisation(client, KeptByShop(system.app.channels, sim.channel, "tea-house"), clock=clock)
    tokens = authorisation.authorise(merchant_grants(sim, client), CALLBACK)
    return client, tokens


def stored_bytes(system) -> bytes:
    return b"".join(n.state for n in system.app.store.recorder.select_notifications(1, 10_000))


def test_an_authorised_shop_renews_its_tokens_before_they_expire_and_keeps_them_sealed(
        make_system, postgres_url, platform):
    sim, clock = platform
    system = make_system(postgres_url, cipher_key=KEY)
    order_no = next(iter(sim.orders))
    client, first = authorised_shop(system, sim, clock)

    client.order_detail(order_no)
    clock.now = first.expires_at - timedelta(minutes=10)
    client.order_detail(order_no)

    kept = system.app.channels.shop(sim.channel, "tea-house").tokens
    assert kept.access_token != first.access_token and kept.expires_at > clock.now + timedelta(hours=1)
    assert sim.grants[kept.access_token].shop == "tea-house"
    stored = stored_bytes(system)
    for secret in (first.access_token, first.refresh_token, kept.access_token, kept.refresh_token):
        assert secret.encode() not in stored
    events = [type(e).__name__ for e in system.app.store.events.get(Shop.create_id(sim.channel, "tea-house"))]
    assert events == ["Followed", "Authorised", "TokensRenewed"]


def test_a_shop_whose_merchant_withdrew_the_grant_sends_nothing_more_until_authorised_again(
        make_system, postgres_url, platform):
    sim, clock = platform
    system = make_system(postgres_url, cipher_key=KEY)
    order_no = next(iter(sim.orders))
    client, first = authorised_shop(system, sim, clock)
    sim.revoke("tea-house")
    clock.now = first.expires_at - timedelta(minutes=5)

    with pytest.raises(PlatformAuthError):
        client.order_detail(order_no)
    refusals = list(sim.refusals)
    with pytest.raises(ShopNeedsReauthorisation):
        client.order_detail(order_no)

    assert sim.refusals == refusals  # the second attempt never reached the platform
    assert system.app.channels.shops_needing_reauthorisation([(sim.channel, "tea-house")]) == [
        {"channel": sim.channel, "shop": "tea-house", "reason": system.app.channels.shop(
            sim.channel, "tea-house").reauthorisation_reason}]
    ShopAuthorisation(client, KeptByShop(system.app.channels, sim.channel, "tea-house"), clock=clock).authorise(
        merchant_grants(sim, client), CALLBACK)
    assert client.order_detail(order_no).order_no == order_no
    assert system.app.channels.shops_needing_reauthorisation([(sim.channel, "tea-house")]) == []


@pytest.mark.rabbitmq
def test_a_shipment_for_a_shop_needing_reauthorisation_is_dead_lettered_at_once_and_the_shop_flagged(
        make_system, sqlite_url, rabbitmq_url, queue_prefix, simulators):
    from tests.integration.test_channel_jobs import demo_warehouse, ship_everything
    from tests.marketplaces import clients
    from workers.dead_letters import dead_letters
    from workers.pull import pull_shop

    sim = simulators.simulators["pinduoduo"]
    sim.seed(1, sim.clock() - timedelta(hours=1), sim.clock() - timedelta(minutes=1), seed=2)
    system = make_system(sqlite_url, broker_url=rabbitmq_url, queue_prefix=queue_prefix)
    demo_warehouse(system.app)
    pdd = clients(simulators)[("pinduoduo", "main")]
    pull_shop(system.app, pdd, "pinduoduo", "main", "WH1")
    [number] = sim.orders
    order_id = system.app.orders.find_order("pinduoduo", "main", number).id
    sim.revoke("main")
    system.start_jobs(shops={("pinduoduo", "main"): pdd}, in_process_worker=True, retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    ship_everything(system.app, [order_id])
    until(lambda: dead_letters(system.broker), 30)

    [dead] = dead_letters(system.broker)
    assert (dead["actor"], dead["retries"]) == ("confirm_shipment_job", 0)  # tried once, never retried
    assert sim.refusals == ["auth"] and sim.shipments == []
    [needing] = system.app.channels.shops_needing_reauthorisation([("pinduoduo", "main")])
    assert "access_token" in needing["reason"]
