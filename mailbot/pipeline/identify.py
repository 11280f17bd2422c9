"""Identify: the contact behind a sender handle, created on first sight.

`load_known_contacts` reads the contacts the handle could belong to, in one statement;
`decide_contact` picks one and says what to write, without I/O; `identify_contact`
writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, Select, false, select, true, union_all, update
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.store.models import Contact, ContactIdentity


@dataclass(frozen=True)
class KnownContact:
    """A stored contact, as far as identifying and threading need it."""

    id: int
    name: str
    email: str | None
    # The sender's handle on this channel is already one of the contact's identities
    # (False: found by its e-mail address only).
    by_identity: bool = True


@dataclass(frozen=True)
class ContactPlan:
    """Who the sender is, and what filing the message must write about them."""

    contact: KnownContact | None  # None: a new contact, with the fields below
    name: str
    email: str | None
    language: str | None
    add_identity: bool

    @property
    def fills_name(self) -> bool:
        return self.contact is not None and self.contact.name != self.name


def sender_handle(msg: InboundMessage) -> str:
    return msg.sender_handle


def decide_contact(msg: InboundMessage, known: Sequence[KnownContact]) -> ContactPlan:
    """The handle's own identity wins; on e-mail, a contact with that address comes next
    (one added by an agent, or merged, before this handle wrote in); else a new contact.
    A known contact's name is kept, and only filled in when it has none."""
    handle = sender_handle(msg)
    by_identity = next((c for c in known if c.by_identity), None)
    by_email = next((c for c in known if msg.channel == "email" and c.email == handle), None)
    contact = by_identity or by_email
    if contact is None:
        return ContactPlan(
            contact=None,
            name=msg.sender_name,
            email=handle if msg.channel == "email" else None,
            language=msg.language,
            add_identity=True,
        )
    return ContactPlan(
        contact=contact,
        name=contact.name or msg.sender_name,
        email=contact.email,
        language=None,
        add_identity=by_identity is None,
    )


def load_known_contacts(session: Session, msg: InboundMessage) -> list[KnownContact]:
    """The contact holding the sender's handle, and on e-mail the one with that address.

    A UNION of two indexed lookups (the identity's unique channel+handle, the contact's
    unique e-mail), one statement, at most two rows."""
    handle = sender_handle(msg)
    by_identity = (
        select(Contact.id, Contact.name, Contact.email, true().label("by_identity"))
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(ContactIdentity.channel == msg.channel, ContactIdentity.handle == handle)
    )
    query: Select | CompoundSelect = by_identity
    if msg.channel == "email":
        by_email = select(Contact.id, Contact.name, Contact.email, false().label("by_identity"))
        query = union_all(by_identity, by_email.where(Contact.email == handle))
    return [
        KnownContact(row.id, row.name or "", row.email, bool(row.by_identity))
        for row in session.execute(query)
    ]


def find_contact(session: Session, msg: InboundMessage) -> KnownContact | None:
    """The known contact behind the sender, without creating one."""
    return decide_contact(msg, load_known_contacts(session, msg)).contact


def identify_contact(session: Session, msg: InboundMessage) -> KnownContact:
    """The contact behind the sender, created with its identity on first sight."""
    plan = decide_contact(msg, load_known_contacts(session, msg))
    if plan.contact is None:
        created = Contact(name=plan.name, email=plan.email, language=plan.language)
        session.add(created)
        session.flush()
        contact = KnownContact(created.id, plan.name, plan.email)
    else:
        contact = KnownContact(plan.contact.id, plan.name, plan.contact.email)
        if plan.fills_name:
            session.execute(
                update(Contact)
                .where(Contact.id == contact.id)
                .values(name=plan.name)
                .execution_options(synchronize_session=False)
            )
    if plan.add_identity:
        session.add(ContactIdentity(contact_id=contact.id, channel=msg.channel, handle=sender_handle(msg)))
        session.flush()
    return contact
