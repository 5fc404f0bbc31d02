"""The back-office pages over HTTP (Flask test client) on the SQLite file store, with a busy day of real orders."""

import csv
import io
import re
import sqlite3
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from projections import finance
from projections.backoffice import BUSINESS_TIME, business_day
from projections.settlement import bills
from scanner_ui import create_app
from scanner_ui.backoffice import BACKLOG
from tests.builders import PAN, TEA
from tests.unit.test_backoffice_finance import NUMBERS, busy_day
from tests.unit.test_backoffice_settlement import alipay_line, alipay_statement

PIN = "2468"
T100, T101, T102, J200 = (NUMBERS[n] for n in ("T100", "T101", "T102", "J200"))
BUYER_DATA = ("王小明", "13812345678", "文三路")


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    system.placed = busy_day(system)
    for badge, role in (("S1", "supervisor"), ("A1", "auditor"), ("M1", "admin"), ("P1", "picker")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    system.catch_up()
    return system


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True})


def signed_in(web, badge: str):
    client = web.test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = f"desk-{badge}"
    assert client.post("/login", data={"badge": badge, "pin": PIN}).status_code == 303
    return client


@pytest.fixture
def supervisor(web):
    return signed_in(web, "S1")


def table_rows(html: str, name: str) -> list[list[str]]:
    """The cells' text of each body row of a page's data table."""
    body = re.search(rf'<table class="data" id="{name}-table">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr(?! class=\"empty\")[^>]*>(.*?)</tr>", body, re.S)]


def yuan_text(amount: Decimal) -> str:
    """An amount as the office shows it to a Chinese reader: -¥1,234.50."""
    return f"{'-' if amount < 0 else ''}¥{abs(amount):,}"


def figure(html: str, key: str) -> str:
    return re.search(rf'<dd data-key="{key}">(?:<a [^>]*>)?([^<]*)<', html).group(1).strip()


def test_every_back_office_page_shows_the_day_s_figures(supervisor):
    pages = {
        "/office/orders": ["已发货", "taobao", "jd-store"],
        "/office/exceptions": ["等待库存", NUMBERS["T103"]],
        "/office/finance/orders": [T100, "102.00", "18.60"],
        "/office/finance/skus": [TEA, PAN, "129.00"],
        "/office/finance/days": ["2026-11-11", "毛利"],
        "/office/finance/stock": [TEA, "金额 (元)"],
        "/office/customers": ["复购率", "66.7%"],
        "/office/replenishment": [PAN, "建议采购"],
        "/office/stock": ["A-01-01", "RET-01"],
        "/office/movements": ["Received", "Shipped"],
        "/office/settlement": ["上传平台结算账单"],
        "/office/audit": ["查询对象"],
        "/office/audit/stock": ["时刻"],
        "/office/audit/chain": ["链头哈希"],
    }

    answers = {path: supervisor.get(path) for path in pages}

    for path, expected in pages.items():
        text = answers[path].get_data(as_text=True)
        assert answers[path].status_code == 200, path
        assert all(word in text for word in expected), (path, [w for w in expected if w not in text])
        assert not any(secret in text for secret in BUYER_DATA), path


def test_the_dashboard_draws_its_charts_as_inline_svg_with_a_series_per_channel(supervisor):
    shipped_on = business_day(datetime.now(BUSINESS_TIME))

    page = supervisor.get(f"/office/?since=2026-11-10&until={shipped_on}").get_data(as_text=True)

    days = (datetime.fromisoformat(shipped_on) - datetime(2026, 11, 10)).days + 1
    sales = re.search(r'<svg id="sales-svg".*?</svg>', page, re.S).group(0)
    taobao = re.search(r'data-series="taobao".*?</g>', sales, re.S).group(0)
    assert re.findall(r'data-series="([^"]+)"', sales) == ["jd", "taobao"]
    assert len(re.findall("<circle", taobao)) == days
    # Taobao's 11.11 revenue: 102 + 129 + 69 + 1290 + 45 (T105's 12 was cancelled).
    assert 'data-day="2026-11-11" data-value="1635.00"' in taobao
    margin = re.search(r'<svg id="margin-svg".*?</svg>', page, re.S).group(0)
    assert len(re.findall("<rect", margin)) == days
    backlog = re.search(r'<svg id="backlog-svg".*?</svg>', page, re.S).group(0)
    assert re.findall(r'data-label="([^"]+)"', backlog) == list(BACKLOG)
    assert 'data-label="awaiting_stock" data-value="1"' in backlog
    assert '<svg id="stock_value-svg"' in page and '<svg id="exceptions-svg"' in page
    assert "<script" not in page and "http" not in re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", page)
    assert figure(page, "orders") == "6"  # seven ordered, T105 cancelled


def test_a_filter_narrows_a_table_and_paging_walks_through_it(supervisor):
    jd = supervisor.get("/office/finance/orders?channel=jd").get_data(as_text=True)
    second = supervisor.get("/office/finance/orders?channel=taobao&size=2&page=2").get_data(as_text=True)
    past_the_end = supervisor.get("/office/finance/orders?size=2&page=9")

    assert [row[3] for row in table_rows(jd, "finance-orders")] == [J200]
    assert [row[3] for row in table_rows(second, "finance-orders")] == [T102, NUMBERS["T103"]]
    assert "第 2 / 3 页" in second and 'rel="next"' in second and 'rel="prev"' in second
    assert past_the_end.status_code == 422 and "past the last page (4)" in past_the_end.get_data(as_text=True)


def test_a_bad_date_is_refused_with_422_and_the_reason(supervisor):
    dashboard = supervisor.get("/office/?since=2026-13-01")
    backwards = supervisor.get("/office/finance/orders?since=2026-11-12&until=2026-11-11")
    ledger = supervisor.get("/office/movements?until=yesterday")

    assert dashboard.status_code == 422 and "&#39;2026-13-01&#39; is not a day" in dashboard.get_data(as_text=True)
    assert backwards.status_code == 422 and "until 2026-11-11 is before since 2026-11-12" in backwards.get_data(
        as_text=True)
    assert ledger.status_code == 422 and "日期无效" in ledger.get_data(as_text=True)


def test_unknown_ids_are_named_with_404_never_a_server_error(supervisor):
    answers = {path: supervisor.get(path) for path in (
        "/office/audit?subject=order&value=taobao/flagship/404", "/office/audit?subject=sku&value=NOPE-1",
        "/office/audit?subject=bin&value=Z-99", "/office/audit?subject=staff&value=ZZ9",
        "/office/finance/skus?sku=NOPE-1", "/office/settlement/999", "/office/audit/stock?sku=NOPE-1&at=2026-11-11",
        "/office/audit/stock?sku=TEA-LJ-250&bin=Z-99&at=2026-11-11T20:00", "/office/stock?warehouse=WH9",
        "/office/stock?bin=Z-99", "/office/movements?sku=NOPE-1", "/office/finance/stock?warehouse=WH9")}

    assert {path: a.status_code for path, a in answers.items()} == {path: 404 for path in answers}
    assert "unknown badge &#39;ZZ9&#39;" in answers["/office/audit?subject=staff&value=ZZ9"].get_data(as_text=True)
    assert "unknown bill 999" in answers["/office/settlement/999"].get_data(as_text=True)


def test_a_csv_export_is_an_attachment_with_every_filtered_row(system, supervisor):
    answer = supervisor.get("/office/finance/orders?channel=taobao&size=2&format=csv")

    rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
    expected = finance.orders_finance(system.engine, channel="taobao")
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="finance-orders-')
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert [r["platform_order_no"] for r in rows] == [o["platform_order_no"] for o in expected]
    assert len(rows) == 6 and rows[0]["revenue"] == "102.00" and rows[0]["margin"] == "18.60"


def test_an_xlsx_export_opens_in_a_spreadsheet_with_the_rows(supervisor):
    from openpyxl import load_workbook

    answer = supervisor.get("/office/customers?format=xlsx")

    sheet = load_workbook(io.BytesIO(answer.data)).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert answer.headers["Content-Disposition"].endswith('.xlsx"')
    assert header[:4] == ["buyer_ref", "channel", "shop", "orders"]
    # buyer_li's cancelled order is no purchase: two orders, not three.
    assert sorted((r[1], r[3]) for r in rows) == [("jd", 1), ("taobao", 2), ("taobao", 3)]
    assert not any(secret in str(cell) for r in rows for cell in r for secret in BUYER_DATA)


def test_an_auditor_reads_every_page_but_cannot_upload_a_bill(web, system):
    auditor = signed_in(web, "A1")
    bill = alipay_statement(alipay_line("1", T100, "2026-11-25 10:02:06", "101.00", "0.00", "交易付款"))

    page = auditor.get("/office/settlement")
    upload = auditor.post("/office/settlement", data={"channel": "taobao", "shop": "flagship",
                                                      "file": (io.BytesIO(bill), "bill.csv")})

    assert page.status_code == 200 and 'id="upload"' not in page.get_data(as_text=True)
    assert "只读" in page.get_data(as_text=True)
    assert upload.status_code == 403 and bills(system.engine) == []


def test_floor_staff_are_refused_and_strangers_are_sent_to_sign_in(web):
    picker = signed_in(web, "P1")

    refused = picker.get("/office/finance/orders")
    export = picker.get("/office/finance/orders?format=csv")
    stranger = web.test_client().get("/office/")

    assert refused.status_code == 403 and "你的角色不能使用此界面" in refused.get_data(as_text=True)
    assert export.status_code == 403 and T100 not in export.get_data(as_text=True)
    assert stranger.status_code == 302 and stranger.headers["Location"].startswith("/login?next=/office/")


def test_a_bill_with_a_bad_line_shows_the_line_and_reason_and_imports_nothing(system, supervisor):
    bill = alipay_statement(
        alipay_line("1", T100, "2026-11-25 10:02:06", "101.00", "0.00", "交易付款"),
        alipay_line("2", T102, "2026-11-25 10:02:06", "4O.00", "0.00", "交易付款"))

    answer = supervisor.post("/office/settlement", data={"channel": "taobao", "shop": "flagship",
                                                         "file": (io.BytesIO(bill), "bill.csv")})

    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(r"<td class=\"number\">7</td><td>收入金额 &#39;4O.00&#39; is not an amount</td>", page)
    assert "账单未导入" in page and bills(system.engine) == []


def test_an_uploaded_bill_is_reconciled_order_by_order(system, supervisor):
    bill = alipay_statement(
        alipay_line("5463001", T100, "2026-11-25 10:02:06", "101.00", "0.00", "交易付款"),
        alipay_line("5463003", T102, "2026-11-25 11:31:32", "40.00", "0.00", "交易付款"),
        alipay_line("5463005", "3999999999999999999", "2026-11-25 12:00:00", "88.00", "0.00", "交易付款"))

    answer = supervisor.post("/office/settlement", data={"channel": "taobao", "shop": "flagship",
                                                         "file": (io.BytesIO(bill), "bill.csv")})
    page = supervisor.get(answer.headers["Location"]).get_data(as_text=True)
    short = supervisor.get(answer.headers["Location"] + "?status=short_paid").get_data(as_text=True)

    [imported] = bills(system.engine)
    assert answer.status_code == 303 and answer.headers["Location"] == f"/office/settlement/{imported['id']}"
    assert {row[1]: row[0] for row in table_rows(page, f"bill-{imported['id']}")} == {
        T100: "已匹配", T101: "账单缺失", T102: "少付", "3999999999999999999": "未知订单"}
    assert [row[:2] + row[5:6] for row in table_rows(short, f"bill-{imported['id']}")] == [["少付", T102, "-¥29.00"]]


def test_the_events_behind_an_order_and_a_person_hide_buyer_data_and_secrets(system, supervisor):
    order = supervisor.get(f"/office/audit?subject=order&value=taobao/flagship/{T101}").get_data(as_text=True)
    person = supervisor.get("/office/audit?subject=staff&value=S1").get_data(as_text=True)
    narrowed = supervisor.get(f"/office/audit?subject=order&value=taobao/flagship/{T101}&until=2000-01-01")

    events = [row[2] for row in table_rows(order, "events")]
    assert len(events) == 18 and events[0] == "Order.Imported" and "Order.ReturnReceived" in events
    assert "Order.Refunded" in events
    assert not any(secret in order for secret in BUYER_DATA)
    assert [row[2] for row in table_rows(person, "events")] == ["Staff.Registered", "Device.Scanned"]
    assert "pin_hash" not in person and "scrypt" not in person
    assert table_rows(narrowed.get_data(as_text=True), "events") == []


def test_the_stock_of_a_bin_at_an_instant_is_replayed_with_the_events_behind_it(system, supervisor):
    now = datetime.now(BUSINESS_TIME)
    replayed = system.app.inventory.stock_at("WH1", PAN, now, "B-02-01")
    before = (now - timedelta(days=3650)).replace(tzinfo=None).isoformat(timespec="seconds")

    page = supervisor.get("/office/audit/stock", query_string={"sku": PAN, "bin": "B-02-01", "at": now.isoformat()})
    empty = supervisor.get("/office/audit/stock", query_string={"sku": PAN, "bin": "B-02-01", "at": before})
    bad = supervisor.get(f"/office/audit/stock?sku={PAN}&at=last+week")

    page, empty = page.get_data(as_text=True), empty.get_data(as_text=True)
    rows = re.findall(r"<tr><td class=\"number\">\d+</td><td>[^<]*</td><td>([^<]+)</td>", page)
    assert figure(page, "on_hand") == str(replayed["on_hand"]) == "2"
    assert rows == [e["event"] for e in replayed["events"]] and rows[0] == "Stock.Received"
    assert figure(empty, "on_hand") == "0" and "没有数据" in empty
    assert bad.status_code == 422 and "&#39;last week&#39; is not a time" in bad.get_data(as_text=True)


def test_verifying_the_chain_names_the_first_altered_event(system, supervisor, sqlite_url):
    intact = supervisor.get("/office/audit/chain?verify=1").get_data(as_text=True)
    with sqlite3.connect(sqlite_url[len("sqlite:///"):]) as conn:
        [(state,)] = conn.execute("SELECT state FROM stored_events WHERE rowid = 5").fetchall()
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = 5", (state[:-1] + bytes([state[-1] ^ 1]),))

    broken = supervisor.get("/office/audit/chain?verify=1").get_data(as_text=True)

    assert "审计链完整" in intact and figure(intact, "notification_id") == str(
        system.app.store.recorder.max_notification_id())
    assert "审计链被破坏" in broken and "被篡改" in broken
    assert re.search(r'id="verdict".*?<dd data-key="notification_id">5</dd>', broken, re.S)


def test_the_pages_speak_english_when_asked(supervisor):
    supervisor.get("/lang/en?next=/office/")

    page = supervisor.get("/office/finance/days").get_data(as_text=True)

    assert "Finance per day" in page and "Cost of goods" in page and "每日财务" not in page


def test_money_in_a_table_matches_the_view(system, supervisor):
    page = supervisor.get("/office/finance/days?since=2026-11-11&until=2026-11-11").get_data(as_text=True)

    [day] = table_rows(page, "finance-days")
    [expected] = finance.daily_finance(system.engine, "2026-11-11", "2026-11-11")
    assert day[0] == "2026-11-11" and day[2] == yuan_text(expected["revenue"]) and day[-2] == yuan_text(expected["margin"])


def test_a_view_stuck_on_an_event_is_on_the_exception_queue_with_the_event_and_the_error(system, supervisor):
    from projections.tracking import ProjectionRunner
    from tests.unit.test_stuck_views import SkusSeen

    system.app.catalogue.register_sku("BAD-2", "一个视图装不下的商品")
    runner = ProjectionRunner(system.app.store, system.engine, SkusSeen(), batch_size=100)
    runner.setup()
    system.runners["skus_seen"] = runner
    system.fresh("skus_seen")  # as its follower thread would

    page = supervisor.get("/office/exceptions?kind=view").get_data(as_text=True)
    everything = supervisor.get("/office/exceptions").get_data(as_text=True)

    [row] = table_rows(page, "exceptions")
    assert row[0] == "view" and row[3] == "skus_seen"
    assert "Sku.Registered" in row[4] and "ValueError: cannot hold BAD-2" in row[4]
    assert "skus_seen" in everything and len(table_rows(everything, "exceptions")) > 1


def test_the_dashboard_names_a_shop_whose_merchant_must_authorise_it_again(system, supervisor):
    system.app.channels.require_reauthorisation("douyin", "tea-house", "isv.access-token-expired access_token已过期")
    system.jobs = SimpleNamespace(shops={("douyin", "tea-house"): None, ("jd", "main"): None})

    page = supervisor.get("/office/").get_data(as_text=True)

    assert table_rows(page, "shops-to-authorise") == [
        ["douyin", "tea-house", "isv.access-token-expired access_token已过期"]]


def test_a_supervisor_authorises_a_shop_through_the_platforms_consent_page(system, supervisor, web):
    import httpx

    from adapters.marketplaces.simulators import SIMULATORS
    from tests.marketplaces import client_of, credentials_of

    with SIMULATORS["douyin"](shop="tea-house") as sim:
        client = client_of(sim, credentials=credentials_of(sim, access_token=""), oauth_url=sim.root)
        system.jobs = SimpleNamespace(shops={("douyin", "tea-house"): client})

        started = supervisor.post("/office/shops/douyin/tea-house/authorise")
        consent = httpx.get(started.headers["Location"])
        back = consent.headers["Location"]
        forged = signed_in(web, "M1").get(back.replace("state=", "state=x"))
        done = supervisor.get(back.removeprefix("http://localhost"))
        page = supervisor.get("/office/shops").get_data(as_text=True)

        kept = system.app.channels.shop("douyin", "tea-house").tokens
        assert sim.grants[kept.access_token].shop == "tea-house"
        assert started.status_code == 303 and started.headers["Location"].startswith(sim.root + "/authorize?")
    assert back.startswith("http://localhost/office/shops/authorised?")
    assert forged.status_code == 422
    assert done.status_code == 303 and done.headers["Location"].endswith("/office/shops")
    [row] = table_rows(page, "shops")
    assert row[:2] == ["douyin", "tea-house"] and row[2].startswith("已授权")
