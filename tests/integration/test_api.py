"""The JSON API over HTTP (Flask test client) on the SQLite file store, with data built through the application."""

import re
from datetime import datetime, timezone
from uuid import UUID

import pytest
from click.testing import CliRunner

from projections.settlement import import_bill
from scanner_ui import create_app
from scanner_ui.api import PATHS
from cangku.staff_cli import staff
from tests.builders import CUP, TEA, order, warehouse_with_catalogue
from tests.unit.test_backoffice_settlement import alipay_line, alipay_statement

PIN = "2468"
UNKNOWN_ORDER = "00000000-0000-0000-0000-000000000000"
TAOBAO_NO, UNKNOWN_TAOBAO_NO = "3100000000000000001", "3999999999999999999"


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 10, (TEA, "A-01-01"): 20})
    for badge, role in (("S1", "supervisor"), ("A1", "auditor"), ("R1", "receiver"), ("P1", "picker")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    system.app.orders.import_orders([order("T1", (CUP, 2)), order("T2", (TEA, 1))], warehouse="WH1")
    return system


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True})


@pytest.fixture
def as_(system, web):
    """A test client sending the bearer token of a badge."""

    def client(badge: str):
        browser = web.test_client()
        browser.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {system.app.staff.issue_token(badge, 'tests', 'admin')}"
        return browser

    return client


def order_id(system, number: str) -> str:
    return str(system.app.orders.find_order("taobao", "flagship", number).id)


def events_recorded(system) -> int:
    return system.app.store.recorder.max_notification_id()


# Reads


def test_stock_by_bin_shows_on_hand_reserved_and_available_per_bin(as_):
    answer = as_("P1").get(f"/api/v1/stock?warehouse=WH1&sku={CUP}")

    assert answer.status_code == 200
    assert answer.json["items"] == [{"warehouse": "WH1", "sku": CUP, "bin": "A-01-02", "on_hand": 10,
                                     "reserved": 2, "available": 8}]


def test_stock_pages_with_limit_and_offset(as_):
    client = as_("P1")

    first = client.get("/api/v1/stock?limit=1").json
    second = client.get("/api/v1/stock?limit=1&offset=1").json

    assert [r["sku"] for r in first["items"]] == [CUP] and first["next_offset"] == 1
    assert [r["sku"] for r in second["items"]] == [TEA] and second["next_offset"] is None


def test_the_movement_ledger_lists_the_receipt_and_the_reservation(as_):
    answer = as_("P1").get(f"/api/v1/stock/movements?sku={CUP}")

    rows = [(r["event"], r["bin"], r["on_hand_before"], r["on_hand_after"], r["reserved_after"])
            for r in answer.json["items"]]
    assert rows == [("Received", "A-01-02", 0, 10, 0), ("Reserved", "A-01-02", 10, 10, 2)]


def test_stock_at_an_instant_is_replayed_with_the_events_behind_it(system, as_):
    client = as_("R1")
    before = datetime.now(timezone.utc).isoformat()
    client.post("/api/v1/stock/receive", json={"sku": CUP, "quantity": 5})

    then = client.get("/api/v1/stock/at", query_string={"sku": CUP, "at": before}).json
    now = client.get("/api/v1/stock/at", query_string={"sku": CUP, "at": datetime.now(timezone.utc).isoformat()})

    assert (then["on_hand"], then["reserved"], then["available"]) == (10, 2, 8)
    assert [e["event"] for e in then["events"]] == ["Stock.Opened", "Stock.Received", "Stock.Reserved"]
    assert now.json["on_hand"] == 15 and re.fullmatch(r"R1#[0-9a-f]{8}", now.json["events"][-1]["by"])  # the token


def test_the_orders_board_counts_orders_per_status_channel_and_shop(as_):
    answer = as_("P1").get("/api/v1/orders/counts").json

    assert answer["by_status"] == [{"status": "reserved", "orders": 2}]
    assert answer["by_shop"] == [{"channel": "taobao", "shop": "flagship", "orders": 2}]


def test_a_held_order_waits_on_the_exception_queue(system, as_):
    system.app.orders.hold_order(system.app.orders.find_order("taobao", "flagship", "T2").id, "address check", "S1")

    answer = as_("S1").get("/api/v1/orders/exceptions?kind=held").json

    assert [(r["kind"], r["platform_order_no"], r["open"]) for r in answer["items"]] == [("held", "T2", True)]


def test_finance_reads_show_each_order_sku_day_the_totals_and_the_stock_value(as_):
    client = as_("A1")

    orders = client.get("/api/v1/finance/orders").json["items"]
    skus = client.get(f"/api/v1/finance/skus?sku={CUP}").json["items"]
    days = client.get("/api/v1/finance/days").json["items"]
    totals = client.get("/api/v1/finance/totals").json
    valuation = client.get("/api/v1/finance/stock-valuation?warehouse=WH1").json

    assert [(o["platform_order_no"], o["paid"], o["revenue"]) for o in orders] == [("T1", "40.00", "40.00"),
                                                                                   ("T2", "20.00", "20.00")]
    assert [(s["sku"], s["units_ordered"], s["revenue"]) for s in skus] == [(CUP, 2, "40.00")]
    assert [(d["orders"], d["revenue"]) for d in days] == [(2, "60.00")]
    assert (totals["orders"], totals["revenue"]) == (2, "60.00")
    assert [(line["sku"], line["value"]) for line in valuation["lines"]] == [(CUP, "82.00"), (TEA, "710.00")]
    assert valuation["total"] == "792.00"


def test_crm_reads_show_the_customer_and_the_repeat_rate(as_):
    client = as_("A1")

    customers = client.get("/api/v1/crm/customers?channel=taobao").json["items"]
    rate = client.get("/api/v1/crm/repeat-rate").json

    assert [(c["orders"], c["spend"], c["segment"]) for c in customers] == [(2, "60.00", "promising")]
    assert rate == {"customers": 1, "repeat_customers": 1, "repeat_rate": "1.0000"}


def test_replenishment_flags_the_skus_below_safety_stock(as_):
    rows = as_("S1").get("/api/v1/replenishment").json["items"]

    assert {r["sku"]: (r["available"], r["breach"]) for r in rows} == {
        CUP: (8, True), TEA: (19, False), "PAN-ST-28": (0, True)}


def test_settlement_lists_a_bill_and_reconciles_it_against_the_orders(system, as_):
    system.app.orders.import_orders([order(TAOBAO_NO, (CUP, 1))], warehouse="WH1")
    bill = alipay_statement(
        alipay_line("5463001", TAOBAO_NO, "2026-11-25 10:02:06", "20.00", "0.00", "交易付款"),
        alipay_line("5463002", UNKNOWN_TAOBAO_NO, "2026-11-25 12:00:00", "88.00", "0.00", "交易付款"),
    )
    imported = import_bill(system.engine, "taobao", "flagship", bill, "statement.csv")
    client = as_("A1")

    bills = client.get("/api/v1/settlement/bills?channel=taobao").json["items"]
    result = client.get(f"/api/v1/settlement/bills/{imported['id']}/reconciliation").json

    assert [(b["id"], b["lines"]) for b in bills] == [(imported["id"], 2)]
    assert [(r["order_no"], r["status"], r["expected"]) for r in result["results"]] == [
        (TAOBAO_NO, "not_shipped", "20.00")]
    assert [(u["order_no"], u["amount"]) for u in result["unknown"]] == [(UNKNOWN_TAOBAO_NO, "88.00")]


def test_audit_reads_show_the_events_of_an_order_a_sku_and_a_bin_on_the_chain(system, as_):
    client = as_("A1")

    of_order = client.get(f"/api/v1/audit/orders/{order_id(system, 'T1')}/events").json["items"]
    of_sku = client.get(f"/api/v1/audit/skus/{TEA}/events?limit=2").json
    of_bin = client.get("/api/v1/audit/bins/A-01-02/events?warehouse=WH1").json["items"]
    head = client.get("/api/v1/audit/chain-head").json

    assert [e["event"] for e in of_order] == ["Order.Imported", "Stock.Reserved", "Order.Reserved"]
    assert all(e["hash"] for e in of_order) and "buyer" not in of_order[0]["data"]
    assert [e["event"] for e in of_sku["items"]] == ["Sku.Registered", "BarcodeClaim.Claimed"]
    assert of_sku["next_offset"] == 2
    assert [e["event"] for e in of_bin] == ["Stock.Received", "Stock.Reserved"]
    assert head["notification_id"] == events_recorded(system)


@pytest.mark.parametrize("path, status, code", [
    ("/api/v1/orders/counts?since=2026-13-01", 422, "invalid_date"),
    ("/api/v1/orders/counts?since=2026-11-12&until=2026-11-11", 422, "invalid_date"),
    ("/api/v1/stock?sku=NO-SUCH-SKU", 404, "unknown_sku"),
    ("/api/v1/stock?warehouse=WH9", 404, "unknown_warehouse"),
    ("/api/v1/stock/at?sku=CUP-GL-01&at=yesterday", 422, "invalid_filter"),
    ("/api/v1/stock/at?sku=CUP-GL-01", 422, "invalid_input"),
    ("/api/v1/stock/at?sku=CUP-GL-01&at=0001-01-01T00:00:00%2B14:00", 422, "invalid_filter"),
    ("/api/v1/stock/at?sku=CUP-GL-01&at=9999-12-31T23:59:59-14:00", 422, "invalid_filter"),
    ("/api/v1/stock/at?sku=CUP-GL-01&at=2026-11-11T20:00:00&bin=Z-99", 404, "unknown_bin"),
    ("/api/v1/orders/exceptions?kind=lost", 422, "invalid_filter"),
    ("/api/v1/crm/customers?segment=vip", 422, "invalid_filter"),
    ("/api/v1/stock?limit=0", 422, "invalid_filter"),
    ("/api/v1/stock?offset=-1", 422, "invalid_filter"),
    ("/api/v1/replenishment?window_days=abc", 422, "invalid_filter"),
    (f"/api/v1/audit/orders/{UNKNOWN_ORDER}/events", 404, "unknown_order"),
    ("/api/v1/audit/orders/not-an-id/events", 404, "unknown_order"),
    ("/api/v1/audit/bins/Z-99/events", 404, "unknown_bin"),
    ("/api/v1/settlement/bills/77/reconciliation", 404, "unknown_bill"),
])
def test_a_bad_filter_is_refused_with_a_clear_message_in_the_one_error_shape(as_, path, status, code):
    answer = as_("S1").get(path)

    assert answer.status_code == status
    assert answer.json["error"]["code"] == code and answer.json["error"]["message"]


# Commands


def test_received_units_land_in_the_receiving_bin_and_are_put_away(system, as_):
    receiver = as_("R1")

    received = receiver.post("/api/v1/stock/receive", json={"sku": TEA, "quantity": 6, "reference": "PO-7"})
    put = receiver.post("/api/v1/stock/put-away", json={"sku": TEA, "to_bin": "B-02-01", "quantity": 4})
    moved = receiver.post("/api/v1/stock/move", json={"sku": TEA, "from_bin": "B-02-01", "to_bin": "A-01-02",
                                                      "quantity": 1})

    assert received.status_code == put.status_code == moved.status_code == 200
    assert {b["bin"]: b["on_hand"] for b in received.json["bins"]} == {"A-01-01": 20, "RCV-01": 6}
    assert system.app.inventory.stock_levels("WH1", TEA) == {
        "A-01-01": {"on_hand": 20, "reserved": 1}, "A-01-02": {"on_hand": 1, "reserved": 0},
        "B-02-01": {"on_hand": 3, "reserved": 0}, "RCV-01": {"on_hand": 2, "reserved": 0}}


def test_a_count_books_the_difference_with_its_reason(system, as_):
    answer = as_("S1").post("/api/v1/stock/count", json={"sku": CUP, "bin": "A-01-02", "counted": 7,
                                                         "reason": "cycle count, shelf A"})

    assert answer.status_code == 200 and answer.json["difference"] == -3
    assert system.app.inventory.stock_levels("WH1", CUP)["A-01-02"]["on_hand"] == 7
    moved = as_("S1").get(f"/api/v1/stock/movements?sku={CUP}").json["items"][-1]
    assert (moved["event"], moved["reason"], moved["by"].partition("#")[0]) == ("Adjusted", "cycle count, shelf A", "S1")


def test_an_order_is_held_released_reserved_and_waved(system, as_):
    supervisor = as_("S1")
    t1, t2 = order_id(system, "T1"), order_id(system, "T2")

    held = supervisor.post(f"/api/v1/orders/{t1}/hold", json={"reason": "address check"})
    released = supervisor.post(f"/api/v1/orders/{t1}/release", json={})
    waved = supervisor.post("/api/v1/waves", json={"number": "W-API-1", "order_ids": [t2]})

    assert (held.json["status"], held.json["hold_reasons"]) == ("held", ["address check"])
    assert released.json["status"] == "released"
    assert waved.status_code == 200 and waved.json["orders"] == [t2]
    assert system.app.fulfilment.wave(UUID(waved.json["wave_id"])).number == "W-API-1"
    assert system.app.orders.find_order("taobao", "flagship", "T2").status == "waved"


def test_a_wave_without_named_orders_takes_every_reserved_order(system, as_):
    answer = as_("S1").post("/api/v1/waves", json={"number": "W-ALL", "warehouse": "WH1"})

    assert answer.status_code == 200
    assert sorted(answer.json["orders"]) == sorted([order_id(system, "T1"), order_id(system, "T2")])


def test_a_cancelled_order_releases_its_stock(system, as_):
    answer = as_("S1").post(f"/api/v1/orders/{order_id(system, 'T1')}/cancel", json={"reason": "buyer asked"})

    assert answer.status_code == 200 and answer.json["status"] == "cancelled"
    assert system.app.inventory.stock_levels("WH1", CUP)["A-01-02"] == {"on_hand": 10, "reserved": 0}


def test_a_refused_command_answers_with_its_domain_error(system, as_):
    moved = as_("R1").post("/api/v1/stock/move", json={"sku": CUP, "from_bin": "A-01-02", "to_bin": "B-02-01",
                                                       "quantity": 9})
    released = as_("S1").post(f"/api/v1/orders/{order_id(system, 'T1')}/release", json={})

    assert moved.status_code == 409 and moved.json["error"]["code"] == "bin_empty"
    assert released.status_code == 409 and released.json["error"]["code"] == "invalid_order_state"


@pytest.mark.parametrize("body", [
    None,
    "not json",
    [],
    {"quantity": 5},
    {"sku": TEA},
    {"sku": TEA, "quantity": "5"},
    {"sku": TEA, "quantity": 0},
    {"sku": TEA, "quantity": 5.5},
    {"sku": TEA, "quantity": True},
    {"sku": TEA, "quantity": 100_000},
    {"sku": "", "quantity": 5},
    {"sku": TEA, "quantity": 5, "colour": "red"},
    {"sku": TEA, "quantity": 5, "bin": "RCV\n01"},
])
def test_a_malformed_body_is_refused_and_changes_nothing(system, as_, body):
    client = as_("R1")
    before = events_recorded(system)

    if isinstance(body, str):
        answer = client.post("/api/v1/stock/receive", data=body, content_type="application/json")
    else:
        answer = client.post("/api/v1/stock/receive", json=body)

    assert answer.status_code == 422 and answer.json["error"]["message"]
    assert events_recorded(system) == before
    assert system.app.inventory.stock_levels("WH1", TEA) == {"A-01-01": {"on_hand": 20, "reserved": 1}}


# Tokens and roles


def test_without_a_token_every_operation_is_401_in_the_one_error_shape(web):
    client = web.test_client()

    for path, methods in PATHS.items():
        for method in methods:
            answer = client.open(path.replace("{", "").replace("}", ""), method=method.upper(), json={})
            assert answer.status_code == 401, (method, path)
            assert answer.json["error"]["code"] == "unauthorized"
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_is_401_and_never_echoed(web):
    client = web.test_client()
    forged = "S1.0badc0de." + "f" * 64

    answers = [client.get("/api/v1/stock", headers={"Authorization": f"Bearer {forged}"}),
               client.get("/api/v1/stock", headers={"Authorization": "Bearer S1"}),
               client.get("/api/v1/stock", headers={"Authorization": f"Basic {forged}"})]

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert all(forged not in a.get_data(as_text=True) for a in answers)


def test_a_revoked_token_is_refused(system, web):
    token = system.app.staff.issue_token("S1", "nightly export", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    client = web.test_client()
    accepted = client.get("/api/v1/stock", headers=headers)

    system.app.staff.revoke_token("S1", token.split(".")[1], "admin")
    refused = client.get("/api/v1/stock", headers=headers)

    assert accepted.status_code == 200
    assert refused.status_code == 401 and token not in refused.get_data(as_text=True)


def test_a_deactivated_badge_loses_its_tokens(system, as_):
    client = as_("R1")

    system.app.staff.change_staff("R1", "admin", active=False)

    assert client.get("/api/v1/stock").status_code == 401


def test_a_token_acts_with_its_holders_current_role(system, as_):
    client = as_("P1")
    refused = client.get("/api/v1/finance/totals")

    system.app.staff.change_staff("P1", "admin", role="supervisor")
    allowed = client.get("/api/v1/finance/totals")

    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_allowed"
    assert allowed.status_code == 200


def test_an_auditor_reads_but_every_command_is_403_and_changes_nothing(system, as_):
    auditor = as_("A1")
    before = events_recorded(system)
    commands = [(path, spec) for path, methods in PATHS.items() for method, spec in methods.items()
                if method == "post"]

    paths = [path.replace("{order_id}", order_id(system, "T1")).replace("{code}", TEA).replace("{number}", "PO-1")
             for path, _ in commands]
    answers = [auditor.post(path, json={}) for path in paths]

    assert len(commands) == 40  # … purchasing 7, the order desk's 6, merge, unmerge, split, review rules 3,
    # routing an order, transfers' 4 (draft, ship, receive, close), after-sales' replacement and reshipment
    assert [a.status_code for a in answers] == [403] * len(commands)
    assert all(a.json["error"]["code"] == "not_allowed" for a in answers)
    assert auditor.get("/api/v1/audit/chain-head").status_code == 200
    assert events_recorded(system) == before


def test_a_picker_may_not_receive_stock(system, as_):
    answer = as_("P1").post("/api/v1/stock/receive", json={"sku": TEA, "quantity": 1})

    assert answer.status_code == 403
    assert system.app.inventory.stock_levels("WH1", TEA)["A-01-01"]["on_hand"] == 20


def test_the_staff_token_command_prints_a_token_once_and_revoke_token_ends_it(system, web, sqlite_url, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("CANGKU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CANGKU_DATA_DIR", str(tmp_path))
    client = web.test_client()

    issued = CliRunner().invoke(staff, ["token", "S1", "--label", "ERP sync"])
    token = issued.output.strip()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    accepted = client.get("/api/v1/stock")
    listed = CliRunner().invoke(staff, ["tokens", "S1"])
    revoked = CliRunner().invoke(staff, ["revoke-token", "S1", token.split(".")[1]])
    refused = client.get("/api/v1/stock")

    assert issued.exit_code == 0 and token.startswith("S1.")
    assert accepted.status_code == 200
    assert listed.output.split() == [token.split(".")[1], "ERP", "sync"] and token.split(".")[2] not in listed.output
    assert revoked.exit_code == 0 and refused.status_code == 401


def test_the_old_stock_address_redirects_to_the_api(web):
    answer = web.test_client().get(f"/api/stock?sku={CUP}")

    assert answer.status_code == 308 and answer.headers["Location"] == f"/api/v1/stock?sku={CUP}"


# The document


def test_every_api_route_is_in_the_openapi_document_and_every_documented_path_is_a_route(web):
    document = web.test_client().get("/api/v1/openapi.json").json
    routes = {(rule.rule, method.lower()) for rule in web.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") for method in rule.methods - {"HEAD", "OPTIONS"}}

    documented = {(path.replace("{", "<").replace("}", ">"), method)
                  for path, methods in document["paths"].items() for method in methods}

    assert routes == documented
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert document["components"]["schemas"]["Error"]["properties"]["error"]["required"] == ["code", "message"]
