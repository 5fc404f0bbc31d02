"""`cangku backup` and `cangku restore`: SQLite to PostgreSQL and back, whole or up to a position or an instant."""

import gzip
import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from cangku.cli import main
from projections.audit import hash_at
from projections.inventory import stock_by_bin
from projections.invariants import compare_views
from tests.builders import TEA, order, warehouse_with_catalogue
from tests.unit.test_backoffice_finance import busy_day, ship

DIRECTIONS = [pytest.param(("sqlite", "postgres"), marks=pytest.mark.postgres, id="sqlite-to-postgres"),
              pytest.param(("postgres", "sqlite"), marks=pytest.mark.postgres, id="postgres-to-sqlite")]


def cangku(url, folder, *args):
    env = {"CANGKU_DATABASE_URL": url, "CANGKU_DATA_DIR": str(folder)}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def urls(request, tmp_path):
    def url(kind: str, name: str) -> str:
        if kind == "sqlite":
            (tmp_path / name).mkdir()
            return f"sqlite:///{tmp_path / name / 'cangku.sqlite'}"
        return request.getfixturevalue("postgres_url")

    return url


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_a_restored_log_rebuilds_views_equal_to_the_original(make_system, urls, tmp_path, direction):
    source_url, target_url = urls(direction[0], "source"), urls(direction[1], "target")
    source = make_system(source_url)
    busy_day(source)
    source.catch_up()
    file = tmp_path / "cangku-backup.jsonl.gz"

    made = cangku(source_url, tmp_path, "backup", str(file))
    restored = cangku(target_url, tmp_path, "restore", str(file))

    assert made.exit_code == 0, made.output
    assert restored.exit_code == 0, restored.output
    head = hash_at(source.app.store, source.app.store.recorder.max_notification_id())
    assert f"head {source.app.store.recorder.max_notification_id()}:{head}" in made.stdout
    assert f"chain verified: head {source.app.store.recorder.max_notification_id()}:{head}" in restored.stdout
    target = make_system(target_url)
    compared, differing = compare_views([r.projection for r in source.runners.values()], source.engine,
                                        target.engine)
    assert compared > 200 and differing == []
    assert stock_by_bin(target.engine, "WH1", TEA) == stock_by_bin(source.engine, "WH1", TEA)
    target.app.orders.import_orders([order("T999", (TEA, 1))], warehouse="WH1")
    assert target.app.store.recorder.max_notification_id() > source.app.store.recorder.max_notification_id()


@pytest.fixture
def two_phases(make_system, sqlite_url):
    """An order imported and reserved (phase one), then shipped (phase two)."""
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 10})
    [placed] = system.app.orders.import_orders([order("T1", (TEA, 2))], warehouse="WH1")
    first = system.app.store.recorder.max_notification_id()
    cut = datetime.now(timezone.utc)
    ship(system.app, placed["order_id"], "W1")
    return system, placed["order_id"], first, cut


@pytest.mark.parametrize("how", ["position", "time"])
def test_a_restore_up_to_a_position_or_an_instant_stops_before_the_later_events(two_phases, make_system, urls,
                                                                              tmp_path, how):
    system, order_id, first, cut = two_phases
    file = tmp_path / "backup.gz"
    cangku(system.settings.database.url, tmp_path, "backup", str(file))
    target_url = urls("sqlite", "target")
    limit = ["--to-position", str(first)] if how == "position" else ["--to-time", cut.isoformat()]

    result = cangku(target_url, tmp_path, "restore", str(file), *limit)

    assert result.exit_code == 0, result.output
    assert f"chain verified: head {first}:{hash_at(system.app.store, first)}" in result.stdout
    target = make_system(target_url)
    assert target.app.store.recorder.max_notification_id() == first
    assert target.app.orders.order(order_id).status == "reserved"
    assert [(r["bin"], r["on_hand"], r["reserved"]) for r in stock_by_bin(target.engine, "WH1", TEA)] == [
        ("A-01-01", 10, 2)]


def test_a_restore_into_a_store_holding_events_is_refused_and_writes_nothing(two_phases, tmp_path):
    system, _, _, _ = two_phases
    file = tmp_path / "backup.gz"
    cangku(system.settings.database.url, tmp_path, "backup", str(file))
    before = system.app.store.recorder.max_notification_id()

    result = cangku(system.settings.database.url, tmp_path, "restore", str(file))

    assert result.exit_code == 1
    assert f"a restore fills an empty store; this one already holds events up to notification {before}" in \
           result.stderr
    assert system.app.store.recorder.max_notification_id() == before


def test_an_edited_backup_is_refused_before_anything_is_written(two_phases, make_system, urls, tmp_path):
    system, _, _, _ = two_phases
    file, edited = tmp_path / "backup.gz", tmp_path / "edited.gz"
    cangku(system.settings.database.url, tmp_path, "backup", str(file))
    lines = gzip.open(file, "rt").read().splitlines()
    event = json.loads(lines[5])
    event["v"] += 100
    lines[5] = json.dumps(event)
    with gzip.open(edited, "wt") as out:
        out.write("\n".join(lines) + "\n")
    target_url = urls("sqlite", "target")

    result = cangku(target_url, tmp_path, "restore", str(edited))

    assert result.exit_code == 1
    assert "is damaged or was edited" in result.stderr
    assert (make_system(target_url).app.store.recorder.max_notification_id() or 0) == 0
