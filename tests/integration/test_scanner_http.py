"""The scanner app over HTTP (Flask test client) on the SQLite file store, and concurrent resends on PostgreSQL."""

import threading

import pytest
from click.testing import CliRunner

from domain.ids import package_id
from domain.scanning import Scan
from scanner_ui import create_app
from cangku.staff_cli import staff
from tests.builders import CUP, CUP_EAN, TEA, TEA_EAN, order, warehouse_with_catalogue

PIN = "2468"


@pytest.fixture
def system(make_system, sqlite_url):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 10})
    for badge, role in (("K1", "packer"), ("A1", "auditor"), ("S1", "supervisor"), ("R1", "receiver")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return system


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True})


def signed_in(web, badge: str, device: str):
    client = web.test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = device
    assert client.post("/login", data={"badge": badge, "pin": PIN}).status_code == 303
    return client


def post_scan(client, app, device: str, screen: str, value, kind: str = "scan", key: str = "value"):
    return client.post("/scan", json={"screen": screen, "seq": app.floor.next_sequence(device), "kind": kind, key: value})


def test_a_scales_reading_posted_as_json_weighs_the_package(system, web):
    app = system.app
    [result] = app.orders.import_orders([order("T1", (CUP, 1))], warehouse="WH1")
    wave_id = app.fulfilment.create_wave("WH1", "W1", [result["order_id"]], "S1")
    app.fulfilment.pick(wave_id, 0, "A-01-02", CUP_EAN, 1, "P1")
    packer = signed_in(web, "K1", "pack-1")
    for value, kind in (("T1", "scan"), (CUP_EAN, "scan"), ("close", "action")):
        assert post_scan(packer, app, "pack-1", "pack", value, kind).status_code == 200

    weighed = post_scan(packer, app, "pack-1", "pack", 735, key="weight_g")

    assert weighed.status_code == 200 and weighed.json["scan"]["key"] == "weighed"
    assert app.store.repository.get(package_id(result["order_id"])).weight_g == 735


def test_an_auditor_reads_the_supervisor_page_but_cannot_create_a_wave(system, web):
    app = system.app
    app.orders.import_orders([order("T1", (CUP, 1))], warehouse="WH1")
    auditor = signed_in(web, "A1", "desk-1")

    page = auditor.get("/supervisor")
    refused = post_scan(auditor, app, "desk-1", "supervisor", "wave:all", "action")

    assert page.status_code == 200 and "全部已预占订单建波次" not in page.get_data(as_text=True)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_allowed"
    assert app.orders.find_order("taobao", "flagship", "T1").status == "reserved"


def test_a_scanned_value_is_never_reflected_raw(system, web):
    receiver = signed_in(web, "R1", "pda-1")
    hostile = "<script>alert(1)</script>"

    answer = post_scan(receiver, system.app, "pda-1", "receive", hostile)
    supervisor = signed_in(web, "S1", "desk-1")
    listing = supervisor.get("/supervisor/scans").get_data(as_text=True)

    assert answer.status_code == 404 and hostile not in answer.get_data(as_text=True)
    assert hostile not in listing and "&lt;script&gt;alert(1)&lt;/script&gt;" in listing


def test_without_javascript_a_scan_is_a_form_post_answered_by_a_redirect_to_the_screen(system, web):
    receiver = signed_in(web, "R1", "pda-1")

    first = receiver.post("/scan", data={"screen": "receive", "seq": "2", "kind": "scan", "value": TEA_EAN})
    resubmitted = receiver.post("/scan", data={"screen": "receive", "seq": "2", "kind": "scan", "value": TEA_EAN})
    page = receiver.get(first.headers["Location"]).get_data(as_text=True)

    assert first.status_code == 303 and first.headers["Location"] == "/s/receive?r=2"
    assert resubmitted.headers["Location"] == "/s/receive?r=2"
    assert "TEA-LJ-250" in page and 'name="seq" value="3"' in page


def test_the_language_choice_is_remembered_in_a_cookie(system, web):
    receiver = signed_in(web, "R1", "pda-1")

    switched = receiver.get("/lang/en?next=/s/receive")
    page = receiver.get("/s/receive").get_data(as_text=True)

    assert switched.headers["Location"] == "/s/receive"
    assert "Scan a purchase order" in page and "扫描采购单号" not in page


def test_staff_add_registers_a_badge_that_signs_in(system, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CANGKU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CANGKU_DATA_DIR", str(tmp_path))

    result = CliRunner().invoke(staff, ["add", "P7", "--name", "孙拣货", "--role", "picker"], input="1357\n1357\n")

    assert result.exit_code == 0, result.output
    assert system.app.floor.login("pda-9", "P7", "1357")["name"] == "孙拣货"


@pytest.mark.postgres
def test_a_scan_resent_concurrently_is_applied_once_on_postgres(make_system, postgres_url):
    from scanner_ui.ports import FloorPorts

    system = make_system(postgres_url)
    warehouse_with_catalogue(system.app)
    system.app.staff.register_staff("R1", "R1", "receiver", PIN, "admin")
    ports = FloorPorts(system, print_label=None, count_approval_threshold=5)
    system.app.floor.scan(Scan("pda-1", 1, "R1", "receive", TEA_EAN), ports)
    answers = []

    def resend():
        answers.append(system.app.floor.scan(Scan("pda-1", 2, "R1", "receive", "4"), ports))

    threads = [threading.Thread(target=resend) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(a.duplicate for a in answers) == [False] + [True] * 5
    assert {a.key for a in answers} == {"received"}
    assert system.app.inventory.stock_levels("WH1", TEA)["RCV-01"]["on_hand"] == 4


class RecordingShop:
    """A shop that accepts every shipment and remembers it (the one method the confirmation job calls)."""

    def __init__(self):
        self.confirmed = []

    def confirm_shipment(self, order_no, courier_code, tracking_no):
        self.confirmed.append((order_no, courier_code, tracking_no))


def test_a_supervisor_sees_a_failed_job_and_sends_it_again(system):
    from tests.waiting import until

    [result] = system.app.orders.import_orders([order("J1", (CUP, 1))], warehouse="WH1")
    system.start_jobs(shops={}, retries={"max_retries": 0})
    system.start_followers(interval=0.05)
    web = create_app(system, {"TESTING": True})
    wave = system.app.fulfilment.create_wave("WH1", "WJ", [result["order_id"]], "sup")
    system.app.fulfilment.pick(wave, 0, "A-01-02", CUP_EAN, 1, "bob")
    system.app.fulfilment.verify_item(result["order_id"], CUP_EAN, "carl")
    system.app.fulfilment.close_package(result["order_id"], "carl")
    system.app.fulfilment.weigh(result["order_id"], 300, "carl")
    system.app.fulfilment.assign_waybill(result["order_id"], "SF", "SF1000000000001", "755")
    system.app.fulfilment.hand_over(result["order_id"], "dock")
    supervisor, auditor = signed_in(web, "S1", "pda-7"), signed_in(web, "A1", "pda-8")

    until(lambda: supervisor.get("/supervisor/jobs", headers={"Accept": "application/json"}).json["failed_jobs"])
    [job] = supervisor.get("/supervisor/jobs", headers={"Accept": "application/json"}).json["failed_jobs"]
    page = supervisor.get("/supervisor/jobs").get_data(as_text=True)
    shop = RecordingShop()
    system.jobs.shops[("taobao", "flagship")] = shop
    refused = auditor.post(f"/supervisor/jobs/{job['message_id']}/retry")
    retried = supervisor.post(f"/supervisor/jobs/{job['message_id']}/retry")

    assert job["actor"] == "confirm_shipment_job" and "no client configured" in job["error"][0]
    assert job["message_id"] in page and "重试" in page
    assert refused.status_code == 403
    assert retried.status_code == 303
    until(lambda: system.app.orders.order(result["order_id"]).confirmed_on_channel)
    assert shop.confirmed == [("J1", "SF", "SF1000000000001")]
    assert supervisor.get("/supervisor/jobs", headers={"Accept": "application/json"}).json["failed_jobs"] == []


def test_a_scan_posted_after_the_session_ended_leads_to_the_login_and_back_to_its_screen(web):
    client = web.test_client()

    form = client.post("/scan", data={"screen": "pick", "seq": "1", "value": "W1"})
    queued = client.post("/scan", json={"screen": "pick", "seq": 1, "value": "W1"})

    assert form.status_code == 303 and form.headers["Location"].endswith("/login?next=/s/pick")
    assert queued.status_code == 401 and queued.json["error"]["code"] == "not_logged_in"


def test_a_login_refusal_says_whether_the_badge_or_the_pin_is_wrong_and_what_the_badge_may_not_do(web):
    client = web.test_client()

    unknown = client.post("/login", data={"badge": "X9", "pin": PIN}).get_data(as_text=True)
    wrong_pin = client.post("/login", data={"badge": "K1", "pin": "1111"}).get_data(as_text=True)
    packer_on_pick = client.post("/login?next=/s/pick", data={"badge": "K1", "pin": PIN})

    assert "工牌 X9 不存在" in unknown and 'name="badge" value="" autofocus' in unknown
    assert "工牌 K1 的密码错误" in wrong_pin and 'name="badge" value="K1"' in wrong_pin
    assert packer_on_pick.status_code == 403
    assert "工牌 K1 是打包员, 不能使用拣货界面" in packer_on_pick.get_data(as_text=True)
