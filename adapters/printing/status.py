"""What an ESC/POS printer says about a job: real-time status before and after it, and its process ID once printed.

A job counts as printed only when the printer has processed every byte of it and then reports no error:

1. DLE EOT 1 / 2 / 4 (real-time status: printer, offline cause, roll paper sensor) before any byte of the job; paper
   out, cover open or an error refuses the job with nothing sent.
2. The job, followed by GS ( H <Function 48> (transmit process ID response) carrying a number derived from the job's
   id. The printer answers `37H 22H d1 d2 d3 d4 00H` only after everything before the request has been printed, so
   the answer for this number is the printer saying it has printed this job.
3. While waiting, a silence is met with DLE EOT 2 / 4: a printer that stopped (paper ran out, cover opened mid-label)
   gets DLE DC4 <Function 8> (clear buffers), so the half-received job is not finished later when someone reloads
   paper, and the job fails to be sent again whole.
4. DLE EOT 2 / 4 again after the answer: an error raised while the label was printing fails the job.

Real-time commands are answered at once, ahead of queued print data; that is why they cannot confirm a print on their
own and the process ID request (processed in order) does. A printer without GS ( H (older models and many clones) can
confirm with GS r 1 instead (`?confirm=paper-status`): transmit the paper sensor status, also answered only once the
data before it is processed, but carrying no job number. Automatic Status Back (GS a) is not enabled: its unsolicited
4-byte messages are recognised and skipped if a printer has it on.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

from domain.printing import PrinterFault, PrinterUnavailable

from ._escpos import escpos_constants

OFFLINE_CAUSE = 2  # DLE EOT 2; 1 (printer) and 4 (paper sensor) come from python-escpos
COVER_OPEN, PAPER_END_STOP, ERROR = 0x04, 0x20, 0x40  # DLE EOT 2 bits
CLEAR_BUFFERS = b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"  # DLE DC4 fn 8, answered 37H 25H 00H
POLL_SECONDS = 0.5
CONFIRMATIONS = ("process-id", "paper-status")
TRANSMIT_PAPER_STATUS = b"\x1dr\x01"  # GS r 1, answered 0xx0xx00: bits 5-6 paper end, 2-3 near end


def confirmation_request(confirm: str, job: str) -> tuple[bytes, bytes]:
    """What to send after a job so the printer answers once it is printed, and the answer that means this job."""
    if confirm == "paper-status":
        return TRANSMIT_PAPER_STATUS, b""
    number = process_id(job)
    return process_id_request(number), b"\x37\x22" + number.encode("ascii") + b"\x00"


def process_id(job: str) -> str:
    """The four digits the printer is asked to answer with once `job` is printed."""
    return f"{zlib.crc32(job.encode()) % 10000:04d}"


def process_id_request(number: str) -> bytes:
    """GS ( H <Function 48>: answer `number` after printing everything before this."""
    return b"\x1d(H\x06\x00\x30\x30" + number.encode("ascii")


@dataclass(frozen=True)
class Status:
    """The printer's real-time status bytes (DLE EOT 1, 2, 4)."""

    printer: int
    offline_cause: int
    paper: int

    def fault(self) -> str:
        """What stops the printer, or "" when it can print."""
        constants = escpos_constants()
        if self.paper & constants.RT_MASK_NOPAPER == constants.RT_MASK_NOPAPER or self.offline_cause & PAPER_END_STOP:
            return "paper_out"
        if self.offline_cause & COVER_OPEN:
            return "cover_open"
        if self.offline_cause & ERROR:
            return "error"
        if self.printer & constants.RT_MASK_ONLINE:
            return "offline"
        return ""


FAULT_TEXT = {"paper_out": "out of paper", "cover_open": "cover open", "error": "in error", "offline": "offline"}


class StatusLink:
    """Reads a printer's answers on an open python-escpos device (anything with `_raw` and `_read`)."""

    def __init__(self, device, name: str, timeouts: tuple[type[Exception], ...] = (TimeoutError,)):
        self.device, self.name, self.timeouts = device, name, timeouts
        self.received = bytearray()
        self.statuses: list[int] = []
        self.answers: list[bytes] = []
        self.paper_answers: list[int] = []

    def status(self) -> Status:
        constants = escpos_constants()
        self.device._raw(constants.RT_STATUS_ONLINE + constants.RT_STATUS + bytes([OFFLINE_CAUSE])
                         + constants.RT_STATUS_PAPER)
        printer, cause, paper = (self._status_byte() for _ in range(3))
        return Status(printer, cause, paper)

    def require_ready(self, job: str, *, sent: bool) -> None:
        """PrinterFault when the printer reports paper out, cover open, an error or offline."""
        fault = self.status().fault()
        if fault:
            if sent:
                self._clear()
            when = "while printing" if sent else "before printing"
            raise PrinterFault(fault, f"printer {self.name} is {FAULT_TEXT[fault]} ({when} job {job})")

    def await_printed(self, job: str, expected: bytes, timeout: float) -> None:
        """Wait for the answer to the confirmation request (`expected`, or a GS r status byte when empty); ask for
        the real-time status at each silence; PrinterUnavailable on a timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if self._take_answer(expected, job):
                return
            if time.monotonic() >= deadline:
                raise PrinterUnavailable(f"printer {self.name} did not confirm job {job} within {timeout:g} s")
            if not self._read(min(POLL_SECONDS, max(0.01, deadline - time.monotonic()))):
                self.require_ready(job, sent=True)

    def _clear(self) -> None:
        try:
            self.device._raw(CLEAR_BUFFERS)
        except OSError:
            pass

    def _status_byte(self) -> int:
        while not self.statuses:
            if not self._read(self._timeout()):
                raise PrinterUnavailable(f"printer {self.name} did not answer a status request")
        return self.statuses.pop(0)

    def _take_answer(self, expected: bytes, job: str) -> bool:
        if expected:
            if expected in self.answers:
                self.answers.remove(expected)
                return True
            return False
        if not self.paper_answers:
            return False
        if self.paper_answers.pop(0) & 0x60:
            self._clear()
            raise PrinterFault("paper_out", f"printer {self.name} is out of paper (while printing job {job})")
        return True

    def _sort(self) -> None:
        """Split what arrived into status bytes, answers (37H ...) and Automatic Status Back messages (skipped)."""
        data = self.received
        while data:
            first = data[0]
            if first == 0x37:
                size = {0x22: 7, 0x25: 3}.get(data[1], 3) if len(data) > 1 else 7
                if len(data) < size:
                    return
                self.answers.append(bytes(data[:size]))
                del data[:size]
            elif first & 0x93 == 0x10:  # Automatic Status Back: four bytes, the first 0xx1xx00
                if len(data) < 4:
                    return
                del data[:4]
            elif first & 0x93 == 0x12:  # a real-time status byte: bits 1 and 4 set, bits 0 and 7 clear
                self.statuses.append(first)
                del data[:1]
            elif first & 0x93 == 0x00:  # GS r 1's answer: bits 0, 1, 4 and 7 clear
                self.paper_answers.append(first)
                del data[:1]
            else:
                del data[:1]

    def _timeout(self) -> float:
        return getattr(self.device, "timeout", None) or 10.0

    def _read(self, seconds: float) -> bool:
        """Read what the printer sent within `seconds`; False on silence, PrinterUnavailable when it hung up."""
        socket_ = getattr(self.device, "device", None)
        if socket_ is not None and hasattr(socket_, "settimeout"):
            socket_.settimeout(seconds)
        try:
            chunk = self.device._read()
        except self.timeouts:
            return False
        finally:
            if socket_ is not None and hasattr(socket_, "settimeout"):
                socket_.settimeout(self._timeout())
        if not chunk:
            raise ConnectionResetError("the printer closed the connection")
        self.received += bytes(chunk)
        self._sort()
        return True
