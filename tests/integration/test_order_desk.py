"""The order desk over HTTP (Flask test client) on the SQLite file store, with a busy day of real orders: finding
orders, an order's page and timeline, actions alone and in bulk, roles, and the same through the API."""

import csv
import io
import sqlite3

import pytest

from domain.order import Order
from scanner_ui import create_app
from tests.integration.test_backoffice_pages import PIN, signed_in
from tests.unit.test_backoffice_finance import NUMBERS, busy_day

T100, T102, T103, T104, T105, J200 = (NUMBERS[n] for n in ("T100", "T102", "T103", "T104", "T105", "J200"))


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url, cipher_key="MDEyMzQ1Njc4OWFiY2RlZg==")
    system.placed = busy_day(system)
    for badge, role in (("S1", "supervisor"), ("A1", "auditor"), ("P1", "picker")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    system.catch_up()
    return system


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True})


@pytest.fixture
def supervisor(web):
    return signed_in(web, "S1")


def listed(client, **query) -> list[str]:
    """The platform order numbers the list shows, in its order."""
    answer = client.get("/office/orders", query_string=query)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    html = answer.get_data(as_text=True)
    return [part.split('"', 1)[0] for part in html.split('<tr data-order="')[1:]]


def event_names(system, order_id) -> list[str]:
    return [type(e).__name__ for e in system.app.store.events.get(order_id)]


def test_an_order_is_found_by_its_number_its_tracking_number_the_buyer_s_nickname_or_phone(supervisor):
    assert listed(supervisor, q=T100) == [T100]
    assert listed(supervisor, q="SF14W3") == [T102]
    assert set(listed(supervisor, q="jd_zhao")) == {J200}
    by_phone = set(listed(supervisor, q="+86 138-1234-5678"))
    assert {T100, T102, T103, T104, T105} <= by_phone and J200 in by_phone
    assert listed(supervisor, q="13900000000") == []


def test_the_view_keeps_buyers_only_as_keyed_hashes(system, sqlite_url):
    views = sqlite_url.removeprefix("sqlite:///").replace("cangku.sqlite", "cangku-views.sqlite")
    with sqlite3.connect(views) as db:
        dumped = "\n".join(db.iterdump())

    assert "13812345678" not in dumped and "王小明" not in dumped and "buyer_wang" not in dumped


def test_the_list_filters_by_status_channel_sku_exception_courier_and_day_and_sorts(supervisor):
    assert listed(supervisor, status="held") == [T104]
    assert listed(supervisor, channel="jd") == [J200]
    assert set(listed(supervisor, sku="PAN-ST-28")) == {NUMBERS["T101"], T103}
    assert listed(supervisor, exception="awaiting_stock") == [T103]
    assert set(listed(supervisor, courier="SF")) == {T100, NUMBERS["T101"], T102, J200}
    assert len(listed(supervisor, since="2026-11-11", until="2026-11-11")) == 7
    assert listed(supervisor, since="2026-11-12") == []
    by_paid = listed(supervisor, sort="-paid")
    assert by_paid[0] == T103 and by_paid[-1] == T105
    assert listed(supervisor, size=2, sort="order") == sorted(NUMBERS.values())[:2]
    assert listed(supervisor, size=2, page=2, sort="order") == sorted(NUMBERS.values())[2:4]


def test_a_malformed_filter_or_a_page_past_the_last_is_refused_by_name(supervisor):
    answer = supervisor.get("/office/orders", query_string={"status": "lost"})
    past = supervisor.get("/office/orders", query_string={"page": "3", "size": "25"})
    far = supervisor.get("/office/orders", query_string={"page": "9" * 30})

    assert answer.status_code == 422 and "lost" in answer.get_data(as_text=True)
    assert past.status_code == 422 and "past the last page (1)" in past.get_data(as_text=True)
    assert far.status_code == 422


def test_the_export_holds_the_whole_filtered_set(supervisor):
    answer = supervisor.get("/office/orders", query_string={"courier": "SF", "format": "csv", "size": 1})

    rows = list(csv.DictReader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    assert sorted(r["platform_order_no"] for r in rows) == sorted([T100, NUMBERS["T101"], T102, J200])
    assert answer.headers["Content-Disposition"].endswith('.csv"')


def test_the_order_page_shows_lines_amounts_the_masked_buyer_the_parcel_and_the_timeline(supervisor, system):
    html = supervisor.get(f"/office/orders/{system.placed['T100']}").get_data(as_text=True)

    assert "¥101.00" in html and "¥3.20" in html  # paid, platform fee
    assert "TEA-LJ-250" in html and "SF14W1" in html
    assert "王小明" not in html and "13812345678" not in html and "138****5678" in html
    for event in ("Imported", "Reserved", "Waved", "ItemPicked", "Packed", "WaybillAssigned", "HandedOver",
                  "Shipped"):
        assert f'data-event="{event}"' in html


def test_seeing_the_buyer_unmasked_is_recorded_with_who_and_why(supervisor, system):
    order_id = system.placed["T100"]

    html = supervisor.post(f"/office/orders/{order_id}/buyer", data={"purpose": "buyer called about parcel"}
                           ).get_data(as_text=True)

    assert "王小明" in html and "13812345678" in html
    [revealed] = [e for e in system.app.store.events.get(order_id) if isinstance(e, Order.BuyerRevealed)]
    assert (revealed.by, revealed.purpose) == ("S1", "buyer called about parcel")


def test_hold_release_cancel_note_and_address_each_record_one_event(supervisor, system):
    order_id = system.placed["T103"]  # awaiting stock
    before = len(event_names(system, order_id))

    assert supervisor.post(f"/office/orders/{order_id}/hold", data={"reason": "buyer called"}).status_code == 303
    assert supervisor.post(f"/office/orders/{order_id}/release").status_code == 303
    assert supervisor.post(f"/office/orders/{order_id}/note", data={"text": "call back at 5"}).status_code == 303
    assert supervisor.post(f"/office/orders/{order_id}/address", data={
        "name": "李四", "phone": "13900001111", "province": "浙江省", "city": "杭州市", "district": "滨江区",
        "address": "网商路 699 号"}).status_code == 303
    assert supervisor.post(f"/office/orders/{order_id}/cancel", data={"reason": "out of stock"}).status_code == 303

    assert event_names(system, order_id)[before:] == ["Held", "Released", "NoteAdded", "AddressChanged",
                                                      "Cancelled"]
    html = supervisor.get(f"/office/orders/{order_id}").get_data(as_text=True)
    assert "call back at 5" in html and 'data-status="cancelled"' in html
    assert listed(supervisor, q="13900001111") == [T103]


def test_an_action_the_order_s_state_does_not_allow_is_refused_with_the_reason_and_changes_nothing(supervisor,
                                                                                                    system):
    order_id = system.placed["T100"]  # shipped
    before = event_names(system, order_id)

    held = supervisor.post(f"/office/orders/{order_id}/hold", data={"reason": "late"})
    moved = supervisor.post(f"/office/orders/{order_id}/address", data={
        "name": "李四", "phone": "13900001111", "province": "浙江省", "address": "网商路 699 号"})
    blank = supervisor.post(f"/office/orders/{system.placed['T103']}/hold", data={"reason": " "})

    assert held.status_code == 409 and f"订单 {T100} 当前状态为 已发货, 不能执行 (hold)" in held.get_data(as_text=True)
    assert moved.status_code == 409 and "can no longer change" in moved.get_data(as_text=True)
    assert blank.status_code == 422 and "needs a reason" in blank.get_data(as_text=True)
    assert event_names(system, order_id) == before


def test_a_label_reprint_is_asked_for_a_waybilled_parcel_and_refused_without_one(supervisor, system):
    shipped, waiting = system.placed["T100"], system.placed["T103"]

    asked = supervisor.post(f"/office/orders/{shipped}/reprint", data={"reason": "torn label"})
    refused = supervisor.post(f"/office/orders/{waiting}/reprint", data={"reason": "torn label"})

    assert asked.status_code == 303
    assert refused.status_code == 409 and "pick it first" in refused.get_data(as_text=True)
    html = supervisor.get(f"/office/orders/{shipped}").get_data(as_text=True)
    assert "torn label" in html


def test_a_bulk_action_does_what_each_order_allows_and_says_why_the_others_were_refused(supervisor, system):
    chosen = [str(system.placed["T103"]), str(system.placed["T100"])]

    answer = supervisor.post("/office/orders/bulk", data={"action": "hold", "reason": "audit", "order_id": chosen})

    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f'<tr class="done"><td><a href="/office/orders/{chosen[0]}">{T103}</a>' in html
    assert "当前状态为 已发货, 不能执行 (hold)" in html
    assert event_names(system, system.placed["T103"])[-1] == "Held"


def test_an_auditor_sees_the_desk_but_cannot_act_and_a_picker_is_refused(web, system):
    auditor, picker = signed_in(web, "A1"), signed_in(web, "P1")
    order_id = system.placed["T103"]

    assert listed(auditor, q=T103) == [T103]
    page = auditor.get(f"/office/orders/{order_id}").get_data(as_text=True)
    assert 'id="hold-form"' not in page and 'id="reveal-form"' not in page
    assert auditor.post(f"/office/orders/{order_id}/hold", data={"reason": "x"}).status_code == 403
    assert auditor.post(f"/office/orders/{order_id}/buyer", data={"purpose": "x"}).status_code == 403
    assert picker.get("/office/orders").status_code == 403
    assert picker.get(f"/office/orders/{order_id}").status_code == 403
    assert event_names(system, order_id)[-1] != "Held"


def test_an_action_posted_from_another_site_is_refused(supervisor, system):
    order_id = system.placed["T103"]

    answer = supervisor.post(f"/office/orders/{order_id}/hold", data={"reason": "x"},
                             headers={"Sec-Fetch-Site": "cross-site"})

    assert answer.status_code == 403
    assert event_names(system, order_id)[-1] != "Held"


def test_amounts_are_written_for_the_reader_s_language(supervisor, system):
    system.app.orders.import_orders([_big_order()], warehouse="WH1")
    system.catch_up()

    chinese = supervisor.get("/office/orders", query_string={"q": "BIG-1"}).get_data(as_text=True)
    supervisor.set_cookie("lang", "en")
    english = supervisor.get("/office/orders", query_string={"q": "BIG-1"}).get_data(as_text=True)

    assert "¥1,551,197.88" in chinese and "1551197.88" not in chinese
    assert "CN¥1,551,197.88" in english


def _big_order():
    from tests.unit.test_backoffice_finance import priced_order

    return priced_order("BIG-1", ("CUP-GL-01", 2, "775598.94"))


# The same through the API

@pytest.fixture
def api(web, system):
    def call(badge: str, method: str, path: str, headers_extra: dict | None = None, **kwargs):
        token = system.app.staff.issue_token(badge, "desk", "admin")
        client = web.test_client()
        return client.open(f"/api/v1{path}", method=method,
                           headers={"Authorization": f"Bearer {token}", **(headers_extra or {})}, **kwargs)

    return call


def test_the_api_lists_orders_with_the_desk_s_filters_and_counts_them(api):
    found = api("A1", "GET", "/orders", query_string={"courier": "SF", "sort": "order", "limit": 2})

    body = found.get_json()
    assert found.status_code == 200
    assert body["total"] == 4 and [o["platform_order_no"] for o in body["items"]] == sorted(
        [T100, NUMBERS["T101"], T102, J200])[:2]
    assert body["next_offset"] == 2
    assert api("A1", "GET", "/orders", query_string={"q": "SF14W1"}).get_json()["items"][0]["platform_order_no"] == T100


def test_the_api_shows_an_order_with_its_timeline_and_acts_on_it_by_role(api, system):
    order_id = system.placed["T103"]

    noted = api("S1", "POST", f"/orders/{order_id}/notes", json={"text": "ring the buyer"})
    refused = api("A1", "POST", f"/orders/{order_id}/notes", json={"text": "x"})
    detail = api("A1", "GET", f"/orders/{order_id}").get_json()
    bulk = api("S1", "POST", "/orders/bulk", json={"action": "cancel", "reason": "no stock",
                                                    "order_ids": [str(order_id), str(system.placed["T100"])]})

    assert noted.status_code == 200 and refused.status_code == 403
    assert detail["order"]["buyer"]["masked"] is True and detail["order"]["buyer"]["phone"] == "138****5678"
    assert [e["event"] for e in detail["timeline"]][-1] == "NoteAdded"
    assert [(r["done"], r["code"]) for r in bulk.get_json()["results"]] == [(True, ""), (False, "invalid_order_state")]


def test_an_api_refusal_is_told_in_the_language_the_caller_asks_for(api, system):
    shipped = system.placed["T100"]

    chinese = api("S1", "POST", f"/orders/{shipped}/hold", json={"reason": "late"},
                  headers_extra={"Accept-Language": "zh-CN,zh;q=0.9"})
    english = api("S1", "POST", f"/orders/{shipped}/hold", json={"reason": "late"},
                  headers_extra={"Accept-Language": "en-GB"})
    plain = api("S1", "POST", f"/orders/{shipped}/hold", json={"reason": "late"})

    assert chinese.status_code == 409
    assert chinese.get_json()["error"]["message"].startswith(f"订单状态不允许此操作：订单 {T100} 当前状态为 已发货")
    assert english.get_json()["error"]["message"].startswith("The order is not at this step: order")
    assert plain.get_json()["error"]["message"].startswith(f"order {T100} is shipped; cannot hold")


def test_the_import_report_is_written_in_the_language_set(tmp_path, monkeypatch, sqlite_url):
    from click.testing import CliRunner

    from cangku.cli import main

    bad = tmp_path / "skus.csv"
    bad.write_text("code,name,barcodes,unit_weight_g,unit_cost,safety_stock\nTEA-1,茶,,x,1.00,0\n", encoding="utf-8")
    monkeypatch.setenv("CANGKU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CANGKU_DATA_DIR", str(tmp_path))

    monkeypatch.setenv("CANGKU_LANGUAGE", "zh-CN")
    chinese = CliRunner().invoke(main, ["import", "skus", str(bad)])
    monkeypatch.setenv("CANGKU_LANGUAGE", "en")
    english = CliRunner().invoke(main, ["import", "skus", str(bad)])

    assert chinese.exit_code == 1 and "没有导入任何内容" in chinese.output and "第 2 行: unit_weight_g" in chinese.output
    assert english.exit_code == 1 and "Nothing was imported" in english.output and "line 2: unit_weight_g" in english.output


def test_an_order_of_a_kit_is_found_by_each_of_the_kit_s_skus(supervisor, system):
    from decimal import Decimal

    from domain.order import OrderLine
    from tests.unit.test_backoffice_finance import priced_order

    system.app.channels.map_listing("taobao", "flagship", "KIT-TEA-SET", {"TEA-LJ-250": 1, "CUP-GL-01": 2})
    kit = priced_order("KIT-1", ("PAN-ST-28", 1, "1.00"))
    kit = type(kit)(**{**vars(kit), "lines": [OrderLine(1, "KIT-TEA-SET", "", "茶具套装", 1, Decimal("88.00"))]})
    system.app.orders.import_orders([kit], warehouse="WH1")
    system.catch_up()

    assert "KIT-1" in listed(supervisor, sku="CUP-GL-01") and "KIT-1" in listed(supervisor, sku="TEA-LJ-250")
    assert "KIT-1" not in listed(supervisor, sku="PAN-ST-28")


def test_a_shop_whose_merchant_forbids_decryption_shows_its_buyers_masked_even_to_a_recorded_look(supervisor, system):
    from types import SimpleNamespace

    order_id = system.placed["T100"]
    order = system.app.orders.order(order_id)
    system.jobs = SimpleNamespace(shops={(order.channel, order.shop): None})

    set_it = supervisor.post(f"/office/shops/{order.channel}/{order.shop}/decryption", data={"forbidden": "1"})
    shops = supervisor.get("/office/shops").get_data(as_text=True)
    html = supervisor.post(f"/office/orders/{order_id}/buyer", data={"purpose": "buyer called about parcel"}
                           ).get_data(as_text=True)

    assert set_it.status_code == 303 and "商家已禁止" in shops and "允许解密" in shops
    assert "王小明" not in html and "13812345678" not in html and 'id="decryption-forbidden"' in html
    assert 'id="reveal-form"' not in html
    assert [e.by for e in system.app.store.events.get(order_id) if isinstance(e, Order.BuyerRevealed)] == ["S1"]
    assert system.app.channels.decryption_forbidden(order.channel, order.shop)


def test_the_api_confirms_a_label_came_out_only_where_one_waits_for_a_check_at_the_printer(api, system):
    order_id = system.placed["T100"]
    package = system.app.fulfilment.package(order_id)
    system.app.fulfilment.record_print_outcome_unknown(order_id, "packing", "job-lost-1", "answer lost")

    confirmed = api("S1", "POST", f"/orders/{order_id}/label-came-out", json={})
    again = api("S1", "POST", f"/orders/{order_id}/label-came-out", json={})

    assert confirmed.status_code == 200 and again.status_code == 409
    assert "no label of this parcel waits" in again.get_json()["error"]["message"]
    after = system.app.fulfilment.package(order_id)
    assert after.labels_printed == package.labels_printed + 1 and after.unknown_jobs == {}
