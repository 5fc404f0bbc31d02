"""Text for a thermal printer's Chinese mode: what it can show, how wide it is, how it wraps, its bytes."""

from __future__ import annotations

import re
import unicodedata

from domain.printing import PrintLayoutError

ENTER_CHINESE = b"\x1c&"  # FS &
LEAVE_CHINESE = b"\x1c."  # FS .
REPLACEMENT = "?"
ELLIPSIS = "…"

_WHITESPACE = re.compile(r"\s+")
_TOKENS = re.compile(r"[!-~]+| +|[^ -~]")
_RUNS = re.compile(r"[ -~]+|[^ -~]+")


def _drawable(char: str) -> bool:
    return unicodedata.category(char) not in ("Cc", "Cf", "Co", "Cs", "Cn")


def in_printer_font(char: str) -> bool:
    """Whether the printer's own font has the character: ASCII, or the double-byte (GBK) part of GB18030."""
    if " " <= char <= "~":
        return True
    if not _drawable(char):
        return False
    try:
        return len(char.encode("gb18030")) == 2  # four-byte GB18030 codes have no glyph in the printer
    except UnicodeEncodeError:
        return False


def outside_printer_font(line: str) -> str:
    """The characters of a line the printer's font lacks (they go out as an image), in order, once each."""
    return "".join(dict.fromkeys(char for char in line if not in_printer_font(char)))


def printable(text: str) -> str:
    """Text that can be put on paper: whitespace folded to single spaces, control and unassigned codes as '?'.

    Characters outside the printer's font stay: the layout prints their line as an image.
    """
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()
    return "".join(char if _drawable(char) else REPLACEMENT for char in text)


def display_width(text: str) -> int:
    """Columns taken on paper: one per ASCII character, two per Chinese-mode character."""
    return sum(1 if " " <= char <= "~" else 2 for char in text)


def wrap(text: str, columns: int) -> list[str]:
    """Break printable text into lines of at most `columns`, between words or Chinese characters."""
    if columns < 2:
        raise PrintLayoutError(f"a line of {columns} column(s) cannot hold a Chinese character")
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(printable(text)):
        if token.startswith(" "):
            if line and display_width(line) + len(token) < columns:
                line += token
            continue
        while token:
            room = columns - display_width(line)
            if display_width(token) <= room:
                line, token = line + token, ""
                continue
            # A word that fits on a line of its own starts one; a longer one is broken where the line ends.
            head = "" if line and display_width(token) <= columns else _prefix_within(token, room)
            lines.append((line + head).rstrip())
            line, token = "", token[len(head):]
    if line:
        lines.append(line.rstrip())
    return lines


def fit(text: str, columns: int, max_lines: int) -> list[str]:
    """Wrap text, then cut it to `max_lines`, ending a cut text with '…' so the cut is visible."""
    lines = wrap(text, columns)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = _prefix_within(kept[-1], columns - display_width(ELLIPSIS)).rstrip() + ELLIPSIS
    return kept


def two_columns(left: str, right: str, columns: int) -> str:
    """One line with `left` cut to fit and `right` flush to the right edge."""
    right = _first_line(right, columns)
    room = columns - display_width(right) - 1
    left = _first_line(left, room) if room >= 2 else ""
    return left + " " * (columns - display_width(left) - display_width(right)) + right


def encode_line(line: str) -> bytes:
    """Bytes of one printable line: ASCII as is, everything else as GB18030 inside FS & ... FS ."""
    out = bytearray()
    for run in _RUNS.findall(line):
        if run[0] <= "~":
            out += run.encode("ascii")
        else:
            out += ENTER_CHINESE + run.encode("gb18030") + LEAVE_CHINESE
    return bytes(out)


def _first_line(text: str, columns: int) -> str:
    return (fit(text, columns, 1) or [""])[0]


def _prefix_within(text: str, columns: int) -> str:
    width = 0
    for index, char in enumerate(text):
        width += display_width(char)
        if width > columns:
            return text[:index]
    return text
