"""Printers named by URL: tcp://host:9100, file:///path, usb://vid:pid, dummy:."""

from __future__ import annotations

import math
import re
import threading
from urllib.parse import parse_qs, unquote, urlsplit

from domain.printing import Printer, PrinterConfigurationError, PrinterFault, PrinterUnavailable, PrintOutcomeUnknown

from ._escpos import escpos_printer, root_logging_untouched
from .status import CONFIRMATIONS, StatusLink, confirmation_request

DEFAULT_TCP_PORT = 9100
DEFAULT_TIMEOUT_SECONDS = 10.0
SUPPORTED = "tcp://host:9100, file:///path, usb://vid:pid or dummy:"


class NetworkPrinter:
    """A printer taking raw ESC/POS on a TCP port (9100, "JetDirect")."""

    def __init__(self, host: str, port: int = DEFAULT_TCP_PORT, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 confirm: str = CONFIRMATIONS[0]):
        self.host, self.port, self.timeout, self.confirm = host, port, timeout, confirm
        # A printer serves one connection at a time: jobs of this process queue here, not in its listen queue,
        # where they would wait unanswered and time out behind a long job.
        self._one_job = threading.Lock()

    def __repr__(self):
        return f"tcp://{self.host}:{self.port}"

    def send(self, data: bytes, job: str = "") -> None:
        """Print the job and wait until the printer confirms it (see `status`); PrinterUnavailable or PrinterFault."""
        from escpos.exceptions import DeviceNotFoundError

        device = escpos_printer().Network(self.host, self.port, timeout=self.timeout)
        with self._one_job:
            _print_confirmed(device, data, job, (DeviceNotFoundError, OSError), repr(self), self.timeout, self.confirm)


class FilePrinter:
    """A printer device file (/dev/usb/lp0) or a plain file that collects jobs one after another.

    A file cannot answer status requests: a job written is taken as printed. Use tcp:// or usb:// for confirmed prints.
    """

    def __init__(self, path: str):
        self.path = path

    def __repr__(self):
        return f"file://{self.path}"

    def send(self, data: bytes, job: str = "") -> None:
        """Append the job to the file; PrinterUnavailable when it cannot be opened or written."""
        try:
            with open(self.path, "ab") as device:
                device.write(data)
        except OSError as error:
            raise PrinterUnavailable(f"printer {self!r} is unavailable: {error.strerror}") from None


class UsbPrinter:
    """A printer on USB, found by vendor and product id (needs python-escpos[usb] and libusb)."""

    def __init__(self, vendor_id: int, product_id: int):
        self.vendor_id, self.product_id = vendor_id, product_id
        if not escpos_printer().Usb.is_usable():
            raise PrinterConfigurationError("usb:// printers need pyusb: install python-escpos[usb] and libusb")

    def __repr__(self):
        return f"usb://{self.vendor_id:04x}:{self.product_id:04x}"

    def send(self, data: bytes, job: str = "") -> None:
        """Print the job and wait until the printer confirms it; PrinterUnavailable when unplugged, off or silent."""
        import usb.core
        from escpos.exceptions import DeviceNotFoundError

        device = escpos_printer().Usb(self.vendor_id, self.product_id, timeout=int(DEFAULT_TIMEOUT_SECONDS * 1000))
        _print_confirmed(device, data, job, (DeviceNotFoundError, usb.core.USBError), repr(self),
                         DEFAULT_TIMEOUT_SECONDS, CONFIRMATIONS[0], timeouts=(TimeoutError, usb.core.USBTimeoutError))


class RecordingPrinter:
    """A printer that prints nothing and keeps each job's bytes (dummy:), for demos and tests."""

    def __init__(self):
        self.jobs: list[bytes] = []

    def send(self, data: bytes, job: str = "") -> None:
        self.jobs.append(bytes(data))


def printer_from_url(url: str) -> Printer:
    """The printer a URL names; PrinterConfigurationError for an unknown scheme or a malformed URL."""
    scheme = url.partition(":")[0].lower() if ":" in url else ""
    parse = _PARSERS.get(scheme)
    if parse is None:
        raise PrinterConfigurationError(f"printer URL {url!r} has no known scheme; use {SUPPORTED}")
    return parse(url)


def _tcp(url: str) -> NetworkPrinter:
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    try:
        port = DEFAULT_TCP_PORT if parts.port is None else parts.port
        timeout = float(query.pop("timeout", [DEFAULT_TIMEOUT_SECONDS])[-1])
    except ValueError:
        raise PrinterConfigurationError(f"printer URL {url!r} has a malformed port or timeout") from None
    confirm = query.pop("confirm", [CONFIRMATIONS[0]])[-1]
    well_formed = parts.hostname and 0 < port and 0 < timeout < math.inf and not (query or parts.username)
    if not well_formed or parts.path not in ("", "/") or parts.fragment or confirm not in CONFIRMATIONS:
        raise PrinterConfigurationError(f"printer URL {url!r} must look like tcp://host:9100 (optionally ?timeout=5, "
                                        f"?confirm={' or '.join(CONFIRMATIONS)})")
    return NetworkPrinter(parts.hostname, port, timeout, confirm)


def _file(url: str) -> FilePrinter:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/") or parts.query or parts.fragment:
        raise PrinterConfigurationError(f"printer URL {url!r} must look like file:///absolute/path")
    return FilePrinter(unquote(parts.path))


_USB = re.compile(r"^usb://(?:0x)?([0-9a-f]{1,4}):(?:0x)?([0-9a-f]{1,4})/?$", re.I)


def _usb(url: str) -> UsbPrinter:
    match = _USB.match(url)
    if not match:
        raise PrinterConfigurationError(f"printer URL {url!r} must look like usb://04b8:0e15 (hex vendor:product)")
    return UsbPrinter(int(match.group(1), 16), int(match.group(2), 16))


def _dummy(url: str) -> RecordingPrinter:
    if url.lower().rstrip("/") != "dummy:":
        raise PrinterConfigurationError(f"printer URL {url!r} must be just dummy:")
    return RecordingPrinter()


_PARSERS = {"tcp": _tcp, "file": _file, "usb": _usb, "dummy": _dummy}


def _print_confirmed(device, data: bytes, job: str, failures: tuple[type[Exception], ...], name: str,
                     timeout: float, confirm: str, timeouts: tuple[type[Exception], ...] = (TimeoutError,)) -> None:
    """Open a python-escpos device, check it can print, send the job, wait for the printer's answer, check again."""
    request, answer = confirmation_request(confirm, job or data.hex()[:64])
    sent = False
    with root_logging_untouched():
        try:
            device.open()
            link = StatusLink(device, name, timeouts)
            link.require_ready(job, sent=False)
            device._raw(data + request)
            sent = True
            link.await_printed(job, answer, timeout)
            link.require_ready(job, sent=True)
        except PrinterFault:
            raise
        except (*failures, PrinterUnavailable) as error:
            reason = str(error).replace("\n", " ").strip() or type(error).__name__
            if sent:
                raise PrintOutcomeUnknown(f"printer {name}: the connection was lost, or the printer fell silent, "
                                          f"before it confirmed job {job} ({reason}); it may have printed") from None
            if isinstance(error, PrinterUnavailable):
                raise
            raise PrinterUnavailable(f"printer {name} is unavailable: {reason}") from None
        finally:
            device.close()
