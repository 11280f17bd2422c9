"""`mailbot channel ...`: chat and social channels and web forms from the command line."""

from __future__ import annotations

import json

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.channels import (
    CHANNEL_TYPES,
    ChannelConfigError,
    ChannelSpec,
    add_channel,
    channel_options,
    webhook_path,
)


def _sessions() -> sessionmaker[Session]:
    """Sessions on the configured database; not current_runtime(), which would start Redis."""
    from mailbot.config import load_settings
    from mailbot.store.db import session_factory

    return session_factory(load_settings().database_url)


def _parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--option")
        options[key.strip()] = value.strip()
    return options


@click.group()
def channel() -> None:
    """Chat and social channels (webhooks in, answers out) and web forms."""


@channel.command("add")
@click.argument("channel_type", metavar="TYPE", type=click.Choice(CHANNEL_TYPES))
@click.argument("name")
@click.option("--secret", default="", help="Verifies inbound requests (signing secret, app secret...).")
@click.option("--token", default="", help="What we answer with (a bot or page token; Twilio SID:TOKEN).")
@click.option("--api-base", default=None, help="The platform API base URL (default: the public one).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Channel option; repeatable.")
def channel_add(
    channel_type: str, name: str, secret: str, token: str, api_base: str | None, options: tuple[str, ...]
) -> None:
    """Add a channel; prints its webhook path (for a form: its page path)."""
    from mailbot.config import load_settings

    spec = ChannelSpec(
        type=channel_type,
        name=name,
        secret=secret,
        token=token,
        api_base=api_base,
        options=_parse_options(options),
    )
    try:
        with _sessions().begin() as session:
            add_channel(session, spec, load_settings().secret_key)
    except ChannelConfigError as error:
        raise click.ClickException(str(error)) from error
    click.echo(webhook_path(channel_type, name))


@channel.command("list")
@click.option("--json", "as_json", is_flag=True)
def channel_list(as_json: bool) -> None:
    """List channels with their webhook paths; secrets are masked, never shown."""
    from mailbot.config import load_settings
    from mailbot.store.models import Channel
    from mailbot.store.secrets import SecretUnreadable, decrypt_secret, mask_secret
    from mailbot.timeutil import iso

    key = load_settings().secret_key

    def masked(stored: str) -> str:
        try:
            return mask_secret(decrypt_secret(key, stored))
        except SecretUnreadable:
            return "(unreadable with this MAILBOT_SECRET_KEY)"

    with _sessions()() as session:
        rows = [
            {
                "type": c.type,
                "name": c.name,
                "path": webhook_path(c.type, c.name),
                "secret": masked(c.secret),
                "token": masked(c.token),
                "api_base": c.api_base,
                "options": channel_options(c),
                "enabled": c.enabled,
                "created_at": iso(c.created_at),
                "last_error": c.last_error,
            }
            for c in session.scalars(select(Channel).order_by(Channel.type, Channel.name))
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['type']:<10} {row['name']:<20} {row['path']:<40} {row['last_error'] or ''}")


@channel.command("remove")
@click.argument("channel_type", metavar="TYPE", type=click.Choice(CHANNEL_TYPES))
@click.argument("name")
def channel_remove(channel_type: str, name: str) -> None:
    """Remove a channel (its tickets stay)."""
    from mailbot.store.models import Channel

    with _sessions().begin() as session:
        found = session.scalar(select(Channel).where(Channel.type == channel_type, Channel.name == name))
        if found is None:
            raise click.ClickException(f"no {channel_type} channel named {name!r}")
        session.delete(found)
