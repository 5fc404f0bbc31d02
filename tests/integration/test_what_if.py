"""What-if replay: under the live rules (channel stock and courier policy) it reproduces the live figures exactly;
under a smaller share for JD, JD's large sale is refused and Taobao's oversell disappears; under another courier
policy the light parcel goes to ZTO at its price. On SQLite and PostgreSQL; the live log is never written."""

import json
import re
from dataclasses import replace
from decimal import Decimal

import pytest
from click.testing import CliRunner

from cangku.audit_cli import audit
from domain.courier_choice import PackageFacts, choose, rules_as_data, standard_rules
from domain.errors import InvalidInput
from projections.whatif import Figures, Parcels, Rule, live_figures, parse_wave_rule, replay
from scanner_ui import create_app
from tests.builders import CUP, TEA, order, warehouse_with_catalogue
from tests.integration.test_backoffice_pages import PIN, signed_in, table_rows
from tests.waiting import until
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

    parcels(system.app)

    live = live_figures(system.app.store)
    again = replay(system.app.store, couriers=standard_rules())

    assert again == live
    taobao, jd = live.channels["taobao"], live.channels["jd"]
    assert (taobao.sales, taobao.oversells, taobao.waiting) == (9, 2, 2)
    assert jd == Figures(sales=1, margin=Decimal("8.90"))  # 3 × 11.50 − 1.00 fee − 3 × 8.20
    assert live.couriers == {"SF": Parcels(4), "YTO": Parcels(1, Decimal("3.00")), "ZTO": Parcels(1, Decimal("4.50"))}


def test_a_smaller_share_for_jd_refuses_its_large_sale_and_taobao_is_not_oversold(system):
    flash_sale(system.app)
    written = system.app.store.recorder.max_notification_id()

    live = live_figures(system.app.store)
    again = replay(system.app.store, rules={"jd": Rule(Decimal("0.5"), 0)})

    assert live.channels == {"jd": Figures(sales=1), "taobao": Figures(sales=1, oversells=1, waiting=1,
                                                                       oversold_orders=["taobao/flagship/T1"])}
    assert again.channels == {"jd": Figures(refused=1), "taobao": Figures(sales=1)}
    assert system.app.store.recorder.max_notification_id() == written


def test_another_courier_policy_moves_the_light_parcel_to_zto_at_its_price_and_margin(system):
    parcels(system.app, opening=True)
    policy = standard_rules()
    zto_first = replace(policy, rules=tuple(replace(r, couriers=("ZTO", "YTO")) if r.name == "light-and-near" else r
                                            for r in policy.rules))

    live = live_figures(system.app.store)
    again = replay(system.app.store, couriers=zto_first)

    assert live.couriers == {"YTO": Parcels(1, Decimal("3.00")), "ZTO": Parcels(1, Decimal("4.50"))}
    assert again.couriers == {"ZTO": Parcels(2, Decimal("8.00"))}
    assert live.channels["taobao"].margin == Decimal("27.90")  # 20 − 8.20 − 3.00 and 40 − 16.40 − 4.50
    assert again.channels["taobao"].margin == Decimal("27.40")


def test_the_cli_compares_each_channel_and_courier_and_never_writes_the_live_log(system, tmp_path):
    flash_sale(system.app)
    parcels(system.app)
    env = {"CANGKU_DATABASE_URL": system.settings.database.url, "CANGKU_DATA_DIR": str(system.settings.data_dir)}
    policy = rules_as_data(standard_rules())
    policy["fallback"] = ["YTO", "ZTO", "SF"]
    (tmp_path / "couriers.json").write_text(json.dumps(policy, ensure_ascii=False), encoding="utf-8")
    before = every_notification(system.app.store)

    result = CliRunner().invoke(audit, ["what-if", "--rule", "jd:0.5", "--courier-rules",
                                        str(tmp_path / "couriers.json")], env=env, catch_exceptions=False)
    refused = CliRunner().invoke(audit, ["what-if", "--rule", "jd:1.5"], env=env, catch_exceptions=False)
    bad_policy = CliRunner().invoke(audit, ["what-if", "--courier-rules", str(tmp_path / "nothing.json")], env=env)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1:3] == ["jd                   1 → 0         0 → 0       0 → 1       0 → 0        0.00 → 0.00",
                          "taobao               3 → 3         1 → 0       0 → 0       1 → 0      27.90 → 27.90"]
    assert lines[4:6] == ["YTO                  1 → 2         3.00 → 7.50",  # the 1800 g parcel falls back to YTO
                          "ZTO                  1 → 0         4.50 → 0.00"]
    assert re.fullmatch(r"waves 2 → 2, orders waved 2 → 2, minutes from stock to wave: mean (\d+\.\d) → \1, longest "
                        r"(\d+\.\d) → \2", lines[6])
    assert refused.exit_code == 2 and "a rule is CHANNEL:SHARE[:BUFFER]" in refused.stderr
    assert bad_policy.exit_code == 2
    assert every_notification(system.app.store) == before


def test_waves_cut_by_a_rule_every_half_hour_of_one_order_each_make_the_second_order_wait_half_an_hour_more(system):
    parcels(system.app, opening=True)

    live = live_figures(system.app.store)
    again = replay(system.app.store, waves=parse_wave_rule("30:1"))

    assert (live.waves.waves, live.waves.orders) == (2, 2) and live.waves.longest_wait_minutes < 1
    assert (again.waves.waves, again.waves.orders) == (2, 2)
    assert 30 <= again.waves.longest_wait_minutes <= 60
    assert abs(again.waves.longest_wait_minutes - again.waves.mean_wait_minutes - 15) <= Decimal("0.2")
    with pytest.raises(InvalidInput, match="a wave rule is MINUTES:ORDERS"):
        parse_wave_rule("30")


def every_notification(app) -> list[tuple]:
    top = app.recorder.max_notification_id() or 0
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state))
            for n in app.recorder.select_notifications(1, top + 1, stop=top)]


def parcels(app, opening: bool = False) -> None:
    """Two Taobao orders of glass cups shipped with the couriers the standard policy chose: 900 g to Hangzhou (YTO,
    3.00) and 1800 g (ZTO, 4.50)."""
    if opening:
        warehouse_with_catalogue(app, {(CUP, "A-01-02"): 3})
    for number, units, grams in (("C1", 1, 900), ("C2", 2, 1800)):
        [placed] = app.orders.import_orders([order(number, (CUP, units))], warehouse="WH1")
        order_id = placed["order_id"]
        wave = app.fulfilment.create_wave("WH1", f"W-{number}", [order_id], "S1")
        for index, line in enumerate(app.fulfilment.wave(wave).lines):
            app.fulfilment.pick(wave, index, line["bin"], line["sku"], line["quantity"], "P1")
        for _ in range(units):
            app.fulfilment.verify_item(order_id, CUP, "K1")
        app.fulfilment.close_package(order_id, "K1")
        app.fulfilment.weigh(order_id, grams, "K1")
        decision = choose(PackageFacts("浙江省", "杭州市", grams), standard_rules())
        app.fulfilment.assign_waybill(order_id, decision.courier, f"{decision.courier}-{number}", "HZ",
                                      decision.as_record())
        app.fulfilment.hand_over(order_id, "K1")


def test_the_audit_page_shows_each_channel_and_courier_live_and_replayed_to_an_auditor(system):
    flash_sale(system.app)
    parcels(system.app)
    system.app.staff.register_staff("A1", "A1", "auditor", PIN, "admin")
    system.app.staff.register_staff("P9", "P9", "picker", PIN, "admin")
    web = create_app(system, {"TESTING": True})
    auditor, picker = signed_in(web, "A1"), signed_in(web, "P9")
    policy = rules_as_data(standard_rules())
    policy["fallback"] = ["YTO", "ZTO", "SF"]
    before = every_notification(system.app.store)

    asked = {"run": "1", "rules": "jd:0.5\n", "couriers": json.dumps(policy, ensure_ascii=False), "waves": "30:1"}

    form = auditor.get("/office/audit/what-if").get_data(as_text=True)
    first = auditor.get("/office/audit/what-if", query_string=asked).get_data(as_text=True)
    until(lambda: "what-if-running" not in auditor.get("/office/audit/what-if", query_string=asked).get_data(
        as_text=True), explain=lambda: "the replay did not finish")
    page = auditor.get("/office/audit/what-if", query_string=asked).get_data(as_text=True)
    bad = auditor.get("/office/audit/what-if", query_string={"run": "1", "rules": "jd:2"})

    assert "&#34;light-and-near&#34;" in form  # the live policy, ready to edit
    assert "what-if-running" in first or "what-if-channels-table" in first  # its progress, or already its figures
    assert table_rows(page, "what-if-channels") == [["jd", "1", "0", "0", "0", "0", "1", "0", "0", "¥0.00", "¥0.00"],
                                                    ["taobao", "3", "3", "1", "0", "0", "0", "1", "0", "¥27.90",
                                                     "¥27.90"]]
    assert table_rows(page, "what-if-couriers") == [["YTO", "1", "2", "¥3.00", "¥7.50"],
                                                    ["ZTO", "1", "0", "¥4.50", "¥0.00"]]
    waves = table_rows(page, "what-if-waves")
    # T1, no longer short of tea once JD shows less, joins a wave too: three waves of one order
    assert [row[:3] for row in waves] == [["实际", "2", "2"], ["假设", "3", "3"]] and float(waves[1][4]) >= 30
    assert bad.status_code == 422 and "a rule is CHANNEL:SHARE[:BUFFER]" in bad.get_data(as_text=True)
    assert picker.get("/office/audit/what-if").status_code == 403
    assert every_notification(system.app.store) == before
