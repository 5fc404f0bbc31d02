from dataclasses import replace
from datetime import datetime, timezone

import pytest

from adapters.printing.code128 import code128_payload
from adapters.printing.layouts import lay_out, render
from adapters.printing.printers import FilePrinter, NetworkPrinter, RecordingPrinter, printer_from_url
from adapters.printing.sample import SAMPLE_PICK_LIST, SAMPLE_WAYBILL
from cangku.settings import ConfigurationError, Settings
from adapters.printing.text import display_width, encode_line, fit, printable, wrap
from domain.printing import (
    BinLabel,
    Contact,
    PrinterConfigurationError,
    PrinterUnavailable,
    PrintLayoutError,
    deliver,
    label_size,
    mask_phone,
    parse_label_sizes,
    sender_contact,
)
from tests.escpos_decode import decode

LONG_ADDRESS = "上海市浦东新区张江高科技园区张江路888弄88号 A座1201室（请放快递柜，不要打电话，谢谢配合）"
CROWDED_WAYBILL = replace(
    SAMPLE_WAYBILL,
    courier_name="中通快递 ZTO Express 标准快递服务 次日达",
    sort_code="浙江杭州转运中心 571-W12-00 B区",
    receiver=Contact("欧阳张三丰欧阳张三丰欧阳张三丰欧阳张三丰", "+86 138 1234 5678", LONG_ADDRESS * 3),
    sender=Contact("仓酷旗舰店" * 6, "0571-88889999", "浙江省杭州市余杭区仓前街道 1号仓" * 3),
    item_summary="纯棉T恤 蓝色 L x2, 帆布包 x1, 陶瓷马克杯 白 x3, 不锈钢保温杯 500ml x1" * 3,
    qr_payload="https://cangku.example/w/SF1234567890123?order=TB20261123000123&check=abcdefghijkl",
    product="顺丰标快 (陆运) 次日达 上门取件",
    package_centre="杭州转运中心 余杭集散 二号分拣线",
    weight_g=49_999_000,
    pieces=10_000_000,
    printed_at=datetime(2026, 11, 23, 6, 5, tzinfo=timezone.utc),
)


class Unplugged:
    def send(self, data: bytes, job: str = "") -> None:
        raise PrinterUnavailable("printer is off")


def test_chinese_wraps_by_display_width_counting_each_character_as_two_columns():
    lines = wrap(LONG_ADDRESS, 20)

    assert all(display_width(line) <= 20 for line in lines)
    assert max(display_width(line) for line in lines) >= 19
    assert "".join(lines).replace(" ", "") == LONG_ADDRESS.replace(" ", "")


def test_english_wraps_between_words_and_a_word_longer_than_the_line_is_broken():
    assert wrap("Room 1201 Building A Zhangjiang Road", 12) == ["Room 1201", "Building A", "Zhangjiang", "Road"]
    assert wrap("TB20261123000123456", 8) == ["TB202611", "23000123", "456"]


def test_text_longer_than_its_lines_is_cut_with_a_visible_ellipsis():
    lines = fit(LONG_ADDRESS, 20, 2)

    assert len(lines) == 2
    assert lines[-1].endswith("…")
    assert display_width(lines[-1]) <= 20


def test_control_and_unassigned_codes_become_a_question_mark_and_whitespace_folds():
    assert printable("张\x07三😀 Zhang\tSan\U000e0001") == "张?三😀 Zhang San?"


def test_a_line_with_a_character_outside_the_printers_font_goes_out_as_a_raster_image_and_is_named():
    label = replace(SAMPLE_WAYBILL, receiver=replace(SAMPLE_WAYBILL.receiver, name="小明♥"))

    rendered = lay_out(label)
    printout = decode(rendered.data)

    (image,) = printout.images
    assert rendered.as_image == ("♥",)
    assert "小明" not in printout.text and "?" not in printout.text
    assert image.width == 576 and image.height == 48
    assert image.black_dots > 200
    ink = [x for x in range(image.width) if any(image.dot(x, y) for y in range(image.height))]
    assert ink[0] < 24 and ink[-1] > 576 - 48  # the name on the left, the masked phone flush right
    assert printout.elements[printout.index_of(image) + 1].text.startswith("上海市")


def test_a_label_the_printers_font_covers_has_no_image():
    rendered = lay_out(SAMPLE_WAYBILL)

    assert rendered.as_image == () and decode(rendered.data).images == []


def test_chinese_is_sent_as_gb18030_inside_chinese_mode_and_ascii_outside_it():
    assert encode_line("收 张三 138****5678") == (
        b"\x1c&" + "收".encode("gb18030") + b"\x1c. \x1c&" + "张三".encode("gb18030") + b"\x1c. 138****5678"
    )


@pytest.mark.parametrize("url", ["lpt://printer", "http://printer:9100", "printer.local:9100", "", "/dev/usb/lp0"])
def test_a_printer_url_with_an_unknown_scheme_is_a_configuration_error(url):
    with pytest.raises(PrinterConfigurationError, match="tcp://host:9100"):
        printer_from_url(url)


@pytest.mark.parametrize("url", [
    "tcp://", "tcp:printer", "tcp://printer:ninety", "tcp://printer:99999", "tcp://printer:9100/queue",
    "tcp://printer:9100?timeout=soon", "tcp://printer:0", "tcp://printer?timeout=nan", "tcp://printer:9100?speed=9600", "tcp://printer?confirm=maybe", "file://printer/lp0", "file:relative/path",
    "usb://04b8", "usb://zz:0e15", "dummy:printer",
])
def test_a_malformed_printer_url_is_a_configuration_error(url):
    with pytest.raises(PrinterConfigurationError):
        printer_from_url(url)


def test_a_well_formed_printer_url_names_its_printer():
    network = printer_from_url("tcp://printer.local?timeout=2.5")
    clone = printer_from_url("tcp://10.0.0.7:9100?confirm=paper-status")
    device = printer_from_url("file:///dev/usb/lp0")

    assert (type(network), network.host, network.port, network.timeout) == (NetworkPrinter, "printer.local", 9100, 2.5)
    assert (network.confirm, clone.confirm) == ("process-id", "paper-status")
    assert (type(device), device.path) == (FilePrinter, "/dev/usb/lp0")
    assert isinstance(printer_from_url("dummy:"), RecordingPrinter)


@pytest.mark.parametrize("phone, masked", [
    ("13812345678", "138****5678"),
    ("+86 138 1234 5678", "138****5678"),
    ("021-12345678", "021****5678"),
    ("0571-88889999", "0571****9999"),
    ("17012345678-1234", "170****5678-1234"),
    ("12345", "*****"),
])
def test_a_phone_is_masked_the_way_couriers_print_it(phone, masked):
    assert mask_phone(phone) == masked


def test_the_full_phone_never_appears_in_a_waybill_label():
    label = replace(SAMPLE_WAYBILL, receiver=Contact("张三", "13987654321", "上海市"),
                    sender=Contact("仓酷旗舰店", "0571-66668888", "杭州市"))

    data = render(label)
    printout = decode(data)

    assert b"13987654321" not in data and b"66668888" not in data
    assert "139****4321" in printout.line_with("收 张三").text
    assert "0571****8888" in printout.line_with("寄 仓酷旗舰店").text
    assert "13987654321" not in repr(label) and "上海市" not in repr(label)


@pytest.mark.parametrize("size", ["76x130", "100x180"])
def test_a_label_crowded_with_long_text_stays_inside_its_width_and_length(size):
    printout = decode(render(replace(CROWDED_WAYBILL, size=size)))
    length_mm = int(size.split("x")[1])

    assert all(line.dots <= printout.print_area_dots for line in printout.lines)
    assert all(barcode.dots <= printout.print_area_dots for barcode in printout.barcodes)
    assert printout.height_dots <= (length_mm - 8) * 8
    assert any(line.text.endswith("…") for line in printout.lines)


def test_the_sort_code_is_the_largest_type_on_the_label():
    printout = decode(render(SAMPLE_WAYBILL))

    sort_code = printout.line_with("021-W12")
    others = [line for line in printout.lines if line is not sort_code]
    assert sort_code.width * sort_code.height > max(line.width * line.height for line in others)
    assert sort_code.height >= 4


def test_a_numeric_tracking_number_is_packed_as_digit_pairs_after_a_code_set_prefix():
    payload = code128_payload("773012345678901")

    assert payload.startswith("{B7{C")
    assert len(payload) == 5 + 7


def test_a_literal_brace_in_a_barcode_is_escaped_for_the_printer():
    label = decode(render(BinLabel("A{1}")))

    assert label.barcodes[0].data == "A{1}"
    assert label.barcodes[0].payload == b"{BA{{1}"


def test_a_barcode_the_symbology_cannot_carry_is_refused():
    with pytest.raises(PrintLayoutError, match="ASCII"):
        render(BinLabel("货架-01"))


def test_an_unknown_label_size_is_refused():
    with pytest.raises(PrintLayoutError, match="76x130"):
        replace(SAMPLE_WAYBILL, size="80x80")


def test_a_document_without_a_layout_is_refused():
    with pytest.raises(PrintLayoutError, match="no layout"):
        render("a string")


def test_rendering_keeps_python_escpos_status_lines_out_of_stdout(capsys):
    render(SAMPLE_WAYBILL)

    assert capsys.readouterr().out == ""


def test_a_delivered_job_is_not_sent_again():
    printer, delivered = RecordingPrinter(), set()

    first = deliver("job-1", printer, b"label", delivered)
    second = deliver("job-1", printer, b"label", delivered)

    assert (first, second) == (True, False)
    assert printer.jobs == [b"label"]


def test_a_job_the_printer_could_not_take_is_not_recorded_as_delivered():
    delivered = set()

    with pytest.raises(PrinterUnavailable):
        deliver("job-1", Unplugged(), b"label", delivered)

    assert "job-1" not in delivered


def test_the_label_size_follows_the_station_and_courier_most_specific_first():
    sizes = parse_label_sizes("SF=100x180, packing-2/*=100x180, packing-2/ZTO=76x130")

    assert label_size(sizes, "packing", "SF") == "100x180"
    assert label_size(sizes, "packing-2", "ZTO") == "76x130"
    assert label_size(sizes, "packing-2", "YTO") == "100x180"
    assert label_size(sizes, "packing", "YTO") == "76x130"


@pytest.mark.parametrize("setting", ["SF=80x80", "=100x180", "SF"])
def test_a_malformed_label_size_setting_stops_the_start_with_its_name(setting):
    with pytest.raises(ConfigurationError, match="CANGKU_LABEL_SIZES.*SF=100x180"):
        Settings.from_env({"CANGKU_LABEL_SIZES": setting})


def test_the_sender_on_labels_comes_from_the_sender_settings():
    sender = sender_contact(Settings.from_env({"CANGKU_SENDER_NAME": "茶园旗舰店", "CANGKU_SENDER_PHONE": "0571-88880000",
                                               "CANGKU_SENDER_ADDRESS": "龙井路 1 号"}).sender)

    printout = decode(render(replace(SAMPLE_WAYBILL, sender=sender)))

    assert printout.line_with("寄 茶园旗舰店").text.endswith("0571****0000")
    assert "浙江省 杭州市 余杭区 龙井路 1 号" in printout.text


def test_a_die_cut_label_sets_its_length_starts_at_the_top_and_ends_at_the_cutter():
    small, large = decode(render(SAMPLE_WAYBILL)), decode(render(replace(SAMPLE_WAYBILL, size="100x180")))

    assert [(layout.reference, layout.values) for layout in small.layouts] == [("1", ["1300"])]
    assert [(layout.reference, layout.values) for layout in large.layouts] == [("1", ["1800"])]
    assert small.elements[0] is small.layouts[0] and small.elements[1].to == "print start"
    assert small.elements[-1].to == "cutting" and small.cuts == ["partial"]
    assert decode(render(SAMPLE_PICK_LIST)).layouts == []
