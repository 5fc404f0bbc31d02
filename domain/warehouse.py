"""Warehouses and their locations (bins)."""

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from . import ids
from .errors import BinAlreadyExists, InvalidInput, UnknownBin
from .limits import MAX_NAME

AREAS = ("receiving", "storage", "packing", "returns")
SENDER_FIELDS = ("name", "phone", "province", "city", "district", "address")


@dataclass(frozen=True)
class Location:
    bin: str
    zone: str
    area: str
    pick_sequence: int


class Warehouse(Aggregate):
    """A warehouse: its bins, each in an area (receiving, storage, packing, returns) with a pick sequence."""

    @staticmethod
    def create_id(code: str, **_) -> UUID:
        return ids.warehouse_id(code)

    @event("Opened")
    def __init__(self, code: str, name: str):
        self.code = code
        self.name = name
        self.locations: dict[str, dict] = {}

    @classmethod
    def open(cls, code: str, name: str) -> "Warehouse":
        code = (code or "").strip()
        if not code or " " in code or len(code) > 32:
            raise InvalidInput(f"warehouse code {code!r} must be 1-32 characters without spaces")
        return cls(code, (name or code).strip())

    def add_location(self, bin: str, zone: str, area: str, pick_sequence: int) -> None:
        bin = (bin or "").strip()
        if not bin or " " in bin or len(bin) > 32 or not bin.isprintable():
            raise InvalidInput(f"bin code {bin!r} must be 1-32 printable characters without spaces")
        if area not in AREAS:
            raise InvalidInput(f"bin {bin}: area {area!r} is not one of {', '.join(AREAS)}")
        if not isinstance(pick_sequence, int) or pick_sequence < 0:
            raise InvalidInput(f"bin {bin}: pick sequence must be a whole number ≥ 0")
        if bin in self.locations:
            raise BinAlreadyExists(f"bin {bin} already exists in warehouse {self.code}")
        self._location_added(bin, (zone or "").strip(), area, pick_sequence)

    @event("LocationAdded")
    def _location_added(self, bin: str, zone: str, area: str, pick_sequence: int) -> None:
        self.locations[bin] = {"zone": zone, "area": area, "pick_sequence": pick_sequence}

    @property
    def sender(self) -> dict[str, str]:
        """Who and where parcels shipped from this warehouse come from ({} when not set: the configured sender)."""
        return dict(self.__dict__.get("sender_details", {}))

    def set_sender(self, sender: dict, by: str) -> None:
        details = {key: str(sender.get(key, "") or "").strip() for key in SENDER_FIELDS}
        if any(len(value) > MAX_NAME for value in details.values()):
            raise InvalidInput(f"each sender detail is at most {MAX_NAME} characters")
        if not details["name"] or not details["phone"] or not details["province"] or not details["address"]:
            raise InvalidInput("a sender needs a name, a phone, a province and an address")
        if details != self.sender:
            self._sender_set(details, by)

    @event("SenderSet")
    def _sender_set(self, sender: dict, by: str) -> None:
        self.sender_details = dict(sender)

    def location(self, bin: str) -> Location:
        try:
            return Location(bin, **self.locations[bin])
        except KeyError:
            raise UnknownBin(f"bin {bin!r} does not exist in warehouse {self.code}", key="refusal:unknown_bin", bin=bin,
                             warehouse=self.code) from None

    def bins_in(self, area: str) -> list[str]:
        """Bins of one area in pick order."""
        found = [(loc["pick_sequence"], b) for b, loc in self.locations.items() if loc["area"] == area]
        return [b for _, b in sorted(found)]

    def pick_order(self, area: str = "storage") -> dict[str, int]:
        """Bins of one area → their pick sequence."""
        return {b: loc["pick_sequence"] for b, loc in self.locations.items() if loc["area"] == area}

    def first_bin_in(self, area: str) -> str:
        bins = self.bins_in(area)
        if not bins:
            raise UnknownBin(f"warehouse {self.code} has no {area} bin")
        return bins[0]
