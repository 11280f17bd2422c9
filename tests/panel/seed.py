"""Rows the panel tests look at, written as the pipeline would write them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy.orm import Session

from mailbot.store.models import Contact, ContactIdentity, Inbound, Message, OutboxEntry, Ticket
from mailbot.timeutil import utcnow

XSS_SUBJECT = '<script>alert("subject")</script><img src=x onerror=alert(1)>'
XSS_HTML = (
    '<p>Hello <b>there</b></p><script>alert("body")</script>'
    '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">click</a>'
    '<div style="position:fixed" onclick="alert(4)">overlay</div>'
)


def add_ticket(
    session: Session,
    ref: str = "MB-7K3Q9P",
    subject: str = "My order has not arrived",
    email: str = "ana@example.net",
    text: str = "Hello, where is my order 1234?",
    html: str | None = None,
    acknowledged: bool = False,
) -> Ticket:
    contact = session.query(Contact).filter_by(email=email).one_or_none()
    if contact is None:
        contact = Contact(name="Ana Pérez", email=email)
        contact.identities.append(ContactIdentity(channel="email", handle=email))
        session.add(contact)
        session.flush()
    raw = f"From: {email}\r\nSubject: {subject}\r\n\r\n{text}\r\n".encode()
    inbound = Inbound(
        source_key=f"test:{ref}",
        channel="email",
        raw=raw,
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        arrived_at=utcnow(),
        status="processed",
    )
    session.add(inbound)
    session.flush()
    now = utcnow()
    ticket = Ticket(
        ref=ref,
        subject=subject,
        normalized_subject=subject.lower(),
        channel="email",
        contact_id=contact.id,
        language="en",
        created_at=now,
        updated_at=now,
        first_response_due_at=now + timedelta(hours=1),
        acknowledged_at=now if acknowledged else None,
    )
    session.add(ticket)
    session.flush()
    inbound.ticket_id = ticket.id
    session.add(
        Message(
            ticket_id=ticket.id,
            inbound_id=inbound.id,
            internet_message_id=f"{ref}@example.net",
            kind="customer",
            reason="a person wrote",
            from_address=email,
            from_name="Ana Pérez",
            subject=subject,
            text=text,
            html=html,
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
        )
    )
    session.flush()
    return ticket


def add_quarantined(session: Session, raw: bytes = b"Subject: broken\r\n\r\n\xff\xfe") -> Inbound:
    row = Inbound(
        source_key=f"test:q:{hashlib.sha256(raw).hexdigest()[:8]}",
        channel="email",
        raw=raw,
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        arrived_at=utcnow(),
        status="quarantined",
        error="UnparseableMessage: no From header",
        attempts=3,
    )
    session.add(row)
    session.flush()
    return row


def add_failed_outbox(session: Session, ticket: Ticket, status: str = "failed") -> OutboxEntry:
    entry = OutboxEntry(
        key=f"ack:{ticket.ref}",
        kind="ack",
        ticket_id=ticket.id,
        to_address=ticket.contact.email or "",
        from_address="support@example.com",
        subject=f"[#{ticket.ref}] {ticket.subject}",
        body="Thanks",
        internet_message_id=f"ack.{ticket.ref}@example.com",
        status=status,
        attempts=12,
        last_error="SMTP 550: mailbox unavailable",
    )
    session.add(entry)
    session.flush()
    return entry
