"""Label printing through the job workers: on the real RabbitMQ, and in-process without a broker."""

import re
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from domain.fulfilment import Package, Wave
from domain.order import Buyer
from tests.builders import TEA, TEA_EAN, order, warehouse_with_catalogue
from tests.escpos_decode import decode
from tests.printer_server import TcpPrinter
from tests.waiting import FAST_RETRIES, until

def packed_and_waybilled(app, number="L1", placed=None, units=1, grams=300, **waybill):
    """An order picked, packed and weighed, whose waybill has just arrived."""
    order_id = reserved(app, number, placed, units)
    packed(app, app.fulfilment.create_wave("WH1", f"W-{number}", [order_id], "sup"), order_id, units)
    app.fulfilment.weigh(order_id, grams, "carl")
    app.fulfilment.assign_waybill(order_id, "SF", "SF1400000000777", "755-W", **waybill)
    return order_id


def reserved(app, number, placed=None, units=1):
    """An order for `units` of tea, imported and reserved."""
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 5})
    [result] = app.orders.import_orders([placed or order(number, (TEA, units))], warehouse="WH1")
    return result["order_id"]


def packed(app, wave, order_id, units):
    """The wave's only line picked, every unit scanned into the package, the package closed."""
    app.fulfilment.pick(wave, 0, "A-01-01", TEA_EAN, units, "bob")
    for _ in range(units):
        app.fulfilment.verify_item(order_id, TEA_EAN, "carl")
    app.fulfilment.close_package(order_id, "carl")


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


def signed_in_supervisor(system):
    from scanner_ui import create_app

    system.app.staff.register_staff("S1", "Sue", "supervisor", "2468", "admin")
    supervisor = create_app(system, {"TESTING": True}).test_client()
    supervisor.environ_base["HTTP_X_DEVICE_ID"] = "desk-1"
    supervisor.post("/login", data={"badge": "S1", "pin": "2468"})
    return supervisor


def print_failures(supervisor) -> list[dict]:
    return supervisor.get("/supervisor", headers={"Accept": "application/json"}).json["print_failures"]


def test_a_label_job_failing_on_paper_out_shows_on_the_supervisor_page_and_prints_once_paper_is_loaded(
        make_system, sqlite_url):
    printer = TcpPrinter().switch_on()
    printer.run_out_of_paper()
    system = make_system(sqlite_url, printer_packing=printer.url)
    order_id = packed_and_waybilled(system.app, "L3")
    supervisor = signed_in_supervisor(system)
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    until(lambda: print_failures(supervisor))
    [failure] = print_failures(supervisor)
    page = supervisor.get("/supervisor").get_data(as_text=True)
    printer.load_paper()
    until(lambda: package_events(system.app, order_id, Package.LabelPrinted))

    assert failure["order"] == "L3" and "out of paper" in failure["detail"]
    assert "打印失败" in page and "out of paper" in page
    assert [b.data for b in decode(printer.wait_for_printed(1)[0]).barcodes] == ["SF1400000000777"]
    until(lambda: print_failures(supervisor) == [])
    reasons = [e.reason for e in package_events(system.app, order_id, Package.PrintFailed)]
    assert "out of paper" in reasons[0]
    assert len(printer.switch_off()) == 1
    assert len(package_events(system.app, order_id, Package.LabelPrinted)) == 1


def test_a_label_cut_just_before_the_connection_dropped_is_not_printed_again_but_left_for_a_person_to_check(
        make_system, sqlite_url):
    printer = TcpPrinter().switch_on()
    system = make_system(sqlite_url, printer_packing=printer.url)
    order_id = packed_and_waybilled(system.app, "L7")
    supervisor = signed_in_supervisor(system)
    printer.drop_when_answer_due()
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    until(lambda: print_failures(supervisor))
    [failure] = print_failures(supervisor)
    desk = supervisor.get(f"/office/orders/{order_id}").get_data(as_text=True)
    came_out = supervisor.post(f"/office/orders/{order_id}/label_came_out")
    until(lambda: print_failures(supervisor) == [])
    time.sleep(0.3)

    assert failure["order"] == "L7" and "outcome unknown" in failure["detail"]
    assert 'id="label-came-out-form"' in desk and came_out.status_code == 303 and "面单打印结果未知" in desk
    assert len(printer.switch_off()) == 1
    [printed] = package_events(system.app, order_id, Package.LabelPrinted)
    assert printed.by == "S1" and package_events(system.app, order_id, Package.PrintFailed) == []


def test_a_label_whose_outcome_is_unknown_prints_once_more_when_a_person_says_it_did_not_come_out(
        make_system, sqlite_url):
    printer = TcpPrinter().switch_on()
    system = make_system(sqlite_url, printer_packing=printer.url)
    order_id = packed_and_waybilled(system.app, "L8")
    printer.drop_when_answer_due()
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)
    until(lambda: package_events(system.app, order_id, Package.PrintOutcomeUnknown))
    printer.printed.clear()  # the operator found no label at the printer (say it jammed)

    system.app.fulfilment.request_reprint(order_id, "not at the printer", "S1")
    until(lambda: package_events(system.app, order_id, Package.LabelPrinted))
    time.sleep(0.3)

    assert len(printer.switch_off()) == 1
    [resolved] = package_events(system.app, order_id, Package.PrintOutcomeResolved)
    assert resolved.printed is False and resolved.by == "S1"


def test_a_label_whose_platform_print_data_is_encrypted_is_not_printed_and_the_supervisor_sees_why(
        make_system, sqlite_url):
    printer = TcpPrinter().switch_on()
    system = make_system(sqlite_url, printer_packing=printer.url)
    order_id = reserved(system.app, "L9")
    packed(system.app, system.app.fulfilment.create_wave("WH1", "W-L9", [order_id], "sup"), order_id, 1)
    system.app.fulfilment.weigh(order_id, 300, "carl")
    system.app.fulfilment.assign_waybill(order_id, "YTO", "YT1400000000999", "", print_data={
        "template_url": "https://cloudprint.cainiao.com/template/standard/101", "version": "waybill_print_secret_version_1",
        "encrypted": True})
    supervisor = signed_in_supervisor(system)
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    until(lambda: print_failures(supervisor))
    [failure] = print_failures(supervisor)
    page = supervisor.get("/supervisor").get_data(as_text=True)

    assert failure["order"] == "L9" and "encrypted print data" in failure["detail"]
    assert "waybill_print_secret_version_1" in page and "大头笔" in page
    assert printer.printed == [] and package_events(system.app, order_id, Package.LabelPrinted) == []


def test_a_label_printed_by_the_job_carries_everything_the_courier_and_the_sender_need(make_system, sqlite_url):
    printer = TcpPrinter().switch_on()
    system = make_system(sqlite_url, printer_packing=printer.url, label_sizes="SF=100x180",
                         sender_name="茶园旗舰店", sender_phone="0571-88880000", sender_province="浙江省",
                         sender_city="杭州市", sender_district="西湖区", sender_address="龙井路 1 号")
    placed = replace(order("L4", (TEA, 2)), buyer=Buyer("wang", "王小明♥", "13812345678", "文三路 90 号"))
    order_id = packed_and_waybilled(system.app, "L4", placed, units=2, grams=1250, package_centre="杭州中转场",
                                    product="顺丰标快")
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    label = decode(printer.wait_for_printed(1)[0])

    until(lambda: package_events(system.app, order_id, Package.LabelPrinted))
    assert label.print_area_dots == 768 and label.layouts[0].values == ["1800"]
    assert [feed.to for feed in label.label_feeds] == ["print start", "cutting"]
    assert label.line_with("顺丰速运").text.endswith("顺丰标快")
    assert "集包地 杭州中转场" in label.text
    assert label.line_with("寄 茶园旗舰店").text.endswith("0571****0000")
    assert "浙江省 杭州市 西湖区 龙井路 1 号" in label.text
    assert label.line_with("重量 1.25kg").text.endswith("件数 2")
    printed_at = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d$", label.line_with("订单 L4").text).group()
    china_now = datetime.now(timezone(timedelta(hours=8))).replace(tzinfo=None)
    assert abs(datetime.strptime(printed_at, "%Y-%m-%d %H:%M") - china_now) < timedelta(minutes=2)
    assert f"物品 {TEA}×2" in label.text
    assert len(label.images) == 1 and "王小明" not in label.text
    [noted] = package_events(system.app, order_id, Package.TextPrintedAsImage)
    assert noted.characters == "♥" and noted.job_id == package_events(system.app, order_id,
                                                                      Package.LabelPrinted)[0].job_id
    printer.switch_off()


def test_a_started_wave_prints_its_pick_list_and_a_closed_package_its_packing_slip_at_their_printers(
        make_system, sqlite_url):
    picking, slips, labels = TcpPrinter().switch_on(), TcpPrinter().switch_on(), TcpPrinter().switch_on()
    system = make_system(sqlite_url, printer_picking=picking.url, printer_packing_slips=slips.url,
                         printer_packing=labels.url)
    app = system.app
    order_id = reserved(app, "L5", units=2)
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    wave = app.fulfilment.create_wave("WH1", "W-L5", [order_id], "sup")
    pick_list = decode(picking.wait_for_printed(1)[0])
    packed(app, wave, order_id, 2)
    slip = decode(slips.wait_for_printed(1)[0])
    until(lambda: package_events(app, order_id, Package.PackingSlipPrinted))
    until(lambda: [e for e in app.store.events.get(wave) if isinstance(e, Wave.PickListPrinted)])

    assert "波次 Wave W-L5" in pick_list.text
    assert pick_list.line_with("1. A-01-01").text.endswith("x2")
    assert pick_list.barcodes[1].data == TEA_EAN
    assert [b.data for b in slip.barcodes] == ["L5"]
    assert [line.text.split() for line in slip.lines if line.text.endswith("x2")] == [[TEA, "x2"]]
    assert "收件人 王小明" in slip.text
    assert labels.printed == [] and len(picking.switch_off()) == 1 and len(slips.switch_off()) == 1
    labels.switch_off()


def test_without_a_printer_for_the_station_no_pick_list_or_packing_slip_is_printed(make_system, sqlite_url):
    labels = TcpPrinter().switch_on()
    system = make_system(sqlite_url, printer_packing=labels.url)
    order_id = packed_and_waybilled(system.app, "L6")
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    until(lambda: package_events(system.app, order_id, Package.LabelPrinted))

    assert len(labels.switch_off()) == 1
    assert package_events(system.app, order_id, Package.PackingSlipPrinted) == []


def test_a_pick_list_and_a_packing_slip_that_failed_show_on_the_supervisor_page_until_each_prints_once(
        make_system, sqlite_url):
    picking, slips = TcpPrinter().switch_on(), TcpPrinter().switch_on()
    picking.run_out_of_paper()
    slips.drop_connection_after(100)
    system = make_system(sqlite_url, printer_picking=picking.url, printer_packing_slips=slips.url)
    supervisor = signed_in_supervisor(system)
    app = system.app
    order_id = reserved(app, "L7")
    system.start_jobs(retries=FAST_RETRIES)
    system.start_followers(interval=0.05)

    wave = app.fulfilment.create_wave("WH1", "W-L7", [order_id], "sup")
    until(lambda: print_failures(supervisor))
    [pick_list_failure] = print_failures(supervisor)
    picking.load_paper()
    packed(app, wave, order_id, 1)
    until(lambda: package_events(app, order_id, Package.PackingSlipPrinted))
    until(lambda: [e for e in app.store.events.get(wave) if isinstance(e, Wave.PickListPrinted)])

    assert "pick list of wave W-L7" in pick_list_failure["detail"] and "out of paper" in pick_list_failure["detail"]
    assert [e.printer for e in package_events(app, order_id, Package.PrintFailed)] == ["packing_slips"]
    until(lambda: print_failures(supervisor) == [])
    assert len(picking.switch_off()) == 1 and len(slips.switch_off()) == 1
