"""Past orders brought in from a file: checked all together, then written in bounded transactions."""

from decimal import Decimal
from typing import Callable, Iterable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from .. import ids
from ..errors import DomainError, InvalidInput, RowsRejected
from ..history import HistoricOrder, LineRefused
from .store import EventStore

# One transaction holds at most this many order lines (about 3 MB of events): far under the size at which a
# PostgreSQL write can hang, and large enough that the write rate is the store's bulk rate.
LINES_PER_TRANSACTION = 20_000
LIVE_LOOKUP = 2_000  # orders whose live twin is looked up at once


class History:
    """Past orders (`HistoricOrder`): reports read them, live work never does."""

    def __init__(self, store: EventStore):
        self.store = store

    def check_orders(self, orders: Iterable[tuple[list[int], dict]], by: str,
                     progress: Callable[[int], None] | None = None,
                     rejected: dict[int, str] | None = None) -> int:
        """Check past orders, each given as (its file rows, `HistoricOrder.record`'s arguments), without keeping
        them: every row of a refused order is named with the reason, together with the rows in `rejected` (read
        once the orders are), and nothing is recorded. Returns how many orders there are."""
        errors: dict[int, str] = {}
        seen: dict[tuple, int] = {}
        live: list[tuple[list[int], dict]] = []  # orders checked whole, whose live twin is looked up in bulk
        count = 0
        for rows, fields in orders:
            count += 1
            try:
                self._seen_once(seen, rows, fields)
                HistoricOrder.checked(**fields, by=by)
                live.append((rows, fields))
                if len(live) >= LIVE_LOOKUP:
                    self._not_live(live, errors)
            except LineRefused as error:
                row = rows[error.line_no - 1]
                errors[row] = str(error)
                errors.update({other: f"order {fields.get('order_no')} is refused with its row {row}"
                               for other in rows if other != row})
            except (DomainError, ValueError, TypeError, ArithmeticError) as error:
                errors.update({row: str(error) for row in rows})
            if progress is not None:
                progress(len(rows))
        self._not_live(live, errors)
        errors.update(rejected or {})
        if errors:
            raise RowsRejected(errors)
        return count

    def _not_live(self, checked: list[tuple[list[int], dict]], errors: dict[int, str]) -> None:
        """Refuse past orders that came in live (pulled from the marketplace): their sale is already counted."""
        def live_id(fields: dict):
            return ids.order_id(fields["channel"], fields["shop"], fields["order_no"])

        found = self.store.recorded_among({live_id(fields) for _, fields in checked})
        for rows, fields in checked:
            if live_id(fields) in found:
                errors.update({row: f"order {fields['order_no']} of {fields['channel']}/{fields['shop']} is already "
                                    f"a live order here; leave it out of the history file" for row in rows})
        checked.clear()

    @staticmethod
    def _seen_once(seen: dict, rows: list[int], fields: dict) -> None:
        key = (fields.get("channel"), fields.get("shop"), fields.get("order_no"))
        if key in seen:
            raise InvalidInput(f"order {fields.get('order_no')} appears again after other orders (first at row "
                               f"{seen[key]}): an order's lines must be together")
        seen[key] = rows[0]

    def past_order(self, order_id: UUID) -> dict | None:
        """A past order's lines, status, refunds and customer; None when the id is not a past order."""
        try:
            order = self.store.peek(order_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(order, HistoricOrder):
            return None
        lines = [dict(line, line_no=n, unit_price=Decimal(line["unit_price"]),
                      refunded_amount=Decimal(line["refunded_amount"])) for n, line in enumerate(order.lines, 1)]
        return {"id": order.id, "channel": order.channel, "shop": order.shop, "order_no": order.order_no,
                "status": order.status, "ordered_at": order.ordered_at, "refunded_at": order.refunded_at,
                "buyer_ref": order.buyer_ref, "country": order.country, "source": order.source, "lines": lines,
                "amount": sum((line["unit_price"] * line["quantity"] for line in lines), Decimal("0")),
                "refunded": sum((line["refunded_amount"] for line in lines), Decimal("0"))}

    def record_orders(self, orders: Iterable[tuple[list[int], dict]], by: str,
                      progress: Callable[[int], None] | None = None) -> dict:
        """Record past orders checked by `check_orders`, a bounded transaction at a time; orders recorded before (a
        file imported again, or an import stopped half-way) are left as they are. `progress` is told the rows
        written."""
        counts = {"recorded": 0, "lines": 0, "already_recorded": 0}
        batch: list[tuple[HistoricOrder, int]] = []
        size = 0
        for rows, fields in orders:
            batch.append((HistoricOrder.record(**fields, by=by), len(rows)))
            size += len(rows)
            if size >= LINES_PER_TRANSACTION:
                self._save(batch, counts, progress)
                batch, size = [], 0
        if batch:
            self._save(batch, counts, progress)
        return counts

    def _save(self, batch: list[tuple[HistoricOrder, int]], counts: dict, progress) -> None:
        found = self.store.recorded_among({order.id for order, _ in batch})
        for _ in range(3):
            new = [order for order, _ in batch if order.id not in found]
            try:
                if new:
                    self.store.save(*new)
                break
            except IntegrityError:
                # Another import of the same file recorded some of these meanwhile: keep theirs, write the rest.
                found = self.store.recorded_among({order.id for order, _ in batch})
        counts["recorded"] += len(new)
        counts["lines"] += sum(len(order.lines) for order in new)
        counts["already_recorded"] += len(batch) - len(new)
        if progress is not None:
            progress(sum(rows for _, rows in batch))
