"""A file of past orders (CSV or XLSX), in Cangku's own columns or as an online shop's invoice lines
(`online-retail`): read twice, once to check every row and once to record, so that no file is ever held whole.

Cangku's columns, one row per order line (an order's rows together; the order's own cells read from its first row):

    channel,shop,order_no,ordered_at,status,sku,quantity,unit_price[,title,refunded_quantity,refunded_amount,
    refunded_at,buyer,country]

A status may also be written as Chinese marketplaces' exports do (已发货, 交易成功, 已取消, 交易关闭, 已退款, 部分退款, …).

`online-retail`: InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country. An invoice
numbered C… is a cancellation (credit note) of goods sold on another invoice, its quantities negative; a line with
a negative quantity on any other invoice, a negative price, or an invoice numbered A… moves no sale (a stock
write-off, a bad-debt adjustment) and is skipped and counted.

Times without an offset are read in the shop's zone (CANGKU_SHOP_TIMEZONES, else CANGKU_BUSINESS_TIMEZONE).
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

from adapters.imports import each_file_row
from projections.backoffice import business_calendar

FORMATS = ("cangku", "online-retail")
COLUMNS = ("channel", "shop", "order_no", "ordered_at", "status", "sku", "quantity", "unit_price", "title",
           "refunded_quantity", "refunded_amount", "refunded_at", "buyer", "country")
REQUIRED = ("order_no", "ordered_at", "status", "sku", "quantity", "unit_price")
ONLINE_RETAIL = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
                 "Country")
# Status words as Chinese marketplaces' order exports write them.
STATUS_WORDS = {"已发货": "shipped", "已签收": "shipped", "交易成功": "shipped", "已完成": "shipped",
                "已取消": "cancelled", "交易关闭": "cancelled", "已关闭": "cancelled",
                "已退款": "refunded", "退款成功": "refunded", "全额退款": "refunded",
                "部分退款": "partially_refunded", "退款单": "credit_note"}
TIME_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")


@dataclass
class HistoryFile:
    """One pass over a file of past orders: (rows, order) pairs, with the rows it could not read and those skipped."""

    path: Path
    format: str = "cangku"
    channel: str = "web"
    shop: str = "main"
    rejected: dict[int, str] = field(default_factory=dict)
    skipped: int = 0

    def orders(self, progress: Callable[[int], None] | None = None) -> Iterator[tuple[list[int], dict]]:
        self.rejected.clear()  # the same dict: a caller holding it reads this pass's rows once it is done
        self.skipped = 0
        if self.format == "online-retail":
            rows = each_file_row(self.path, ONLINE_RETAIL, ("InvoiceNo", "StockCode", "Quantity", "InvoiceDate",
                                                            "UnitPrice"), progress)
            line = self._invoice_line
        else:
            rows = each_file_row(self.path, COLUMNS, REQUIRED, progress)
            line = self._own_line
        numbers: list[int] = []
        order: dict | None = None
        for number, row in rows:
            try:
                key, fields, order_line = line(row)
            except (ValueError, InvalidOperation) as error:
                self.rejected[number] = str(error) or "malformed row"
                continue
            if order_line is None:
                self.skipped += 1
                continue
            if order is None or key != (order["channel"], order["shop"], order["order_no"]):
                if order is not None:
                    yield numbers, order
                numbers, order = [], dict(fields, lines=[])
            numbers.append(number)
            order["lines"].append(order_line)
        if order is not None:
            yield numbers, order

    def _own_line(self, row: dict) -> tuple[tuple, dict, dict]:
        channel, shop = row.get("channel") or self.channel, row.get("shop") or self.shop
        status = row["status"].strip()
        fields = {"channel": channel, "shop": shop, "order_no": row["order_no"],
                  "status": STATUS_WORDS.get(status, status.lower()),
                  "ordered_at": instant(row["ordered_at"], channel, shop, "ordered_at"),
                  "refunded_at": (instant(row["refunded_at"], channel, shop, "refunded_at")
                                  if row.get("refunded_at") else None),
                  "buyer_ref": row.get("buyer", ""), "country": row.get("country", ""), "source": self.path.name}
        order_line = {"sku": row["sku"], "title": row.get("title", ""), "quantity": whole(row["quantity"], "quantity"),
                      "unit_price": number(row["unit_price"], "unit_price"),
                      "refunded_quantity": whole(row.get("refunded_quantity") or "0", "refunded_quantity"),
                      "refunded_amount": (number(row["refunded_amount"], "refunded_amount")
                                          if row.get("refunded_amount") else None)}
        return (channel, shop, row["order_no"]), fields, order_line

    def _invoice_line(self, row: dict) -> tuple[tuple, dict, dict | None]:
        invoice = row["InvoiceNo"]
        quantity = whole(row["Quantity"], "Quantity")
        price = number(row["UnitPrice"], "UnitPrice")
        credit = invoice.upper().startswith("C")
        fields = {"channel": self.channel, "shop": self.shop, "order_no": invoice,
                  "status": "credit_note" if credit else "shipped",
                  "ordered_at": instant(row["InvoiceDate"], self.channel, self.shop, "InvoiceDate"),
                  "buyer_ref": customer(row.get("CustomerID", "")), "country": row.get("Country", ""),
                  "source": self.path.name}
        if credit and quantity > 0:
            raise ValueError(f"a cancellation's Quantity is negative, got {quantity}")
        if price < 0 or (quantity <= 0 and not credit) or invoice.upper().startswith("A"):
            return (self.channel, self.shop, invoice), fields, None
        order_line = {"sku": row["StockCode"], "title": row.get("Description", ""), "quantity": abs(quantity),
                      "unit_price": price}
        return (self.channel, self.shop, invoice), fields, order_line


def whole(text: str, column: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{column} must be a whole number, got {text!r}") from None
    if value != value.to_integral_value():
        raise ValueError(f"{column} must be a whole number, got {text!r}")
    return int(value)


def number(text: str, column: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{column} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"{column} must be a number, got {text!r}")
    return value


def customer(text: str) -> str:
    """A customer number as spreadsheets write it: 17850.0 is customer 17850."""
    text = (text or "").strip()
    return text[:-2] if text.endswith(".0") else text


def instant(text: str, channel: str, shop: str, column: str) -> datetime:
    """An ISO 8601 time, or a spreadsheet's month/day/year hours:minutes; without an offset, in the shop's zone."""
    return _instant((text or "").strip(), business_calendar.zone_of(channel, shop), column)


@lru_cache(maxsize=1 << 16)  # every line of an invoice repeats its time
def _instant(text: str, zone, column: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for form in TIME_FORMATS:
            try:
                moment = datetime.strptime(text, form)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"{column} must be a time such as 2010-12-01 08:26 or 12/1/2010 8:26, got {text!r}") \
                from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def import_history(app, path: Path, format: str = "cangku", channel: str = "web", shop: str = "main",
                   bar=None, by: str = "history-import") -> dict:
    """Check every row of the file, then record its orders (a file with a bad row records nothing); `bar` (a
    tqdm-like bar) is told the rows checked, then the rows written. Returns the counts."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    source = HistoryFile(path, format, channel, shop)
    if bar is not None:
        bar.set_description("rows checked")
    orders = app.history.check_orders(source.orders(bar.update if bar is not None else None), by,
                                      rejected=source.rejected)
    if bar is not None:
        bar.reset(total=bar.n)
        bar.set_description("rows written")
    counts = app.history.record_orders(source.orders(), by, bar.update if bar is not None else None)
    if bar is not None:
        bar.update(max(bar.total - bar.n, 0))  # the lines that moved no sale were read, not written
    return dict(counts, orders=orders, skipped=source.skipped)
