"""Finance view: per order, per SKU and per day; stock valuation. Also the shared back-office scenario."""

from datetime import datetime
from decimal import Decimal

import pytest

from domain.after_sales import RefundReport
from domain.services import NewOrder
from domain.errors import UnknownOrder, UnknownSku
from domain.order import Buyer, OrderLine
from projections.backoffice import InvalidDate, business_day
from projections.finance import (FinanceProjection, daily_finance, order_finance, orders_finance, sales_by_channel,
                                 sku_finance, stock_valuation, totals)
from projections.tracking import ProjectionRunner
from tests.builders import CUP, PAN, TEA, warehouse_with_catalogue

HANGZHOU = {"province": "浙江省", "city": "杭州市", "district": "西湖区"}
ELEVEN_ELEVEN = datetime.fromisoformat("2026-11-11T20:00:03+08:00")


def priced_order(number: str, *lines: tuple[str, int, str], channel: str = "taobao", shop: str = "flagship",
                 buyer: str = "buyer_wang", discount: str = "0", fee: str = "0", postage: str = "0",
                 line_discounts: tuple[str, ...] = (), region: dict | None = None, paid: str | None = None,
                 ordered_at: datetime = ELEVEN_ELEVEN) -> NewOrder:
    """An order of (sku, quantity, unit price) lines; paid is what the buyer paid unless given."""
    order_lines = [OrderLine(i + 1, f"p-{sku}", sku, sku, qty, Decimal(price),
                             Decimal(line_discounts[i]) if i < len(line_discounts) else Decimal("0"))
                   for i, (sku, qty, price) in enumerate(lines)]
    gross = sum(line.unit_price * line.quantity - line.discount for line in order_lines)
    return NewOrder(channel, shop, number, order_lines, Buyer(buyer, "王小明", "13812345678", "文三路 90 号"),
                    HANGZHOU if region is None else region,
                    Decimal(paid) if paid is not None else gross - Decimal(discount) + Decimal(postage),
                    Decimal(discount), Decimal(fee), Decimal(postage), ordered_at)


def ship(app, order_id, wave: str) -> None:
    """Take a reserved order through wave, pick, pack, weigh, waybill and hand-over."""
    wave_id = app.fulfilment.create_wave("WH1", wave, [order_id], "sup")
    for index, line in enumerate(app.fulfilment.wave(wave_id).lines):
        app.fulfilment.pick(wave_id, index, line["bin"], line["sku"], line["quantity"], "bob")
    for sku, units in app.orders.order(order_id).quantities().items():
        for _ in range(units):
            app.fulfilment.verify_item(order_id, sku, "carl")
    app.fulfilment.close_package(order_id, "carl")
    app.fulfilment.weigh(order_id, 900, "carl")
    app.fulfilment.assign_waybill(order_id, "SF", f"SF14{wave}", "755")
    app.fulfilment.hand_over(order_id, "dock")


# Platform order numbers of the busy day, by a short name: Taobao's are 19 digits, JD's 12.
NUMBERS = {name: (f"3{int(name[1:]):018d}" if name.startswith("T") else f"2{int(name[1:]):011d}")
           for name in ("T100", "T101", "T102", "T103", "T104", "T105", "J200")}


def busy_day(system, step=lambda: None) -> dict:
    """Two shops, shipments, refunds before and after shipping, a return, a short order and a held one.

    `step` runs after each command (to fold the views while the day goes on). Returns the order ids by short name
    (see NUMBERS).
    """
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 40, (CUP, "A-01-02"): 40, (PAN, "B-02-01"): 3})
    step()
    placed = {}
    for new in (
        priced_order(NUMBERS["T100"], (TEA, 2, "45.00"), (CUP, 1, "12.00"), discount="5.00", fee="3.20", postage="8.00",
                     line_discounts=("4.00",)),
        priced_order(NUMBERS["T101"], (PAN, 1, "129.00"), buyer="buyer_li"),
        priced_order(NUMBERS["T102"], (TEA, 1, "45.00"), (CUP, 2, "12.00")),
        priced_order(NUMBERS["T103"], (PAN, 10, "129.00"), buyer="buyer_li"),
        priced_order(NUMBERS["T104"], (TEA, 1, "45.00"), region={}),
        priced_order(NUMBERS["J200"], (CUP, 3, "11.50"), channel="jd", shop="jd-store", buyer="jd_zhao", fee="1.00"),
        priced_order(NUMBERS["T105"], (CUP, 1, "12.00"), buyer="buyer_li"),
    ):
        [result] = app.orders.import_orders([new], warehouse="WH1")
        placed[next(name for name, number in NUMBERS.items() if number == new.platform_order_no)] = result["order_id"]
        step()
    ship(app, placed["T100"], "W1")
    step()
    ship(app, placed["T101"], "W2")
    returned = RefundReport("taobao", "flagship", "RF-T101", NUMBERS["T101"], "return_refund", "agreed",
                            app.orders.order(placed["T101"]).paid_amount, "damaged", ELEVEN_ELEVEN, ELEVEN_ELEVEN)
    case = app.after_sales.take_report(returned, "pull:taobao")["case_id"]
    app.fulfilment.receive_return(placed["T101"], PAN, 1, True, "rita", case=str(case))
    app.orders.refund_order(placed["T101"], "cs", "returned")
    step()
    app.orders.refund_order(placed["T102"], "cs", "changed mind", line_nos=[2])
    ship(app, placed["T102"], "W3")
    step()
    ship(app, placed["J200"], "W4")
    app.orders.cancel_order(placed["T105"], "buyer cancelled", "cs")
    step()
    return placed


@pytest.fixture
def system(make_system):
    built = make_system("memory:")
    built.runners["finance"] = ProjectionRunner(built.app.store, built.engine, FinanceProjection(Decimal("1.50")))
    return built


def test_a_shipped_order_shows_revenue_discounts_fees_postage_packaging_cost_and_margin(system):
    placed = busy_day(system)
    system.catch_up()

    t100 = order_finance(system.engine, placed["T100"])

    assert t100["revenue"] == Decimal("102.00")  # 2 × 45 + 12
    assert t100["discounts"] == Decimal("9.00")  # line 4.00 + order 5.00
    assert (t100["platform_fee"], t100["postage"], t100["packaging"]) == (Decimal("3.20"), Decimal("8.00"),
                                                                         Decimal("1.50"))
    assert t100["cogs"] == Decimal("79.20")  # 2 × 35.50 + 8.20
    assert t100["margin"] == Decimal("17.10")  # 102 − 9 + 8 − 3.20 − 1.50 − 79.20
    assert t100["paid"] == Decimal("101.00") and t100["units_shipped"] == 3
    assert t100["shipped_on"] == business_day(datetime.now().astimezone())


def test_refunds_are_booked_on_the_order_its_skus_and_the_day_they_happened(system):
    placed = busy_day(system)
    system.catch_up()
    today = business_day(datetime.now().astimezone())

    t101, t102 = order_finance(system.engine, placed["T101"]), order_finance(system.engine, placed["T102"])
    days = {d["day"]: d for d in daily_finance(system.engine)}
    [pan] = sku_finance(system.engine, PAN)

    assert (t101["refunds"], t101["cogs"], t101["units_refunded"]) == (Decimal("129.00"), Decimal("62.00"), 1)
    assert (t102["refunds"], t102["units_shipped"]) == (Decimal("24.00"), 1)
    assert days[today]["refunds"] == Decimal("153.00")
    assert days["2026-11-11"]["orders"] == 6 and days["2026-11-11"]["refunds"] == 0  # T105 was cancelled
    assert (pan["refunds"], pan["units_refunded"], pan["units_shipped"]) == (Decimal("129.00"), 1, 1)


def test_an_order_s_discount_and_fee_are_shared_over_its_skus_by_revenue(system):
    placed = busy_day(system)
    system.catch_up()

    skus = {s["sku"]: s for s in sku_finance(system.engine)}
    total = totals(system.engine)

    # T100: order discount 5.00 and fee 3.20 over revenue 90 (tea) and 12 (cup).
    tea_t100_discount = Decimal("4.00") + Decimal("4.41")
    assert skus[TEA]["discounts"] == tea_t100_discount
    assert skus[CUP]["discounts"] == Decimal("0.59")
    assert skus[TEA]["platform_fee"] + skus[CUP]["platform_fee"] == Decimal("4.20")
    assert total["platform_fee"] == Decimal("4.20") and total["orders"] == 6
    assert sum(o["margin"] for o in orders_finance(system.engine)) == total["margin"]
    assert placed


def test_stock_is_valued_at_unit_cost_from_the_inventory_view(system):
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 4, (CUP, "A-01-02"): 10})
    system.catch_up()

    valuation = stock_valuation(system.engine, "WH1")

    assert [(line["sku"], line["on_hand"], line["value"]) for line in valuation["lines"]] == [
        (CUP, 10, Decimal("82.00")), (TEA, 4, Decimal("142.00"))]
    assert valuation["total"] == Decimal("224.00")


def test_unknown_orders_and_skus_and_bad_days_are_refused_by_name(system):
    busy_day(system)
    system.catch_up()

    with pytest.raises(UnknownOrder):
        order_finance(system.engine, "not-an-order-id")
    with pytest.raises(UnknownOrder):
        order_finance(system.engine, "6f1c1a52-3c1e-4c0e-9a57-43a4b1f0c0de")
    with pytest.raises(UnknownSku):
        sku_finance(system.engine, "NOPE-1")
    with pytest.raises(InvalidDate, match="2026-13-01"):
        daily_finance(system.engine, since="2026-13-01")
    with pytest.raises(InvalidDate, match="before"):
        orders_finance(system.engine, since="2026-11-12", until="2026-11-11")


def sale_and_cancellation(system, cancel, fold_between: bool) -> tuple[dict, dict]:
    """T300 (tea 2 × 45, cup 1 × 12, discounts, fee, postage) stays; T301 (the same) is ended by `cancel`.
    Returns the order ids by name and the figures of 2026-11-11 before T301 arrived."""
    app = system.app
    warehouse_with_catalogue(app, {(TEA, "A-01-01"): 40, (CUP, "A-01-02"): 40})
    lines = dict(discount="5.00", fee="3.20", postage="8.00", line_discounts=("4.00",))
    [kept] = app.orders.import_orders([priced_order("T300", (TEA, 2, "45.00"), (CUP, 1, "12.00"), **lines)],
                                      warehouse="WH1")
    system.catch_up()
    before = {d["day"]: d for d in daily_finance(system.engine)}["2026-11-11"]
    [ended] = app.orders.import_orders([priced_order("T301", (TEA, 2, "45.00"), (CUP, 1, "12.00"), **lines)],
                                       warehouse="WH1")
    if fold_between:
        system.catch_up()
    cancel(app, ended["order_id"])
    system.catch_up()
    return {"T300": kept["order_id"], "T301": ended["order_id"]}, before


@pytest.mark.parametrize("fold_between", [True, False])
def test_a_cancelled_order_leaves_nothing_on_the_day_it_was_ordered_nor_on_its_skus(system, fold_between):
    placed, before = sale_and_cancellation(
        system, lambda app, order_id: app.orders.cancel_order(order_id, "buyer cancelled", "cs"), fold_between)

    day = {d["day"]: d for d in daily_finance(system.engine)}["2026-11-11"]
    cancelled = order_finance(system.engine, placed["T301"])
    skus = {s["sku"]: s for s in sku_finance(system.engine)}

    assert day == before
    assert (day["orders"], day["revenue"], day["platform_fee"], day["postage"]) == (
        1, Decimal("102.00"), Decimal("3.20"), Decimal("8.00"))
    assert (cancelled["revenue"], cancelled["discounts"], cancelled["platform_fee"], cancelled["postage"],
            cancelled["margin"], cancelled["units_ordered"]) == (0, 0, 0, 0, 0, 0)
    assert (skus[TEA]["revenue"], skus[TEA]["units_ordered"], skus[TEA]["discounts"]) == (
        Decimal("90.00"), 2, Decimal("8.41"))
    assert skus[TEA]["platform_fee"] + skus[CUP]["platform_fee"] == Decimal("3.20")
    assert totals(system.engine)["margin"] == day["margin"]


def test_an_order_refunded_whole_before_shipping_keeps_no_fee_postage_or_order_discount(system):
    placed, before = sale_and_cancellation(
        system, lambda app, order_id: app.orders.refund_order(order_id, "cs", "out of stock"), fold_between=True)

    refunded = order_finance(system.engine, placed["T301"])
    total = totals(system.engine)
    day = {d["day"]: d for d in daily_finance(system.engine)}["2026-11-11"]

    assert refunded["refunds"] == Decimal("98.00")  # 90 − 4 line discount, and 12
    assert (refunded["platform_fee"], refunded["postage"], refunded["margin"]) == (0, 0, 0)
    assert (day["orders"], day["platform_fee"], day["postage"]) == (before["orders"], before["platform_fee"],
                                                                    before["postage"])
    assert total["margin"] == before["margin"]


def test_a_line_refunded_before_the_order_was_cancelled_is_not_withdrawn_twice(system):
    def refund_then_cancel(app, order_id):
        app.orders.refund_order(order_id, "cs", "changed mind", line_nos=[2])
        app.orders.cancel_order(order_id, "buyer cancelled", "cs")

    placed, before = sale_and_cancellation(system, refund_then_cancel, fold_between=True)

    cancelled = order_finance(system.engine, placed["T301"])
    cup = sku_finance(system.engine, CUP)[0]

    assert (cancelled["revenue"], cancelled["refunds"], cancelled["margin"]) == (
        Decimal("12.00"), Decimal("12.00"), 0)
    assert (cup["revenue"] - cup["refunds"], cup["units_ordered"]) == (Decimal("12.00"), 2)
    assert totals(system.engine)["margin"] == before["margin"]


def test_sales_by_channel_leave_out_a_cancelled_order(system):
    busy_day(system)
    system.catch_up()

    sales = {(r["day"], r["channel"]): r for r in sales_by_channel(system.engine, "2026-11-11", "2026-11-11")}

    taobao = sales[("2026-11-11", "taobao")]
    assert (taobao["orders"], taobao["revenue"]) == (5, Decimal("1635.00"))  # T100-T104; T105 was cancelled
