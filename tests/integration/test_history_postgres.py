"""Past orders imported on PostgreSQL: the reports equal a count of the file, with a full transaction of lines
(the largest one write the import makes) going through the bounded recorder."""

from datetime import datetime, timezone

import pytest

from domain.errors import RowsRejected
from domain.limits import MAX_HISTORIC_ORDER_LINES, MAX_MONEY, MAX_NAME, MAX_ORDER_AMOUNT
from domain.services.history import LINES_PER_TRANSACTION
from projections.finance import daily_finance
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


@pytest.mark.postgres
def test_the_largest_past_order_goes_through_every_view_on_postgres(make_system, postgres_url):
    system = make_system(postgres_url)
    price = MAX_ORDER_AMOUNT / MAX_HISTORIC_ORDER_LINES
    lines = [{"sku": f"{'长' * 59}{n:05d}", "title": "特" * MAX_NAME, "quantity": 1, "unit_price": price,
              "refunded_quantity": 1, "refunded_amount": price} for n in range(MAX_HISTORIC_ORDER_LINES)]
    fields = {"channel": "渠" * 64, "shop": "旗" * 64, "order_no": "号" * 64, "status": "refunded",
              "ordered_at": datetime(2024, 1, 1, tzinfo=timezone.utc), "refunded_at": None, "buyer_ref": "客" * 64,
              "country": "国" * 64, "source": "文" * MAX_NAME, "lines": lines}
    history = system.app.history

    history.check_orders([(list(range(2, MAX_HISTORIC_ORDER_LINES + 2)), fields)], "importer")
    done = history.record_orders([(list(range(2, MAX_HISTORIC_ORDER_LINES + 2)), fields)], "importer")
    system.catch_up()

    assert done["lines"] == MAX_HISTORIC_ORDER_LINES
    assert all(not runner.status().stuck_at for runner in system.runners.values())
    [day] = [row for row in daily_finance(system.engine) if row["revenue"]]
    assert day["revenue"] == MAX_ORDER_AMOUNT and day["refunds"] == MAX_ORDER_AMOUNT
    with pytest.raises(RowsRejected, match="at most 100,000,000 yuan"):
        history.check_orders([([2], dict(fields, order_no="X", lines=[dict(lines[0], quantity=101,
                                                                              unit_price=MAX_MONEY)]))],
                             "importer")
