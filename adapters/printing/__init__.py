"""ESC/POS printing: layouts rendered with python-escpos, printers named by URL."""

from .layouts import render
from .printers import printer_from_url

__all__ = ["printer_from_url", "render"]
