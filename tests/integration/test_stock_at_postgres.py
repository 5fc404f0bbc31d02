"""Stock at an instant from the inventory ledger equals the replay, rerun on PostgreSQL."""

import pytest

from tests.unit.test_stock_at_ledger import LedgerMatchesReplay


@pytest.mark.postgres
class TestLedgerMatchesReplayOnPostgres(LedgerMatchesReplay):
    @pytest.fixture
    def database_url(self, postgres_url):
        return postgres_url
