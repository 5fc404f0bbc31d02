"""GTIN check digits (EAN-13, EAN-8, UPC-A, GTIN-14)."""

from .errors import InvalidBarcode

GTIN_LENGTHS = {8, 12, 13, 14}


def gtin_check_digit(body: str) -> int:
    """The check digit for the digits before it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_barcode(barcode: str) -> str:
    """Return the barcode if it is a valid GTIN, or an internal code (letters, digits, -); raise otherwise.

    All-digit codes of GTIN length must carry a correct check digit; other all-digit lengths are refused so
    that a mistyped EAN is never accepted as an internal code.
    """
    code = (barcode or "").strip()
    if not code or len(code) > 64:
        raise InvalidBarcode(f"barcode {barcode!r} is empty or too long")
    if code.isdigit():
        if len(code) not in GTIN_LENGTHS:
            raise InvalidBarcode(f"barcode {code} has {len(code)} digits; a GTIN has 8, 12, 13 or 14")
        expected = gtin_check_digit(code[:-1])
        if int(code[-1]) != expected:
            raise InvalidBarcode(f"barcode {code} has check digit {code[-1]}, expected {expected}")
        return code
    if not all(c.isascii() and (c.isalnum() or c in "-_.") for c in code):
        raise InvalidBarcode(f"barcode {code!r} may only hold letters, digits, '-', '_' and '.'")
    return code
