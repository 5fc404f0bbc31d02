"""`cangku staff ...`: register scanner users, change their role or PIN, issue and revoke their API tokens."""

import click

from domain.errors import DomainError
from domain.staff import ROLES

from .commands import refusal, say


def _run(command) -> None:
    from .commands import open_system

    system = open_system()
    try:
        command(system.app)
    except DomainError as error:
        raise click.ClickException(refusal(error)) from None
    finally:
        system.close()


@click.group()
def staff():
    """Scanner users: badge, name, role and PIN."""


@staff.command()
@click.argument("badge")
@click.option("--name", required=True, help="The person's name as shown on the scanner.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True,
              help="4-8 digits (asked when not given).")
@click.option("--by", default="admin", help="Who registers this person.")
def add(badge, name, role, pin, by):
    """Register a member of staff under a badge barcode."""
    _run(lambda app: app.staff.register_staff(badge, name, role, pin, by))
    click.echo(say("cli:staff_registered", badge=badge, name=name, role=role))


@staff.command(name="set")
@click.argument("badge")
@click.option("--role", type=click.Choice(ROLES), default=None)
@click.option("--new-pin", is_flag=True, help="Ask for a new PIN.")
@click.option("--deactivate", is_flag=True, help="The badge no longer signs in.")
@click.option("--warehouses", default=None,
              help="Comma-separated warehouse codes the person may work in; an empty value allows every warehouse.")
@click.option("--by", default="admin")
def set_(badge, role, new_pin, deactivate, warehouses, by):
    """Change a member of staff's role, PIN or warehouses, or deactivate the badge."""
    pin = click.prompt(say("cli:new_pin"), hide_input=True, confirmation_prompt=True) if new_pin else None
    allowed = None if warehouses is None else [w for w in warehouses.split(",") if w.strip()]

    def change(app):
        for code in allowed or ():
            app.inventory.warehouse(code.strip(), to_change=False)  # an unknown code is refused by name
        app.staff.change_staff(badge, by, role=role, pin=pin, active=False if deactivate else None,
                               warehouses=allowed)

    _run(change)
    click.echo(say("cli:staff_updated", badge=badge))


@staff.command()
@click.argument("badge")
@click.option("--label", default="", help="What the token is for, e.g. the system that uses it.")
@click.option("--by", default="admin")
def token(badge, label, by):
    """Issue a JSON API token that acts with this person's role; it is shown once, only its hash is kept."""
    issued = []
    _run(lambda app: issued.append(app.staff.issue_token(badge, label, by)))
    click.echo(issued[0])


@staff.command()
@click.argument("badge")
def tokens(badge):
    """List a person's API tokens by id (the tokens themselves are not kept)."""
    listed = []
    _run(lambda app: listed.extend(app.staff.staff_tokens(badge)))
    for issued in listed:
        click.echo(say("cli:token", id=issued["id"], label=issued["label"]))


@staff.command(name="revoke-token")
@click.argument("badge")
@click.argument("token_id")
@click.option("--by", default="admin")
def revoke_token(badge, token_id, by):
    """Revoke an API token by its id (the part after the badge: BADGE.ID.SECRET)."""
    _run(lambda app: app.staff.revoke_token(badge, token_id, by))
    click.echo(say("cli:token_revoked", token=token_id, badge=badge))


@staff.command()
@click.argument("subject")
@click.option("--by", default="admin")
def unlock(subject, by):
    """Lift a sign-in lockout of a badge (S1) or a device (device:desk-1) after too many wrong PINs."""
    from datetime import datetime, timezone

    from domain.staff import login_key

    _run(lambda app: app.staff.unlock_login(login_key(subject), datetime.now(timezone.utc), by))
    click.echo(say("cli:unlocked", subject=subject))
