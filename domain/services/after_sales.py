"""After-sales (售后): cases opened from the platforms' refund and return requests on shipped orders, the returned
parcel scanned back, refunds on the platform's day, and the new outbound order of an exchange or a reshipment."""

from datetime import datetime
from decimal import Decimal
from typing import Callable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from .. import ids
from ..after_sales import (
    REPLACING_KINDS,
    AfterSalesCase,
    InvalidCaseState,
    OrderCases,
    RefundReport,
    UnknownCase,
    case_id,
    order_cases_id,
)
from ..errors import DomainError, InvalidInput, UnknownOrder
from ..order import RETURNABLE_STATUSES, Order, OrderLine
from .orders import NewOrder, Orders
from .store import EventStore, retry_on_conflict


class AfterSales:
    """After-sales cases, one per platform refund or return request after shipping."""

    def __init__(self, store: EventStore, orders: Orders):
        self.store = store
        self.orders = orders

    @retry_on_conflict
    def take_report(self, report: RefundReport, by: str) -> dict:
        """Open or move the case of a platform's refund request; an order not shipped yet (the intercept's business)
        or never imported has none. Returns what happened: opened, changed, or skipped and why."""
        key = case_id(report.channel, report.shop, report.refund_id)
        try:
            case = self.store.repository.get(key)
        except AggregateNotFoundError:
            case = None
        if case is None:
            try:
                order = self.orders.find_order(report.channel, report.shop, report.order_no)
            except UnknownOrder:
                return {"case_id": None, "result": "unknown_order"}
            if order.status not in RETURNABLE_STATUSES:
                return {"case_id": None, "result": "not_shipped"}
            cases = self._order_cases(order.id)
            case = AfterSalesCase.open(report.channel, report.shop, report.refund_id, order.id, order.platform_order_no,
                                       order.buyer_ref, report.kind, report.amount, self._lines(order, report),
                                       report.reason, report.requested_at, by, most=order.paid_amount)
            cases.add(case.id)
            case.report(report.status, report.amount, report.refunded_at, report.return_tracking_no, by)
            self.store.save(case, cases)
            return {"case_id": case.id, "result": "opened"}
        changed = case.report(report.status, report.amount, report.refunded_at, report.return_tracking_no, by)
        if changed:
            self.store.save(case)
        return {"case_id": case.id, "result": "changed" if changed else "unchanged"}

    def take_reports(self, reports, by: str, refused: Callable[[RefundReport, DomainError], None] | None = None
                     ) -> dict[str, int]:
        """Take each report; counts of what happened. A report the domain refuses (an amount above what was paid, a
        line the order does not have) is counted and handed to `refused`, and the others are still taken."""
        counts: dict[str, int] = {}
        for report in reports:
            try:
                result = self.take_report(report, by)["result"]
            except DomainError as error:
                result = "refused"
                if refused is not None:
                    refused(report, error)
            counts[result] = counts.get(result, 0) + 1
        return counts

    @staticmethod
    def _lines(order: Order, report: RefundReport) -> list[dict]:
        """The order lines a request names, by platform SKU id or merchant code."""
        lines = []
        for platform_sku, outer, units, amount in report.lines:
            found = next((line for line in order.lines.values()
                          if (platform_sku and line["platform_sku"] == platform_sku)
                          or (outer and line["sku"] == outer)), None)
            if found is None:
                raise InvalidInput(f"order {order.platform_order_no} has no line for platform SKU {platform_sku}")
            lines.append({"line_no": found["line_no"], "sku": found["sku"], "quantity": int(units),
                          "amount": Decimal(amount)})
        return lines

    def _order_cases(self, order_id: UUID) -> OrderCases:
        try:
            return self.store.repository.get(order_cases_id(order_id))
        except AggregateNotFoundError:
            return OrderCases(order_id=order_id)

    # Reading

    def case(self, key: UUID) -> AfterSalesCase:
        return self.store.get(key, UnknownCase(f"unknown after-sales case {str(key)[:64]}"), to_change=False)

    def case_details(self, key: UUID) -> dict:
        case = self.case(key)
        return {"id": case.id, "channel": case.channel, "shop": case.shop, "refund_id": case.refund_id,
                "order_id": case.order_id, "order_no": case.order_no, "kind": case.kind, "status": case.status,
                "platform_status": case.platform_status, "amount": case.amount, "reason": case.reason,
                "refunded_amount": case.refunded_amount, "refunded_at": case.refunded_at,
                "requested_at": case.requested_at, "lines": [dict(line) for line in case.lines],
                "received": dict(case.received), "replacement": case.replacement,
                "return_tracking_no": case.return_tracking_no, "closed": case.closed}

    def cases_of(self, order_id: UUID) -> list[AfterSalesCase]:
        try:
            cases = self.store.repository.get(order_cases_id(order_id), deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return []
        return [self.case(key) for key in cases.cases]

    def case_awaiting_return(self, order_id: UUID) -> str:
        """The id of the order's open case whose goods are still to come back, or ""."""
        for case in self.cases_of(order_id):
            if case.expects_goods and not case.goods_back() and case.platform_status not in ("refused", "closed"):
                return str(case.id)
        return ""

    # The warehouse's own after-sales: a reshipment (补发) or an exchange's new parcel

    @retry_on_conflict
    def send_replacement(self, key: UUID, by: str, warehouse: str = "") -> dict:
        """The new outbound order of an exchange or a reshipment case: the case's lines (else the order's) at no
        charge, to the same buyer, through review and reservation like any order."""
        case = self.store.get(key, UnknownCase(f"unknown after-sales case {str(key)[:64]}"))
        return self._replace(case, by, warehouse)

    def _replace(self, case: AfterSalesCase, by: str, warehouse: str, *also) -> dict:
        """Record the replacement on the case and import its order, saved together (the case's event first, so every
        view meets the order already known as a replacement)."""
        original = self.orders.order(case.order_id)
        number = case.refund_id if case.refund_id.startswith(original.platform_order_no) else \
            f"{original.platform_order_no}-R{case.refund_id}"
        number = number[-64:]
        wanted = {line["line_no"]: line["quantity"] for line in case.lines} or {
            no: line["quantity"] - line["refunded"] for no, line in original.lines.items()}
        chosen = sorted(no for no, units in wanted.items() if units)
        lines = [OrderLine(n, original.lines[no]["platform_sku"], original.lines[no]["sku"],
                           original.lines[no]["title"], wanted[no], Decimal("0"), Decimal("0"),
                           original.lines[no].get("item_id", ""))
                 for n, no in enumerate(chosen, 1)]
        replacement = ids.order_id(case.channel, case.shop, number)
        case.record_replacement(replacement, number, by)
        if replacement in self.store.repository:
            raise InvalidCaseState(f"order {number} already exists; choose another case for this replacement")
        new = NewOrder(case.channel, case.shop, number, lines, original.buyer, dict(original.region),
                       Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0"), datetime.now().astimezone(),
                       f"after-sales {case.kind} {case.refund_id}")
        result = self.orders.import_orders([new], by=by, warehouse=warehouse or original.warehouse,
                                           also=(case, *also))[0]
        return {"order_id": result["order_id"], "platform_order_no": number, "status": result["status"]}

    @retry_on_conflict
    def reship(self, order_id: UUID, line_nos: list[int] | None, reason: str, by: str, warehouse: str = "") -> dict:
        """The order desk's reshipment (补发): a case of the warehouse's own, and its new outbound order."""
        order = self.orders.order(order_id)
        if order.status not in RETURNABLE_STATUSES:
            raise InvalidCaseState(f"order {order.platform_order_no} is {order.status}; only a shipped or delivered "
                                   f"order is reshipped")
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("say why the order is reshipped")
        chosen = list(order.lines) if not line_nos else line_nos
        for no in chosen:
            if no not in order.lines:
                raise InvalidInput(f"order {order.platform_order_no} has no line {no}")
        cases = self._order_cases(order.id)
        number = 1
        while case_id(order.channel, order.shop, f"{order.platform_order_no}-RS{number}") in cases.cases:
            number += 1
        refund_id = f"RS{number}"
        lines = [{"line_no": no, "sku": order.lines[no]["sku"], "quantity": order.lines[no]["quantity"],
                  "amount": Decimal("0")} for no in chosen]
        case = AfterSalesCase.open(order.channel, order.shop, f"{order.platform_order_no}-{refund_id}", order.id,
                                   order.platform_order_no, order.buyer_ref, "reship", Decimal("0"), lines, reason,
                                   datetime.now().astimezone(), by)
        case.report("agreed", by=by)
        cases.add(case.id)
        return {"case_id": case.id, **self._replace(case, by, warehouse, cases)}
