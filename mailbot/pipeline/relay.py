"""Agents' answers that arrive as inbound messages: a reply to a notification e-mail (sent
to the ticket's agent-reply address, its Reply-To) or a reply in the Slack thread of a
notification. Relayed to the customer through the same path as a reply written in the
API or the panel (ticket_changes.add_agent_message): one outbox row, on the channel the
customer used last.

The signed address decides, whatever In-Reply-To says: mail to an agent-reply address is
relayed only when its signature verifies and its sender is a known agent (a panel user,
`mailbot admin create EMAIL --role agent`; admins are agents too). Anything else sent
there (a forged or altered token, a stranger, the customer, a colleague who is no panel
user, an out-of-office answering the notification) is never relayed and never opens a
ticket: it is kept on the ticket the address names as a `held` message whose reason
says why, shown in the panel.

`decide_agent_mail` decides over plain data; `relay_agent_mail` and `relay_slack_thread`
load what it needs and act in the caller's transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.config import Settings
from mailbot.message import EVENT_MESSAGE, InboundMessage
from mailbot.pipeline.agent_reply import ReplyRefused, relayed_reply_key
from mailbot.pipeline.classify import CUSTOMER, Verdict
from mailbot.pipeline.refs import AgentAddress, parse_agent_reply_address
from mailbot.statuses import TicketStatus
from mailbot.store.models import OutboxEntry, Ticket
from mailbot.store.panel_models import ROLES, User
from mailbot.ticket_changes import Author, add_agent_message
from mailbot.timeutil import utcnow

HELD = "held"
# A Slack user mention (<@U0LAN0Z89>, api.slack.com/reference/surfaces/formatting): the
# team's ids mean nothing to the customer, and the one of our bot least of all.
_SLACK_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>\s*")


@dataclass(frozen=True)
class RelayDecision:
    relay: bool
    reason: str


def agent_address_of(msg: InboundMessage, secret_key: str) -> AgentAddress | None:
    """The agent-reply address the mail was sent to, if any (a verified one first)."""
    found = [a for a in (parse_agent_reply_address(secret_key, r) for r in msg.recipients) if a]
    return next((a for a in found if a.verified), found[0] if found else None)


def decide_agent_mail(
    address: AgentAddress,
    *,
    verdict: Verdict,
    sender: str,
    text: str,
    is_agent: bool,
    customer_addresses: frozenset[str],
    ticket_status: str,
) -> RelayDecision:
    """Whether mail to an agent-reply address is relayed to the customer, and why (not)."""
    if verdict.kind != CUSTOMER:
        return RelayDecision(False, f"automatic mail ({verdict.reason}): never relayed to the customer")
    if not address.verified:
        return RelayDecision(
            False, f"the agent-reply address for {address.ref} is not signed by us (forged or altered)"
        )
    if sender in customer_addresses:
        return RelayDecision(False, f"sent by the ticket's customer {sender}, not by an agent")
    if not is_agent:
        return RelayDecision(False, f"{sender} is not a known agent: only panel users' replies are relayed")
    if ticket_status == TicketStatus.CLOSED:
        return RelayDecision(False, "the ticket is closed: it opens again when the customer writes")
    if not text.strip():
        return RelayDecision(False, "no new text above the quoted notification: nothing to relay")
    return RelayDecision(True, f"reply by agent {sender}")


def is_known_agent(session: Session, address: str) -> bool:
    return (
        session.scalar(
            select(User.id).where(
                func.lower(User.email) == address.lower(), User.active.is_(True), User.role.in_(ROLES)
            )
        )
        is not None
    )


def _customer_addresses(ticket: Ticket) -> frozenset[str]:
    contact = ticket.contact
    found = {i.handle.lower() for i in contact.identities if i.channel == "email"}
    if contact.email:
        found.add(contact.email.lower())
    return frozenset(found)


@dataclass(frozen=True)
class Relayed:
    """What became of an agent's answer: relayed (with its outbox row) or held, and why;
    `duplicate`: relayed before (a second copy of the same mail or Slack message)."""

    ticket: Ticket | None
    relayed: bool
    reason: str
    outbox_id: int | None = None
    duplicate: bool = False


def relay_agent_mail(
    session: Session,
    msg: InboundMessage,
    address: AgentAddress,
    verdict: Verdict,
    settings: Settings,
    digest: str,
) -> Relayed:
    """`digest` is the mail's dedupe hash: a second copy of it (another mailbox) is then a
    duplicate of the relayed message, and relayed once."""
    ticket = session.scalar(select(Ticket).where(Ticket.ref == address.ref))
    if ticket is None:
        return Relayed(None, False, f"sent to an agent-reply address naming no ticket ({address.ref})")
    sender = msg.sender_handle
    decision = decide_agent_mail(
        address,
        verdict=verdict,
        sender=sender,
        text=msg.text,
        is_agent=is_known_agent(session, sender),
        customer_addresses=_customer_addresses(ticket),
        ticket_status=ticket.status,
    )
    if not decision.relay:
        return Relayed(ticket, False, decision.reason)
    return _relay(session, ticket, msg, Author("email", sender, msg.sender_name), settings, decision, digest)


def notification_of_thread(session: Session, msg: InboundMessage) -> OutboxEntry | None:
    """The Slack notification whose thread `msg` was written in, if it is one."""
    thread_ts = msg.reply_fields.get("thread_ts")
    if msg.channel != "slack" or msg.event != EVENT_MESSAGE or not thread_ts or msg.from_bot or msg.from_us:
        return None
    candidates = session.scalars(
        select(OutboxEntry).where(
            OutboxEntry.kind == "notification",
            OutboxEntry.channel == "slack",
            OutboxEntry.external_id == thread_ts,
        )
    )
    channel = msg.reply_fields.get("channel", "")
    return next((e for e in candidates if e.fields.get("channel") == channel), None)


def relay_slack_thread(
    session: Session, msg: InboundMessage, notification: OutboxEntry, settings: Settings
) -> Relayed:
    """A reply in a notification's thread: the team's own channel, so its people are agents."""
    ticket = session.get(Ticket, notification.ticket_id) if notification.ticket_id else None
    if ticket is None:
        return Relayed(None, False, "a reply in the thread of a notification whose ticket is gone")
    if ticket.status == TicketStatus.CLOSED:
        return Relayed(ticket, False, "the ticket is closed: it opens again when the customer writes")
    text = _SLACK_MENTION.sub("", msg.text).strip()
    if not text:
        return Relayed(ticket, False, "no text to relay")
    msg = replace(msg, text=text)
    author = Author("slack", msg.sender_address, msg.sender_name)
    decision = RelayDecision(True, "reply in the notification's thread")
    return _relay(session, ticket, msg, author, settings, decision, None)


def _relay(
    session: Session,
    ticket: Ticket,
    msg: InboundMessage,
    author: Author,
    settings: Settings,
    decision: RelayDecision,
    digest: str | None,
) -> Relayed:
    # Exactly once per agent message, however many copies arrive (two mailboxes, Slack's
    # `message` and `app_mention` events for one post): the promise is keyed by its id.
    key = relayed_reply_key(msg.channel, msg.message_id) if msg.message_id else None
    if key and session.scalar(select(OutboxEntry.id).where(OutboxEntry.key == key)) is not None:
        return Relayed(ticket, False, f"already relayed ({key})", duplicate=True)
    try:
        # Where to answer is found before anything is written: a refusal leaves nothing.
        message, entry = add_agent_message(
            session,
            ticket,
            msg.text,
            internal=False,
            author=author,
            settings=settings,
            now=utcnow(),
            outbox_key=key,
        )
    except ReplyRefused as error:
        return Relayed(ticket, False, f"cannot be relayed: {error}")
    assert entry is not None
    if digest:
        message.content_hash = digest
    return Relayed(ticket, True, decision.reason, entry.id)
