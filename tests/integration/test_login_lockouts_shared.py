"""Sign-in lockouts shared by two server processes over one PostgreSQL store, and lifted by a supervisor."""

import pytest

from domain.staff import LoginGuard, login_guard_id
from scanner_ui import create_app

PIN = "2468"

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_servers(make_system, postgres_url):
    first, second = make_system(postgres_url), make_system(postgres_url)
    for badge, role in (("S1", "supervisor"), ("S2", "supervisor")):
        first.app.staff.register_staff(badge, badge, role, PIN, "admin")
    return first, create_app(first, {"TESTING": True}), create_app(second, {"TESTING": True})


def log_in(web, badge: str, pin: str, device: str):
    client = web.test_client()
    client.environ_base["HTTP_X_DEVICE_ID"] = device
    return client, client.post("/login", data={"badge": badge, "pin": pin})


def test_wrong_pins_counted_on_two_servers_lock_the_badge_on_both_until_a_supervisor_unlocks_it(two_servers):
    system, web_a, web_b = two_servers
    wrong = [log_in(web, "S1", "0000", f"desk-{n}")[1].status_code
             for n, web in enumerate((web_a, web_b, web_a, web_b, web_a))]

    locked_a = log_in(web_a, "S1", PIN, "desk-8")[1]
    locked_b = log_in(web_b, "S1", PIN, "desk-9")[1]
    supervisor, _ = log_in(web_b, "S2", PIN, "desk-10")
    page = supervisor.get("/supervisor").get_data(as_text=True)
    unlocked = supervisor.post("/scan", data={"screen": "supervisor", "seq": system.app.floor.next_sequence("desk-10"),
                                              "kind": "override", "value": "unlock:S1"})
    said = supervisor.get(unlocked.headers["Location"]).get_data(as_text=True)
    _, signed_in = log_in(web_a, "S1", PIN, "desk-8")

    assert wrong == [401] * 5
    assert locked_a.status_code == 429 and locked_b.status_code == 429
    assert 'id="unlock"' in page and unlocked.status_code == 303 and "已解除 S1 的登录锁定" in said
    assert signed_in.status_code == 303
    events = list(system.app.store.events.get(login_guard_id("badge:S1")))
    assert [type(e).__qualname__ for e in events].count("LoginGuard.LockedOut") == 1
    assert [e.by for e in events if isinstance(e, LoginGuard.Unlocked)] == ["S2"]


def test_a_device_locked_on_one_server_is_locked_on_the_other(two_servers):
    _, web_a, web_b = two_servers
    for badge in ("S1", "S2", "X1", "X2", "X3"):
        log_in(web_a, badge, "0000", "desk-1")

    at_that_device = log_in(web_b, "S2", PIN, "desk-1")[1]
    at_another = log_in(web_b, "S2", PIN, "desk-2")[1]

    assert at_that_device.status_code == 429 and at_another.status_code == 303


def test_staff_unlock_lifts_a_device_lockout_from_the_command_line(two_servers, postgres_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cangku.staff_cli import staff

    _, web_a, _ = two_servers
    for badge in ("S1", "X1", "X2", "X3", "X4"):
        log_in(web_a, badge, "0000", "desk-1")
    monkeypatch.setenv("CANGKU_DATABASE_URL", postgres_url)
    monkeypatch.setenv("CANGKU_DATA_DIR", str(tmp_path))

    locked = log_in(web_a, "S2", PIN, "desk-1")[1]
    result = CliRunner().invoke(staff, ["unlock", "device:desk-1", "--by", "S2"])
    again = CliRunner().invoke(staff, ["unlock", "device:desk-1", "--by", "S2"])
    signed_in = log_in(web_a, "S2", PIN, "desk-1")[1]

    assert locked.status_code == 429 and result.exit_code == 0, result.output
    assert again.exit_code == 1 and "not locked" in again.output
    assert signed_in.status_code == 303


def test_unlocking_a_badge_that_never_failed_is_refused_and_records_nothing(two_servers):
    system, _, web_b = two_servers
    supervisor, _ = log_in(web_b, "S2", PIN, "desk-10")

    refused = supervisor.post("/scan", json={"screen": "supervisor", "seq": system.app.floor.next_sequence("desk-10"),
                                             "kind": "override", "value": "unlock:NOBODY"})

    assert refused.status_code == 422 and refused.json["scan"]["outcome"] == "refused"
    assert login_guard_id("badge:NOBODY") not in system.app.store.repository
