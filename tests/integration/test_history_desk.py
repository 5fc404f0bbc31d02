"""Past orders on the order desk (Flask test client, SQLite file store): listed as history beside a live order,
their own page with lines and refunds, and no action taken on them."""

import pytest

from cangku.history_import import import_history
from domain.ids import historic_order_id
from scanner_ui import create_app
from tests.builders import TEA, order, warehouse_with_catalogue
from tests.integration.test_backoffice_pages import PIN, signed_in
from tests.integration.test_order_desk import listed


@pytest.fixture
def system(make_system, sqlite_url, tmp_path):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10})
    system.app.orders.import_orders([order("LIVE-1", (TEA, 1))], warehouse="WH1")
    path = tmp_path / "past.csv"
    path.write_text("channel,shop,order_no,ordered_at,status,sku,quantity,unit_price,refunded_quantity,"
                    "refunded_amount,refunded_at,buyer,title\n"
                    f"taobao,flagship,OLD-1,2024-06-18T09:00:00+08:00,partially_refunded,{TEA},4,35.50,1,35.50,"
                    f"2024-06-25T12:00:00+08:00,cust-9,龙井茶\n", encoding="utf-8")
    import_history(system.app, path)
    system.app.staff.register_staff("S1", "S1", "supervisor", PIN, "admin")
    system.catch_up()
    return system


@pytest.fixture
def supervisor(system):
    return signed_in(create_app(system, {"TESTING": True}), "S1")


def test_past_orders_are_listed_as_history_apart_from_the_work(supervisor):
    assert listed(supervisor, status="history") == ["OLD-1"]
    assert listed(supervisor, status="reserved") == ["LIVE-1"]


def test_a_past_order_has_its_own_page_and_refuses_every_action(supervisor):
    order_id = historic_order_id("taobao", "flagship", "OLD-1")

    page = supervisor.get(f"/office/orders/{order_id}").get_data(as_text=True)
    cancelled = supervisor.post(f"/office/orders/{order_id}/cancel", data={"reason": "tidy up"})

    assert 'data-status="history:partially_refunded"' in page
    assert "2024-06-18" in page and "2024-06-25" in page
    assert "142.00" in page and "35.50" in page
    assert 'id="actions"' not in page
    assert cancelled.status_code == 409
    assert "is a past order" in cancelled.get_data(as_text=True)



def test_the_api_lists_past_orders_as_history(system, supervisor):
    token = system.app.staff.issue_token("S1", "tests", "admin")

    answer = supervisor.get("/api/v1/orders", query_string={"status": "history"},
                            headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [(o["platform_order_no"], o["status"]) for o in answer.get_json()["items"]] == \
        [("OLD-1", "history:partially_refunded")]
