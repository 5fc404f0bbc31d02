"""Layouts: each printable document turned into the ESC/POS bytes of one print job."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timezone
from zoneinfo import ZoneInfo

from domain.printing import (
    BinLabel,
    PackingSlip,
    PickList,
    PrintLayoutError,
    WaybillLabel,
    mask_phone,
)

from ._escpos import escpos_printer, quiet
from .code128 import QUIET_ZONE_MODULES, code128_modules, code128_payload
from .text import display_width, encode_line, fit, outside_printer_font, printable, two_columns

FONT_A_DOTS = 12  # font A is 12 x 24 dots; a Chinese-mode character takes two columns
RECEIPT_DOTS = 576  # 80 mm roll, 72 mm printable at 203 dpi
BIN_LABEL_DOTS = 576
BUSINESS_TIME = ZoneInfo("Asia/Shanghai")  # the print time on a label is the warehouse's local time
# Fonts that draw a line the printer cannot print itself, character by character, the first with a glyph winning:
# a font given to the layout, these when installed (Noto CJK reaches CJK extension B, DejaVu many symbols and
# scripts), then WenQuanYi Micro Hei, which the paperang-p2-fonts-cjk package brings (GBK and common symbols).
IMAGE_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
               "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# FS ( L: die-cut label control. <Function 33> paper layout, layout reference "1" (die-cut label paper, no black
# mark) with the label length in 0.1 mm as the first vertical value; <Function 67> feeds to the print starting
# position of the label; <Function 66> feeds the end of the label to the cutting (tear-off) position.
DIE_CUT_LAYOUT, TO_PRINT_START, TO_CUTTING_POSITION = 33, 67, 66


@dataclass(frozen=True)
class Rendered:
    """A job's bytes, and the characters that went out as an image because the printer's font lacks them."""

    data: bytes
    as_image: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class WaybillGeometry:
    dots: int
    length_mm: int
    sort_code_size: int
    barcode_height: int
    barcode_module: int
    qr_module: int
    address_lines: int
    item_lines: int
    sender_lines: int
    centre_height: int


WAYBILL_GEOMETRY = {
    "76x130": WaybillGeometry(576, 130, 4, 72, 3, 3, 3, 2, 1, 1),
    "100x180": WaybillGeometry(768, 180, 6, 144, 4, 6, 3, 4, 2, 2),
}


class Sheet:
    """One print job being laid out, on a printable width given in dots."""

    def __init__(self, dots: int, font: str | None = None):
        self._printer = escpos_printer().Dummy()
        self.dots = dots
        self.columns = dots // FONT_A_DOTS
        self.font = font
        self.as_image: dict[str, None] = {}
        self._current = {"width": 1, "height": 1, "bold": False, "align": "left"}
        self._printer.hw("INIT")
        # GS L 0, GS W: pin the print area, so a wide printer loaded with narrow labels never prints off the label.
        self._printer._raw(b"\x1dL\x00\x00\x1dW" + dots.to_bytes(2, "little"))

    def _style(self, *, width: int = 1, height: int = 1, bold: bool = False, align: str = "left") -> None:
        self._current = {"width": width, "height": height, "bold": bold, "align": align}
        self._printer.set(align=align, bold=bold, custom_size=True, width=width, height=height)

    def _emit(self, lines: list[str]) -> None:
        for line in lines:
            missing = outside_printer_font(line)
            if missing:
                self.as_image.update(dict.fromkeys(missing))
                self._line_as_image(line)
            else:
                self._printer._raw(encode_line(line) + b"\n")

    def _line_as_image(self, line: str) -> None:
        """A line drawn as a raster image (GS v 0) column for column where the printer would have printed it."""
        from PIL import Image, ImageDraw

        style = self._current
        cell, height = FONT_A_DOTS * style["width"], 24 * style["height"]
        row = Image.new("1", (self.dots, height), 1)
        used = display_width(line) * cell
        x = {"left": 0, "center": (self.dots - used) // 2, "right": self.dots - used}[style["align"]]
        for char in line:
            columns = display_width(char)
            if char != " ":
                glyph = Image.new("1", (columns * height // 2, height), 1)
                draw = ImageDraw.Draw(glyph)
                font = _image_font_for(char, self.font, height)
                for shift in (0, 1) if style["bold"] else (0,):
                    draw.text((shift, 0), char, font=font, fill=0)
                row.paste(glyph.resize((columns * cell, height)), (x, 0))
            x += columns * cell
        with quiet():
            self._printer.image(row, impl="bitImageRaster")

    def die_cut(self, length_mm: int) -> None:
        """Set die-cut label paper of this length and start at the top of the next label (FS ( L)."""
        self._label_control(DIE_CUT_LAYOUT, b"1" + str(length_mm * 10).encode() + b";")
        self._label_control(TO_PRINT_START, b"0")

    def _label_control(self, function: int, parameters: bytes) -> None:
        body = bytes([function]) + parameters
        self._printer._raw(b"\x1c(L" + len(body).to_bytes(2, "little") + body)

    def text(self, text: str, *, width: int = 1, height: int = 1, bold: bool = False, align: str = "left",
             max_lines: int = 1) -> None:
        """Wrap text to the paper at this size, cut after `max_lines`."""
        self._style(width=width, height=height, bold=bold, align=align)
        self._emit(fit(text, self.columns // width, max_lines))

    def row(self, left: str, right: str, *, width: int = 1, height: int = 1, bold: bool = False) -> None:
        """One line: `left` cut to fit, `right` flush right."""
        self._style(width=width, height=height, bold=bold)
        self._emit([two_columns(left, right, self.columns // width)])

    def headline(self, text: str, *, largest: int) -> None:
        """Text as large as fits on one line, up to `largest` times normal size."""
        width = max(1, min(largest, self.columns // max(1, display_width(printable(text)))))
        self.text(text, width=width, height=largest, bold=True, align="center", max_lines=2)

    def rule(self) -> None:
        self._style()
        self._emit(["-" * self.columns])

    def barcode(self, content: str, *, height: int, module: int = 3, readable: bool = True) -> None:
        """A hardware CODE128 as wide as fits (module 2..`module` dots), centred, readable text below if asked."""
        payload = code128_payload(content)
        module = min(module, self.dots // (code128_modules(payload) + 2 * QUIET_ZONE_MODULES))
        if module < 2:
            raise PrintLayoutError(f"barcode {content!r} is too long for a {self.dots}-dot wide print area")
        self._style()
        with quiet():
            self._printer.barcode(payload, "CODE128", height=height, width=module, pos="BELOW" if readable else "OFF",
                                  font="A", align_ct=True, function_type="B")

    def qr(self, payload: str, *, module: int) -> None:
        if not payload:
            return
        from escpos.constants import QR_ECLEVEL_M

        self._style(align="center")
        self._printer.qr(payload, ec=QR_ECLEVEL_M, size=module, native=True)

    def finish(self, *, receipt: bool, die_cut: bool = False) -> Rendered:
        """The job; a receipt feeds past the cutter and cuts, a die-cut label feeds its end to the cutter and cuts."""
        self._style()
        if die_cut:
            self._label_control(TO_CUTTING_POSITION, b"0")
        self._printer.cut(feed=receipt)
        return Rendered(self._printer.output, tuple(self.as_image))


def _image_fonts(path: str | None) -> tuple[str, ...]:
    from pathlib import Path

    import paperang_p2_fonts_cjk

    bundled = str(Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc")
    return tuple(p for p in ((path,) if path else ()) + IMAGE_FONTS + (bundled,) if Path(p).is_file())


@functools.cache
def _font(path: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


@functools.cache
def _image_font_for(char: str, path: str | None, size: int):
    """The first font with a glyph for `char` (a font without one draws the same box as for an unassigned code)."""
    fonts = [_font(candidate, size) for candidate in _image_fonts(path)]
    for font in fonts:
        if bytes(font.getmask(char)) != bytes(font.getmask("\U0010fffd")):
            return font
    return fonts[-1]


def render_waybill(label: WaybillLabel, font: str | None = None) -> Rendered:
    """A courier waybill label, 76x130 or 100x180 mm, on die-cut label paper of that length."""
    geometry = WAYBILL_GEOMETRY[label.size]
    sheet = Sheet(geometry.dots, font)
    sheet.die_cut(geometry.length_mm)
    receiver, sender = label.receiver, label.sender
    if label.product:
        sheet.row(label.courier_name, label.product, height=2, bold=True)
    else:
        sheet.text(label.courier_name, width=2, height=2, bold=True, align="center")
    sheet.rule()
    sheet.headline(label.sort_code, largest=geometry.sort_code_size)
    if label.package_centre:
        sheet.text(f"集包地 {label.package_centre}", height=geometry.centre_height, bold=True, align="center")
    sheet.rule()
    sheet.barcode(label.tracking_number, height=geometry.barcode_height, module=geometry.barcode_module,
                  readable=False)
    sheet.text(label.tracking_number, height=2, bold=True, align="center")
    sheet.rule()
    sheet.row(f"收 {receiver.name}", mask_phone(receiver.phone), height=2, bold=True)
    sheet.text(receiver.address, bold=True, max_lines=geometry.address_lines)
    sheet.rule()
    sheet.row(f"寄 {sender.name}", mask_phone(sender.phone))
    sheet.text(sender.address, max_lines=geometry.sender_lines)
    sheet.rule()
    if label.weight_g or label.pieces:
        sheet.row(f"重量 {label.weight_g / 1000:.2f}kg" if label.weight_g else "",
                  f"件数 {label.pieces}" if label.pieces else "")
    printed = label.printed_at.astimezone(BUSINESS_TIME).strftime("%Y-%m-%d %H:%M") if label.printed_at else ""
    sheet.row(f"订单 {label.order_number}", printed)
    sheet.text(f"物品 {label.item_summary}", max_lines=geometry.item_lines)
    sheet.qr(label.qr_payload, module=geometry.qr_module)
    return sheet.finish(receipt=False, die_cut=True)


def render_pick_list(pick_list: PickList, font: str | None = None) -> Rendered:
    """A wave's pick list: one block per line in pick order, bin and quantity large, the item's barcode."""
    sheet = Sheet(RECEIPT_DOTS, font)
    sheet.text("拣货单 PICK LIST", width=2, height=2, bold=True, align="center")
    sheet.text(f"波次 Wave {pick_list.wave_code}", bold=True, align="center")
    sheet.barcode(pick_list.wave_code, height=60, readable=False)
    total = sum(line.quantity for line in pick_list.lines)
    sheet.row(f"{len(pick_list.lines)} 行 lines", f"共 {total} 件 units")
    for number, line in enumerate(pick_list.lines, start=1):
        sheet.rule()
        sheet.row(f"{number}. {line.bin_code}", f"x{line.quantity}", width=2, height=2, bold=True)
        sheet.text(line.sku_code, bold=True)
        sheet.text(line.name, max_lines=2)
        sheet.barcode(line.barcode or line.sku_code, height=50, module=2)
    return sheet.finish(receipt=True)


def render_packing_slip(slip: PackingSlip, font: str | None = None) -> Rendered:
    """The slip that goes in the parcel: order number as a barcode, every item and quantity, the shop's note."""
    sheet = Sheet(RECEIPT_DOTS, font)
    sheet.text(slip.shop_name, width=2, height=2, bold=True, align="center", max_lines=2)
    sheet.text("发货清单 PACKING SLIP", bold=True, align="center")
    sheet.rule()
    sheet.text(f"订单 Order {slip.order_number}")
    sheet.barcode(slip.order_number, height=60, module=2, readable=False)
    sheet.text(f"收件人 {slip.receiver_name}")
    sheet.rule()
    sheet.row("商品 Item", "数量 Qty", bold=True)
    for line in slip.lines:
        sheet.text(line.name, max_lines=2)
        sheet.row(line.sku_code, f"x{line.quantity}")
    sheet.rule()
    sheet.row("合计 Total", f"{sum(line.quantity for line in slip.lines)} 件", bold=True)
    if slip.note:
        sheet.text(slip.note, max_lines=4)
    return sheet.finish(receipt=True)


def render_bin_label(label: BinLabel, font: str | None = None) -> Rendered:
    """A shelf bin's label: the bin code in large type and as CODE128."""
    sheet = Sheet(BIN_LABEL_DOTS, font)
    if label.warehouse_name:
        sheet.text(label.warehouse_name, align="center")
    sheet.headline(label.bin_code, largest=4)
    sheet.barcode(label.bin_code, height=100, readable=False)
    return sheet.finish(receipt=False)


@functools.singledispatch
def lay_out(document: object, font: str | None = None) -> Rendered:
    """Any printable document as one print job; `font` draws what the printer's own font lacks."""
    raise PrintLayoutError(f"there is no layout for {type(document).__name__}")


lay_out.register(WaybillLabel, render_waybill)
lay_out.register(PickList, render_pick_list)
lay_out.register(PackingSlip, render_packing_slip)
lay_out.register(BinLabel, render_bin_label)


def render(document: object) -> bytes:
    """The ESC/POS bytes of any printable document."""
    return lay_out(document).data
