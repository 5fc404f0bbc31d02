"""Label printing through the job workers: on the real RabbitMQ, and in-process without a broker."""

import time

import pytest

from domain.fulfilment import Package
from tests.builders import TEA, TEA_EAN, order, warehouse_with_catalogue
from tests.escpos_decode import decode
from tests.printer_server import TcpPrinter
from tests.waiting import FAST_RETRIES, until

def packed_and_waybilled(app, number="L1"):
    """An order picked, packed and weighed, whose waybill has just arrived."""
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 5})
    [result] = app.orders.import_orders([order(number, (TEA, 1))], warehouse="WH1")
    wave = app.fulfilment.create_wave("WH1", f"W-{number}", [result["order_id"]], "sup")
    app.fulfilment.pick(wave, 0, "A-01-01", TEA_EAN, 1, "bob")
    app.fulfilment.verify_item(result["order_id"], TEA_EAN, "carl")
    app.fulfilment.close_package(result["order_id"], "carl")
    app.fulfilment.weigh(result["order_id"], 300, "carl")
    app.fulfilment.assign_waybill(result["order_id"], "SF", "SF1400000000777", "755-W")
    return result["order_id"]


def package_events(app, order_id, kind):
    from domain.ids import package_id

    return [e for e in app.store.events.get(package_id(order_id)) if isinstance(e, kind)]


@pytest.mark.rabbitmq
def test_a_label_refused_by_a_switched_off_printer_prints_exactly_once_when_it_comes_back(
        make_system, sqlite_url, rabbitmq_url, queue_prefix):
    printer = TcpPrinter()
    system = make_system(sqlite_url, broker_url=rabbitmq_url, printer_packing=printer.url, queue_prefix=queue_prefix)
    order_id = packed_and_waybilled(system.app)
    system.start_jobs(retries=FAST_RETRIES, in_process_worker=True)
    system.start_followers(interval=0.05)

    until(lambda: package_events(system.app, order_id, Package.PrintFailed))
    printer.switch_on()
    until(lambda: package_events(system.app, order_id, Package.LabelPrinted))
    time.sleep(1.0)

    jobs = printer.switch_off()
    assert len(jobs) == 1
    assert "SF1400000000777" in [b.data for b in decode(jobs[0]).barcodes]
    assert len(package_events(system.app, order_id, Package.LabelPrinted)) == 1
    failure = package_events(system.app, order_id, Package.PrintFailed)[0]
    assert failure.attempt == 1 and failure.printer == "packing"


def test_a_reprint_asked_for_with_a_reason_prints_a_second_label_without_a_broker(make_system, sqlite_url):
    printer = TcpPrinter().switch_on()
    system = make_system(sqlite_url, printer_packing=printer.url)
    order_id = packed_and_waybilled(system.app, "L2")
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)
    until(lambda: len(printer.printed) == 1)

    system.app.fulfilment.request_reprint(order_id, "label smudged", "carl")
    until(lambda: len(printer.printed) == 2)
    time.sleep(0.5)

    assert len(printer.switch_off()) == 2
    [reprint] = package_events(system.app, order_id, Package.ReprintRequested)
    assert (reprint.reason, reprint.by) == ("label smudged", "carl")
    assert len(package_events(system.app, order_id, Package.LabelPrinted)) == 2


def test_a_label_job_failing_on_paper_out_shows_on_the_supervisor_page_and_prints_once_paper_is_loaded(
        make_system, sqlite_url):
    from scanner_ui import create_app

    printer = TcpPrinter().switch_on()
    printer.run_out_of_paper()
    system = make_system(sqlite_url, printer_packing=printer.url)
    order_id = packed_and_waybilled(system.app, "L3")
    system.app.staff.register_staff("S1", "Sue", "supervisor", "2468", "admin")
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)
    supervisor = create_app(system, {"TESTING": True}).test_client()
    supervisor.environ_base["HTTP_X_DEVICE_ID"] = "desk-1"
    supervisor.post("/login", data={"badge": "S1", "pin": "2468"})

    def failures():
        return supervisor.get("/supervisor", headers={"Accept": "application/json"}).json["print_failures"]

    until(failures)
    [failure] = failures()
    page = supervisor.get("/supervisor").get_data(as_text=True)
    printer.drop_connection_after(200)
    printer.load_paper()
    until(lambda: package_events(system.app, order_id, Package.LabelPrinted))

    assert failure["order"] == "L3" and "out of paper" in failure["detail"]
    assert "打印失败" in page and "out of paper" in page
    assert [b.data for b in decode(printer.wait_for_printed(1)[0]).barcodes] == ["SF1400000000777"]
    until(lambda: failures() == [])
    reasons = [e.reason for e in package_events(system.app, order_id, Package.PrintFailed)]
    assert "out of paper" in reasons[0] and any("connection was lost" in r for r in reasons)
    assert len(printer.switch_off()) == 1
    assert len(package_events(system.app, order_id, Package.LabelPrinted)) == 1
