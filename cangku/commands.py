"""What every command group shares: opening the system, reading instants, showing refusals."""

import os
import sys
from datetime import datetime

import click

from domain.errors import DomainError, RowsRejected

from .settings import ConfigurationError, Settings

from projections.backoffice import business_calendar


def language() -> str:
    """The CLI's language, from `CANGKU_LANGUAGE` (zh or en; English when unset)."""
    return "zh" if os.environ.get("CANGKU_LANGUAGE", "").lower().startswith("zh") else "en"


def say(key: str, **params) -> str:
    """A line of the CLI's output in its language."""
    from scanner_ui.i18n import translate

    return translate(language(), key, params)


def refusal(error) -> str:
    """A refusal (or a rejected row's reason) in the CLI's language."""
    from scanner_ui.i18n import refusal

    return refusal(language(), error)


def open_system():
    from .bootstrap import build

    try:
        return build(Settings.from_env())
    except ConfigurationError as error:
        raise click.ClickException(say("cli:configuration", error=error)) from None


def progress_bar(total: int, desc: str):
    """A progress bar over events, on stderr; `desc` is the key of its words."""
    return said_bar(total=total, desc=say(desc), unit="ev", mininterval=0.5)


def said_bar(**options):
    """A tqdm bar on stderr that says the steps an import names in English ("rows checked") in the CLI's language."""
    from tqdm import tqdm

    class SaidBar(tqdm):
        def set_description(self, desc=None, refresh=True):
            key = "cli:" + str(desc or "").replace(" ", "_")
            said = say(key) if desc else desc
            super().set_description(desc if said == key else said, refresh)

    return SaidBar(file=sys.stderr, **options)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; without an offset it is read as business time (CANGKU_BUSINESS_TIMEZONE)."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(say("cli:not_an_instant", text=repr(text))) from None
    try:
        return business_calendar.local(instant)
    except OverflowError:
        raise click.BadParameter(say("cli:out_of_range", text=repr(text))) from None


class DomainErrors(click.Group):
    """Show a refused command as its message (and each bad row), with exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RowsRejected as error:
            click.echo(say("cli:nothing_imported"), err=True)
            for number, reason in error.reasons.items():
                click.echo(say("cli:bad_line", line=number, reason=refusal(reason)), err=True)
            sys.exit(1)
        except DomainError as error:
            click.echo(say("cli:refused", reason=refusal(error)), err=True)
            sys.exit(1)
