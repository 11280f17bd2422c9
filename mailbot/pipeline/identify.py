"""Identify: the contact behind a sender handle, created on first sight."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage
from mailbot.store.models import Contact, ContactIdentity


def find_contact(session: Session, msg: InboundMessage) -> Contact | None:
    """The known contact behind the sender, without creating one."""
    handle = msg.sender_address.lower()
    identity = session.scalar(
        select(ContactIdentity).where(
            ContactIdentity.channel == msg.channel, ContactIdentity.handle == handle
        )
    )
    if identity is not None:
        return identity.contact
    if msg.channel == "email":
        return session.scalar(select(Contact).where(Contact.email == handle))
    return None


def identify_contact(session: Session, msg: InboundMessage) -> Contact:
    """The contact behind the sender, created with its identity on first sight."""
    handle = msg.sender_address.lower()
    contact = find_contact(session, msg)
    if contact is not None:
        if not contact.name and msg.sender_name:
            contact.name = msg.sender_name
        has_identity = any(i.channel == msg.channel and i.handle == handle for i in contact.identities)
        if has_identity:
            return contact
    if contact is None:
        contact = Contact(
            name=msg.sender_name,
            email=handle if msg.channel == "email" else None,
            language=msg.language,
        )
        session.add(contact)
        session.flush()
    session.add(ContactIdentity(contact_id=contact.id, channel=msg.channel, handle=handle))
    session.flush()
    return contact
