"""Layouts: each printable document turned into the ESC/POS bytes of one print job."""

from __future__ import annotations

import functools
from dataclasses import dataclass

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
from .text import display_width, encode_line, fit, printable, two_columns

FONT_A_DOTS = 12  # font A is 12 x 24 dots; a Chinese-mode character takes two columns
RECEIPT_DOTS = 576  # 80 mm roll, 72 mm printable at 203 dpi
BIN_LABEL_DOTS = 576


@dataclass(frozen=True)
class WaybillGeometry:
    dots: int
    sort_code_size: int
    barcode_height: int
    barcode_module: int
    qr_module: int
    address_lines: int
    item_lines: int


WAYBILL_GEOMETRY = {
    "76x130": WaybillGeometry(576, 4, 96, 3, 3, 3, 2),
    "100x180": WaybillGeometry(768, 6, 144, 4, 6, 3, 4),
}


class Sheet:
    """One print job being laid out, on a printable width given in dots."""

    def __init__(self, dots: int):
        self._printer = escpos_printer().Dummy()
        self.dots = dots
        self.columns = dots // FONT_A_DOTS
        self._printer.hw("INIT")
        # GS L 0, GS W: pin the print area, so a wide printer loaded with narrow labels never prints off the label.
        self._printer._raw(b"\x1dL\x00\x00\x1dW" + dots.to_bytes(2, "little"))

    def _style(self, *, width: int = 1, height: int = 1, bold: bool = False, align: str = "left") -> None:
        self._printer.set(align=align, bold=bold, custom_size=True, width=width, height=height)

    def _emit(self, lines: list[str]) -> None:
        for line in lines:
            self._printer._raw(encode_line(line) + b"\n")

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

    def finish(self, *, receipt: bool) -> bytes:
        """The job's bytes; a receipt feeds past the cutter and cuts, a label cuts where it ends."""
        self._style()
        self._printer.cut(feed=receipt)
        return self._printer.output


def render_waybill(label: WaybillLabel) -> bytes:
    """A courier waybill label, 76x130 or 100x180 mm."""
    geometry = WAYBILL_GEOMETRY[label.size]
    sheet = Sheet(geometry.dots)
    receiver, sender = label.receiver, label.sender
    sheet.text(label.courier_name, width=2, height=2, bold=True, align="center")
    sheet.rule()
    sheet.headline(label.sort_code, largest=geometry.sort_code_size)
    sheet.rule()
    sheet.barcode(label.tracking_number, height=geometry.barcode_height, module=geometry.barcode_module,
                  readable=False)
    sheet.text(label.tracking_number, height=2, bold=True, align="center")
    sheet.rule()
    sheet.row(f"收 {receiver.name}", mask_phone(receiver.phone), height=2, bold=True)
    sheet.text(receiver.address, bold=True, max_lines=geometry.address_lines)
    sheet.rule()
    sheet.row(f"寄 {sender.name}", mask_phone(sender.phone))
    sheet.text(sender.address)
    sheet.rule()
    sheet.text(f"订单 {label.order_number}")
    sheet.text(f"物品 {label.item_summary}", max_lines=geometry.item_lines)
    sheet.qr(label.qr_payload, module=geometry.qr_module)
    return sheet.finish(receipt=False)


def render_pick_list(pick_list: PickList) -> bytes:
    """A wave's pick list: one block per line in pick order, bin and quantity large, the item's barcode."""
    sheet = Sheet(RECEIPT_DOTS)
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


def render_packing_slip(slip: PackingSlip) -> bytes:
    """The slip that goes in the parcel: order number as a barcode, every item and quantity, the shop's note."""
    sheet = Sheet(RECEIPT_DOTS)
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


def render_bin_label(label: BinLabel) -> bytes:
    """A shelf bin's label: the bin code in large type and as CODE128."""
    sheet = Sheet(BIN_LABEL_DOTS)
    if label.warehouse_name:
        sheet.text(label.warehouse_name, align="center")
    sheet.headline(label.bin_code, largest=4)
    sheet.barcode(label.bin_code, height=100, readable=False)
    return sheet.finish(receipt=False)


@functools.singledispatch
def render(document: object) -> bytes:
    """The ESC/POS bytes of any printable document."""
    raise PrintLayoutError(f"there is no layout for {type(document).__name__}")


render.register(WaybillLabel, render_waybill)
render.register(PickList, render_pick_list)
render.register(PackingSlip, render_packing_slip)
render.register(BinLabel, render_bin_label)
