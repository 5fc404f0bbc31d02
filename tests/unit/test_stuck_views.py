"""A view that cannot fold an event stops just before it, says which event and why, and goes on once fixed;
the other views keep following the log."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from domain.catalogue import Sku
from projections.tracking import Projection, ProjectionRunner, ProjectionStuck, topics_of

skus_seen = MetaData()
seen = Table("test_skus_seen", skus_seen, Column("code", String(64), primary_key=True), Column("n", Integer))


class SkusSeen(Projection):
    name = "skus_seen"
    metadata = skus_seen
    topics = topics_of([Sku.Registered])
    poison = "BAD-2"

    def apply(self, conn, events):
        for n, event in events:
            if event.code == self.poison:
                raise ValueError(f"cannot hold {event.code}")
            conn.execute(insert(seen).values(code=event.code, n=n))


@pytest.fixture
def system(make_system):
    built = make_system()
    for code in ("OK-1", "BAD-2", "OK-3"):
        built.app.catalogue.register_sku(code, code)
    return built


def test_a_view_stops_before_the_event_it_cannot_fold_and_names_it(system):
    runner = ProjectionRunner(system.app.store, system.engine, SkusSeen(), batch_size=100)
    runner.setup()

    with pytest.raises(ProjectionStuck):
        runner.catch_up()

    status = runner.status()
    assert status.stuck_topic.endswith("Sku.Registered")
    assert "ValueError: cannot hold BAD-2" in status.error
    first, second, _ = [n.id for n in system.app.store.recorder.select_notifications(1, 10)]
    assert (status.position, status.stuck_at) == (first, second)
    with system.engine.connect() as conn:
        assert [row.code for row in conn.execute(seen.select())] == ["OK-1"]


def test_the_other_views_keep_following_the_log_and_reads_do_not_fail(system):
    runner = ProjectionRunner(system.app.store, system.engine, SkusSeen(), batch_size=100)
    runner.setup()
    system.runners["skus_seen"] = runner

    engine = system.fresh("skus_seen", "inventory")

    assert runner.status().stuck_at is not None
    assert system.runners["inventory"].status().lag == 0
    assert engine is system.engine


def test_once_fixed_the_view_resumes_from_the_event_and_forgets_the_failure(system):
    projection = SkusSeen()
    runner = ProjectionRunner(system.app.store, system.engine, projection, batch_size=100)
    runner.setup()
    with pytest.raises(ProjectionStuck):
        runner.catch_up()

    projection.poison = ""
    runner.catch_up()

    assert runner.status().stuck_at is None and runner.status().lag == 0
    with system.engine.connect() as conn:
        assert sorted(row.code for row in conn.execute(seen.select())) == ["BAD-2", "OK-1", "OK-3"]
