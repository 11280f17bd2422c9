"""`mailbot admin ...`: panel users from the command line (the first admin starts here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def _sessions() -> sessionmaker[Session]:
    """Sessions on the configured database; not current_runtime(), which would start Redis."""
    from mailbot.config import load_settings
    from mailbot.store.db import session_factory

    return session_factory(load_settings().database_url)


@click.group()
def admin() -> None:
    """Users of the admin panel."""


@admin.command("create")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 10 characters; prompted for when not given.",
)
@click.option(
    "--role",
    type=click.Choice(["admin", "agent"]),
    default="admin",
    show_default=True,
    help="Agents see everything but cannot change the configuration.",
)
def create(email: str, password: str, role: str) -> None:
    """Create a panel user."""
    from mailbot.web.passwords import UserError, create_user

    try:
        with _sessions().begin() as session:
            user = create_user(session, email, password, role)
            click.echo(f"{user.role} {user.email} created", err=True)
    except UserError as error:
        raise click.ClickException(str(error)) from error


@admin.command("password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(email: str, password: str) -> None:
    """Set a panel user's password (and re-enable the account)."""
    from sqlalchemy import select

    from mailbot.store.panel_models import User
    from mailbot.web.passwords import MIN_PASSWORD_LENGTH, hash_password

    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    with _sessions().begin() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"no user {email}")
        user.password_hash = hash_password(password)
        user.active = True
    click.echo(f"password of {email} changed", err=True)
