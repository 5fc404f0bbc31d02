"""Settlement bills (Taobao's Alipay account statement, JD's order settlement detail) against shipped orders."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from projections.backoffice import today
from projections.settlement import (BillAlreadyImported, BillRejected, NoBillFormat, bills, import_bill,
                                    reconcile)
from tests.unit.test_backoffice_finance import NUMBERS, busy_day

T100, T101, T102, J200 = (NUMBERS[n] for n in ("T100", "T101", "T102", "J200"))
UNKNOWN = "3999999999999999999"

ALIPAY_HEADER = ("账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,"
                 "账户余额（元）,交易渠道,业务类型,备注")


def chinese_day(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def alipay_statement(*lines: str) -> bytes:
    """An Alipay account statement as exported: GBK, `#` lines around the table, tabs after long numbers.

    Its period runs from yesterday to a month ahead, so it covers the shipments of the test.
    """
    start, end = chinese_day(today() - timedelta(days=1)), chinese_day(today() + timedelta(days=30))
    text = "\n".join([
        "#支付宝账务明细查询",
        "#账号：[20881234567890120156]",
        f"#起始日期：[{start} 00:00:00]   终止日期：[{end} 00:00:00]",
        "#-----------------------------------------账务明细列表----------------------------------------",
        ALIPAY_HEADER,
        *lines,
        "#-----------------------------------------账务明细列表结束------------------------------------",
        "#支出合计：1笔，共24.00元",
        "#导出时间：[2026年12月31日 13:19:02]",
    ])
    return text.encode("gbk")


def alipay_line(serial: str, order_no: str, at: str, income: str, outgoing: str, business: str, note: str = "") -> str:
    merchant = f"T200P{order_no}" if order_no else ""
    return (f"{serial}\t,2026{serial}\t,{merchant}\t,龙井茶\t,{at},buyer@example.com\t,{income},{outgoing},"
            f"10000.00,支付宝,{business},{note}")


@pytest.fixture
def system(make_system):
    built = make_system("memory:")
    busy_day(built)
    built.catch_up()
    return built


def by_order(result) -> dict:
    return {(r["order_no"], r["kind"]): (r["status"], r["difference"]) for r in result["results"]}


def test_a_taobao_bill_with_a_missing_a_short_paid_and_an_unknown_line_is_reconciled(system):
    bill = alipay_statement(
        alipay_line("5463001", T100, "2026-11-25 10:02:06", "101.00", "0.00", "交易付款"),
        alipay_line("5463002", T100, "2026-11-25 10:02:07", "0.00", "3.20", "收费", "天猫佣金"),
        alipay_line("5463003", T102, "2026-11-25 11:31:32", "40.00", "0.00", "交易付款"),
        alipay_line("5463004", T102, "2026-11-25 11:40:00", "0.00", "24.00", "交易退款"),
        alipay_line("5463005", UNKNOWN, "2026-11-25 12:00:00", "88.00", "0.00", "交易付款"),
        alipay_line("5463006", "", "2026-11-25 18:00:00", "0.00", "500.00", "提现", "提现到银行卡"),
    )

    imported = import_bill(system.engine, "taobao", "flagship", bill, "20881234567890120156_账务明细.csv")
    result = reconcile(system.engine, imported["id"])

    assert imported["lines"] == 6 and imported["format"] == "alipay-account-statement"
    assert by_order(result) == {
        (T100, "payment"): ("matched", Decimal("0.00")),
        (T100, "fee"): ("fee", Decimal("0.00")),
        (T102, "payment"): ("short_paid", Decimal("-29.00")),  # 45 + 24 paid; the refund is its own line
        (T102, "refund"): ("matched", Decimal("0.00")),
    }
    assert [(u["line_no"], u["order_no"], u["amount"]) for u in result["unknown"]] == [(10, UNKNOWN, Decimal("88.00"))]
    assert [m["order_no"] for m in result["missing"]] == [T101]
    assert result["missing"][0]["expected"] == Decimal("129.00")
    assert [o["description"] for o in result["other"]] == ["提现 提现到银行卡"]
    assert result["summary"] == {"matched": 2, "short_paid": 1, "over_paid": 0, "not_shipped": 0,
                                 "unknown_lines": 1, "missing_orders": 1}


def test_a_later_bill_that_pays_a_missing_order_clears_it_and_an_overpayment_shows(system):
    first = import_bill(system.engine, "taobao", "flagship", alipay_statement(
        alipay_line("1", T100, "2026-11-25 10:02:06", "101.00", "0.00", "交易付款")))
    second = import_bill(system.engine, "taobao", "flagship", alipay_statement(
        alipay_line("2", T101, "2026-11-26 10:02:06", "130.00", "0.00", "交易付款"),
        alipay_line("3", T101, "2026-11-27 10:02:06", "0.00", "129.00", "交易退款")))

    assert [m["order_no"] for m in reconcile(system.engine, first["id"])["missing"]] == [T102]
    assert by_order(reconcile(system.engine, second["id"])) == {
        (T101, "payment"): ("over_paid", Decimal("1.00")), (T101, "refund"): ("matched", Decimal("0.00"))}


JD_HEADER = ("订单编号,父单号,订单状态,订单下单时间,订单完成时间,售后服务单号,售后退款时间,商品编号,商品名称,商品数量,"
             "费用名称,应结金额,收支方向,结算状态,预计结算时间,账单生成时间,到账时间,商户订单号")


def jd_line(order_no: str, fee: str, amount: str, direction: str) -> str:
    return (f"{order_no},--,已完成,2026-11-11 20:00:03,2026-11-20 09:00:00,--,--,100012345678,玻璃茶杯,3,"
            f"{fee},{amount},{direction},已结算,2026-11-21,2026-11-21 02:00:00,2026-11-22 10:00:00,--")


def test_a_jd_settlement_detail_matches_the_payment_and_lists_the_fees(system):
    bill = "\n".join([JD_HEADER, jd_line(J200, "货款", "34.50", "收入"), jd_line(J200, "佣金", "-2.76", "支出"),
                      jd_line("288812345678", "货款", "10.00", "收入")])
    imported = import_bill(system.engine, "jd", "jd-store", ("\ufeff" + bill).encode("utf-8"))

    result = reconcile(system.engine, imported["id"])

    assert by_order(result) == {(J200, "payment"): ("matched", Decimal("0.00")),
                                (J200, "fee"): ("fee", Decimal("1.76"))}
    assert [u["order_no"] for u in result["unknown"]] == ["288812345678"]
    assert (imported["period_start"], imported["period_end"]) == ("2026-11-21", "2026-11-21")


def test_a_foreign_file_is_refused_with_the_line_and_reason_and_imports_nothing(system):
    jd_file = "\n".join([JD_HEADER, jd_line(J200, "货款", "34.50", "收入")]).encode("utf-8")
    alipay_personal = "交易时间,交易分类,交易对方,商品说明,收/支,金额,收/付款方式,交易状态\n".encode("gbk")

    with pytest.raises(BillRejected) as as_taobao:
        import_bill(system.engine, "taobao", "flagship", jd_file)
    with pytest.raises(BillRejected) as personal_as_jd:
        import_bill(system.engine, "jd", "jd-store", alipay_personal)
    with pytest.raises(NoBillFormat):
        import_bill(system.engine, "pinduoduo", "pdd-shop", jd_file)

    assert list(as_taobao.value.errors) == [1]
    assert "not an Alipay account statement" in as_taobao.value.errors[1]
    assert "订单编号" in personal_as_jd.value.errors[1]
    assert bills(system.engine) == []


def test_a_bill_with_an_unreadable_line_is_refused_whole(system):
    bill = alipay_statement(
        alipay_line("1", T100, "2026-11-25 10:02:06", "101.00", "0.00", "交易付款"),
        alipay_line("2", T102, "2026-11-25 10:02:06", "4O.00", "0.00", "交易付款"),
        alipay_line("3", T102, "yesterday", "0.00", "24.00", "交易退款"),
    )

    with pytest.raises(BillRejected) as refused:
        import_bill(system.engine, "taobao", "flagship", bill)

    assert refused.value.errors == {7: "收入金额 '4O.00' is not an amount",
                                    8: "发生时间 'yesterday' is not a time such as 2026-11-11 20:00:03"}
    assert "line 7:" in str(refused.value)
    assert bills(system.engine) == []


def test_the_same_bill_is_not_imported_twice(system):
    bill = alipay_statement(alipay_line("1", T100, "2026-11-25 10:02:06", "101.00", "0.00", "交易付款"))
    import_bill(system.engine, "taobao", "flagship", bill)

    with pytest.raises(BillAlreadyImported):
        import_bill(system.engine, "taobao", "flagship", bill)

    assert len(bills(system.engine)) == 1


def test_imported_bills_survive_a_rebuild_of_the_finance_view(system):
    imported = import_bill(system.engine, "taobao", "flagship", alipay_statement(
        alipay_line("1", T100, "2026-11-25 10:02:06", "101.00", "0.00", "交易付款")))

    system.runners["finance"].rebuild()

    assert by_order(reconcile(system.engine, imported["id"])) == {(T100, "payment"): ("matched", Decimal("0.00"))}
