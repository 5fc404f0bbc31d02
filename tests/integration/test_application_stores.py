"""The application's behaviour, rerun on the SQLite file store and on PostgreSQL."""

import pytest

from tests.unit.test_application import ApplicationBehaviour


class TestApplicationOnSqlite(ApplicationBehaviour):
    @pytest.fixture
    def database_url(self, sqlite_url):
        return sqlite_url


@pytest.mark.postgres
class TestApplicationOnPostgres(ApplicationBehaviour):
    @pytest.fixture
    def database_url(self, postgres_url):
        return postgres_url


def test_the_sqlite_store_finds_recorded_aggregates_in_bulk(make_system, sqlite_url):
    from adapters.event_store.store import sqlite_recorded_originators
    from domain import ids
    from tests.builders import TEA, warehouse_with_catalogue

    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app)
    unknown = ids.sku_id("NO-SUCH-SKU")

    found = sqlite_recorded_originators(system.app.store.recorder, [ids.sku_id(TEA), unknown, ids.warehouse_id("WH1")])

    assert found == {ids.sku_id(TEA), ids.warehouse_id("WH1")}
    assert system.app.store.recorded_among({ids.sku_id(TEA), unknown}) == {ids.sku_id(TEA)}
