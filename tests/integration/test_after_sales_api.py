"""The JSON API's after-sales: cases listed and read, a reshipment by role, all in the OpenAPI document."""

from decimal import Decimal

from tests.builders import CUP, CUP_EAN, shipped
from tests.integration.test_api import as_, events_recorded, system, web  # noqa: F401 (fixtures)
from tests.unit.test_after_sales import report


def test_a_supervisor_reships_a_shipped_order_and_reads_its_case_an_auditor_may_not_reship(system, as_):
    order_id = shipped(system.app, "T-API-9", CUP, CUP_EAN, 1, "CK201")
    auditor, supervisor = as_("A1"), as_("S1")
    before = events_recorded(system)

    refused = auditor.post(f"/api/v1/orders/{order_id}/reship", json={"reason": "lost in transit"})
    unchanged = events_recorded(system)
    sent = supervisor.post(f"/api/v1/orders/{order_id}/reship", json={"reason": "lost in transit", "lines": [1]})
    listed = auditor.get("/api/v1/after-sales?kind=reship")
    case = auditor.get(f"/api/v1/after-sales/{sent.json['case_id']}")

    assert refused.status_code == 403 and unchanged == before
    assert sent.status_code == 200, sent.json
    assert sent.json["platform_order_no"] == "T-API-9-RS1" and sent.json["status"] == "reserved"
    assert [row["order_no"] for row in listed.json["items"]] == ["T-API-9"]
    assert (case.json["kind"], case.json["status"], case.json["replacement"]) == ("reship", "closed", "T-API-9-RS1")


def test_a_refund_case_pulled_from_a_platform_is_listed_with_its_amounts_and_bad_filters_are_refused(system, as_):
    shipped(system.app, "T-API-8", CUP, CUP_EAN, 2, "CK202")
    system.app.after_sales.take_report(report("T-API-8", "requested", kind="return_refund", amount="20.00",
                                              lines=[("p-" + CUP, CUP, 1, Decimal("20.00"))]), "pull:taobao")

    listed = as_("S1").get("/api/v1/after-sales?status=requested&channel=taobao")
    refused = as_("S1").get("/api/v1/after-sales?kind=repair")
    unknown = as_("S1").get("/api/v1/after-sales/00000000-0000-0000-0000-000000000000")
    reship_refund = as_("S1").post(f"/api/v1/after-sales/{listed.json['items'][0]['case_id']}/replacement", json={})

    [row] = listed.json["items"]
    assert (row["kind"], row["amount"], row["refunded"], row["refunded_on"]) == ("return_refund", "20.00", "0.00",
                                                                                 None)
    assert refused.status_code == 422 and unknown.status_code == 404
    assert reship_refund.status_code == 409 and "only an exchange or a reshipment" in reship_refund.json["error"][
        "message"]


def test_the_after_sales_routes_are_in_the_openapi_document(web):
    paths = web.test_client().get("/api/v1/openapi.json").json["paths"]

    assert {"/api/v1/after-sales", "/api/v1/after-sales/{case_id}", "/api/v1/after-sales/{case_id}/replacement",
            "/api/v1/orders/{order_id}/reship"} <= set(paths)
    assert "reason" in paths["/api/v1/orders/{order_id}/reship"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]["properties"]
