"""`mailbot token ...`: REST API tokens from the command line.

`create` prints the token and nothing else on stdout, so a script can capture it; it is
never shown again (only its hash is stored)."""

from __future__ import annotations

import json
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
def token() -> None:
    """Bearer tokens for the REST API (/api/v1)."""


@token.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scope",
    required=True,
    help="Comma-separated: tickets:read (list and read tickets), tickets:write (reply, note, change).",
)
def create(name: str, scope: str) -> None:
    """Create a token; prints it once on stdout."""
    from mailbot.api.tokens import TokenError, create_token, parse_scopes

    try:
        with _sessions().begin() as session:
            row, secret = create_token(session, name, parse_scopes(scope), created_by="command line")
            click.echo(f"token {row.name} created with {row.scopes.replace(' ', ', ')}", err=True)
    except TokenError as error:
        raise click.ClickException(str(error)) from error
    click.echo(secret)


@token.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    from mailbot.api.tokens import TokenError, revoke_token

    try:
        with _sessions().begin() as session:
            revoke_token(session, name)
    except TokenError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"token {name} revoked", err=True)


@token.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_tokens(as_json: bool) -> None:
    """List tokens: name, scopes, first characters, last use (never the token)."""
    from sqlalchemy import select

    from mailbot.store.panel_models import ApiToken
    from mailbot.timeutil import iso

    with _sessions()() as session:
        rows = [
            {
                "name": t.name,
                "scopes": t.scopes.split(),
                "prefix": t.prefix,
                "created_at": iso(t.created_at),
                "created_by": t.created_by,
                "last_used_at": iso(t.last_used_at),
            }
            for t in session.scalars(select(ApiToken).order_by(ApiToken.name))
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        scopes = ",".join(row["scopes"] or [])
        click.echo(
            f"{row['name']:<24} {scopes:<28} {row['prefix']}…  last used {row['last_used_at'] or 'never'}"
        )
