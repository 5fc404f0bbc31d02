"""What-if replay: under the live rules it reproduces the live figures exactly; under a smaller share for JD, JD's
large sale is refused and Taobao's oversell disappears. On SQLite and PostgreSQL; the live log is never written."""

from decimal import Decimal

import pytest
from click.testing import CliRunner

from cangku.audit_cli import audit
from projections.whatif import Figures, Rule, live_figures, replay
from tests.builders import CUP, TEA, order, warehouse_with_catalogue
from tests.unit.test_backoffice_finance import busy_day

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def system(request, make_system, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    return make_system(url)


def flash_sale(app) -> None:
    """Five tea tins shown on Taobao and JD; JD sells four, then Taobao three (which goes short)."""
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 5, (CUP, "A-01-02"): 9})
    for channel, shop in (("taobao", "flagship"), ("jd", "jd-store")):
        app.channels.map_listing(channel, shop, f"p-{TEA}", {TEA: 1})
        app.channels.record_published(channel, shop, f"p-{TEA}", 5, "stock-push-1")
    app.orders.import_orders([order("J1", (TEA, 4), channel="jd", shop="jd-store")], warehouse="WH1")
    app.orders.import_orders([order("T1", (TEA, 3), (CUP, 1))], warehouse="WH1")


def test_a_replay_under_the_live_rules_reproduces_the_live_figures_exactly(system):
    busy_day(system)
    flash_sale_shop = order("T7", (TEA, 50))  # more tea than the warehouse ever had
    system.app.orders.import_orders([flash_sale_shop], warehouse="WH1")

    live, again = live_figures(system.app.store), replay(system.app.store)

    assert again == live
    assert live["taobao"].oversells == 2 and live["taobao"].sales == 7 and live["jd"] == Figures(sales=1)


def test_a_smaller_share_for_jd_refuses_its_large_sale_and_taobao_is_not_oversold(system):
    flash_sale(system.app)
    written = system.app.store.recorder.max_notification_id()

    live = live_figures(system.app.store)
    again = replay(system.app.store, rules={"jd": Rule(Decimal("0.5"), 0)})

    assert live == {"jd": Figures(sales=1), "taobao": Figures(sales=1, oversells=1,
                                                               oversold_orders=["taobao/flagship/T1"])}
    assert again == {"jd": Figures(refused=1), "taobao": Figures(sales=1)}
    assert system.app.store.recorder.max_notification_id() == written


def test_the_cli_compares_each_channel_live_and_under_the_rules(system):
    flash_sale(system.app)
    env = {"CANGKU_DATABASE_URL": system.settings.database.url, "CANGKU_DATA_DIR": str(system.settings.data_dir)}

    result = CliRunner().invoke(audit, ["what-if", "--rule", "jd:0.5"], env=env, catch_exceptions=False)
    refused = CliRunner().invoke(audit, ["what-if", "--rule", "jd:1.5"], env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == ["jd                   1 → 0         0 → 0       0 → 1",
                                              "taobao               1 → 1         1 → 0       0 → 0"]
    assert refused.exit_code == 2 and "a rule is CHANNEL:SHARE[:BUFFER]" in refused.stderr
