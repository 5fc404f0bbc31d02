"""A small, strict ESC/POS decoder for tests: printer bytes back into text lines, barcodes and QR codes.

It knows the commands a thermal receipt/label printer in GB18030 mode understands and refuses anything else,
so a stray byte in a job fails the test instead of printing garbage on paper. Text is read the way the printer
reads it: single-byte ASCII outside Chinese mode, and inside Chinese mode (FS & ... FS .) two-byte GB18030 codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import qrcode

ESC, GS, FS, LF, DLE = 0x1B, 0x1D, 0x1C, 0x0A, 0x10
FONT_A_DOTS = 12
LINE_SPACING_DOTS = 34  # ESC 2 default, 1/6 inch at 203 dpi
HRI_DOTS = 30
CODE128_QUIET_MODULES = 10


class EscposDecodeError(Exception):
    """The bytes are not a job this decoder understands."""


class Incomplete(EscposDecodeError):
    """The bytes end inside a command: more are on the way, or the job was cut off."""


@dataclass
class TextLine:
    text: str
    width: int
    height: int
    bold: bool
    align: str

    @property
    def dots(self) -> int:
        """Width on paper in dots: ASCII one column, Chinese two, times the width multiplier."""
        columns = sum(1 if ord(char) < 0x80 else 2 for char in self.text)
        return columns * FONT_A_DOTS * self.width

    @property
    def height_dots(self) -> int:
        return max(LINE_SPACING_DOTS, 24 * self.height + LINE_SPACING_DOTS - 24)


@dataclass
class Barcode:
    symbology: str
    data: str
    payload: bytes
    module: int
    height: int
    readable: bool

    @property
    def height_dots(self) -> int:
        return self.height + (HRI_DOTS if self.readable else 0)

    @property
    def dots(self) -> int:
        """Width on paper in dots, quiet zones included (CODE128 only): 11 modules a symbol, 13 for stop."""
        if self.symbology != "CODE128":
            raise NotImplementedError(self.symbology)
        symbols, index = 0, 2  # the leading "{X" is the start symbol
        while index < len(self.payload):
            index += 2 if self.payload[index] == ord("{") else 1
            symbols += 1
        return (11 * (symbols + 2) + 13 + 2 * CODE128_QUIET_MODULES) * self.module


@dataclass
class QrCode:
    data: str
    module: int
    error_correction: str

    @property
    def height_dots(self) -> int:
        level = {"L": qrcode.ERROR_CORRECT_L, "M": qrcode.ERROR_CORRECT_M,
                 "Q": qrcode.ERROR_CORRECT_Q, "H": qrcode.ERROR_CORRECT_H}[self.error_correction]
        symbol = qrcode.QRCode(error_correction=level, border=0)
        symbol.add_data(self.data)
        symbol.make(fit=True)
        return symbol.modules_count * self.module


@dataclass
class RasterImage:
    """GS v 0: a bitmap, `width` x `height` dots, rows of bytes with the most significant bit leftmost."""

    width: int
    height: int
    data: bytes

    @property
    def height_dots(self) -> int:
        return self.height

    def dot(self, x: int, y: int) -> bool:
        return bool(self.data[y * (self.width // 8) + x // 8] & (0x80 >> x % 8))

    @property
    def black_dots(self) -> int:
        return sum(bin(byte).count("1") for byte in self.data)


@dataclass
class LabelLayout:
    """FS ( L <Function 33>: the paper layout; `reference` "1" is die-cut label paper, lengths in 0.1 mm."""

    reference: str
    values: list[str]

    @property
    def height_dots(self) -> int:
        return 0


@dataclass
class LabelFeed:
    """FS ( L <Function 65/66/67>: feed a label to its peeling, cutting or print starting position."""

    to: str
    mode: int

    @property
    def height_dots(self) -> int:
        return 0


@dataclass
class Feed:
    dots: int

    @property
    def height_dots(self) -> int:
        return self.dots


@dataclass
class Printout:
    elements: list = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    print_area_dots: int | None = None
    cuts: list[str] = field(default_factory=list)
    requests: list[tuple] = field(default_factory=list)

    @property
    def lines(self) -> list[TextLine]:
        return [element for element in self.elements if isinstance(element, TextLine)]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def barcodes(self) -> list[Barcode]:
        return [element for element in self.elements if isinstance(element, Barcode)]

    @property
    def qr_codes(self) -> list[QrCode]:
        return [element for element in self.elements if isinstance(element, QrCode)]

    @property
    def height_dots(self) -> int:
        """Roughly how long the printout is, in dots (8 per mm at 203 dpi)."""
        return sum(element.height_dots for element in self.elements)

    @property
    def images(self) -> list[RasterImage]:
        return [element for element in self.elements if isinstance(element, RasterImage)]

    @property
    def layouts(self) -> list[LabelLayout]:
        return [element for element in self.elements if isinstance(element, LabelLayout)]

    @property
    def label_feeds(self) -> list[LabelFeed]:
        return [element for element in self.elements if isinstance(element, LabelFeed)]

    def line_with(self, fragment: str) -> TextLine:
        matches = [line for line in self.lines if fragment in line.text]
        if len(matches) != 1:
            raise AssertionError(f"{len(matches)} lines contain {fragment!r}:\n{self.text}")
        return matches[0]

    def index_of(self, element) -> int:
        return next(index for index, candidate in enumerate(self.elements) if candidate is element)


_ALIGN = {0: "left", 48: "left", 1: "center", 49: "center", 2: "right", 50: "right"}
_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}
_BARCODE_B = {65: "UPC-A", 66: "UPC-E", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF", 71: "NW7",
              72: "CODE93", 73: "CODE128", 74: "GS1-128"}
_ONE_ARGUMENT = {(ESC, "-"): "underline", (ESC, "M"): "font", (ESC, "t"): "code page", (ESC, "R"): "character set",
                 (ESC, "3"): "line spacing", (GS, "h"): "barcode height", (GS, "w"): "barcode module",
                 (GS, "f"): "HRI font", (GS, "H"): "HRI position", (GS, "B"): "invert", (GS, "b"): "smoothing"}


_LABEL_FEEDS = {65: "peeling", 66: "cutting", 67: "print start"}


def decode_code128(payload: bytes) -> str:
    """The content of a GS k 73 payload: '{A'/'{B'/'{C' pick the code set, '{{' is a literal '{'."""
    if len(payload) < 2 or payload[:1] != b"{" or chr(payload[1]) not in "ABC":
        raise EscposDecodeError(f"CODE128 data must start with a code set ({{A, {{B or {{C}}: {payload!r}")
    out, code_set, index = [], "", 0
    while index < len(payload):
        byte = payload[index]
        if byte == ord("{"):
            selector = chr(payload[index + 1]) if index + 1 < len(payload) else ""
            if selector and selector in "ABC":
                code_set = selector
            elif selector == "{" and code_set in ("A", "B"):
                out.append("{")
            else:
                raise EscposDecodeError(f"unsupported CODE128 function {{{selector} in {payload!r}")
            index += 2
            continue
        if code_set == "C":
            if byte > 99:
                raise EscposDecodeError(f"byte {byte} is not a digit pair in CODE128 code set C")
            out.append(f"{byte:02d}")
        elif code_set == "B" and 0x20 <= byte <= 0x7F or code_set == "A" and byte < 0x60:
            out.append(chr(byte))
        else:
            raise EscposDecodeError(f"byte {byte:#x} is not in CODE128 code set {code_set}")
        index += 1
    return "".join(out)


class _Decoder:
    def __init__(self, data: bytes):
        self.data = data
        self.at = 0
        self.out = Printout()
        self.width = self.height = 1
        self.bold = False
        self.align = "left"
        self.chinese = False
        self.pending: list[str] = []
        self.pending_style: tuple | None = None
        self.barcode = {"height": 162, "module": 3, "readable": False}
        self.qr = {"module": 3, "ec": "L", "data": None}

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise Incomplete(f"job ends inside a command at byte {self.at}")
        chunk = self.data[self.at:self.at + count]
        self.at += count
        return chunk

    def style_changes(self) -> None:
        if self.pending:
            raise EscposDecodeError(f"style changed in the middle of the line {''.join(self.pending)!r}")

    def at_line_start(self, what: str) -> None:
        if self.pending:
            raise EscposDecodeError(f"{what} after unfinished text {''.join(self.pending)!r}")

    def run(self) -> Printout:
        while self.at < len(self.data):
            self.step()
        if self.pending:
            raise EscposDecodeError(f"text never printed (no line feed): {''.join(self.pending)!r}")
        return self.out

    def commands(self) -> tuple[list[bytes], int]:
        """Each whole command (a character counts as one) as its bytes, and where the first unfinished one starts."""
        found, start = [], 0
        while self.at < len(self.data):
            try:
                self.step()
            except Incomplete:
                return found, start
            found.append(self.data[start:self.at])
            start = self.at
        return found, start

    def step(self) -> None:
        byte = self.data[self.at]
        self.at += 1
        if byte == DLE:
            self.real_time()
        elif byte == ESC:
            self.escape()
        elif byte == GS:
            self.group_separator()
        elif byte == FS:
            self.file_separator()
        elif byte == LF:
            self.line_feed()
        elif 0x20 <= byte <= 0x7E:
            self.character(chr(byte))
        elif byte >= 0x80 and self.chinese:
            pair = bytes([byte]) + self.take(1)
            try:
                self.character(pair.decode("gb18030"))
            except UnicodeDecodeError:
                raise EscposDecodeError(f"{pair!r} is not a two-byte GB18030 character") from None
        elif byte >= 0x80:
            raise EscposDecodeError(f"byte {byte:#x} at {self.at - 1} is outside Chinese mode (no FS & before it)")
        else:
            raise EscposDecodeError(f"control byte {byte:#x} at {self.at - 1}")

    def real_time(self) -> None:
        code = self.take(1)[0]
        if code == 0x04:
            n = self.take(1)[0]
            if n not in (1, 2, 3, 4):
                raise EscposDecodeError(f"DLE EOT {n} is not a status the printer transmits")
            self.command("DLE EOT")
            self.out.requests.append(("status", n))
        elif code == 0x14:
            function = self.take(1)[0]
            if function != 8 or self.take(7) != bytes([1, 3, 20, 1, 6, 2, 8]):
                raise EscposDecodeError(f"DLE DC4 function {function} is not one this decoder knows")
            self.command("DLE DC4")
            self.out.requests.append(("clear", 8))
        else:
            raise EscposDecodeError(f"unknown real-time command DLE {code:#x} at {self.at - 2}")

    def character(self, char: str) -> None:
        if not self.pending:
            self.pending_style = (self.width, self.height, self.bold, self.align)
        self.pending.append(char)

    def line_feed(self) -> None:
        width, height, bold, align = self.pending_style or (self.width, self.height, self.bold, self.align)
        self.out.elements.append(TextLine("".join(self.pending), width, height, bold, align))
        self.pending, self.pending_style = [], None

    def command(self, name: str) -> None:
        self.out.commands.append(name)

    def escape(self) -> None:
        code = chr(self.take(1)[0])
        if code == "@":
            self.command("ESC @")
            self.at_line_start("ESC @")
            self.width = self.height = 1
            self.bold, self.align = False, "left"
        elif code == "!":
            mode = self.take(1)[0]
            self.command("ESC !")
            self.style_changes()
            self.width, self.height, self.bold = 2 if mode & 0x20 else 1, 2 if mode & 0x10 else 1, bool(mode & 0x08)
        elif code == "E":
            self.command("ESC E")
            self.style_changes()
            self.bold = bool(self.take(1)[0] & 1)
        elif code == "a":
            self.command("ESC a")
            self.style_changes()
            self.align = _ALIGN[self.take(1)[0]]
        elif code == "d":
            self.command("ESC d")
            self.at_line_start("ESC d")
            self.out.elements.append(Feed(self.take(1)[0] * LINE_SPACING_DOTS))
        elif code == "J":
            self.command("ESC J")
            self.at_line_start("ESC J")
            self.out.elements.append(Feed(self.take(1)[0]))
        elif code == "2":
            self.command("ESC 2")
        elif (ESC, code) in _ONE_ARGUMENT:
            self.command(f"ESC {code}")
            self.take(1)
        else:
            raise EscposDecodeError(f"unknown command ESC {code!r} at {self.at - 2}")

    def group_separator(self) -> None:
        code = chr(self.take(1)[0])
        if code == "!":
            size = self.take(1)[0]
            self.command("GS !")
            self.style_changes()
            self.width, self.height = (size >> 4) + 1, (size & 0x0F) + 1
        elif code in "LW":
            value = int.from_bytes(self.take(2), "little")
            self.command(f"GS {code}")
            if code == "W":
                self.out.print_area_dots = value
        elif code == "h":
            self.command("GS h")
            self.barcode["height"] = self.take(1)[0]
        elif code == "w":
            self.command("GS w")
            self.barcode["module"] = self.take(1)[0]
        elif code == "H":
            self.command("GS H")
            self.barcode["readable"] = self.take(1)[0] not in (0, 48)
        elif (GS, code) in _ONE_ARGUMENT:
            self.command(f"GS {code}")
            self.take(1)
        elif code == "r":
            self.command("GS r")
            self.out.requests.append(("transmit status", self.take(1)[0]))
        elif code == "k":
            self.print_barcode()
        elif code == "(":
            self.extended()
        elif code == "v":
            self.raster_image()
        elif code == "V":
            mode = self.take(1)[0]
            self.command("GS V")
            self.at_line_start("GS V")
            if mode in (65, 66, 97, 98, 103, 104):
                self.take(1)
            elif mode not in (0, 1, 48, 49):
                raise EscposDecodeError(f"unknown cut mode {mode}")
            self.out.cuts.append("partial" if mode in (1, 49, 66, 98, 104) else "full")
        else:
            raise EscposDecodeError(f"unknown command GS {code!r} at {self.at - 2}")

    def print_barcode(self) -> None:
        self.command("GS k")
        self.at_line_start("a barcode")
        kind = self.take(1)[0]
        if kind not in _BARCODE_B:
            raise EscposDecodeError(f"barcode type {kind} is not a function-B type this decoder knows")
        payload = self.take(self.take(1)[0])
        symbology = _BARCODE_B[kind]
        data = decode_code128(payload) if symbology == "CODE128" else payload.decode("ascii")
        self.out.elements.append(Barcode(symbology, data, payload, self.barcode["module"], self.barcode["height"],
                                         self.barcode["readable"]))

    def raster_image(self) -> None:
        if self.take(1) != b"0":
            raise EscposDecodeError(f"unknown command GS v at {self.at - 3}")
        mode = self.take(1)[0]
        if mode not in (0, 48):
            raise EscposDecodeError(f"raster image scaled (mode {mode}); labels print images at normal size")
        width_bytes = int.from_bytes(self.take(2), "little")
        height = int.from_bytes(self.take(2), "little")
        self.command("GS v 0")
        self.at_line_start("a raster image")
        self.out.elements.append(RasterImage(width_bytes * 8, height, self.take(width_bytes * height)))

    def extended(self) -> None:
        kind = self.take(1)
        if kind == b"H":
            self.process_id()
        elif kind == b"k":
            self.two_dimensional_code()
        else:
            raise EscposDecodeError(f"unknown command GS ( {kind!r} at {self.at - 3}")

    def process_id(self) -> None:
        length = int.from_bytes(self.take(2), "little")
        body = self.take(length)
        if length != 6 or body[:2] != b"00" or not body[2:].isdigit():
            raise EscposDecodeError(f"GS ( H is not a process ID request: {body!r}")
        self.command("GS ( H")
        self.out.requests.append(("process id", body[2:].decode()))

    def two_dimensional_code(self) -> None:
        length = int.from_bytes(self.take(2), "little")
        body = self.take(length)
        self.command("GS ( k")
        if body[:1] != b"1":
            raise EscposDecodeError(f"2D code type {body[:1]!r} is not QR")
        function, arguments = chr(body[1]), body[2:]
        if function == "A":
            if arguments[:1] != b"2":
                raise EscposDecodeError("QR model other than 2")
        elif function == "C":
            self.qr["module"] = arguments[0]
        elif function == "E":
            self.qr["ec"] = _EC[arguments[0]]
        elif function == "P":
            self.qr["data"] = arguments[1:].decode("utf-8")
        elif function == "Q":
            self.at_line_start("a QR code")
            if self.qr["data"] is None:
                raise EscposDecodeError("QR printed before its data was stored")
            self.out.elements.append(QrCode(self.qr["data"], self.qr["module"], self.qr["ec"]))
        else:
            raise EscposDecodeError(f"unknown QR function {function!r}")

    def file_separator(self) -> None:
        code = chr(self.take(1)[0])
        if code == "&":
            self.command("FS &")
            self.chinese = True
        elif code == ".":
            self.command("FS .")
            self.chinese = False
        elif code == "(":
            if self.take(1) != b"L":
                raise EscposDecodeError(f"unknown command FS ( at {self.at - 3}")
            self.label_control(self.take(int.from_bytes(self.take(2), "little")))
        else:
            raise EscposDecodeError(f"unknown command FS {code!r} at {self.at - 2}")

    def label_control(self, body: bytes) -> None:
        function = body[0]
        if function == 33:
            fields = body[2:].decode("ascii").split(";")
            if fields[-1] != "":
                raise EscposDecodeError(f"FS ( L <Function 33> parameters must each end with ';': {body!r}")
            self.command("FS ( L 33")
            self.out.elements.append(LabelLayout(chr(body[1]), fields[:-1]))
        elif function in _LABEL_FEEDS and len(body) == 2:
            self.command(f"FS ( L {function}")
            self.at_line_start("a label feed")
            self.out.elements.append(LabelFeed(_LABEL_FEEDS[function], body[1]))
        else:
            raise EscposDecodeError(f"FS ( L function {function} is not one this decoder knows")


class CommandStream:
    """Whole commands out of a byte stream as it arrives, a character counting as one; modes carry over."""

    def __init__(self):
        self._decoder = _Decoder(b"")

    def feed(self, data: bytes) -> list[bytes]:
        decoder = self._decoder
        decoder.data, decoder.at = decoder.data + data, 0
        found, start = decoder.commands()
        decoder.data, decoder.at = decoder.data[start:], 0
        return found


def decode(data: bytes) -> Printout:
    """Read one print job; EscposDecodeError on anything a printer would not print cleanly."""
    return _Decoder(data).run()
