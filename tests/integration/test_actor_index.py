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
    assert any(TEA in row[6] or CUP in row[6] for row in rows) and {row[3] for row in rows} == {"bob"}
    assert "13812345678" not in page
    export = auditor.get("/office/audit/actor?actor=bob&format=csv").get_data(as_text=True)
    assert len(export.strip().splitlines()) == 1 + 15 and "Stock.Picked" in export


def test_a_page_past_the_last_is_refused_by_name(system):
    auditor = signed_in(create_app(system, {"TESTING": True}), "A1")

    answer = auditor.get("/office/audit/actor?actor=bob&size=5&page=9")

    assert answer.status_code == 422 and "page 9 is past the last page (3)" in answer.get_data(as_text=True)


def test_an_api_token_s_work_is_found_as_the_token_and_on_its_badge_s_page_marked_with_the_token(system):
    system.app.staff.register_staff("S1", "S1", "supervisor", PIN, "admin")
    token = system.app.staff.issue_token("S1", "nightly", "admin")
    token_id = token.split(".")[1]
    web = create_app(system, {"TESTING": True})
    api = web.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    order = system.placed["T104"]
    system.app.orders.add_note(order, "checked by hand", "S1")

    assert api.post(f"/api/v1/orders/{order}/notes", json={"text": "from the nightly job"}).status_code == 200
    system.catch_up()
    as_token = actor_listing(system.engine, f"S1#{token_id}", app=system.app.store).page(50)
    as_badge = actor_listing(system.engine, "S1", app=system.app.store).page(50)
    page = signed_in(web, "A1").get("/office/audit/actor?actor=S1").get_data(as_text=True)

    assert [(r["event"], r["acted_as"]) for r in as_token] == [("Order.NoteAdded", f"S1#{token_id}")]
    assert [(r["event"], r["acted_as"]) for r in as_badge[:2]] == [("Order.NoteAdded", f"S1#{token_id}"),
                                                                  ("Order.NoteAdded", "S1")]
    assert [row[3] for row in table_rows(page, "actor")[:2]] == [f"S1#{token_id}", "S1"]
