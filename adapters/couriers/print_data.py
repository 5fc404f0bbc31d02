"""What a platform e-waybill's print data lets our own label show.

The platforms hand out print data for their print components (Cainiao's and PDD's cloud print, JD's cloud print), laid
on a standard template named by URL: either readable (`data` with `routingInfo`: the sort code 大头笔 and the package
centre 集包地) or encrypted (`encryptedData`, with the version of the encryption in `ver`), which only their print
components can open. We print ESC/POS ourselves, so a label takes from it what is readable, and records which template
and version it came from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PLAIN = "plain"


@dataclass(frozen=True)
class PrintData:
    """The facts of one waybill's print data: its template, its version, and what of it is readable."""

    template_url: str
    version: str
    encrypted: bool
    sort_code: str = ""
    package_centre: str = ""

    def as_record(self) -> dict[str, Any]:
        """What the package keeps of it: never the data itself."""
        return {"template_url": self.template_url[:300], "version": self.version[:100], "encrypted": self.encrypted}


def read_print_data(text: str | None) -> PrintData | None:
    """The print data's facts; None when there is none. Text that is not a JSON object is opaque: encrypted."""
    if not text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return PrintData("", "opaque", True)
    template = str(document.get("templateURL") or document.get("templateUrl") or "")
    data = document.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            data = None
    if not isinstance(data, dict):
        encrypted = bool(document.get("encryptedData")) or not data
        return PrintData(template, str(document.get("ver") or ("encrypted" if encrypted else PLAIN)), encrypted)
    routing = data.get("routingInfo") if isinstance(data.get("routingInfo"), dict) else {}
    return PrintData(template, str(document.get("ver") or PLAIN), False,
                     sort_code=str(_name(routing.get("sortation"))), package_centre=str(_name(routing.get("consolidation"))))


def _name(part: Any) -> str:
    return str(part.get("name") or "") if isinstance(part, dict) else ""
