"""Print jobs sent over TCP to a stand-in for a printer's raw port (9100), captured and decoded."""

import logging
import socket
import time
from dataclasses import replace

import pytest
from click.testing import CliRunner

from cangku.printing_cli import print_test
from adapters.printing.layouts import render
from adapters.printing.printers import printer_from_url
from adapters.printing.sample import SAMPLE_BIN_LABEL, SAMPLE_PACKING_SLIP, SAMPLE_PICK_LIST, SAMPLE_WAYBILL
from domain.printing import PrinterFault, PrinterUnavailable, PrintOutcomeUnknown, deliver
from tests.escpos_decode import decode
from tests.printer_server import TcpPrinter

def print_over_tcp(tcp_printer: TcpPrinter, document) -> bytes:
    printer_from_url(tcp_printer.url).send(render(document))
    (job,) = tcp_printer.wait_for_printed(1)
    return job


def test_a_76x130_waybill_label_arrives_with_courier_sort_code_tracking_barcode_parties_and_qr(tcp_printer):
    printout = decode(print_over_tcp(tcp_printer, SAMPLE_WAYBILL))

    (barcode,) = printout.barcodes
    assert printout.print_area_dots == 576
    assert printout.line_with("顺丰速运").bold and printout.line_with("顺丰速运").text.endswith("顺丰标快")
    assert "集包地 上海浦东集散中心" in printout.text
    assert printout.line_with("重量 1.25kg").text.endswith("件数 3")
    assert printout.line_with("订单 TB20261123000123").text.endswith("2026-11-23 14:05")
    assert printout.line_with("沪 021-W12").height == 4
    assert (barcode.symbology, barcode.data) == ("CODE128", "SF1234567890123")
    assert barcode.payload.startswith(b"{B")
    assert printout.elements[printout.index_of(barcode) + 1].text == "SF1234567890123"
    assert printout.line_with("收 张三").text.endswith("138****5678")
    assert "上海市浦东新区张江路88号 A座1201室" in printout.text
    assert printout.line_with("寄 仓酷旗舰店").text.endswith("021****5678")
    assert "浙江省杭州市余杭区仓前街道 1号仓" in printout.text
    assert "物品 纯棉T恤 蓝色 L x2, 帆布包 x1" in printout.text
    assert [qr.data for qr in printout.qr_codes] == ["https://cangku.example/w/SF1234567890123"]
    assert printout.cuts == ["partial"]


def test_a_100x180_waybill_label_uses_the_wider_print_area_and_larger_codes(tcp_printer):
    small = decode(render(SAMPLE_WAYBILL))

    large = decode(print_over_tcp(tcp_printer, replace(SAMPLE_WAYBILL, size="100x180")))

    assert large.print_area_dots == 768
    assert large.line_with("沪 021-W12").height > small.line_with("沪 021-W12").height
    assert large.barcodes[0].data == "SF1234567890123"
    assert large.barcodes[0].height > small.barcodes[0].height
    assert large.qr_codes[0].module > small.qr_codes[0].module


def test_chinese_arrives_in_chinese_mode_as_gb18030_bytes(tcp_printer):
    job = print_over_tcp(tcp_printer, SAMPLE_WAYBILL)

    assert b"\x1c&" + "收".encode("gb18030") + b"\x1c." in job
    assert b"\x1c&" + "上海市浦东新区张江路".encode("gb18030") + b"\x1c.88" in job
    assert "张三".encode("utf-8") not in job


def test_a_pick_list_lists_bins_in_pick_order_with_sku_quantity_and_a_barcode_per_line(tcp_printer):
    printout = decode(print_over_tcp(tcp_printer, SAMPLE_PICK_LIST))

    bin_lines = [line for line in printout.lines if line.text[:2] in ("1.", "2.", "3.")]
    assert [line.text.split()[1] for line in bin_lines] == ["A-01-02", "A-03-01", "B-12-04"]
    assert [line.text.split()[-1] for line in bin_lines] == ["x2", "x1", "x3"]
    assert all(line.width == 2 for line in bin_lines)
    assert [barcode.data for barcode in printout.barcodes] == ["W20261123-01", "6901234567892", "6901234567885",
                                                               "MUG-WHITE"]
    for bin_line, sku, name, barcode in zip(bin_lines, ["TSHIRT-BLU-L", "BAG-CANVAS", "MUG-WHITE"],
                                            ["纯棉T恤 蓝色 L", "帆布包 Canvas bag", "陶瓷马克杯 白"], printout.barcodes[1:]):
        position = printout.index_of(bin_line)
        assert [element.text for element in printout.elements[position + 1:position + 3]] == [sku, name]
        assert printout.elements[position + 3] is barcode
    assert "共 6 件 units" in printout.text
    assert printout.cuts == ["full"]


def test_a_packing_slip_lists_every_item_with_its_quantity_under_the_order_barcode(tcp_printer):
    printout = decode(print_over_tcp(tcp_printer, SAMPLE_PACKING_SLIP))

    assert printout.line_with("仓酷旗舰店").width == 2
    assert [barcode.data for barcode in printout.barcodes] == ["TB20261123000123"]
    assert "收件人 张三" in printout.text
    assert printout.line_with("TSHIRT-BLU-L").text.endswith("x2")
    assert printout.line_with("BAG-CANVAS").text.endswith("x1")
    assert printout.line_with("合计 Total").text.endswith("3 件")
    assert "感谢惠顾！Thank you for your order." in printout.text


def test_a_bin_label_carries_the_bin_code_as_code128_and_in_large_type(tcp_printer):
    printout = decode(print_over_tcp(tcp_printer, SAMPLE_BIN_LABEL))

    assert printout.barcodes[0].data == "A-01-02"
    assert printout.line_with("A-01-02").width >= 4
    assert "杭州一号仓" in printout.text


def test_print_test_command_prints_one_job_per_layout(tcp_printer):
    result = CliRunner().invoke(print_test, ["--printer", tcp_printer.url])

    jobs = tcp_printer.wait_for_printed(5)
    assert result.exit_code == 0, result.output
    assert result.output.count("printed ") == 5
    assert [decode(job).barcodes[0].data for job in jobs] == [
        "SF1234567890123", "SF1234567890123", "W20261123-01", "TB20261123000123", "A-01-02"]


def test_print_test_command_names_an_unusable_printer_url():
    result = CliRunner().invoke(print_test, ["--printer", "lpt1"])

    assert result.exit_code == 2
    assert "--printer" in result.output and "tcp://host:9100" in result.output


def test_a_printer_that_refuses_connections_is_unavailable(switched_off_printer):
    printer = printer_from_url(switched_off_printer.url)

    with pytest.raises(PrinterUnavailable, match="refused"):
        printer.send(render(SAMPLE_BIN_LABEL))


def test_a_printer_that_does_not_answer_times_out_as_unavailable():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(0)
    # A listen queue of one, already taken and never accepted: the next connection gets no answer.
    queued = socket.create_connection(busy.getsockname())
    printer = printer_from_url("tcp://127.0.0.1:%d?timeout=0.3" % busy.getsockname()[1])

    try:
        started = time.monotonic()
        with pytest.raises(PrinterUnavailable, match="timed out"):
            printer.send(render(SAMPLE_BIN_LABEL))
        assert time.monotonic() - started < 2
    finally:
        queued.close()
        busy.close()


def test_a_label_refused_while_the_printer_is_off_prints_exactly_once_when_it_comes_back(switched_off_printer):
    printer = printer_from_url(switched_off_printer.url)
    label = render(SAMPLE_WAYBILL)
    delivered = set()

    with pytest.raises(PrinterUnavailable):
        deliver("print-job-42", printer, label, delivered)
    switched_off_printer.switch_on()
    retried = deliver("print-job-42", printer, label, delivered)
    redelivered = deliver("print-job-42", printer, label, delivered)

    assert (retried, redelivered) == (True, False)
    assert switched_off_printer.wait_for_printed(1) == [label]
    assert switched_off_printer.switch_off() == [label]
    assert decode(label).barcodes[0].data == "SF1234567890123"


def test_a_file_printer_collects_jobs_one_after_another(tmp_path):
    printer = printer_from_url(f"file://{tmp_path}/printer.bin")

    printer.send(render(SAMPLE_BIN_LABEL))
    printer.send(render(SAMPLE_BIN_LABEL))

    assert (tmp_path / "printer.bin").read_bytes() == render(SAMPLE_BIN_LABEL) * 2


def test_a_file_printer_whose_device_is_missing_is_unavailable(tmp_path):
    printer = printer_from_url(f"file://{tmp_path}/unplugged/lp0")

    with pytest.raises(PrinterUnavailable, match="unplugged"):
        printer.send(render(SAMPLE_BIN_LABEL))


def test_sending_a_job_leaves_the_applications_logging_setup_alone(tcp_printer):
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()

    try:
        print_over_tcp(tcp_printer, SAMPLE_BIN_LABEL)
        installed = root.handlers[:]
    finally:
        root.handlers[:] = saved

    assert installed == []


def tracking_numbers(documents: list[bytes]) -> list[str]:
    return [decode(document).barcodes[0].data for document in documents]


def test_a_printer_out_of_paper_fails_the_job_before_a_byte_of_it_is_sent(tcp_printer):
    tcp_printer.run_out_of_paper()

    with pytest.raises(PrinterFault, match="out of paper") as refused:
        printer_from_url(tcp_printer.url).send(render(SAMPLE_WAYBILL), "job-1")

    assert refused.value.fault == "paper_out"
    assert tcp_printer.status_requests >= 3
    assert (tcp_printer.printed, tcp_printer.torn) == ([], [])


def test_a_printer_with_its_cover_open_fails_the_job_as_cover_open(tcp_printer):
    tcp_printer.cover_open = True

    with pytest.raises(PrinterFault, match="cover open") as refused:
        printer_from_url(tcp_printer.url).send(render(SAMPLE_WAYBILL), "job-1")

    assert refused.value.fault == "cover_open"
    assert tcp_printer.printed == []


def test_paper_running_out_mid_label_fails_the_job_and_the_half_label_is_never_finished_later(tcp_printer):
    printer = printer_from_url(tcp_printer.url)
    label = render(SAMPLE_WAYBILL)
    tcp_printer.run_out_of_paper(after_bytes=len(label) // 2)

    with pytest.raises(PrinterFault, match="out of paper .while printing"):
        printer.send(label, "job-1")
    tcp_printer.load_paper()
    printer.send(label, "job-1")

    assert tcp_printer.wait_for_printed(1) == [label]
    assert len(tcp_printer.torn) == 1 and label.startswith(tcp_printer.torn[0])


def test_a_printer_that_takes_the_bytes_but_never_answers_is_not_a_printed_label():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    printer = printer_from_url("tcp://127.0.0.1:%d?timeout=0.3" % silent.getsockname()[1])

    try:
        with pytest.raises(PrinterUnavailable, match="did not answer"):
            printer.send(render(SAMPLE_BIN_LABEL), "job-1")
    finally:
        silent.close()


def test_labels_through_a_printer_that_drops_mid_job_runs_out_of_paper_and_comes_back_print_exactly_once(
        tcp_printer):
    printer = printer_from_url(tcp_printer.url)
    labels = {f"job-{n}": render(replace(SAMPLE_WAYBILL, tracking_number=f"SF{1400000000000 + n}"))
              for n in range(12)}
    delivered: set[str] = set()
    trouble = {"job-2": lambda: tcp_printer.drop_connection_after(300),
               "job-5": lambda: tcp_printer.run_out_of_paper(),
               "job-8": lambda: tcp_printer.run_out_of_paper(after_bytes=400),
               "job-9": lambda: tcp_printer.drop_connection_after(len(labels["job-9"]) - 20)}
    failures = []

    for job, label in labels.items():
        trouble.get(job, lambda: None)()
        while True:
            try:
                deliver(job, printer, label, delivered)
                break
            except PrinterUnavailable as error:
                failures.append((job, getattr(error, "fault", "connection")))
                tcp_printer.load_paper()
        deliver(job, printer, label, delivered)

    printed = tcp_printer.wait_for_printed(len(labels))
    assert failures == [("job-2", "connection"), ("job-5", "paper_out"), ("job-8", "paper_out"),
                        ("job-9", "connection")]
    assert sorted(tracking_numbers(printed)) == [f"SF{1400000000000 + n}" for n in range(12)]
    assert len(tcp_printer.torn) == 3


def test_a_printer_without_process_ids_confirms_with_its_paper_status_and_a_dropped_job_prints_once(tcp_printer):
    printer = printer_from_url(tcp_printer.url + "&confirm=paper-status")
    label, delivered = render(SAMPLE_WAYBILL), set()
    tcp_printer.drop_connection_after(len(label) - 10)

    with pytest.raises(PrinterUnavailable, match="connection was lost"):
        deliver("job-1", printer, label, delivered)
    tcp_printer.run_out_of_paper(after_bytes=len(label) // 2)
    with pytest.raises(PrinterFault, match="out of paper"):
        deliver("job-1", printer, label, delivered)
    tcp_printer.load_paper()
    deliver("job-1", printer, label, delivered)

    assert tcp_printer.wait_for_printed(1) == [label] and len(tcp_printer.torn) == 2


def test_a_label_cut_before_the_connection_dropped_is_reported_as_may_have_printed_not_as_unprinted(tcp_printer):
    printer = printer_from_url(tcp_printer.url)
    label = render(SAMPLE_WAYBILL)
    tcp_printer.drop_when_answer_due()

    with pytest.raises(PrintOutcomeUnknown, match="may have printed"):
        printer.send(label, "job-1")

    assert tcp_printer.wait_for_printed(1) == [label] and tcp_printer.torn == []
