"""`print-test`: print a sample of every layout on one printer."""

from __future__ import annotations

import click

from adapters.printing.printers import SUPPORTED
from adapters.printing.sample import print_samples
from domain.printing import PrinterConfigurationError, PrinterUnavailable

from .commands import say


@click.command("print-test")
@click.option("--printer", "printer_url", required=True, metavar="URL", help=f"The printer: {SUPPORTED}.")
def print_test(printer_url: str) -> None:
    """Print a sample waybill label (both sizes), pick list, packing slip and bin label."""
    try:
        printed = print_samples(printer_url)
    except PrinterConfigurationError as error:
        raise click.BadParameter(str(error), param_hint="--printer") from None
    except PrinterUnavailable as error:
        raise click.ClickException(str(error)) from None
    for name in printed:
        click.echo(say("cli:printed", name=name))
