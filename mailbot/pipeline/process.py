"""The pipeline for one stored inbound message: normalise, classify, identify, thread or
dedupe, enrich, file into a ticket and promise an acknowledgement, in one transaction.

Idempotent: a message whose status is no longer `received` is left alone, so running
the job twice (a retry, a recovered job, two workers) changes nothing the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session

from mailbot.channels import load_config
from mailbot.config import Settings
from mailbot.faq.suggestions import suggest_for_ticket
from mailbot.mail.parse import UnparseableMessage
from mailbot.mailboxes import mailbox_of
from mailbot.message import EVENT_DELETE, EVENT_EDIT, InboundMessage
from mailbot.observability.logs import add_log_fields, log_fields
from mailbot.outbox import mark_bounced
from mailbot.phones import region_for
from mailbot.pipeline.acknowledge import AckDecision, build_ack, decide_ack
from mailbot.pipeline.chat_ack import build_chat_ack
from mailbot.pipeline.chunk_reads import reads_of
from mailbot.pipeline.classify import AUTO_REPLY, BOUNCE, OWN_ECHO, PLATFORM_EVENT, Verdict, classify
from mailbot.pipeline.conversation import find_conversation
from mailbot.pipeline.crosschannel import CROSS_CHANNEL, CrossChannelDecision, find_cross_channel
from mailbot.pipeline.dedupe import content_hash, find_duplicate, load_seen, window_start
from mailbot.pipeline.enrich import enrich
from mailbot.pipeline.identify import KnownContact, find_contact, identify
from mailbot.pipeline.normalize import domain_of, forwarded_origin_of
from mailbot.pipeline.normalizers import NormalizeSettings, normalize_inbound
from mailbot.pipeline.notify import build_notifications
from mailbot.pipeline.ratecap import ack_cap_reason, burst_reason
from mailbot.pipeline.refs import new_ref
from mailbot.pipeline.relay import (
    HELD,
    Relayed,
    agent_address_of,
    notification_of_thread,
    relay_agent_mail,
    relay_slack_thread,
)
from mailbot.pipeline.returned import own_message_ids, returned_entry, ticket_of_returned
from mailbot.pipeline.subjects import normalize_subject
from mailbot.pipeline.thread import SIGNAL_CONFIDENCE, ThreadMatch, find_thread
from mailbot.pipeline.triage_ticket import triage_ticket
from mailbot.runtime import Runtime
from mailbot.sla.due import hours_until
from mailbot.statuses import InboundStatus, TicketStatus
from mailbot.store.id_pool import assign_id
from mailbot.store.models import Alert, Attachment, Inbound, Mailbox, Message, Ticket
from mailbot.store.read_once import reads_kept
from mailbot.timeutil import as_utc, utcnow
from webhooks import ChannelConfig, UnreadableEvent

log = logging.getLogger("mailbot.pipeline")

# A message that has crashed the pipeline this many times is quarantined, so one
# poisonous message cannot stall its queue.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    inbound_id: int
    status: str  # processed | duplicate | ignored | quarantined | skipped | failed
    kind: str | None = None
    ticket_ref: str | None = None
    reason: str = ""
    outbox_ids: tuple[int, ...] = field(default_factory=tuple)
    # Notifications to agents: delivered by a job of their own, so a slow target never
    # holds back the acknowledgement (jobs.py).
    notify_ids: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Addresses:
    """Our own addresses and staff domains, read from the configured mailboxes."""

    own: frozenset[str]
    staff_domains: frozenset[str]

    @classmethod
    def load(cls, session: Session) -> Addresses:
        own = frozenset(a.lower() for a in session.scalars(select(Mailbox.address)))
        return cls(own=own, staff_domains=frozenset(domain_of(a) for a in own))


def normalize_settings(settings: Settings, addresses: Addresses) -> NormalizeSettings:
    """What normalising needs of the settings: one place, for the one-by-one and batch paths."""
    return NormalizeSettings(
        staff_domains=addresses.staff_domains,
        default_language=settings.default_language,
        max_attachment_bytes=settings.max_attachment_bytes,
        limits=settings.limits,
    )


def process_inbound(runtime: Runtime, inbound_id: int, addresses: Addresses | None = None) -> Outcome:
    # What filing learns for the log (the channel, the ticket) ends with this message, also
    # when it is called outside any other log block (tests, the batch path's careful rows).
    with log_fields(inbound_id=inbound_id):
        return _process_inbound(runtime, inbound_id, addresses)


def _process_inbound(runtime: Runtime, inbound_id: int, addresses: Addresses | None) -> Outcome:
    settings = runtime.settings
    now = utcnow()
    lease = timedelta(seconds=settings.processing_lease_seconds)
    with runtime.sessions.begin() as session:
        # One statement takes the message: still waiting, and nobody else on it right now
        # (a recovered duplicate job; if that worker died, the lease runs out and recovery
        # brings the message back). The attempt is counted before the work, in its own
        # commit: a message that kills the worker every time still reaches MAX_ATTEMPTS.
        taken = session.execute(
            update(Inbound)
            .where(
                Inbound.id == inbound_id,
                Inbound.status == InboundStatus.RECEIVED,
                or_(Inbound.processing_started_at.is_(None), Inbound.processing_started_at <= now - lease),
            )
            .values(processing_started_at=now, attempts=Inbound.attempts + 1)
            .returning(Inbound.attempts, Inbound.raw, Inbound.error, Inbound.channel, Inbound.channel_id)
            .execution_options(synchronize_session=False)
        ).first()
        if taken is None:
            return Outcome(inbound_id, "skipped")
        attempts, raw, last_error, channel_type, channel_id = taken
        add_log_fields(inbound_id=inbound_id, channel=channel_type)
        if attempts > MAX_ATTEMPTS:
            inbound = session.get(Inbound, inbound_id)
            assert inbound is not None
            _quarantine(inbound, last_error or "crashed the pipeline repeatedly")
            return Outcome(inbound_id, "quarantined", reason=inbound.error or "")
        if addresses is None:
            addresses = Addresses.load(session)
        channel = load_config(session, channel_id, settings.secret_key) if channel_id else None
    try:
        msg = normalize_inbound(raw, channel_type, channel, normalize_settings(settings, addresses))
    except (UnparseableMessage, UnreadableEvent) as error:
        return record_quarantine(runtime, inbound_id, f"unparseable: {error}")
    except Exception as error:  # a parser bug must not stop the queue either
        log.exception("inbound %s: parser crashed", inbound_id)
        return record_failure(runtime, inbound_id, f"parser crashed: {error!r}")
    try:
        with runtime.sessions.begin() as session, reads_kept(session):
            _serialise_sender(session, msg)
            inbound = session.get(Inbound, inbound_id, with_for_update=True)
            if inbound is None or inbound.status != InboundStatus.RECEIVED:
                return Outcome(inbound_id, "skipped")
            outcome = file_message(session, runtime, inbound, msg, addresses, channel)
    except Exception as error:
        log.exception("inbound %s: filing failed", inbound_id)
        return record_failure(runtime, inbound_id, f"{type(error).__name__}: {error}")
    add_log_fields(ticket_ref=outcome.ticket_ref)
    log.info(
        "inbound %s: %s %s ticket=%s (%s)",
        inbound_id,
        outcome.status,
        outcome.kind,
        outcome.ticket_ref,
        outcome.reason,
    )
    return outcome


def _serialise_sender(session: Session, msg: InboundMessage) -> None:
    """One sender's messages are filed one at a time, so two workers cannot both open a
    ticket for the same matter. SQLite already runs one write transaction at a time
    (BEGIN IMMEDIATE, store/db.py); PostgreSQL gets a transaction-scoped advisory lock,
    released by the commit or by the connection dying with its worker."""
    if session.get_bind().dialect.name == "postgresql":
        key = sender_lock_key(msg)
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def sender_lock_key(msg: InboundMessage) -> str:
    """What one sender's messages are serialised on (here and in batch.py)."""
    return f"{msg.channel}:{msg.sender_address}"


def file_message(
    session: Session,
    runtime: Runtime,
    inbound: Inbound,
    msg: InboundMessage,
    addresses: Addresses,
    channel: ChannelConfig | None = None,
) -> Outcome:
    settings = runtime.settings
    now = utcnow()
    verdict = classify(msg, addresses.own, own_message_ids(session, msg))
    if verdict.kind == OWN_ECHO:
        _record(inbound, InboundStatus.IGNORED, verdict, None, now)
        return Outcome(inbound.id, "ignored", verdict.kind, reason=verdict.reason)
    # An agent answering in a notification's Slack thread: not addressed to the bot, and
    # no customer's message either.
    notification = notification_of_thread(session, msg)
    if notification is not None:
        relayed = relay_slack_thread(session, msg, notification, settings)
        return _file_agent_answer(session, inbound, msg, verdict, relayed, content_hash(msg), now)
    if verdict.kind == PLATFORM_EVENT:
        ref = _apply_platform_event(session, inbound, msg, now)
        _record(
            inbound, InboundStatus.IGNORED, verdict, inbound.ticket_id, now
        )  # the edited message's ticket
        return Outcome(inbound.id, "ignored", verdict.kind, ref, verdict.reason)

    digest = content_hash(msg)
    since = window_start(now, settings.duplicate_window_seconds)
    duplicate = find_duplicate(msg, digest, load_seen(session, msg, digest, since), since)
    if duplicate is not None:
        _record(inbound, InboundStatus.DUPLICATE, verdict, duplicate.ticket_id, now)
        return Outcome(
            inbound.id, "duplicate", verdict.kind, duplicate.ticket_ref, "same message seen before"
        )

    # The signed agent-reply address decides, before any threading signal is read.
    agent_address = agent_address_of(msg, settings.secret_key) if msg.channel == "email" else None
    if agent_address is not None and verdict.kind != BOUNCE:
        relayed = relay_agent_mail(session, msg, agent_address, verdict, settings, digest)
        return _file_agent_answer(session, inbound, msg, verdict, relayed, digest, now)

    filed: _Filed | None
    if verdict.kind == BOUNCE:
        filed = _ticket_of_bounce(session, msg, runtime)
    elif verdict.kind == AUTO_REPLY:
        # A complaint report carries the message complained of: its ticket first.
        returned = ticket_of_returned(session, msg, settings.secret_key)
        if returned is not None:
            filed = _Filed(returned.id, returned.ref)
        else:
            match = find_thread(session, msg, find_contact(session, msg), settings.secret_key, AUTO_REPLY)
            filed = _Filed(match.ticket.id, match.ticket.ref) if match else None
    else:
        return _file_customer_message(
            session, runtime, inbound, msg, verdict, digest, addresses, now, channel
        )

    if filed is not None:
        _attach(session, filed.id, inbound, msg, verdict.kind, verdict.reason, digest)
    _record(inbound, InboundStatus.PROCESSED, verdict, filed.id if filed else None, now)
    return Outcome(inbound.id, "processed", verdict.kind, filed.ref if filed else None, verdict.reason)


@dataclass(frozen=True)
class _Filed:
    """The ticket a message was filed on."""

    id: int
    ref: str


def _file_agent_answer(
    session: Session,
    inbound: Inbound,
    msg: InboundMessage,
    verdict: Verdict,
    relayed: Relayed,
    digest: str,
    now: datetime,
) -> Outcome:
    """An agent's answer: relayed (the agent message and its outbox row are written), or
    held on the ticket it names with the reason. Never a ticket, never acknowledged."""
    ticket = relayed.ticket
    if relayed.duplicate and ticket is not None:
        _record(inbound, InboundStatus.DUPLICATE, verdict, ticket.id, now)
        return Outcome(inbound.id, "duplicate", verdict.kind, ticket.ref, relayed.reason)
    if not relayed.relayed and ticket is not None:
        _attach(session, ticket.id, inbound, msg, HELD, relayed.reason, digest)
        log.warning("inbound %s held on %s: %s", inbound.id, ticket.ref, relayed.reason)
    kind = "agent" if relayed.relayed else HELD
    status = InboundStatus.PROCESSED if ticket is not None else InboundStatus.IGNORED
    _record(
        inbound,
        status,
        Verdict(kind, relayed.reason, "agent_reply_address"),
        ticket.id if ticket else None,
        now,
    )
    return Outcome(
        inbound.id,
        "processed" if ticket is not None else "ignored",
        kind,
        ticket.ref if ticket else None,
        relayed.reason,
        (relayed.outbox_id,) if relayed.outbox_id else (),
    )


def _record(inbound: Inbound, status: str, verdict: Verdict, ticket_id: int | None, now: datetime) -> None:
    """What became of the inbound message. Set once, after the last query of the filing,
    so the row is written in one UPDATE at commit rather than once per autoflush."""
    inbound.status = status
    inbound.processed_at = now
    inbound.error = None
    inbound.verdict = verdict.kind
    inbound.verdict_reason = verdict.reason
    inbound.ticket_id = ticket_id


def _file_customer_message(
    session: Session,
    runtime: Runtime,
    inbound: Inbound,
    msg: InboundMessage,
    verdict: Verdict,
    digest: str,
    addresses: Addresses,
    now: datetime,
    channel: ChannelConfig | None = None,
) -> Outcome:
    settings = runtime.settings
    mailbox = mailbox_of(session, inbound.mailbox_id)
    identified = identify(session, msg, _phone_region(settings, channel, mailbox))
    contact = identified.contact
    chunk = reads_of(session)
    if chunk is not None and chunk.contact_written(contact.id):
        session.flush()  # its tickets are read from the store, some without autoflush (triage)
    hold = burst_reason(session, msg.sender_address, settings, now)
    # A form submission opens the ticket whose reference its thank-you page showed.
    match = None if msg.reserved_ref else _find_ticket(session, msg, contact, settings.secret_key)
    cross: CrossChannelDecision | None = None
    if match is None and not msg.reserved_ref:
        cross = find_cross_channel(
            session,
            msg,
            contact.id,
            now,
            timedelta(seconds=settings.cross_channel_window_seconds),
            settings.cross_channel_similarity,
            first_contact=contact.created,
        )
        if cross.ticket is not None:
            match = ThreadMatch(cross.ticket, CROSS_CHANNEL)
    joined = cross is not None and cross.ticket is not None
    thread_reason, thread_confidence = _thread_decision(match, cross, identified.plan.linked_by)
    ticket: Ticket | None = None  # loaded only when it is new or an acknowledgement needs it
    response_hours = 0
    if match is None:
        enrichment = enrich(msg, now)
        ticket = Ticket(
            ref=msg.reserved_ref or unused_ref(session),
            subject=msg.subject,
            normalized_subject=normalize_subject(msg.subject),
            channel=msg.channel,
            contact_id=contact.id,
            mailbox_id=inbound.mailbox_id,
            support_address=_support_address(msg, addresses, mailbox) if msg.channel == "email" else None,
            language=msg.language or settings.default_language,
            priority=enrichment.priority,
            urgency_cues=", ".join(enrichment.urgency_cues),
            held_for_review=hold is not None,
            hold_reason=hold,
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        # Prior context, customer data, intent, priority, routing rules, the SLA due time
        # and the self-service help, decided before the ticket is written: one INSERT with
        # all of it. None of their reads needs the new ticket's row.
        with session.no_autoflush:
            triage_ticket(
                session, ticket, msg, settings, now, new_ticket=True, mailbox=mailbox, contact=contact
            )
            # What the acknowledgement promises: the time left until the ticket's due time.
            response_hours = hours_until(ticket.first_response_due_at, now)
            # After triage: the intent decides whether self-service helps at all.
            suggest_for_ticket(session, ticket, msg, settings.faq_min_score)
        assign_id(session, ticket)
        if hold:
            log.warning("ticket %s held for review: %s", ticket.ref, hold)
            session.add(
                Alert(kind="sender_held", mailbox_id=inbound.mailbox_id, detail=f"{ticket.ref}: {hold}")
            )
        filed = _Filed(ticket.id, ticket.ref)
        reason = "new ticket"
    else:
        filed = _Filed(match.ticket.id, match.ticket.ref)
        reason = f"threaded by {match.reason}"
        # Pending, solved or closed: the customer writing again reopens it. The ticket's
        # row is stored (it was found by a query), so nothing needs flushing first.
        with session.no_autoflush:
            session.execute(
                update(Ticket)
                .where(Ticket.id == filed.id)
                .values(updated_at=now, status=TicketStatus.OPEN)
                .execution_options(synchronize_session=False)
            )
    attached = _attach(
        session,
        filed.id,
        inbound,
        msg,
        "callback" if msg.request_kind == "callback" else "customer",
        reason,
        digest,
        thread_reason,
        thread_confidence,
    )
    # Their reads never need what triage writes on the ticket: without autoflush, the
    # ticket's changes go out in one UPDATE with the next write instead of one per read.
    with session.no_autoflush:
        if match is not None and (joined_ticket := session.get(Ticket, filed.id)) is not None:
            triage_ticket(
                session, joined_ticket, msg, settings, now, new_ticket=False, mailbox=mailbox, contact=contact
            )
            response_hours = hours_until(joined_ticket.first_response_due_at, now)
        cap = (
            ack_cap_reason(session, msg.sender_address, ticket.normalized_subject, settings, now)
            if ticket is not None
            else None
        )
    new_ticket = match is None
    decision = decide_ack(
        kind="customer",
        # A public post is answered in public every time (once per post): the
        # customer's audience sees that the case is being handled.
        # A message that joined, from another channel, a ticket the customer already has
        # is answered there once, naming it (crosschannel.py).
        new_ticket=new_ticket or msg.public or joined,
        may_acknowledge=inbound.may_acknowledge,
        hold_reason=hold,
        cap_reason=cap,
    )
    outbox_ids: tuple[int, ...] = ()
    if decision.send and ticket is None:
        # A public post is answered on the open ticket it joined: load that one now.
        ticket = session.get(Ticket, filed.id)
    if decision.send and ticket is not None and msg.channel == "form":
        # A form's thank-you page was its acknowledgement; a visitor who gave an e-mail
        # address gets it by mail too when the form names a mailbox.
        decision = AckDecision(False, "form: the thank-you page named the ticket")
        if msg.sender_type == "email" and mailbox is not None:
            entry = build_ack(
                session,
                ticket,
                msg,
                support_address=mailbox.address,
                secret_key=settings.secret_key,
                default_language=(channel.language if channel else None) or settings.default_language,
                response_hours=response_hours,
                public_url=settings.public_url,
            )
            entry.channel = "email"
            session.add(entry)
            outbox_ids = (assign_id(session, entry),)
            decision = AckDecision(True, "form: acknowledged by mail too")
    elif decision.send and ticket is not None and msg.channel != "email":
        entry = build_chat_ack(
            session,
            ticket,
            msg,
            channel_id=channel.id if channel else None,
            secret_key=settings.secret_key,
            default_language=(channel.language if channel else None) or settings.default_language,
            response_hours=response_hours,
            existing=not new_ticket,
            joined=joined,
        )
        session.add(entry)
        outbox_ids = (assign_id(session, entry),)
    elif decision.send and ticket is not None:
        entry = build_ack(
            session,
            ticket,
            msg,
            support_address=ticket.support_address or (mailbox.address if mailbox else ""),
            secret_key=settings.secret_key,
            default_language=(mailbox.default_language if mailbox else None) or settings.default_language,
            response_hours=response_hours,
            joined=joined,
            public_url=settings.public_url,
        )
        # Answered from the mailbox the mail came in on (a ticket opened on another
        # channel has none of its own).
        entry.mailbox_id = inbound.mailbox_id or entry.mailbox_id
        session.add(entry)
        outbox_ids = (assign_id(session, entry),)
    notify_ids: tuple[int, ...] = ()
    # History (mail from before the mailbox was added) and a held burst are not news.
    if inbound.may_acknowledge and hold is None:
        notified = ticket or session.get(Ticket, filed.id)
        assert notified is not None
        entries = build_notifications(session, notified, attached, secret_key=settings.secret_key)
        if entries:
            session.add_all(entries)
            notify_ids = tuple(assign_id(session, e) for e in entries)
    if chunk is not None:
        chunk.filed_on(contact.id, *([match.ticket.contact_id] if match is not None else []))
    _record(inbound, InboundStatus.PROCESSED, verdict, filed.id, now)
    return Outcome(
        inbound.id,
        "processed",
        "customer",
        filed.ref,
        f"{reason}; ack: {decision.reason}",
        outbox_ids,
        notify_ids,
    )


def _find_ticket(
    session: Session, msg: InboundMessage, contact: KnownContact, secret_key: str
) -> ThreadMatch | None:
    return find_conversation(session, msg, contact) or find_thread(session, msg, contact, secret_key)


def _thread_decision(
    match: ThreadMatch | None, cross: CrossChannelDecision | None, linked_by: str
) -> tuple[str, float]:
    """Why the message is on its ticket, with the signals, and how sure that is."""
    if cross is not None and match is not None and match.reason == CROSS_CHANNEL:
        reason, confidence = cross.reason, cross.confidence
    elif cross is not None:
        reason, confidence = f"new ticket: {cross.reason}", cross.confidence
    elif match is not None:
        reason, confidence = match.reason, SIGNAL_CONFIDENCE.get(match.reason, 1.0)
    else:
        reason, confidence = "new ticket: the reference a form showed", 1.0
    if linked_by:
        reason += f"; contact linked by {linked_by.replace(':', ' ', 1)}"
    return reason, confidence


def _phone_region(settings: Settings, channel: ChannelConfig | None, mailbox: Mailbox | None) -> str:
    """Where a number without country code is read: the channel's or mailbox's language,
    else the configured region, else the default language's."""
    fallback = settings.default_phone_region or region_for(settings.default_language, "GB")
    language = (channel.language if channel else None) or (mailbox.default_language if mailbox else None)
    return region_for(language, fallback)


def _apply_platform_event(
    session: Session, inbound: Inbound, msg: InboundMessage, now: datetime
) -> str | None:
    """An edit or a deletion annotates the message it concerns; nothing new is opened."""
    if msg.event not in (EVENT_EDIT, EVENT_DELETE) or not msg.target_message_id:
        return None
    message = session.scalar(
        select(Message).where(
            Message.channel == msg.channel, Message.internet_message_id == msg.target_message_id
        )
    )
    if message is None:
        return None
    if msg.event == EVENT_EDIT:
        message.text = msg.text
        message.edited_at = now
    else:
        message.deleted_at = now
    inbound.ticket_id = message.ticket_id
    ticket = session.get(Ticket, message.ticket_id)
    return ticket.ref if ticket else None


def unused_ref(session: Session) -> str:
    chunk = reads_of(session)
    if chunk is not None and (ref := chunk.next_ref()) is not None:
        return ref
    # 32^6 refs: a collision is rare but certain over a busy year; never fail on one.
    while True:
        ref = new_ref()
        if session.scalar(select(Ticket.id).where(Ticket.ref == ref)) is None:
            return ref


def _ticket_of_bounce(session: Session, msg: InboundMessage, runtime: Runtime) -> _Filed | None:
    """A bounce of one of our messages marks it failed and lands on its ticket."""
    entry = returned_entry(session, msg)
    if entry is not None:
        mark_bounced(entry, msg.subject)
    ticket = ticket_of_returned(session, msg, runtime.settings.secret_key, entry)
    if ticket is not None:
        return _Filed(ticket.id, ticket.ref)
    match = find_thread(session, msg, None, runtime.settings.secret_key, BOUNCE)
    return _Filed(match.ticket.id, match.ticket.ref) if match else None


def _support_address(msg: InboundMessage, addresses: Addresses, mailbox: Mailbox | None) -> str:
    """The support address the customer wrote to, when an alias forwards into the mailbox."""
    for address in msg.recipients:
        if "+" in address.partition("@")[0]:
            continue
        if address in addresses.own or domain_of(address) in addresses.staff_domains:
            return address
    return mailbox.address if mailbox else (next(iter(sorted(addresses.own)), ""))


def _attach(
    session: Session,
    ticket_id: int,
    inbound: Inbound,
    msg: InboundMessage,
    kind: str,
    reason: str,
    digest: str,
    thread_reason: str | None = None,
    thread_confidence: float | None = None,
) -> Message:
    message = Message(
        ticket_id=ticket_id,
        inbound_id=inbound.id,
        channel=msg.channel,
        internet_message_id=msg.message_id,
        kind=kind,
        reason=reason,
        sender_type=msg.sender_type,
        from_address=msg.sender_handle,
        from_name=msg.sender_name,
        conversation_key=msg.conversation_key or None,
        subject=msg.subject,
        text=msg.text,
        quoted_text=msg.quoted_text,
        html=msg.html,
        content_hash=digest,
        received_at=as_utc(inbound.arrived_at),
        forwarded_by=msg.forwarded_by,
        forward_note=msg.forward_note or None,
        forwarded_from=origin.address if (origin := forwarded_origin_of(msg)) else None,
        warnings=msg.warnings or None,
        thread_reason=thread_reason,
        thread_confidence=thread_confidence,
    )
    session.add(message)
    if msg.attachments:
        assign_id(session, message)  # their rows need it
    for part in msg.attachments:
        session.add(
            Attachment(
                message_id=message.id,
                filename=part.filename,
                content_type=part.content_type,
                size=part.size,
                data=part.data,
                reference=part.reference,
            )
        )
    return message


def _quarantine(inbound: Inbound, error: str) -> None:
    inbound.status = InboundStatus.QUARANTINED
    inbound.error = error
    inbound.processed_at = utcnow()


def record_quarantine(runtime: Runtime, inbound_id: int, error: str) -> Outcome:
    log.warning("inbound %s quarantined: %s", inbound_id, error)
    with runtime.sessions.begin() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is not None and inbound.status == InboundStatus.RECEIVED:
            _quarantine(inbound, error)
    return Outcome(inbound_id, "quarantined", reason=error)


def record_failure(runtime: Runtime, inbound_id: int, error: str) -> Outcome:
    with runtime.sessions.begin() as session:
        inbound = session.get(Inbound, inbound_id)
        if inbound is None or inbound.status != InboundStatus.RECEIVED:
            return Outcome(inbound_id, "skipped")
        inbound.error = error
        inbound.processing_started_at = None  # this attempt is over: a retry may start at once
        if inbound.attempts >= MAX_ATTEMPTS:
            _quarantine(inbound, error)
            return Outcome(inbound_id, "quarantined", reason=error)
    return Outcome(inbound_id, "failed", reason=error)
