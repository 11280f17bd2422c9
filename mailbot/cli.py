"""The `mailbot` command. Only requested output (JSON, tables) goes to stdout; logs and
errors go to stderr, and errors exit non-zero."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import inspect, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from mailbot.canned_commands import canned
from mailbot.channel_commands import channel
from mailbot.config import load_settings
from mailbot.contact_commands import contacts, split_command
from mailbot.delivery_commands import delivery
from mailbot.faq_commands import faq
from mailbot.handoff_commands import handoff
from mailbot.observability.logs import setup_logging
from mailbot.runtime import Runtime, current_runtime
from mailbot.sla_commands import sla
from mailbot.store.db import engine_for
from mailbot.token_commands import token
from mailbot.triage_commands import customers, rules
from mailbot.web.commands import admin


def _setup_logging(verbose: bool) -> None:
    try:
        setup_logging(verbose)
    except ValueError as error:
        raise click.UsageError(str(error)) from error


def _runtime() -> Runtime:
    """The runtime, after checking the schema exists, with an error that says what to do."""
    settings = load_settings()
    try:
        tables = inspect(engine_for(settings.database_url)).get_table_names()
    except (OperationalError, ProgrammingError) as error:
        raise click.ClickException(f"cannot open the database: {error}") from error
    if "tickets" not in tables:
        raise click.ClickException("the database has no schema yet: run `mailbot db upgrade` first")
    return current_runtime()


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging on stderr.")
def main(verbose: bool) -> None:
    """mailbot: every inbound customer message becomes one acknowledged ticket."""
    _setup_logging(verbose)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    from mailbot.store.migrate import upgrade_database

    settings = load_settings()
    try:
        upgrade_database(settings.database_url)
    except (OperationalError, ProgrammingError) as error:
        raise click.ClickException(f"migration failed: {error}") from error
    click.echo("database is up to date", err=True)


@main.group()
def mailbox() -> None:
    """Support mailboxes polled over IMAP."""


@mailbox.command("add")
@click.argument("name")
@click.option("--imap", "imap_url", required=True, help="imap[s]://USER:PASS@HOST:PORT[/FOLDER]")
@click.option("--smtp", "smtp_url", required=True, help="smtp[s]://[USER:PASS@]HOST:PORT")
@click.option("--address", required=True, help="The support address customers write to.")
@click.option("--starttls", is_flag=True, help="Upgrade plain imap:// and smtp:// connections with STARTTLS.")
@click.option(
    "--after-process",
    type=click.Choice(["keep", "seen", "move"]),
    default="keep",
    show_default=True,
    help="What to do on the server once a message is filed.",
)
@click.option("--move-to", default=None, help="Folder for --after-process move (default Processed).")
@click.option("--language", default=None, help="Fallback language for acknowledgements.")
@click.option(
    "--ack-since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="Acknowledge mail that arrived from this UTC time on (default: now). Older mail is history.",
)
@click.option(
    "--oauth-provider",
    default=None,
    help="Log in with XOAUTH2; the URL's password is this provider's secret.",
)
def mailbox_add(
    name: str,
    imap_url: str,
    smtp_url: str,
    address: str,
    starttls: bool,
    after_process: str,
    move_to: str | None,
    language: str | None,
    ack_since: datetime | None,
    oauth_provider: str | None,
) -> None:
    """Add a mailbox. Mail already in it is imported as history, never acknowledged."""
    from mailbot.mailboxes import MailboxConfigError, MailboxSpec, add_mailbox

    runtime = _runtime()
    spec = MailboxSpec(
        name,
        imap_url,
        smtp_url,
        address,
        starttls,
        after_process,
        move_to,
        language,
        oauth_provider,
        ack_since.replace(tzinfo=UTC) if ack_since else None,
    )
    try:
        with runtime.sessions.begin() as session:
            created = add_mailbox(session, spec, runtime.settings.secret_key)
            click.echo(f"mailbox {created.name} added ({created.address})", err=True)
    except MailboxConfigError as error:
        raise click.ClickException(str(error)) from error


@mailbox.command("list")
@click.option("--json", "as_json", is_flag=True)
def mailbox_list(as_json: bool) -> None:
    """List mailboxes with their last sync and last error (never their secrets)."""
    from mailbot.store.models import Mailbox
    from mailbot.timeutil import iso

    runtime = _runtime()
    with runtime.sessions() as session:
        rows = [
            {
                "name": m.name,
                "address": m.address,
                "imap": f"{m.imap_host}:{m.imap_port}",
                "folder": m.imap_folder,
                "security": m.imap_security,
                "enabled": m.enabled,
                "last_sync_at": iso(m.last_sync_at),
                "last_error": m.last_error,
            }
            for m in session.scalars(select(Mailbox).order_by(Mailbox.name))
        ]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        click.echo(
            f"{row['name']:<20} {row['address']:<32} {row['imap']:<28} "
            f"last sync {row['last_sync_at'] or 'never'}  {row['last_error'] or ''}"
        )


@mailbox.command("remove")
@click.argument("name")
def mailbox_remove(name: str) -> None:
    """Remove a mailbox (its tickets stay)."""
    from mailbot.store.models import Mailbox

    runtime = _runtime()
    with runtime.sessions.begin() as session:
        found = session.scalar(select(Mailbox).where(Mailbox.name == name))
        if found is None:
            raise click.ClickException(f"no mailbox named {name!r}")
        session.delete(found)


@main.command()
@click.option("--once", is_flag=True, help="One sync of every mailbox, then exit.")
def poll(once: bool) -> None:
    """Sync the mailboxes: once, or forever with IMAP IDLE where the server offers it."""
    from mailbot.sources.poller import poll_once, run_forever

    runtime = _runtime()
    if once:
        failed = [r for r in poll_once(runtime) if r.error]
        for report in failed:
            click.echo(f"mailbox {report.mailbox}: {report.error}", err=True)
        if failed:
            sys.exit(1)
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_forever(runtime, stop)


@main.command()
@click.option("--burst", is_flag=True, help="Drain the queues, then exit.")
def worker(burst: bool) -> None:
    """Process inbound messages and deliver the outbox."""
    from mailbot.worker import run_worker

    run_worker(_runtime(), burst=burst)


@main.group()
def tickets() -> None:
    """Tickets."""


@tickets.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of tickets with their messages.")
def tickets_list(as_json: bool) -> None:
    from mailbot.ticket_json import list_tickets_json

    runtime = _runtime()
    with runtime.sessions() as session:
        data = list_tickets_json(session)
    if as_json:
        _print_json(data)
        return
    for t in data:
        click.echo(
            f"{t['ref']}  {t['status']:<7} {t['language']}  {t['priority']:<7} "
            f"{t['contact']['email'] or t['contact']['name']:<32} {t['subject']}"
        )


@tickets.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
def tickets_show(ref: str, as_json: bool) -> None:
    from mailbot.ticket_json import ticket_by_ref_json

    runtime = _runtime()
    with runtime.sessions() as session:
        data = ticket_by_ref_json(session, ref)
    if data is None:
        raise click.ClickException(f"no ticket {ref}")
    if as_json:
        _print_json(data)
        return
    click.echo(f"{data['ref']} [{data['status']}] {data['subject']}")
    click.echo(
        f"contact: {data['contact']['name']} <{data['contact']['email']}>  "
        f"language: {data['language']}  priority: {data['priority']}"
    )
    for m in data["messages"]:
        click.echo(f"\n--- {m['kind']} from {m['from']} at {m['received_at']}\n{m['text']}")


@tickets.command("split")
@click.argument("ref")
@click.argument("message_id")
def tickets_split(ref: str, message_id: str) -> None:
    """Move message MESSAGE_ID (as `messages[].message_id` lists it, angle brackets
    optional) of ticket REF into a new ticket of the same contact; prints the new ref.
    Nothing is sent to the customer."""
    split_command(ref, message_id)


@main.command()
@click.option("--data-dir", default=None, help="Where the demo keeps its state (default: the data dir).")
@click.option("--port", default=8000, show_default=True)
@click.option("--once", is_flag=True, help="Stop once the seeded mail is filed and acknowledged.")
def demo(data_dir: str | None, port: int, once: bool) -> None:
    """Run everything on embedded defaults with a seeded demo mailbox."""
    from mailbot.demo import run_demo

    run_demo(data_dir=data_dir, port=port, once=once)


main.add_command(admin)
main.add_command(channel)
main.add_command(contacts)
main.add_command(delivery)
main.add_command(token)
main.add_command(customers)
main.add_command(rules)
main.add_command(sla)
main.add_command(canned)
tickets.add_command(handoff)
main.add_command(faq)

if __name__ == "__main__":
    main()
