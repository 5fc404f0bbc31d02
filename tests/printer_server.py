"""A stand-in for a thermal printer's raw TCP port (9100) that answers the way the ESC/POS reference describes.

One connection at a time (others wait in the listen queue), commands taken as they arrive:

- real-time commands are answered on receipt, ahead of any print data still queued: DLE EOT 1 (printer), 2 (offline
  cause), 3 (error cause), 4 (roll paper sensor), one status byte each (bits 1 and 4 always set; offline 08H in n=1;
  cover open 04H and stopped by paper end 20H in n=2; paper end 60H and near end 0CH in n=4); DLE DC4 <Function 8>
  clears the data not yet printed and answers 37H 25H 00H;
- print data is printed in order while the printer is ready (paper loaded, cover shut) and held while it is not;
  GS ( H <Function 48> is answered 37H 22H d1..d4 00H, and GS r 1 with the paper sensor byte (paper end 60H, near
  end 0CH), once everything before it is printed;
- a cut ends a document: `printed` holds each one's bytes; print data lost (cleared, or cut off when the printer
  drops the connection) is kept in `torn`;
- data still held when the client hangs up prints once the printer is ready again, as on a real printer;
- `drop_when_answer_due`: the next connection prints and cuts everything before its GS ( H / GS r request, then is
  reset before answering it: the label is out, and the client never hears so.
"""

import socket
import struct
import threading
import time

import pytest

from tests.escpos_decode import CommandStream

WAIT_SECONDS = 5
ALWAYS = 0x12


class TcpPrinter:
    """Listens like a printer on port 9100; paper, cover and connection drops are set by the test."""

    def __init__(self):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = "tcp://127.0.0.1:%d?timeout=2" % self._socket.getsockname()[1]
        self.printed: list[bytes] = []
        self.torn: list[bytes] = []
        self.status_requests = 0
        self.paper = True
        self.paper_low = False
        self.cover_open = False
        self._paper_left: int | None = None
        self._drops: list[int] = []
        self._drop_before_answer = False
        self._left_over: _Connection | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def switch_on(self) -> "TcpPrinter":
        # Until listen() the bound port answers every connection with a reset: a printer that is off.
        self._socket.listen()
        self._socket.settimeout(0.05)
        self._thread.start()
        return self

    def run_out_of_paper(self, after_bytes: int = 0) -> None:
        """The roll ends now, or once `after_bytes` more bytes of print data have printed."""
        if after_bytes:
            self._paper_left = after_bytes
        else:
            self.paper = False

    def load_paper(self) -> None:
        self._paper_left = None
        self.paper = True

    def drop_connection_after(self, count: int) -> None:
        """The next connection is cut (reset) after `count` bytes of print data, as a printer rebooting does."""
        self._drops.append(count)

    def drop_when_answer_due(self) -> None:
        """The next connection prints all it was sent, then is reset before answering the confirmation request."""
        self._drop_before_answer = True

    @property
    def ready(self) -> bool:
        return self.paper and not self.cover_open

    def _serve(self) -> None:
        while not self._stopping.is_set():
            if self._left_over:
                self._left_over.print_held()
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self._receive(connection)

    def _receive(self, connection: socket.socket) -> None:
        job = _Connection(self, connection, self._drops.pop(0) if self._drops else None, self._drop_before_answer)
        self._drop_before_answer = False
        if self._left_over:
            job.held, job.document, self._left_over = self._left_over.held, self._left_over.document, None
        with connection:
            connection.settimeout(0.02)
            deadline = time.monotonic() + WAIT_SECONDS
            while not self._stopping.is_set() and time.monotonic() < deadline:
                try:
                    chunk = connection.recv(65536)
                except TimeoutError:
                    chunk = None
                except ConnectionError:
                    break
                if chunk == b"":
                    break
                if chunk and not job.take(chunk):
                    # The printer restarts: the connection is reset and what it had not printed is gone.
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    job.lose_unprinted()
                    return
                job.print_held()
        # The client hung up: data the printer holds (paper out, cover open) still prints once it is ready again.
        job.print_held()
        if job.held:
            self._left_over = job
        else:
            job.lose_unprinted()

    def _status(self, n: int) -> int:
        self.status_requests += 1
        if n == 1:
            return ALWAYS | (0 if self.ready else 0x08)
        if n == 2:
            return ALWAYS | (0x04 if self.cover_open else 0) | (0 if self.paper else 0x20)
        if n == 4:
            return ALWAYS | (0 if self.paper else 0x60) | (0x0C if self.paper_low else 0)
        return ALWAYS

    def _paper_used(self, count: int) -> None:
        if self._paper_left is not None:
            self._paper_left -= count
            if self._paper_left <= 0:
                self._paper_left, self.paper = None, False

    def wait_for_printed(self, count: int) -> list[bytes]:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.printed) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.printed

    def switch_off(self) -> list[bytes]:
        """Stop, take any connection still queued, and return every document printed."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(WAIT_SECONDS)
            self._socket.setblocking(False)
            while True:
                try:
                    connection, _ = self._socket.accept()
                except BlockingIOError:
                    break
                connection.close()
        self._socket.close()
        return self.printed


class _Connection:
    """One connection's stream: real-time commands answered at once, print data queued and printed in order."""

    def __init__(self, printer: TcpPrinter, connection: socket.socket, drop_after: int | None,
                 drop_before_answer: bool = False):
        self.printer, self.connection, self.drop_after = printer, connection, drop_after
        self.drop_before_answer = drop_before_answer
        self.stream = CommandStream()
        self.held: list[bytes] = []
        self.document = bytearray()
        self.received = 0

    def take(self, chunk: bytes) -> bool:
        """Read a chunk; False when the printer drops the connection in the middle of it."""
        for command in self.stream.feed(chunk):
            if command[:2] == b"\x10\x04":
                self.connection.sendall(bytes([self.printer._status(command[2])]))
            elif command[:3] == b"\x10\x14\x08":
                self.lose_unprinted()
                self.connection.sendall(b"\x37\x25\x00")
            else:
                self.received += len(command)
                if self.drop_before_answer and command[:3] in (b"\x1d(H", b"\x1dr\x01"):
                    self.print_held()
                    return False
                if self.drop_after is not None and self.received > self.drop_after:
                    self.print_held()
                    return False
                self.held.append(command)
        return True

    def print_held(self) -> None:
        while self.held and self.printer.ready:
            command = self.held.pop(0)
            if command[:3] == b"\x1d(H":
                self._answer(b"\x37\x22" + command[-4:] + b"\x00")
                continue
            if command[:2] == b"\x1dr":
                self._answer(bytes([(0 if self.printer.paper else 0x60) | (0x0C if self.printer.paper_low else 0)]))
                continue
            self.document += command
            self.printer._paper_used(len(command))
            if command[:2] == b"\x1dV":
                self.printer.printed.append(bytes(self.document))
                self.document.clear()

    def _answer(self, data: bytes) -> None:
        try:
            self.connection.sendall(data)
        except OSError:
            pass  # asked on a connection since closed

    def lose_unprinted(self) -> None:
        self.held.clear()
        if self.document:
            self.printer.torn.append(bytes(self.document))
            self.document.clear()


@pytest.fixture
def tcp_printer():
    printer = TcpPrinter().switch_on()
    yield printer
    printer.switch_off()


@pytest.fixture
def switched_off_printer():
    printer = TcpPrinter()
    yield printer
    printer.switch_off()
