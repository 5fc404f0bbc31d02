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
