"""Back-office addresses with values out of range are refused 4xx, never a server error."""

import pytest

from tests.builders import TEA
from tests.integration.test_backoffice_pages import supervisor, system, web  # noqa: F401


def test_a_bill_number_beyond_any_database_id_is_not_found(supervisor):
    answer = supervisor.get("/office/settlement/99999999999999999999")

    assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("name", ["window", "lead_time", "review"])
def test_replenishment_refuses_a_span_of_days_past_the_calendar(supervisor, name):
    answer = supervisor.get(f"/office/replenishment?{name}=999999999")

    assert answer.status_code == 422 and f"{name} is at most 3660 days" in answer.get_data(as_text=True)


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-14:00", "1066-10-14T09:00:00"])
def test_stock_at_an_instant_refuses_one_outside_the_years_of_any_record(supervisor, at):
    answer = supervisor.get(f"/office/audit/stock?sku={TEA}&at={at}")

    assert answer.status_code == 422 and "out of range (years 1900-9000)" in answer.get_data(as_text=True)
