"""Labels from a platform e-waybill's print data: what is readable goes on our own ESC/POS label, the label records the
template and version it came from, and encrypted print data that hides the sort code refuses the label with why."""

import json

import pytest

from adapters.couriers.print_data import read_print_data
from adapters.printing import lay_out
from domain.errors import LabelNotPrintable
from domain.fulfilment import Package
from domain.printing import Contact
from tests.builders import TEA, TEA_EAN, order, warehouse_with_catalogue
from tests.escpos_decode import decode

TEMPLATE = "https://cloudprint.cainiao.com/template/standard/101/YTO"
PLAIN = json.dumps({"data": {"waybillCode": "YT1234567890123", "routingInfo": {
    "sortation": {"name": "571-西湖"}, "consolidation": {"name": "杭州转运中心"}}},
    "signature": "x", "templateURL": TEMPLATE}, ensure_ascii=False)
ENCRYPTED = json.dumps({"encryptedData": "AES:q1w2e3r4", "signature": "x", "templateURL": TEMPLATE,
                        "ver": "waybill_print_secret_version_1"})


def test_readable_print_data_gives_the_standard_templates_sort_code_and_package_centre():
    facts = read_print_data(PLAIN)

    assert (facts.sort_code, facts.package_centre, facts.encrypted) == ("571-西湖", "杭州转运中心", False)
    assert facts.as_record() == {"template_url": TEMPLATE, "version": "plain", "encrypted": False}


@pytest.mark.parametrize("text, version", [(ENCRYPTED, "waybill_print_secret_version_1"), ("qfJVGzg6XlGK1E/wOVvk", "opaque")])
def test_encrypted_or_opaque_print_data_is_read_as_encrypted_with_its_version(text, version):
    facts = read_print_data(text)

    assert facts.encrypted and facts.version == version and facts.sort_code == ""


def waybilled(make_system, print_data: str, sort_code: str = ""):
    system = make_system("memory:")
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 5})
    [result] = app.orders.import_orders([order("PD1", (TEA, 1))], warehouse="WH1")
    order_id = result["order_id"]
    wave = app.fulfilment.create_wave("WH1", "W-PD1", [order_id], "sup")
    app.fulfilment.pick(wave, 0, "A-01-01", TEA_EAN, 1, "bob")
    app.fulfilment.verify_item(order_id, TEA_EAN, "carl")
    app.fulfilment.close_package(order_id, "carl")
    app.fulfilment.weigh(order_id, 800, "carl")
    facts = read_print_data(print_data)
    app.fulfilment.assign_waybill(order_id, "YTO", "YT1234567890123", sort_code or facts.sort_code,
                                  package_centre=facts.package_centre, print_data=facts.as_record())
    return app, order_id


def test_a_label_from_readable_print_data_shows_the_masked_receiver_and_the_barcode_and_names_its_template(
        make_system):
    app, order_id = waybilled(make_system, PLAIN)

    label = app.fulfilment.waybill_label(order_id, Contact("杭州仓", "0571-88889999", "浙江省杭州市"))
    printout = decode(lay_out(label).data)
    app.fulfilment.record_label_printed(order_id, "packing", "printer", "job-1")

    assert "YT1234567890123" in [b.data for b in printout.barcodes]
    assert "571-西湖" in printout.text and "杭州转运中心" in printout.text
    buyer = app.orders.order(order_id).buyer
    assert buyer.name in printout.text and buyer.phone not in printout.text and "****" in printout.text
    [used] = [e for e in app.store.events.get(app.fulfilment.package(order_id).id)
              if isinstance(e, Package.LabelLaidOutFromPrintData)]
    assert (used.job_id, used.template_url, used.version) == ("job-1", TEMPLATE, "plain")


def test_encrypted_print_data_that_hides_the_sort_code_refuses_the_label_with_why(make_system):
    app, order_id = waybilled(make_system, ENCRYPTED)

    with pytest.raises(LabelNotPrintable, match="encrypted print data.*waybill_print_secret_version_1.*大头笔"):
        app.fulfilment.waybill_label(order_id, Contact("杭州仓", "0571-88889999", "浙江省杭州市"))


def test_encrypted_print_data_is_no_obstacle_when_the_sort_code_came_readable_from_the_platform(make_system):
    app, order_id = waybilled(make_system, ENCRYPTED, sort_code="571-西湖")

    label = app.fulfilment.waybill_label(order_id, Contact("杭州仓", "0571-88889999", "浙江省杭州市"))

    assert label.sort_code == "571-西湖"
