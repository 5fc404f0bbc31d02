"""Data for the printer's hardware CODE128 (GS k 73), which needs explicit code-set prefixes."""

from __future__ import annotations

import re

from domain.printing import PrintLayoutError

QUIET_ZONE_MODULES = 10
_DIGIT_RUN = re.compile(r"[0-9]{4,}")


def code128_payload(text: str) -> str:
    """The GS k data for `text`: '{B' for letters, '{C' digit pairs for long digit runs, '{{' for a literal '{'."""
    if not text or any(not " " <= char <= "~" for char in text):
        raise PrintLayoutError(f"CODE128 carries printable ASCII only, not {text!r}")
    parts: list[str] = []
    code_set = ""

    def switch(to: str) -> None:
        nonlocal code_set
        if code_set != to:
            parts.append("{" + to)
            code_set = to

    position = 0
    for run in _DIGIT_RUN.finditer(text):
        letters, digits = text[position:run.start()], run.group()
        if len(digits) % 2:
            letters, digits = letters + digits[0], digits[1:]
        if letters:
            switch("B")
            parts.append(letters.replace("{", "{{"))
        switch("C")
        parts.append("".join(chr(int(digits[i:i + 2])) for i in range(0, len(digits), 2)))
        position = run.end()
    if text[position:]:
        switch("B")
        parts.append(text[position:].replace("{", "{{"))
    payload = "".join(parts)
    if len(payload) > 255:
        raise PrintLayoutError(f"{text!r} is too long for one CODE128 barcode")
    return payload


def code128_modules(payload: str) -> int:
    """Width of the symbol in modules (start, data, check, stop), without quiet zones."""
    symbols = 0
    index = 2  # the leading "{X" is the start character
    while index < len(payload):
        index += 2 if payload[index] == "{" else 1
        symbols += 1
    return 11 * (symbols + 2) + 13
