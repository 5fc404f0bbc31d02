"""Settlement reconciliation: a platform's bill, line by line, against the orders shipped and refunded.

Formats read (each as the platform exports it, GBK or UTF-8):

- taobao — the Alipay account statement (支付宝账务明细, the `signcustomer` bill): `#` comment lines with the
  account and period, then the columns 账务流水号, 业务流水号, 商户订单号, 商品名称, 发生时间, 对方账号,
  收入金额（+元）, 支出金额（-元）, 账户余额（元）, 交易渠道, 业务类型, 备注, then `#` totals. Fields often carry a
  trailing tab (so Excel keeps long numbers). A Taobao trade's merchant order number is `T200P` + the order number.
  Income on an order is its payment; an outgoing 交易退款 is a refund; other outgoing lines on an order are fees.
- jd — the JD shop's order settlement detail (订单结算明细): columns 订单编号, 费用名称, 应结金额, 收支方向
  (收入/支出) and dates (账单生成时间, 订单完成时间, 售后退款时间); `--` marks an empty cell. 货款 income is the
  payment, 货款 outgoing is a refund, every other 费用名称 (佣金, 交易服务费, …) is a fee.

A bill is imported whole or not at all: a foreign or unparseable file is refused with each bad line and why.
Bills are kept in their own tables, which a projection rebuild never drops; reconciliation is worked out when
asked, against the finance view as it stands.
"""

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from domain.errors import Conflict, InvalidInput, NotFound, RowsRejected

from .backoffice import BUSINESS_TIME, Instant, aware, fen, yuan
from .finance import finance_orders

settlement_metadata = MetaData()

bills_table = Table(
    "settlement_bill",
    settlement_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("shop", String(64), nullable=False),
    Column("format", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("period_start", String(10), nullable=False),
    Column("period_end", String(10), nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("imported_at", Instant(), nullable=False),
    UniqueConstraint("channel", "shop", "sha256", name="settlement_bill_once"),
)

bill_lines = Table(
    "settlement_line",
    settlement_metadata,
    Column("bill_id", Integer, primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("order_no", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),  # fen, signed as money to the merchant
    Column("occurred_at", Instant(), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("description", String(200), nullable=False),
)

KINDS = ("payment", "refund", "fee", "other")
MAX_REPORTED_LINES = 20


class BillRejected(RowsRejected):
    """The bill was not imported; `errors` maps each bad line number of the file to what is wrong with it."""

    code = "bill_rejected"

    def __init__(self, errors: dict[int, str]):
        super().__init__(errors)
        self.args = ("; ".join(f"line {n}: {msg}" for n, msg in self.errors.items()),)


class NoBillFormat(InvalidInput):
    code = "no_bill_format"


class BillAlreadyImported(Conflict):
    code = "bill_already_imported"


class UnknownBill(NotFound):
    code = "unknown_bill"


@dataclass(frozen=True)
class BillLine:
    line_no: int
    order_no: str
    kind: str
    amount: Decimal  # money to the merchant: income positive, outgoing negative
    occurred_at: datetime
    reference: str = ""
    description: str = ""


@dataclass(frozen=True)
class Bill:
    format: str
    lines: list[BillLine]
    period_start: date
    period_end: date


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BillRejected({1: "the file is neither UTF-8 nor GBK text"})


def _cell(value: str | None) -> str:
    value = (value or "").strip().strip("\t").strip()
    return "" if value == "--" else value


def _header(value: str) -> str:
    return _cell(value).replace("(", "（").replace(")", "）")


def _amount(text: str, label: str) -> Decimal:
    text = _cell(text).replace(",", "").replace("¥", "")
    try:
        amount = Decimal(text or "0")
    except InvalidOperation:
        raise ValueError(f"{label} {text[:20]!r} is not an amount") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise ValueError(f"{label} {text[:20]!r} is not an amount in yuan and fen")
    return abs(amount)


def _instant(text: str, label: str) -> datetime:
    text = _cell(text)
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=BUSINESS_TIME)
        except ValueError:
            continue
    raise ValueError(f"{label} {text[:30]!r} is not a time such as 2026-11-11 20:00:03")


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """CSV rows with the number of the file line each starts on."""
    numbered, reader = [], csv.reader(io.StringIO(text))
    line = 1
    for row in reader:
        numbered.append((line, row))
        line = reader.line_num + 1
    return numbered


def _columns(header: list[str], required: tuple[str, ...], line_no: int, what: str) -> dict[str, int]:
    names = [_header(h) for h in header]
    missing = [name for name in required if name not in names]
    if missing:
        shown = ",".join(n for n in names if n)[:120] or "(empty)"
        raise BillRejected({line_no: f"not {what}: columns {', '.join(missing)} are missing (found {shown})"})
    return {name: names.index(name) for name in names if name}


def _collect(rows, parse: Callable[[int, list[str]], BillLine | None]) -> list[BillLine]:
    lines, errors = [], {}
    for line_no, row in rows:
        if not any(_cell(c) for c in row):
            continue
        try:
            parsed = parse(line_no, row)
        except (ValueError, IndexError) as error:
            errors[line_no] = str(error) if isinstance(error, ValueError) else "too few columns"
            if len(errors) >= MAX_REPORTED_LINES:
                break
            continue
        if parsed is not None:
            lines.append(parsed)
    if errors:
        raise BillRejected(errors)
    if not lines:
        raise BillRejected({rows[-1][0] if rows else 1: "the file holds no bill lines"})
    return lines


ALIPAY_COLUMNS = ("账务流水号", "业务流水号", "商户订单号", "发生时间", "收入金额（+元）", "支出金额（-元）", "业务类型", "备注")
ALIPAY_PERIOD = re.compile(r"起始日期[:：]\s*\[(\d{4})\D(\d{1,2})\D(\d{1,2})\D.*?终止日期[:：]\s*\[(\d{4})\D(\d{1,2})\D(\d{1,2})\D")
TAOBAO_TRADE = re.compile(r"^T\d{3}P(\d+)$")


def parse_alipay_statement(data: bytes) -> Bill:
    """An Alipay account statement (支付宝账务明细) of a Taobao/Tmall shop."""
    rows = _rows(_decode(data))
    period, body = None, []
    for line_no, row in rows:
        first = row[0].strip() if row else ""
        if first.startswith("#"):
            found = ALIPAY_PERIOD.search(",".join(row))
            if found:
                n = [int(x) for x in found.groups()]
                period = (date(n[0], n[1], n[2]), date(n[3], n[4], n[5]))
            continue
        body.append((line_no, row))
    if not body:
        raise BillRejected({1: "not an Alipay account statement (支付宝账务明细): no column header"})
    header_no, header = body[0]
    at = _columns(header, ALIPAY_COLUMNS, header_no, "an Alipay account statement (支付宝账务明细)")

    def parse(line_no: int, row: list[str]) -> BillLine:
        if len(row) <= max(at.values()):
            raise ValueError(f"{len(row)} columns where the header has {len(header)}")
        income = _amount(row[at["收入金额（+元）"]], "收入金额")
        outgoing = _amount(row[at["支出金额（-元）"]], "支出金额")
        if income and outgoing:
            raise ValueError("a line is either income or outgoing, not both")
        business = _cell(row[at["业务类型"]])
        merchant_no = _cell(row[at["商户订单号"]])
        trade = TAOBAO_TRADE.match(merchant_no)
        order_no = trade.group(1) if trade else ""
        if not order_no:
            kind = "other"
        elif income:
            kind = "payment"
        else:
            kind = "refund" if "退款" in business else "fee"
        return BillLine(line_no, order_no, kind, income - outgoing, _instant(row[at["发生时间"]], "发生时间"),
                        _cell(row[at["账务流水号"]])[:64], (business + " " + _cell(row[at["备注"]])).strip()[:200])

    lines = _collect(body[1:], parse)
    return _bill("alipay-account-statement", lines, period)


JD_COLUMNS = ("订单编号", "费用名称", "应结金额", "收支方向")
JD_DATES = ("账单生成时间", "订单完成时间", "售后退款时间", "到账时间")


def parse_jd_settlement(data: bytes) -> Bill:
    """A JD shop's order settlement detail (订单结算明细)."""
    rows = _rows(_decode(data))
    if not rows:
        raise BillRejected({1: "not a JD order settlement detail (订单结算明细): the file is empty"})
    header_no, header = rows[0]
    at = _columns(header, JD_COLUMNS, header_no, "a JD order settlement detail (订单结算明细)")
    dates = [at[name] for name in JD_DATES if name in at]
    if not dates:
        raise BillRejected({header_no: f"not a JD order settlement detail: none of the columns {', '.join(JD_DATES)}"})

    def parse(line_no: int, row: list[str]) -> BillLine:
        direction = _cell(row[at["收支方向"]])
        if direction not in ("收入", "支出"):
            raise ValueError(f"收支方向 {direction[:10]!r} is neither 收入 nor 支出")
        amount = _amount(row[at["应结金额"]], "应结金额")
        order_no = _cell(row[at["订单编号"]])
        if order_no and not order_no.isdigit():
            raise ValueError(f"订单编号 {order_no[:30]!r} is not a JD order number")
        fee_name = _cell(row[at["费用名称"]])
        if not order_no:
            kind = "other"
        elif fee_name == "货款":
            kind = "payment" if direction == "收入" else "refund"
        else:
            kind = "fee"
        when = next((row[i] for i in dates if i < len(row) and _cell(row[i])), "")
        if not when:
            raise ValueError("the line has no date")
        reference = _cell(row[at["售后服务单号"]]) if "售后服务单号" in at else ""
        return BillLine(line_no, order_no, kind, amount if direction == "收入" else -amount,
                        _instant(when, "date"), reference[:64], fee_name[:200])

    lines = _collect(rows[1:], parse)
    return _bill("jd-order-settlement-detail", lines, None)


def _bill(name: str, lines: list[BillLine], period: tuple[date, date] | None) -> Bill:
    days = [line.occurred_at.date() for line in lines]
    start, end = period or (min(days), max(days))
    return Bill(name, lines, start, end)


FORMATS: dict[str, Callable[[bytes], Bill]] = {"taobao": parse_alipay_statement, "jd": parse_jd_settlement}


def parse_bill(channel: str, data: bytes) -> Bill:
    """Read a channel's bill file; refuses a foreign or malformed file with each bad line."""
    if channel not in FORMATS:
        raise NoBillFormat(f"no settlement bill format for channel {str(channel)[:32]!r}; known: {', '.join(FORMATS)}")
    return FORMATS[channel](data)


def import_bill(engine: Engine, channel: str, shop: str, data: bytes, filename: str = "") -> dict:
    """Store a bill's lines in one transaction (all or nothing); returns the bill's summary."""
    if not (shop or "").strip() or len(shop) > 64:
        raise InvalidInput("a bill belongs to a shop: give its name (1-64 characters)")
    bill = parse_bill(channel, data)
    digest = hashlib.sha256(data).hexdigest()
    settlement_metadata.create_all(engine)
    with engine.begin() as conn:
        found = conn.execute(select(bills_table.c.id).where(
            bills_table.c.channel == channel, bills_table.c.shop == shop, bills_table.c.sha256 == digest)).first()
        if found is not None:
            raise BillAlreadyImported(f"this bill was already imported as bill {found.id}")
        bill_id = conn.execute(insert(bills_table).values(
            channel=channel, shop=shop, format=bill.format, sha256=digest, filename=(filename or "")[:200],
            period_start=bill.period_start.isoformat(), period_end=bill.period_end.isoformat(),
            lines=len(bill.lines), imported_at=datetime.now(BUSINESS_TIME),
        )).inserted_primary_key[0]
        conn.execute(insert(bill_lines), [
            {"bill_id": bill_id, "line_no": line.line_no, "order_no": line.order_no, "kind": line.kind,
             "amount": fen(line.amount), "occurred_at": line.occurred_at, "reference": line.reference,
             "description": line.description}
            for line in bill.lines
        ])
    return bill_summary(engine, bill_id)


def bill_summary(engine: Engine, bill_id: int) -> dict:
    settlement_metadata.create_all(engine)
    with engine.connect() as conn:
        row = conn.execute(select(bills_table).where(bills_table.c.id == bill_id)).first()
    if row is None:
        raise UnknownBill(f"unknown bill {str(bill_id)[:20]}")
    return dict(row._mapping, imported_at=aware(row.imported_at))


def bills(engine: Engine, channel: str | None = None, shop: str | None = None) -> list[dict]:
    settlement_metadata.create_all(engine)
    query = select(bills_table).order_by(bills_table.c.id)
    if channel:
        query = query.where(bills_table.c.channel == channel)
    if shop:
        query = query.where(bills_table.c.shop == shop)
    with engine.connect() as conn:
        return [dict(r._mapping, imported_at=aware(r.imported_at)) for r in conn.execute(query)]


def _verdict(settled: int, expected: int) -> str:
    if settled == expected:
        return "matched"
    return "short_paid" if settled < expected else "over_paid"


def reconcile(engine: Engine, bill_id: int, shipped_since=None, shipped_until=None) -> dict:
    """Match a bill to the orders: matched, short-paid and over-paid orders, unknown lines, missing orders.

    An order shipped in the bill's period (or the given days) whose payment is in no imported bill of the shop
    is missing.
    """
    bill = bill_summary(engine, bill_id)
    first = shipped_since or bill["period_start"]
    last = shipped_until or bill["period_end"]
    with engine.connect() as conn:
        lines = [dict(r._mapping) for r in conn.execute(
            select(bill_lines).where(bill_lines.c.bill_id == bill_id).order_by(bill_lines.c.line_no))]
        numbers = sorted({line["order_no"] for line in lines if line["order_no"]})
        orders = {}
        for start in range(0, len(numbers), 500):
            query = select(finance_orders).where(
                finance_orders.c.channel == bill["channel"], finance_orders.c.shop == bill["shop"],
                finance_orders.c.platform_order_no.in_(numbers[start:start + 500]))
            orders.update({r.platform_order_no: dict(r._mapping) for r in conn.execute(query)})
        shipped = conn.execute(select(finance_orders).where(
            finance_orders.c.channel == bill["channel"], finance_orders.c.shop == bill["shop"],
            finance_orders.c.shipped_on >= first, finance_orders.c.shipped_on <= last)).all()
        paid_anywhere = {r.order_no for r in conn.execute(
            select(bill_lines.c.order_no).distinct()
            .join(bills_table, bills_table.c.id == bill_lines.c.bill_id)
            .where(bills_table.c.channel == bill["channel"], bills_table.c.shop == bill["shop"],
                   bill_lines.c.kind == "payment"))}

    grouped: dict[tuple[str, str], list[dict]] = {}
    unknown, other = [], []
    for line in lines:
        shown = {"line_no": line["line_no"], "order_no": line["order_no"], "kind": line["kind"],
                 "amount": yuan(line["amount"]), "occurred_at": aware(line["occurred_at"]),
                 "reference": line["reference"], "description": line["description"]}
        if line["kind"] == "other":
            other.append(shown)
        elif line["order_no"] not in orders:
            unknown.append(shown)
        else:
            grouped.setdefault((line["order_no"], line["kind"]), []).append(line)

    results = []
    for (order_no, kind), group in sorted(grouped.items()):
        order = orders[order_no]
        settled = sum(line["amount"] for line in group) * (1 if kind == "payment" else -1)
        expected = {"payment": order["paid"], "refund": order["refunds"], "fee": order["platform_fee"]}[kind]
        if kind == "payment" and order["shipped_on"] is None:
            status = "not_shipped"
        elif kind == "fee":
            status = "fee"
        elif kind == "refund":
            status = _verdict(expected, settled)  # a bigger refund than recorded leaves the merchant short
        else:
            status = _verdict(settled, expected)
        results.append({"order_no": order_no, "order_id": order["order_id"], "kind": kind, "status": status,
                        "expected": yuan(expected), "settled": yuan(settled), "difference": yuan(settled - expected),
                        "lines": [line["line_no"] for line in group]})

    missing = [{"order_no": r.platform_order_no, "order_id": r.order_id, "shipped_on": r.shipped_on,
                "expected": yuan(r.paid)}
               for r in sorted(shipped, key=lambda r: (r.shipped_on, r.platform_order_no))
               if r.platform_order_no not in paid_anywhere]
    summary = {status: sum(1 for r in results if r["status"] == status)
               for status in ("matched", "short_paid", "over_paid", "not_shipped")}
    summary.update(unknown_lines=len(unknown), missing_orders=len(missing))
    return {"bill": bill, "results": results, "unknown": unknown, "missing": missing, "other": other,
            "summary": summary}
