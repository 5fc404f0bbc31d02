"""The actor index: everything a badge did over every kind of event, a page at a time (CLI and audit page), on
SQLite and PostgreSQL."""

import re

import pytest
from click.testing import CliRunner

from cangku.audit_cli import audit
from projections.actors import actor_listing
from scanner_ui import create_app
from tests.builders import CUP, TEA
from tests.integration.test_backoffice_pages import PIN, signed_in, table_rows
from tests.unit.test_backoffice_finance import busy_day

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def system(request, make_system, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    built = make_system(url)
    built.placed = busy_day(built)
    built.app.staff.register_staff("A1", "A1", "auditor", PIN, "admin")
    built.catch_up()
    return built


def test_what_a_packer_did_spans_orders_and_parcels_newest_first(system):
    listed = actor_listing(system.engine, "carl")
    rows = listed.page(1000)

    kinds = {r["event"] for r in rows}
    assert kinds == {"Package.Opened", "Package.ItemVerified", "Package.Closed", "Package.Weighed", "Order.Packed"}
    assert listed.count() == len(rows) == 24
    numbers = [r["notification_id"] for r in rows]
    assert numbers == sorted(numbers, reverse=True)
    assert all(len(r["hash"]) == 64 for r in rows)


def test_the_cli_pages_what_a_badge_did(system):
    env = {"CANGKU_DATABASE_URL": system.settings.database.url, "CANGKU_DATA_DIR": str(system.settings.data_dir)}

    first = CliRunner().invoke(audit, ["actor", "carl", "--limit", "5"], env=env, catch_exceptions=False)
    last = CliRunner().invoke(audit, ["actor", "carl", "--limit", "5", "--offset", "20"], env=env,
                              catch_exceptions=False)

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == "1-5 of 24 events by carl"
    assert re.search(r"Package\.Weighed +v\d+ +[0-9a-f]{16}  \{\"by\": \"carl\", \"grams\": 900\}", first.stdout)
    assert last.stdout.splitlines()[-1] == "21-24 of 24 events by carl"
    assert "Package.Opened" in last.stdout


def test_the_audit_page_shows_one_page_of_a_badge_s_events_with_their_data(system):
    auditor = signed_in(create_app(system, {"TESTING": True}), "A1")

    page = auditor.get("/office/audit/actor?actor=bob&size=5").get_data(as_text=True)
    second = auditor.get("/office/audit/actor?actor=bob&size=5&page=2").get_data(as_text=True)

    rows = table_rows(page, "actor")
    assert len(rows) == 5 and "共 15 行" in page and "第 1 / 3 页" in page
    assert {row[2] for row in rows + table_rows(second, "actor")} >= {"Stock.Picked", "Order.ItemPicked",
                                                                      "Wave.LinePicked"}
    assert any(TEA in row[5] or CUP in row[5] for row in rows)
    assert "13812345678" not in page
    export = auditor.get("/office/audit/actor?actor=bob&format=csv").get_data(as_text=True)
    assert len(export.strip().splitlines()) == 1 + 15 and "Stock.Picked" in export


def test_a_page_past_the_last_is_refused_by_name(system):
    auditor = signed_in(create_app(system, {"TESTING": True}), "A1")

    answer = auditor.get("/office/audit/actor?actor=bob&size=5&page=9")

    assert answer.status_code == 422 and "page 9 is past the last page (3)" in answer.get_data(as_text=True)
