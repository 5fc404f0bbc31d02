"""The API checked against its own OpenAPI document with generated requests (schemathesis), on the SQLite store.

Every operation gets a bounded number of valid and of invalid requests, sent with a real token: no answer is a server error,
and every answer has a documented status, content type and shape.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from cangku.bootstrap import build
from cangku.settings import Settings
from scanner_ui import create_app
from tests.builders import CUP, TEA, order, warehouse_with_catalogue

CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection", "ignored_auth"]
EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app on a SQLite file with a warehouse, stock, orders and a supervisor's token."""
    folder = tmp_path_factory.mktemp("api-schema")
    system = build(Settings.from_env({"CANGKU_DATA_DIR": str(folder),
                                      "CANGKU_DATABASE_URL": f"sqlite:///{folder / 'cangku.sqlite'}"}))
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 10, (TEA, "A-01-01"): 20})
    system.app.orders.import_orders([order("T1", (CUP, 2)), order("T2", (TEA, 1))], warehouse="WH1")
    system.app.staff.register_staff("S1", "Supervisor", "supervisor", "2468", "admin")
    token = system.app.staff.issue_token("S1", "schema checks", "admin")
    yield create_app(system, {"TESTING": True}), token
    system.close()


@pytest.fixture(scope="module")
def api_schema(served):
    web, token = served
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", web)
    schema.config.update(headers={"Authorization": f"Bearer {token}"})
    schema.config.checks.update(included_check_names=CHECKS)
    return schema


def test_the_api_answers_as_its_openapi_document_says(api_schema):
    failures = {}

    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def answers_as_documented(case):
                case.call_and_validate()

            try:
                answers_as_documented()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.path  # nothing to break in it
            except (AssertionError, BaseExceptionGroup) as failure:  # try every operation, then report all
                failures[f"{operation.method.upper()} {operation.path} ({mode.value})"] = str(failure)

    assert failures == {}
