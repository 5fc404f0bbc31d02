"""python-escpos, imported on first use: its capabilities cache in one fixed folder, its chatter kept quiet."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import tempfile
from pathlib import Path
from types import ModuleType

from domain.printing import PrinterConfigurationError

PICKLE_DIR_VARIABLE = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (Path(base) / "cangku" / "escpos", Path(tempfile.gettempdir()) / f"cangku-escpos-{os.getuid()}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return Path(tempfile.mkdtemp(prefix="cangku-escpos-"))


@functools.cache
def escpos_printer() -> ModuleType:
    """The `escpos.printer` module, imported once with a shared capabilities cache."""
    # Without the variable every import makes (and leaves behind) a new temporary folder.
    if not os.environ.get(PICKLE_DIR_VARIABLE):
        os.environ[PICKLE_DIR_VARIABLE] = str(_cache_dir())
    cache = Path(os.environ[PICKLE_DIR_VARIABLE])
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PrinterConfigurationError(f"{PICKLE_DIR_VARIABLE}={cache} cannot be created: {error.strerror}") from None
    with _cache_lock(cache), root_logging_untouched():
        import escpos.printer
    return escpos.printer


@functools.cache
def escpos_constants() -> ModuleType:
    """The `escpos.constants` module (status requests and masks among them)."""
    escpos_printer()
    import escpos.constants

    return escpos.constants


@contextlib.contextmanager
def root_logging_untouched():
    """Undo the root handler python-escpos installs (basicConfig at import, logging.info() in open/close).

    Left in place it would turn the application's own logging.basicConfig() into a no-op.
    """
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)


@contextlib.contextmanager
def _cache_lock(folder: Path):
    """Serialise the first import across processes: one writes the pickle while another would read it half-written."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(folder / "capabilities.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def quiet():
    """Swallow the status lines python-escpos prints to stdout (e.g. "Using hardware barcode renderer")."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield
