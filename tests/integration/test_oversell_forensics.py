"""Oversell forensics: Taobao showed five tea tins, JD's order reserved four of them and no push followed, so
Taobao's order of three went short; the CLI and the audit page name the gap and the timeline, on SQLite and
PostgreSQL."""

import re

import pytest
from click.testing import CliRunner

from cangku.audit_cli import audit
from scanner_ui import create_app
from tests.builders import CUP, TEA, order, warehouse_with_catalogue
from tests.integration.test_backoffice_pages import PIN, signed_in, table_rows

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def oversold(request, make_system, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    system = make_system(url)
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 5, (CUP, "A-01-02"): 9})
    app.staff.register_staff("A1", "A1", "auditor", PIN, "admin")
    for channel, shop in (("taobao", "flagship"), ("jd", "jd-store")):
        app.channels.map_listing(channel, shop, "p-TEA", {TEA: 1})
        app.channels.record_published(channel, shop, "p-TEA", 5, "stock-push-1")
    app.orders.import_orders([order("J1", (TEA, 4), channel="jd", shop="jd-store")], warehouse="WH1")
    [short] = app.orders.import_orders([order("T1", (TEA, 3), (CUP, 1))], warehouse="WH1")
    system.catch_up()
    return system, short["order_id"]


def run(system, *args):
    env = {"CANGKU_DATABASE_URL": system.settings.database.url, "CANGKU_DATA_DIR": str(system.settings.data_dir)}
    return CliRunner().invoke(audit, ["oversell", *args], env=env, catch_exceptions=False)


def test_the_gap_names_the_push_the_reservation_that_made_it_stale_and_the_sale(oversold):
    system, _ = oversold

    result = run(system, "--order", "taobao/flagship/T1")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"order taobao/flagship/T1 short of 2 of 3 {TEA} in WH1"
    assert re.fullmatch(r"  gap: taobao/flagship showed 5 from push #\d+; free stock fell to 1 at #\d+ \(reserved: "
                        r"4 units for order jd/jd-store/J1\) and no push followed before the sale at #\d+: the "
                        r"listing over-showed by 4 for [\d.]+ s", lines[1])
    kinds = [re.match(r"  #\d+ +\S+ (\S+)", line).group(1) for line in lines[2:]]
    assert kinds == ["push", "push", "sale", "reserved", "sale", "short"]
    assert "jd/jd-store p-TEA told to show 5" in lines[3]
    assert "reserved  4 units for order jd/jd-store/J1  (free 1)" in lines[5]


def test_a_channel_s_short_orders_are_explained_one_by_one(oversold):
    system, _ = oversold

    result = run(system, "--channel", "taobao", "--sku", TEA)
    nothing = run(system, "--channel", "jd")

    assert result.stdout.count("gap: taobao/flagship showed 5") == 1
    assert nothing.stdout.strip() == "no order waiting for stock matches"


def test_an_order_that_never_went_short_is_refused_by_name(oversold):
    system, _ = oversold

    result = run(system, "--order", "jd/jd-store/J1")

    assert result.exit_code == 1
    assert "order J1 never went short of stock" in result.stderr


def test_the_audit_page_shows_the_gap_and_the_timeline(oversold):
    system, order_id = oversold
    auditor = signed_in(create_app(system, {"TESTING": True}), "A1")

    page = auditor.get(f"/office/audit/oversell?order={order_id}").get_data(as_text=True)

    assert "taobao/flagship showed 5 from push" in page and "over-showed by 4" in page
    rows = table_rows(page, "timeline-1")
    assert [row[2] for row in rows] == ["push", "push", "sale", "reserved", "sale", "short"]
    assert rows[3][4] == "1"
