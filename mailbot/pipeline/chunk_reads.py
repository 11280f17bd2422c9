"""What a filing chunk reads once for all of its messages, instead of once per message.

Filing one message asks the store a handful of small questions: is it one of our own
messages, has it been seen before, how many messages and acknowledgements has its sender
had in the window, who is its contact, what do the customer records say, which ticket
does it continue, which tickets did the contact have, which reference is free. Asked for
each message of a chunk, they were two thirds of its statements (issue 11's profile).
chunk_load.py asks them once for the whole chunk, one statement each, and the functions
that asked per message answer from those rows (dedupe.load_seen, ratecap.*,
returned.own_message_ids, identify.load_known_contacts, records.known_attributes,
thread.load_candidates, context.load_prior_tickets, crosschannel.load_open_matters,
process.unused_ref).

A message filed earlier in the same chunk may write rows that a later one would have read.
Every such row carries the earlier message's sender, Message-ID or reference, or belongs
to a contact it was filed for: a later message that shares none of them reads exactly
what the chunk's rows hold. One that does asks the store itself, as it always did, after
a flush (some reads run without autoflush), and so does every message after one that was
not a customer's. The rows are read with windows opened a little earlier than any
message's own, and every answer cuts them to the message's own window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbot.message import InboundMessage

if TYPE_CHECKING:
    from sqlalchemy import Row

    from mailbot.pipeline.context import PriorTicket
    from mailbot.pipeline.dedupe import SeenMessage
    from mailbot.pipeline.identify import KnownContact
    from mailbot.pipeline.thread import TicketCandidate
    from mailbot.store.models import CustomerRecord

_CHUNK = "mailbot.chunk_reads"


@dataclass(frozen=True)
class SentAck:
    normalized_subject: str | None
    created_at: datetime


@dataclass
class TicketReads:
    """The tickets threading, cross-channel joining and prior context look for: those the
    chunk's messages name (by Message-ID, by reference) and those of its known contacts.
    Each map says what it was read for, so a question outside it goes to the store."""

    header_ids: set[tuple[str, str]]  # (channel, Message-ID) named by In-Reply-To/References
    by_message_id: dict[tuple[str, str], TicketCandidate]  # the ticket holding that message
    by_outbox_id: dict[str, TicketCandidate]  # the ticket of a message we sent
    refs: set[str]  # ticket references named (signed reply address, subject, body)
    by_ref: dict[str, TicketCandidate]
    contacts: set[int]
    subjects: set[str]  # normalised subjects of the chunk's messages
    open_by_subject: dict[int, list[TicketCandidate]]  # contact -> open tickets with one of them
    prior: dict[int, list[PriorTicket]]  # contact -> its tickets, newest first
    matters: dict[int, list[Row]]  # contact -> crosschannel.load_open_matters' rows, newest first


@dataclass
class ChunkReads:
    own_ids: set[str]
    seen: list[SeenMessage]
    addresses: set[str]  # the senders' addresses and handles that the two below cover
    received: dict[str, list[datetime]]  # address -> when its messages arrived
    acks: dict[str, list[SentAck]]  # address -> the acknowledgements sent to it
    refs: list[str]
    # The contacts holding each sender's handle on its channel, and each e-mail sender's
    # address: what identify looks up for a message that claims no other identities.
    by_identity: dict[tuple[str, str], list[KnownContact]]
    by_email: dict[str, list[KnownContact]]
    # The customer records of the senders' addresses and numbers (written by imports and
    # lookups only, never by filing: any message may read them).
    record_keys: set[str]
    records: list[CustomerRecord]
    tickets: TicketReads | None = None
    # The senders, Message-IDs and references of the chunk's messages filed so far.
    _earlier: set[str] = field(default_factory=set)
    _before_current: frozenset[str] = frozenset()
    _current_is_fresh: bool = False
    # The contacts whose tickets the chunk's messages were filed on so far; and whether
    # every message so far was a customer's (other kinds write on tickets of others).
    _touched: set[int] = field(default_factory=set)
    _touched_before_current: frozenset[int] = frozenset()
    _only_customers: bool = True

    def install(self, session: Session) -> None:
        session.info[_CHUNK] = self

    def start(self, msg: InboundMessage) -> bool:
        """The chunk's next message is being filed. False: it shares a sender, a
        Message-ID or a reference with an earlier one, and asks the store itself; the
        caller flushes first, for the reads made without autoflush (triage, caps)."""
        keys = _keys_of(msg)
        self._current_is_fresh = not (keys & self._earlier)
        self._before_current = frozenset(self._earlier)
        self._earlier |= keys
        self._touched_before_current = frozenset(self._touched)
        return self._current_is_fresh

    def contact_written(self, contact_id: int) -> bool:
        """Whether an earlier message of the chunk wrote on this contact's tickets."""
        return contact_id in self._touched_before_current

    def filed_on(self, *contact_ids: int) -> None:
        """The message being filed wrote on tickets of these contacts."""
        self._touched.update(contact_ids)

    def filed_otherwise(self) -> None:
        """The message was not a customer's (an agent's, a bounce, an edit...): what it
        wrote is not followed, so the tickets read for the chunk answer no more."""
        self._only_customers = False

    def tickets_for(self, contact_id: int | None) -> TicketReads | None:
        """The ticket reads, if they hold what the store holds for the message being
        filed and (unless None) for its contact."""
        tickets = self.tickets
        if tickets is None or not (self._current_is_fresh and self._only_customers):
            return None
        if contact_id is not None and (
            contact_id not in tickets.contacts or self.contact_written(contact_id)
        ):
            return None
        return tickets

    def named_before(self, values: list[str]) -> bool:
        """Whether a message filed earlier in the chunk has one of these as its sender,
        Message-ID or reference (a form's ticket reference, shown on its thank-you page)."""
        return any(value in self._before_current for value in values)

    def answers_for(self, address: str) -> bool:
        """Whether the rows read for the chunk hold all the store holds for the message
        being filed, from or to `address`: it was read for, and nothing filed before it
        in the chunk shares its sender or its Message-ID."""
        return self._current_is_fresh and address in self.addresses

    def received_since(self, address: str, since: datetime) -> int:
        return sum(1 for at in self.received.get(address, ()) if at >= since)

    def acks_since(self, address: str, since: datetime) -> list[SentAck]:
        return [ack for ack in self.acks.get(address, ()) if ack.created_at >= since]

    def contacts_for(self, msg: InboundMessage) -> list[KnownContact] | None:
        """load_known_contacts for a message without claims; None: ask the store."""
        handle = msg.sender_handle
        if not self.answers_for(handle) or (msg.channel, handle) not in self.by_identity:
            return None
        # As its UNION: the handle's identity, then (on e-mail only) a contact with the address.
        found = [
            *self.by_identity[msg.channel, handle],
            *(self.by_email.get(handle, []) if msg.channel == "email" else []),
        ]
        if any(self.contact_written(contact.id) for contact in found):
            return None  # an earlier message may have changed it (filled in its name)
        return found

    def holds_records_of(self, email: str | None, phone: str | None) -> bool:
        return all(key in self.record_keys for key in (email, phone) if key)

    def next_ref(self) -> str | None:
        return self.refs.pop() if self.refs else None


def _keys_of(msg: InboundMessage) -> set[str]:
    """What rows written for the message can be found by: who sent it, its Message-ID,
    the ids it answers, the reference it reserved."""
    keys = {msg.sender_handle, msg.sender_address, *(i.value.strip().lower() for i in msg.claimed_identities)}
    keys.update(i for i in (msg.message_id, msg.reserved_ref, *msg.in_reply_to, *msg.references) if i)
    return keys


def reads_of(session: Session) -> ChunkReads | None:
    """The reads of the chunk being filed in this session, if it is filed in one."""
    return session.info.get(_CHUNK)
