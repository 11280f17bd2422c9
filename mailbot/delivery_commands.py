"""`mailbot delivery ...`: where each queue's new customer messages go to agents.

mailbot delivery add QUEUE --email ADDRESS
mailbot delivery add QUEUE --slack CHANNEL_NAME --channel-id C123
mailbot delivery add QUEUE --webhook URL --secret S
mailbot delivery list [--json]
mailbot delivery remove ID
"""

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
def delivery() -> None:
    """Delivery of new customer messages to agents: e-mail, Slack, signed webhooks."""


@delivery.command("add")
@click.argument("queue")
@click.option("--email", "email", default=None, help="An agent's or team's e-mail address.")
@click.option(
    "--slack", "slack", default=None, metavar="CHANNEL_NAME", help="The Slack channel to post through."
)
@click.option("--channel-id", default=None, help="With --slack: the Slack channel id to post in (C123).")
@click.option("--webhook", "webhook", default=None, metavar="URL", help="A URL to POST signed JSON to.")
@click.option("--secret", default="", help="With --webhook: the HMAC-SHA256 key that signs each POST.")
def delivery_add(
    queue: str,
    email: str | None,
    slack: str | None,
    channel_id: str | None,
    webhook: str | None,
    secret: str,
) -> None:
    """Add a delivery target to QUEUE (the default queue is `support`); prints its id."""
    from mailbot.config import load_settings
    from mailbot.delivery_targets import DeliveryConfigError, TargetSpec, add_target, describe

    chosen = [
        name for name, value in (("--email", email), ("--slack", slack), ("--webhook", webhook)) if value
    ]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --email, --slack or --webhook")
    if slack and not channel_id:
        raise click.UsageError("--slack needs --channel-id (the Slack channel id, C123...)")
    if channel_id and not slack:
        raise click.UsageError("--channel-id goes with --slack")
    if secret and not webhook:
        raise click.UsageError("--secret goes with --webhook")
    if email:
        spec = TargetSpec(queue=queue, kind="email", address=email)
    elif slack:
        spec = TargetSpec(queue=queue, kind="slack", address=channel_id or "", slack_channel=slack)
    else:
        spec = TargetSpec(queue=queue, kind="webhook", address=webhook or "", secret=secret)
    try:
        with _sessions().begin() as session:
            target = add_target(session, spec, load_settings().secret_key)
            target_id, text = target.id, describe(target)
    except DeliveryConfigError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"queue {queue} delivers to {text}", err=True)
    click.echo(target_id)


@delivery.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def delivery_list(as_json: bool) -> None:
    """Every delivery target, by queue (secrets are never shown)."""
    from mailbot.delivery_targets import all_targets

    with _sessions()() as session:
        rows = [
            {"id": t.id, "queue": t.queue, "kind": t.kind, "address": t.address, "enabled": t.enabled}
            for t in all_targets(session)
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']}\t{row['queue']}\t{row['kind']}\t{row['address']}")


@delivery.command("remove")
@click.argument("target_id", metavar="ID", type=int)
def delivery_remove(target_id: int) -> None:
    """Remove a delivery target (what it was already sent stays in the log)."""
    from mailbot.store.models import DeliveryTarget

    with _sessions().begin() as session:
        target = session.get(DeliveryTarget, target_id)
        if target is None:
            raise click.ClickException(f"no delivery target {target_id}")
        session.delete(target)
