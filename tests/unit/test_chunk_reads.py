"""What a filing chunk answers from the rows it read once (pipeline/chunk_reads.py), and
when it sends a message's question to the store instead."""

from __future__ import annotations

import datetime as dt

from mailbot.message import InboundMessage
from mailbot.pipeline.chunk_reads import ChunkReads
from mailbot.pipeline.identify import KnownContact

SINCE = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
BOB = KnownContact(7, "Bob", "bob@example.test", by_identity=False, since=SINCE)


def chunk_holding_bob_by_address() -> ChunkReads:
    return ChunkReads(
        own_ids=set(),
        seen=[],
        addresses={"bob@example.test"},
        received={},
        acks={},
        refs=[],
        by_identity={("form", "bob@example.test"): [], ("email", "bob@example.test"): []},
        by_email={"bob@example.test": [BOB]},
        record_keys=set(),
        records=[],
    )


def message(channel: str, message_id: str) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        sender_address="bob@example.test",
        sender_name="Bob",
        subject="Hi",
        text="Hello",
        message_id=message_id,
    )


def test_only_mail_finds_a_contact_by_its_address() -> None:
    """As load_known_contacts' UNION: the address arm is for e-mail senders alone."""
    chunk = chunk_holding_bob_by_address()
    form = message("form", "form-1")
    chunk.start(form)
    assert chunk.contacts_for(form) == []
    mail = message("email", "mail-1")
    chunk.start(mail)
    assert chunk.contacts_for(mail) is None, "the same sender as the form before it: the store answers"

    fresh = chunk_holding_bob_by_address()
    fresh.start(mail)
    assert fresh.contacts_for(mail) == [BOB]


def test_a_contact_an_earlier_message_wrote_on_is_asked_of_the_store() -> None:
    chunk = chunk_holding_bob_by_address()
    other = InboundMessage(
        channel="email", sender_address="ana@example.test", sender_name="Ana", subject="", text=""
    )
    assert chunk.start(other)
    chunk.filed_on(BOB.id)
    mail = message("email", "mail-2")
    assert chunk.start(mail), "nothing shared with the message before"
    assert chunk.contact_written(BOB.id)
    assert chunk.contacts_for(mail) is None
    assert chunk.tickets_for(BOB.id) is None
