"""`cangku audit events` and `cangku audit head` on a SQLite store."""

import pytest
from click.testing import CliRunner

from projections.audit import chain_head
from cangku.audit_cli import audit
from tests.builders import PAN
from tests.unit.test_backoffice_finance import NUMBERS, busy_day


@pytest.fixture
def run(make_system, sqlite_url, tmp_path):
    system = make_system(sqlite_url)
    busy_day(system)
    system.catch_up()
    env = {"CANGKU_DATABASE_URL": sqlite_url, "CANGKU_DATA_DIR": str(tmp_path)}

    def invoke(*args):
        return CliRunner().invoke(audit, list(args), env=env, catch_exceptions=False)

    invoke.system = system
    return invoke


def test_the_events_of_an_order_are_listed_with_notification_ids_and_chain_hashes(run):
    result = run("events", "--order", f"taobao/flagship/{NUMBERS['T101']}")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "18 events"  # … with the return received
    assert "Order.Imported" in lines[0] and "Order.Refunded" in lines[-2]
    assert all(line.startswith("#") and "unchained" not in line for line in lines[:-1])
    assert "王小明" not in result.output and "13812345678" not in result.output


def test_a_sku_s_events_can_be_narrowed_to_days(run):
    everything = run("events", "--sku", PAN)
    none = run("events", "--sku", PAN, "--until", "2000-01-01")

    assert everything.output.splitlines()[-1] != "0 events"
    assert none.output.splitlines() == ["0 events"]


def test_an_unknown_bin_or_a_bad_day_is_refused_with_its_reason(run):
    unknown = run("events", "--bin", "Z-99")
    bad_day = run("events", "--sku", PAN, "--since", "last week")
    neither = run("events")

    assert unknown.exit_code == 1 and "refused: bin 'Z-99' does not exist in warehouse WH1" in unknown.output
    assert bad_day.exit_code == 1 and "'last week' is not a day" in bad_day.output
    assert neither.exit_code == 2 and "exactly one of --order, --sku or --bin" in neither.output


def test_the_head_of_the_chain_is_shown_to_be_published_elsewhere(run):
    result = run("head")

    head = chain_head(run.system.engine)
    first, advice = result.output.strip().splitlines()
    assert first == f"notification {head['notification_id']} hash {head['hash']}"
    assert advice.endswith(f"cangku audit verify --head {head['notification_id']}:{head['hash']}")
    assert head["notification_id"] == run.system.app.store.recorder.max_notification_id()
