"""Tickets: a filtered list, and one ticket with its conversation and context."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import redis
from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from mailbot.canned import CannedError, all_responses, render_for
from mailbot.pipeline.agent_reply import ReplyRefused
from mailbot.queue import enqueue_delivery
from mailbot.split import SplitError, split_message
from mailbot.store.models import (
    Attachment,
    Contact,
    Inbound,
    Mailbox,
    Message,
    OutboxEntry,
    Ticket,
)
from mailbot.store.panel_models import User
from mailbot.ticket_changes import Author, add_agent_message
from mailbot.ticket_handoff import handoffs_of
from mailbot.timeutil import utcnow
from mailbot.web.store import db, runtime

bp = Blueprint("tickets", __name__)

PAGE_SIZE = 50
# The API takes the same at most (api/schemas.NewMessage).
MAX_REPLY_CHARS = 50_000


@dataclass(frozen=True)
class TicketFilters:
    q: str = ""
    status: str = ""
    channel: str = ""
    mailbox: str = ""
    language: str = ""
    priority: str = ""
    unacknowledged: bool = False

    @classmethod
    def from_args(cls) -> TicketFilters:
        args = request.args
        return cls(
            q=args.get("q", "").strip()[:200],
            status=args.get("status", ""),
            channel=args.get("channel", ""),
            mailbox=args.get("mailbox", ""),
            language=args.get("language", ""),
            priority=args.get("priority", ""),
            unacknowledged=args.get("unacknowledged") == "1",
        )

    def apply(self, query: Select[tuple[Ticket]]) -> Select[tuple[Ticket]]:
        if self.q:
            pattern = f"%{self.q}%"
            query = query.join(Contact, Ticket.contact_id == Contact.id).where(
                or_(
                    Ticket.ref.ilike(pattern),
                    Ticket.subject.ilike(pattern),
                    Contact.email.ilike(pattern),
                    Contact.name.ilike(pattern),
                )
            )
        for column, value in (
            (Ticket.status, self.status),
            (Ticket.channel, self.channel),
            (Ticket.language, self.language),
            (Ticket.priority, self.priority),
        ):
            if value:
                query = query.where(column == value)
        if self.mailbox.isdigit():
            query = query.where(Ticket.mailbox_id == int(self.mailbox))
        if self.unacknowledged:
            query = query.where(Ticket.acknowledged_at.is_(None))
        return query


def _distinct(column: InstrumentedAttribute[str]) -> list[str]:
    return [v for v in db().scalars(select(column).distinct().order_by(column)) if v]


@bp.route("/tickets")
def index() -> str:
    filters = TicketFilters.from_args()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = filters.apply(select(Ticket))
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    tickets = list(
        db().scalars(
            query.options(selectinload(Ticket.contact))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    return render_template(
        "panel/tickets.html",
        tickets=tickets,
        filters=filters,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        statuses=_distinct(Ticket.status),
        channels=_distinct(Ticket.channel),
        languages=_distinct(Ticket.language),
        priorities=_distinct(Ticket.priority),
        mailboxes=list(db().scalars(select(Mailbox).order_by(Mailbox.name))),
    )


@bp.route("/tickets/<ref>")
def show(ref: str) -> str:
    ticket = db().scalar(
        select(Ticket)
        .options(
            selectinload(Ticket.contact).selectinload(Contact.identities),
            selectinload(Ticket.messages).selectinload(Message.attachments),
        )
        .where(Ticket.ref == ref.strip().upper())
    )
    if ticket is None:
        abort(404, description=f"There is no ticket {ref}.")
    inbound_ids = [m.inbound_id for m in ticket.messages if m.inbound_id]
    inbound = (
        {row.id: row for row in db().scalars(select(Inbound).where(Inbound.id.in_(inbound_ids)))}
        if inbound_ids
        else {}
    )
    other_tickets = list(
        db().scalars(
            select(Ticket)
            .where(Ticket.contact_id == ticket.contact_id, Ticket.id != ticket.id)
            .order_by(Ticket.created_at.desc())
            .limit(10)
        )
    )
    outbox = list(
        db().scalars(select(OutboxEntry).where(OutboxEntry.ticket_id == ticket.id).order_by(OutboxEntry.id))
    )
    mailbox = db().get(Mailbox, ticket.mailbox_id) if ticket.mailbox_id else None
    reply_text, canned = "", request.args.get("canned", "")
    if canned:
        # The canned response filled in, for the agent to read and adapt before sending.
        try:
            reply_text = render_for(
                db(),
                canned,
                ticket,
                agent_name=g.user.email.partition("@")[0],
                default_language=runtime().settings.default_language,
            )
        except CannedError as error:
            flash(str(error), "error")
    return render_template(
        "panel/ticket.html",
        ticket=ticket,
        inbound=inbound,
        other_tickets=other_tickets,
        outbox=outbox,
        mailbox=mailbox,
        identities=sorted(ticket.contact.identities, key=lambda i: (i.channel, i.handle)),
        reply_text=reply_text,
        canned_names=sorted({r.name for r in all_responses(db())}),
        handoffs=handoffs_of(db(), ticket.id),
        agents=list(db().scalars(select(User.email).order_by(User.email))),
    )


@bp.route("/tickets/<ref>/messages", methods=["POST"])
def reply(ref: str) -> ResponseReturnValue:
    """The reply box: an answer to the customer through the outbox, or an internal note."""
    ticket = db().scalar(select(Ticket).where(Ticket.ref == ref.strip().upper()))
    if ticket is None:
        abort(404, description=f"There is no ticket {ref}.")
    text = request.form.get("text", "").replace("\r\n", "\n")
    internal = request.form.get("internal") == "1"
    back = redirect(url_for("tickets.show", ref=ticket.ref))
    if not text.strip() or len(text) > MAX_REPLY_CHARS or "\x00" in text:
        flash(f"Write the reply first (at most {MAX_REPLY_CHARS:,} characters).", "error")
        return back
    user = g.user
    try:
        message, entry = add_agent_message(
            db(),
            ticket,
            text,
            internal=internal,
            author=Author("panel", user.email, user.email.partition("@")[0]),
            settings=runtime().settings,
            now=utcnow(),
        )
    except ReplyRefused as error:
        db().rollback()
        flash(f"Not sent: {error}.", "error")
        return back
    db().commit()
    if entry is not None:
        try:
            enqueue_delivery(runtime(), [entry.id])
        except (redis.ConnectionError, redis.TimeoutError):
            pass  # committed, so promised: the workers' recovery finds the pending row
    if message.kind == "held":
        flash(f"Kept on the ticket, not sent: {message.reason}.", "error")
        return back
    flash("Note added." if internal else "Reply sent to the customer.", "info")
    return back


@bp.route("/attachments/<int:attachment_id>")
def attachment(attachment_id: int) -> Response:
    found = db().get(Attachment, attachment_id)
    if found is None or found.data is None:
        abort(404)
    # Always a download of opaque bytes: an attached .html or .svg opened inline on our
    # origin would run the sender's script with the agent's session.
    response = Response(found.data, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = _attachment_disposition(found.filename)
    return response


def _attachment_disposition(filename: str) -> str:
    ascii_name = (
        "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
        or "attachment"
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@bp.route("/tickets/<ref>/split", methods=["POST"])
def split(ref: str) -> ResponseReturnValue:
    """The message into a new ticket (mailbot/split.py); no acknowledgement is sent."""
    try:
        new = split_message(db(), ref, request.form.get("message_id", ""))
    except SplitError as error:
        db().rollback()
        flash(str(error), "error")
        return redirect(url_for("tickets.show", ref=ref))
    db().commit()
    flash(f"The message is now ticket {new.ref}.", "ok")
    return redirect(url_for("tickets.show", ref=new.ref))
