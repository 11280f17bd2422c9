"""What a filing chunk reads once for all of its messages, instead of once per message.

Filing one message asks the store a handful of small questions: is it one of our own
messages, has it been seen before, how many messages and acknowledgements has its sender
had in the window, which ticket reference is free. Asked for each message of a chunk,
they were a third of its statements (issue 11's profile). `chunk_reads` asks them once
for the whole chunk, in one statement each, and the per-message functions answer from
those rows (dedupe.load_seen, ratecap.*, returned.own_message_ids, process.unused_ref).

A message filed earlier in the same chunk may write rows that a later one would have
read: its message, its acknowledgement, its contact. Every such row carries the earlier
message's sender or Message-ID, so a message that shares neither with any earlier one of
its chunk reads exactly what the preloaded rows hold; one that does shares them asks the
store itself, as it always did, and sees the earlier message's rows (the session flushes
before each query). The rows are read with windows opened a little earlier than any
message's own, and every answer filters them with the message's own window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbot.message import InboundMessage

if TYPE_CHECKING:
    from mailbot.pipeline.dedupe import SeenMessage
    from mailbot.pipeline.identify import KnownContact
    from mailbot.store.models import CustomerRecord

_CHUNK = "mailbot.chunk_reads"


@dataclass(frozen=True)
class SentAck:
    to_address: str
    normalized_subject: str | None
    created_at: datetime


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
    # The senders and Message-IDs of the chunk's messages filed so far.
    _earlier: set[str] = field(default_factory=set)
    _current_is_fresh: bool = False

    def install(self, session: Session) -> None:
        session.info[_CHUNK] = self

    def uninstall(self, session: Session) -> None:
        session.info.pop(_CHUNK, None)

    def start(self, msg: InboundMessage) -> None:
        """The chunk's next message is being filed."""
        keys = _keys_of(msg)
        self._current_is_fresh = not (keys & self._earlier)
        self._earlier |= keys

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
        return [*self.by_identity[msg.channel, handle], *self.by_email.get(handle, [])]

    def holds_records_of(self, email: str | None, phone: str | None) -> bool:
        return all(key in self.record_keys for key in (email, phone) if key)

    def next_ref(self) -> str | None:
        return self.refs.pop() if self.refs else None


def _keys_of(msg: InboundMessage) -> set[str]:
    keys = {msg.sender_handle, msg.sender_address, *(i.value.strip().lower() for i in msg.claimed_identities)}
    if msg.message_id:
        keys.add(msg.message_id)
    return keys


def reads_of(session: Session) -> ChunkReads | None:
    """The reads of the chunk being filed in this session, if it is filed in one."""
    return session.info.get(_CHUNK)
