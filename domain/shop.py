"""A marketplace shop as the warehouse follows it: how far its orders have been pulled."""

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInput
from .ids import NAMESPACE


def shop_id(channel: str, shop: str) -> UUID:
    return uuid5(NAMESPACE, f"shop:{channel}:{shop}")


class Shop(Aggregate):
    """One shop on one channel; each pull moves its checkpoint forward."""

    @staticmethod
    def create_id(channel: str, shop: str) -> UUID:
        return shop_id(channel, shop)

    @event("Followed")
    def __init__(self, channel: str, shop: str):
        self.channel = channel
        self.shop = shop
        self.pulled_until: datetime | None = None

    def checkpoint(self, until: datetime, seen: int, imported: int) -> None:
        if self.pulled_until is not None and until < self.pulled_until:
            raise InvalidInput(f"{self.channel}/{self.shop}: a checkpoint cannot move back")
        self._checkpointed(until, seen, imported)

    @event("Checkpointed")
    def _checkpointed(self, until: datetime, seen: int, imported: int) -> None:
        self.pulled_until = until
