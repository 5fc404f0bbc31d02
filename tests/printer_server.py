"""A stand-in for a thermal printer's raw TCP port (9100): captures each job's bytes."""

import socket
import threading
import time

import pytest

WAIT_SECONDS = 5


class TcpPrinter:
    """Listens like a printer on port 9100: one job per connection, read to the end, one at a time."""

    def __init__(self):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = "tcp://127.0.0.1:%d?timeout=2" % self._socket.getsockname()[1]
        self.jobs: list[bytes] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def switch_on(self) -> "TcpPrinter":
        # Until listen() the bound port answers every connection with a reset: a printer that is off.
        self._socket.listen()
        self._socket.settimeout(0.05)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self._receive(connection)

    def _receive(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(WAIT_SECONDS)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
            self.jobs.append(b"".join(chunks))

    def wait_for_jobs(self, count: int) -> list[bytes]:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.jobs) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.jobs

    def switch_off(self) -> list[bytes]:
        """Stop, take any connection still queued, and return every job received."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(WAIT_SECONDS)
            self._socket.setblocking(False)
            while True:
                try:
                    connection, _ = self._socket.accept()
                except BlockingIOError:
                    break
                connection.setblocking(True)
                self._receive(connection)
        self._socket.close()
        return self.jobs


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
