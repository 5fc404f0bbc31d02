"""ESC/POS printing: layouts rendered with python-escpos, printers named by URL."""

from .layouts import lay_out, render
from .printers import printer_from_url

__all__ = ["lay_out", "printer_from_url", "render"]
