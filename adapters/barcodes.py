"""What a scanner may send for one item, turned into the GTIN forms a catalogue may have on file.

Scanners send GS1-128 element strings (`0106901234567892␝10LOT1`, or printed with parentheses), symbology
prefixes (`]C1`, `]E0`), GTIN-14 with leading zeros, or a UPC-A read as 13 digits. biip parses the GS1 side and
checks the check digit; a code whose GTIN is malformed yields no forms (it stays unknown).
"""

from biip import EncodeError, ParseError, parse
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin


def gtin_forms(scanned: str) -> list[str]:
    """The GTIN-8/12/13/14 spellings of the item a scan names, most likely first; none if it names no GTIN."""
    gtin = _gtin(scanned.strip())
    if gtin is None:
        return []
    forms = []
    for spell in (gtin.as_gtin_13, gtin.as_gtin_12, gtin.as_gtin_14, gtin.as_gtin_8):
        try:
            form = spell()
        except EncodeError:
            continue
        if form not in forms:
            forms.append(form)
    return forms


def _gtin(scanned: str) -> Gtin | None:
    try:
        if scanned.startswith("("):
            element = GS1Message.parse_hri(scanned).element_strings.get(ai="01")
            return element.gtin if element is not None and element.gtin_error is None else None
        result = parse(scanned)
    except (ParseError, ValueError):
        return None
    if result.gtin is not None and result.gtin_error is None:
        return result.gtin
    message = result.gs1_message
    element = message.element_strings.get(ai="01") if message is not None else None
    return element.gtin if element is not None and element.gtin_error is None else None


LOT_FIELDS = {"10": "lot", "17": "expiry", "11": "produced"}


def lot_of(scanned: str) -> dict[str, str]:
    """The lot (AI 10), expiry date (AI 17) and production date (AI 11, as ISO dates) a GS1 code carries, in its
    element-string or bracketed printed form; empty for any other code."""
    try:
        message = GS1Message.parse_hri(scanned) if scanned.startswith("(") else parse(scanned).gs1_message
    except (ParseError, ValueError):
        return {}
    if message is None:
        return {}
    found = {}
    for ai, name in LOT_FIELDS.items():
        element = message.element_strings.get(ai=ai)
        if element is not None:
            found[name] = element.date.isoformat() if name != "lot" and element.date else element.value
    return found
