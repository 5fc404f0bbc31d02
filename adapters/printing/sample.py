"""A sample of every layout, with fixed data, to check a printer end to end."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from domain.printing import (
    BinLabel,
    Contact,
    PackingSlip,
    PackingSlipLine,
    PickList,
    PickListLine,
    WaybillLabel,
)

from .layouts import render
from .printers import printer_from_url

SAMPLE_WAYBILL = WaybillLabel(
    courier_name="顺丰速运 SF Express",
    tracking_number="SF1234567890123",
    sort_code="沪 021-W12",
    receiver=Contact("张三", "13812345678", "上海市浦东新区张江路88号 A座1201室"),
    sender=Contact("仓酷旗舰店", "02112345678", "浙江省杭州市余杭区仓前街道 1号仓"),
    order_number="TB20261123000123",
    item_summary="纯棉T恤 蓝色 L x2, 帆布包 x1",
    qr_payload="https://cangku.example/w/SF1234567890123",
    product="顺丰标快",
    package_centre="上海浦东集散中心",
    weight_g=1250,
    pieces=3,
    printed_at=datetime(2026, 11, 23, 6, 5, tzinfo=timezone.utc),
)

SAMPLE_PICK_LIST = PickList(
    wave_code="W20261123-01",
    lines=(
        PickListLine("A-01-02", "TSHIRT-BLU-L", "纯棉T恤 蓝色 L", 2, "6901234567892"),
        PickListLine("A-03-01", "BAG-CANVAS", "帆布包 Canvas bag", 1, "6901234567885"),
        PickListLine("B-12-04", "MUG-WHITE", "陶瓷马克杯 白", 3, ""),
    ),
)

SAMPLE_PACKING_SLIP = PackingSlip(
    shop_name="仓酷旗舰店",
    order_number="TB20261123000123",
    receiver_name="张三",
    lines=(PackingSlipLine("TSHIRT-BLU-L", "纯棉T恤 蓝色 L", 2), PackingSlipLine("BAG-CANVAS", "帆布包 Canvas bag", 1)),
    note="感谢惠顾！Thank you for your order.",
)

SAMPLE_BIN_LABEL = BinLabel("A-01-02", warehouse_name="杭州一号仓")


def sample_documents() -> dict[str, object]:
    """One document per layout, named."""
    return {
        "waybill label 76x130": SAMPLE_WAYBILL,
        "waybill label 100x180": replace(SAMPLE_WAYBILL, size="100x180"),
        "pick list": SAMPLE_PICK_LIST,
        "packing slip": SAMPLE_PACKING_SLIP,
        "bin label": SAMPLE_BIN_LABEL,
    }


def print_samples(url: str) -> list[str]:
    """Print one sample of each layout on the printer at `url`, one job each; the names printed."""
    printer = printer_from_url(url)
    jobs = {name: render(document) for name, document in sample_documents().items()}
    for data in jobs.values():
        printer.send(data)
    return list(jobs)
