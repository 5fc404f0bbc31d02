"""Past orders imported on PostgreSQL: the reports equal a count of the file, with a full transaction of lines
(the largest one write the import makes) going through the bounded recorder."""

import pytest

from domain.services.history import LINES_PER_TRANSACTION
from tests.unit.test_history_import import HistoryMatchesTheFile


@pytest.mark.postgres
class TestHistoryOnPostgres(HistoryMatchesTheFile):
    lines = LINES_PER_TRANSACTION + 1_000

    @pytest.fixture
    def database_url(self, postgres_url):
        return postgres_url


class TestHistoryOnSqlite(HistoryMatchesTheFile):
    @pytest.fixture
    def database_url(self, sqlite_url):
        return sqlite_url
