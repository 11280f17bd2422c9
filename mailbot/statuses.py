"""Every state a stored row can be in, one Enum per table.

StrEnum, so a member is the very string stored in the database (and compares equal to
it): the schema stays plain text columns that a person can read in psql. Transitions
live with their table: outbox.py for OutboxStatus, pipeline/process.py and the sources
for InboundStatus, the pipeline, the panel and ticket_changes.py (what agents may
move a ticket to) for TicketStatus.
"""

from __future__ import annotations

from enum import StrEnum


class InboundStatus(StrEnum):
    """received -> processed | duplicate | ignored | quarantined"""

    RECEIVED = "received"  # stored raw; a job will file it
    PROCESSED = "processed"  # filed on a ticket (or attached to none, for machine mail)
    DUPLICATE = "duplicate"  # the same message seen before
    IGNORED = "ignored"  # our own echo, or a platform event that is not a message
    QUARANTINED = "quarantined"  # unparseable, or crashed the pipeline too often: raw kept


class OutboxStatus(StrEnum):
    """pending -> claimed -> sending -> sent; see the diagram in outbox.py."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # refused for good, or too many attempts
    UNCERTAIN = "uncertain"  # cut off mid-handover: shown to an admin, never re-sent blindly
    BOUNCED = "bounced"  # sent, then bounced back


class TicketStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"  # waiting for the customer
    SOLVED = "solved"
    CLOSED = "closed"


# A ticket in one of these is still someone's open matter: new messages join it.
ACTIVE_TICKET_STATUSES = (TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SOLVED)
