"""`mailbot contacts ...` and `mailbot tickets split`: what an agent does in the panel's
contact and ticket pages, from the command line, with the same audit records.

    mailbot contacts show CONTACT [--json]      identities, tickets, suggestions, merges
    mailbot contacts suggestions [--json]       pairs that may be one person
    mailbot contacts merge KEEP DUPLICATE       DUPLICATE's tickets and identities go to KEEP
    mailbot contacts unmerge MERGE_ID           undo a merge (its id: `merge` prints it)
    mailbot contacts dismiss SUGGESTION_ID      not the same person
    mailbot tickets split REF MESSAGE_ID        the message into a new ticket; prints its ref

CONTACT, KEEP and DUPLICATE are a contact id, an e-mail address or any identity's handle
(an E.164 number, a platform user id).
"""

from __future__ import annotations

import getpass
import json
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot import contacts as ops
from mailbot.store.models import Contact, Ticket


def _sessions() -> sessionmaker[Session]:
    """Sessions on the configured database; not current_runtime(), which would start Redis."""
    from mailbot.config import load_settings
    from mailbot.store.db import session_factory

    return session_factory(load_settings().database_url)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        return "cli"


def _contact(session: Session, reference: str) -> Contact:
    found = ops.find_contact_by_reference(session, reference)
    if found is None:
        raise click.ClickException(f"no contact {reference!r} (an id, e-mail address or handle)")
    return found


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group("contacts")
def contacts() -> None:
    """Contacts: identities across channels, merging duplicates, link suggestions."""


@contacts.command("show")
@click.argument("contact")
@click.option("--json", "as_json", is_flag=True)
def contacts_show(contact: str, as_json: bool) -> None:
    from mailbot.ticket_json import identities_json

    with _sessions()() as session:
        found = _contact(session, contact)
        data: dict[str, Any] = {
            "id": found.id,
            "name": found.name,
            "email": found.email,
            "identities": identities_json(found),
            "tickets": list(session.scalars(select(Ticket.ref).where(Ticket.contact_id == found.id))),
            "suggestions": [_suggestion_json(s) for s in ops.open_suggestions(session, found.id)],
            "merges": [
                {"id": m.id, "merged_id": m.merged_id, "at": m.merged_at, "undone": m.unmerged_at is not None}
                for m in ops.merges_of(session, found.id)
            ],
        }
    if as_json:
        _echo_json(data)
        return
    click.echo(f"#{data['id']} {data['name']} <{data['email'] or ''}>")
    for identity in data["identities"]:
        click.echo(f"  {identity['type']}: {identity['value']}")
    click.echo(f"  tickets: {' '.join(data['tickets']) or '-'}")
    for s in data["suggestions"]:
        click.echo(f"  suggestion #{s['id']}: contacts {s['contacts']} ({s['reason']})")


def _suggestion_json(s: Any) -> dict[str, Any]:
    return {"id": s.id, "contacts": [s.contact_id, s.other_contact_id], "reason": s.reason}


@contacts.command("suggestions")
@click.option("--json", "as_json", is_flag=True)
def contacts_suggestions(as_json: bool) -> None:
    with _sessions()() as session:
        data = [_suggestion_json(s) for s in ops.open_suggestions(session)]
    if as_json:
        _echo_json(data)
        return
    for s in data:
        click.echo(f"#{s['id']}  contacts {s['contacts'][0]} and {s['contacts'][1]}: {s['reason']}")


@contacts.command("merge")
@click.argument("keep")
@click.argument("duplicate")
def contacts_merge(keep: str, duplicate: str) -> None:
    """Merge DUPLICATE into KEEP; prints the merge id (for `unmerge`)."""
    with _sessions().begin() as session:
        kept, other = _contact(session, keep), _contact(session, duplicate)
        try:
            merge = ops.merge_contacts(session, kept, other, actor=_actor())
        except ops.ContactError as error:
            raise click.ClickException(str(error)) from error
        merge_id, kept_id, other_id = merge.id, kept.id, merge.merged_id
    click.echo(str(merge_id))
    click.echo(f"contact #{other_id} merged into #{kept_id} (merge #{merge_id})", err=True)


@contacts.command("unmerge")
@click.argument("merge_id", type=int)
def contacts_unmerge(merge_id: int) -> None:
    """Undo merge MERGE_ID; prints the recreated contact's id."""
    with _sessions().begin() as session:
        try:
            restored = ops.unmerge_contacts(session, merge_id, actor=_actor())
        except ops.ContactError as error:
            raise click.ClickException(str(error)) from error
        restored_id = restored.id
    click.echo(str(restored_id))
    click.echo(f"merge #{merge_id} undone: contact #{restored_id}", err=True)


@contacts.command("dismiss")
@click.argument("suggestion_id", type=int)
def contacts_dismiss(suggestion_id: int) -> None:
    with _sessions().begin() as session:
        try:
            ops.dismiss_suggestion(session, suggestion_id, actor=_actor())
        except ops.ContactError as error:
            raise click.ClickException(str(error)) from error


def split_command(ref: str, message_id: str) -> None:
    """Move one message of ticket REF into a new ticket; prints the new ticket's ref. No
    acknowledgement is sent."""
    from mailbot.split import SplitError, split_message

    with _sessions().begin() as session:
        try:
            new = split_message(session, ref, message_id, actor=_actor())
        except SplitError as error:
            raise click.ClickException(str(error)) from error
        new_ref = new.ref
    click.echo(new_ref)
