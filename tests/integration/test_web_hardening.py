"""The web layer's defences over HTTP (Flask test client) on the SQLite file store: the session key and lifetime,
security headers, body limits, login throttling, cross-site refusal, and malformed input answered 4xx."""

import io
import json
import stat
import time
from datetime import datetime, timedelta, timezone

import pytest

from scanner_ui import create_app
from scanner_ui.security import SECRET_FILE
from scanner_ui.throttle import LoginThrottle
from tests.integration.test_api import PIN, as_, events_recorded, order_id, system, web  # noqa: F401
from tests.unit.test_backoffice_settlement import alipay_statement

OLD_CONSTANT_KEY = "dev-only-not-secret"
ELSEWHERE = "http://127.0.0.1:9999"
HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy")


def signed_in(web, badge: str, device: str = "desk-1"):
    client = web.test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = device
    assert client.post("/login", data={"badge": badge, "pin": PIN}).status_code == 303
    return client


def session_cookie(web, data: dict, age: timedelta = timedelta(0), key: str | None = None) -> str:
    """A session cookie as the app would sign it, `age` ago (with another key when given)."""
    app = web
    if key:
        app = create_app(web.extensions["cangku"], {"SECRET_KEY": key})
    serializer = app.session_interface.get_signing_serializer(app)
    signer = serializer.make_signer()
    signer.get_timestamp = lambda: int(time.time() - age.total_seconds())
    return signer.sign(serializer.dump_payload(data)).decode()


def wave_scan(system, device: str) -> dict:
    return {"screen": "supervisor", "seq": str(system.app.floor.next_sequence(device)), "kind": "action",
            "value": "wave:all"}


# Sessions


def test_without_a_secret_key_a_random_one_is_made_once_and_kept_private(system, tmp_path):
    first = create_app(system).config["SECRET_KEY"]
    again = create_app(system).config["SECRET_KEY"]

    assert first == again and first != OLD_CONSTANT_KEY and len(first) >= 48
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


def test_a_cookie_signed_with_the_old_constant_key_opens_nothing(web):
    forged = session_cookie(web, {"badge": "S1", "_permanent": True}, key=OLD_CONSTANT_KEY)
    client = web.test_client()
    client.set_cookie("session", forged)

    answer = client.get("/office/finance/orders")

    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_session_idle_longer_than_the_setting_is_signed_out(web):
    idle, fresh = web.test_client(), web.test_client()
    idle.set_cookie("session", session_cookie(web, {"badge": "S1", "_permanent": True}, timedelta(minutes=31)))
    fresh.set_cookie("session", session_cookie(web, {"badge": "S1", "_permanent": True}, timedelta(minutes=29)))

    assert idle.get("/office/orders").status_code == 302
    assert fresh.get("/office/orders").status_code == 200


def test_the_session_cookie_lasts_the_idle_time_not_a_month(web):
    client = web.test_client()

    answer = client.post("/login", data={"badge": "S1", "pin": PIN})

    [cookie] = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("session=")]
    expires = datetime.strptime(cookie.split("Expires=")[1].split(";")[0], "%a, %d %b %Y %H:%M:%S GMT")
    left = expires.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
    assert timedelta(minutes=29) < left <= timedelta(minutes=30) and "HttpOnly" in cookie


def test_a_busy_session_still_ends_after_the_longest_shift(system):
    web = create_app(system, {"TESTING": True, "SESSION_MAX_HOURS": 12})
    client = web.test_client()
    started = int(time.time()) - 13 * 3600
    client.set_cookie("session", session_cookie(web, {"badge": "S1", "_permanent": True, "since": started}))

    assert client.get("/office/orders").status_code == 302


def test_secure_cookies_when_asked(system, monkeypatch):
    monkeypatch.setenv("CANGKU_SECURE_COOKIES", "1")
    client = create_app(system, {"TESTING": True}).test_client()

    answer = client.post("/login", data={"badge": "S1", "pin": PIN})

    cookies = answer.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} == {"session", "cangku_device"}
    assert all("; Secure" in c for c in cookies)
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/login", "/health", "/office/orders", "/no-such-page", "/api/v1/stock"])
def test_every_answer_carries_the_security_headers(web, path):
    answer = web.test_client().get(path)

    assert all(answer.headers.get(name) for name in HEADERS)
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in answer.headers["Content-Security-Policy"]


def test_a_body_over_the_limit_is_413_in_the_one_error_shape(web):
    client = signed_in(web, "S1")

    answer = client.post("/scan", data=json.dumps({"value": "x" * (1024 * 1024)}), content_type="application/json")

    assert answer.status_code == 413 and answer.json["error"]["code"] == "request_entity_too_large"


def test_a_settlement_bill_may_be_larger_than_other_bodies_up_to_its_own_limit(web):
    client = signed_in(web, "S1")
    bill = alipay_statement() + b"\n" * (2 * 1024 * 1024)

    taken = client.post("/office/settlement", data={"channel": "taobao", "shop": "flagship",
                                                    "file": (io.BytesIO(bill), "bill.csv")})
    too_large = client.post("/office/settlement", data={"channel": "taobao", "shop": "flagship", "file": (
        io.BytesIO(b"x" * (22 * 1024 * 1024)), "bill.csv")})

    assert taken.status_code != 413
    assert too_large.status_code == 413 and too_large.json["error"]["code"] == "request_entity_too_large"


# Login throttle


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 11, 6, 30, tzinfo=timezone.utc)  # 14:30 China time

    def __call__(self):
        return self.now


@pytest.fixture
def clock(web):
    clock = Clock()
    web.extensions["cangku_login_throttle"] = LoginThrottle(5, timedelta(minutes=15), clock)
    return clock


def log_in(web, badge: str, pin: str, device: str = "desk-1"):
    client = web.test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = device
    return client.post("/login", data={"badge": badge, "pin": pin})


def test_thirty_wrong_pins_then_the_right_one_is_refused(web, clock):
    wrong = [log_in(web, "S1", f"{n:04d}", device=f"desk-{n}").status_code for n in range(30)]

    right = log_in(web, "S1", PIN, device="desk-99")

    assert wrong[:5] == [401] * 5 and set(wrong[5:]) == {429}
    assert right.status_code == 429


def test_five_wrong_pins_lock_the_badge_for_fifteen_minutes_and_say_until_when(web, clock):
    for n in range(5):
        assert log_in(web, "S1", "0000", device=f"desk-{n}").status_code == 401
    clock.now += timedelta(minutes=1)

    locked = log_in(web, "S1", PIN, device="desk-9")
    clock.now += timedelta(minutes=14, seconds=1)
    unlocked = log_in(web, "S1", PIN, device="desk-9")

    assert locked.status_code == 429 and locked.headers["Retry-After"] == str(14 * 60)
    assert "已锁定到 14:45" in locked.get_data(as_text=True)
    assert unlocked.status_code == 303


def test_wrong_pins_at_one_device_lock_that_device_for_every_badge(web, clock):
    for badge in ("S1", "A1", "R1", "P1", "X9"):
        assert log_in(web, badge, "0000", device="desk-1").status_code == 401

    at_that_device = log_in(web, "A1", PIN, device="desk-1")
    at_another = log_in(web, "A1", PIN, device="desk-2")

    assert at_that_device.status_code == 429 and at_another.status_code == 303


def test_the_right_pin_before_the_limit_clears_the_failures(web, clock):
    for _ in range(4):
        log_in(web, "S1", "0000")
    assert log_in(web, "S1", PIN).status_code == 303

    after = [log_in(web, "S1", "0000").status_code for _ in range(5)]

    assert after == [401] * 5


# Cross-site requests


def test_a_cross_site_form_post_is_refused_and_changes_nothing(system, web):
    supervisor = signed_in(web, "S1")
    before, form = events_recorded(system), wave_scan(system, "desk-1")

    refused = supervisor.post("/scan", data=form, headers={"Sec-Fetch-Site": "same-site", "Origin": ELSEWHERE})

    assert refused.status_code == 403 and refused.json["error"]["code"] == "cross_site_request"
    assert events_recorded(system) == before
    assert system.app.orders.find_order("taobao", "flagship", "T1").status == "reserved"


def test_an_old_browser_s_cross_site_post_is_refused_by_its_origin(system, web):
    supervisor = signed_in(web, "S1")
    before = events_recorded(system)

    refused = supervisor.post("/scan", data=wave_scan(system, "desk-1"), headers={"Origin": ELSEWHERE})
    signed_out = supervisor.post("/logout", headers={"Origin": ELSEWHERE})

    assert refused.status_code == 403 and signed_out.status_code == 403
    assert events_recorded(system) == before and supervisor.get("/supervisor").status_code == 200


def test_a_same_origin_form_post_still_works(system, web):
    supervisor = signed_in(web, "S1")

    done = supervisor.post("/scan", data=wave_scan(system, "desk-1"),
                           headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"})

    assert done.status_code == 303
    assert system.app.orders.find_order("taobao", "flagship", "T1").status != "reserved"


def test_api_calls_with_a_token_are_not_checked_for_their_origin(system, as_):
    answer = as_("S1").post(f"/api/v1/orders/{order_id(system, 'T1')}/hold", json={"reason": "check the address"},
                            headers={"Sec-Fetch-Site": "cross-site", "Origin": ELSEWHERE})

    assert answer.status_code == 200 and answer.json["status"] == "held"


# Malformed input answered 4xx in the one error shape


DEEP = "[" * 100_000 + "]" * 100_000
SURROGATE = '{"screen": "receive", "seq": %d, "kind": "scan", "value": "\\ud800"}'


def test_deeply_nested_json_is_refused_not_a_server_error(system, web, as_):
    supervisor, client = signed_in(web, "S1"), as_("S1")
    before = events_recorded(system)

    scan = supervisor.post("/scan", data=DEEP, content_type="application/json")
    api = client.post(f"/api/v1/orders/{order_id(system, 'T1')}/hold", data=DEEP,
                         content_type="application/json")

    assert scan.status_code == 422 and "nested too deeply" in scan.json["error"]["message"]
    assert api.status_code == 422 and "nested too deeply" in api.json["error"]["message"]
    assert events_recorded(system) == before


def test_a_lone_surrogate_in_a_json_string_is_refused_and_nothing_written(system, web, as_):
    supervisor, client = signed_in(web, "S1"), as_("S1")
    before = events_recorded(system)

    scan = supervisor.post("/scan", data=SURROGATE % system.app.floor.next_sequence("desk-1"),
                           content_type="application/json")
    api = client.post(f"/api/v1/orders/{order_id(system, 'T1')}/hold", data='{"reason": "x\\udfff"}',
                         content_type="application/json")

    assert scan.status_code == 422 and "surrogate" in scan.json["error"]["message"]
    assert api.status_code == 422 and api.json["error"]["code"] == "invalid_input"
    assert events_recorded(system) == before


def test_a_surrogate_pair_is_still_text(system, web):
    supervisor = signed_in(web, "S1")

    answer = supervisor.post("/scan", data=SURROGATE.replace("\\ud800", "\\ud83d\\udce6")
                             % system.app.floor.next_sequence("desk-1"), content_type="application/json")

    assert answer.status_code != 500 and "surrogate" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("limit", ["-1", "0", "1001"])
def test_recorded_scans_refuse_a_limit_out_of_range(web, limit):
    answer = signed_in(web, "S1").get(f"/supervisor/scans?limit={limit}")

    assert answer.status_code == 422 and answer.json["error"]["code"] == "invalid_input"
