"""The REST API's operations: tickets, their messages, replies and notes, and the document.

Every operation is declared with @operation (operations.py): route, scope, schemas and
answers in one place, which openapi.py turns into /api/v1/openapi.json.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask import Response, g, jsonify
from sqlalchemy import Select, and_, false, or_, select, union
from sqlalchemy.orm import selectinload

from mailbot.api import schemas
from mailbot.api.operations import bp, operation, problem
from mailbot.api.tokens import READ, WRITE
from mailbot.canned import CannedError, render_for
from mailbot.faq.satisfaction import build_satisfaction_request
from mailbot.pipeline.agent_reply import ReplyRefused
from mailbot.queue import enqueue_delivery
from mailbot.sla.store import load_config as load_sla_config
from mailbot.statuses import TicketStatus
from mailbot.store.models import Contact, ContactIdentity, Ticket
from mailbot.ticket_changes import Author, ChangeRefused, add_agent_message, apply_changes
from mailbot.ticket_handoff import HandoffRefused, HandoffRequest, hand_off
from mailbot.ticket_json import message_json, ticket_json
from mailbot.timeutil import as_utc, utcnow
from mailbot.web.store import db, runtime

log = logging.getLogger("mailbot.api")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOT_FOUND = {404: ("There is no ticket with this reference.", schemas.Problem)}


def _cursor(ticket: Ticket) -> str:
    """Where the next page starts: the last ticket's change time (microseconds) and id.

    Every string of this shape is a valid cursor (the document says so with a pattern):
    one beyond the last change simply starts after everything."""
    micros = (as_utc(ticket.updated_at) - EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{ticket.id}"


def _after_cursor(query: Select[Ticket], cursor: str) -> Select[Ticket]:
    micros, _, ticket_id = cursor.partition("-")
    try:
        updated_at = EPOCH + timedelta(microseconds=int(micros))
    except OverflowError:
        return query.where(false())  # after the end of time: nothing left
    return query.where(
        or_(Ticket.updated_at > updated_at, and_(Ticket.updated_at == updated_at, Ticket.id > int(ticket_id)))
    )


def _ticket_or_404(ref: str, *, children: bool = True) -> Ticket:
    query = select(Ticket).where(Ticket.ref == ref.strip().upper())
    if children:
        query = query.options(
            selectinload(Ticket.contact).selectinload(Contact.identities),
                selectinload(Ticket.messages),
                selectinload(Ticket.escalations),
        )
    ticket = db().scalar(query)
    if ticket is None:
        problem(404, "not_found", f"There is no ticket {ref}.")
    return ticket


def _filtered(query: Select[Ticket], filters: dict[str, Any]) -> Select[Ticket]:
    for column in ("status", "queue", "channel"):
        if column in filters:
            query = query.where(getattr(Ticket, column) == filters[column])
    if "contact" in filters:
        handle = filters["contact"].strip()
        contacts = union(
            select(Contact.id).where(Contact.email == handle.lower()),
            select(ContactIdentity.contact_id).where(ContactIdentity.handle.in_({handle, handle.lower()})),
        )
        query = query.where(Ticket.contact_id.in_(contacts.scalar_subquery()))
    if "updated_since" in filters:
        query = query.where(Ticket.updated_at >= filters["updated_since"].astimezone(UTC))
    return query


@operation(
    "get",
    "/api/v1/tickets",
    summary="List tickets",
    description="Oldest change first, so a client that pages through with `updated_since` and the "
    "cursor sees every change once. Each ticket comes with its messages.",
    scope=READ,
    query=schemas.TicketQuery,
    responses={200: ("A page of tickets.", schemas.TicketPage)},
)
def list_tickets(query: dict[str, Any]) -> Response:
    limit = query["limit"]
    select_tickets = _filtered(select(Ticket), query)
    if "cursor" in query:
        select_tickets = _after_cursor(select_tickets, query["cursor"])
    page = list(
        db().scalars(
            select_tickets.options(
                selectinload(Ticket.contact).selectinload(Contact.identities),
                selectinload(Ticket.messages),
                selectinload(Ticket.escalations),
            )
            .order_by(Ticket.updated_at, Ticket.id)
            .limit(limit + 1)
        )
    )
    more = len(page) > limit
    page = page[:limit]
    return jsonify(
        {"tickets": [ticket_json(t) for t in page], "next_cursor": _cursor(page[-1]) if more else None}
    )


@operation(
    "get",
    "/api/v1/tickets/{ref}",
    summary="One ticket",
    scope=READ,
    responses={200: ("The ticket with its messages.", schemas.TicketOut), **NOT_FOUND},
)
def get_ticket(ref: str) -> Response:
    return jsonify(ticket_json(_ticket_or_404(ref)))


@operation(
    "get",
    "/api/v1/tickets/{ref}/messages",
    summary="A ticket's messages",
    description="The customer's, automatic ones, agents' replies (`agent`) and internal notes (`note`), "
    "oldest first.",
    scope=READ,
    responses={200: ("The messages.", schemas.MessageList), **NOT_FOUND},
)
def list_messages(ref: str) -> Response:
    return jsonify({"messages": [message_json(m) for m in _ticket_or_404(ref).messages]})


@operation(
    "post",
    "/api/v1/tickets/{ref}/messages",
    summary="Reply to the customer, or add an internal note",
    description="A reply (`internal` false) is stored and sent to the customer once, on the channel "
    "they wrote on last: mail threaded under their last message with the reference in the subject, "
    "or in their chat conversation. The first reply is the ticket's `first_response_at`. A note "
    "(`internal` true) is only stored. With `canned`, the text is that canned response in the "
    "ticket's language with its placeholders filled (then `text`, if given, below it). A reply to a "
    "WhatsApp customer more than 24 hours after their last message goes as the channel's approved "
    "template; without one it is stored as `held`, not sent, with the reason on the ticket.",
    scope=WRITE,
    body=schemas.NewMessage,
    responses={
        201: ("The stored message.", schemas.MessageOut),
        **NOT_FOUND,
        409: (
            "The reply cannot be delivered (a closed ticket, no way to reach the customer), or "
            "there is no canned response of that name.",
            schemas.Problem,
        ),
    },
)
def create_message(ref: str, body: dict[str, Any]) -> tuple[Response, int]:
    ticket = _ticket_or_404(ref, children=False)
    token = g.api_token
    text = body.get("text", "")
    if "canned" in body:
        try:
            canned = render_for(
                db(),
                body["canned"],
                ticket,
                agent_name="",
                default_language=runtime().settings.default_language,
            )
        except CannedError as error:
            problem(409, "unknown_canned_response", str(error))
        text = f"{canned.rstrip()}\n\n{text}" if text else canned
    try:
        message, entry = add_agent_message(
            db(),
            ticket,
            text,
            internal=body["internal"],
            author=Author(type="api", value=token.name),
            settings=runtime().settings,
            now=utcnow(),
        )
    except ReplyRefused as error:
        db().rollback()
        problem(409, "cannot_reply", str(error))
    db().commit()
    if entry is not None:
        try:
            enqueue_delivery(runtime(), [entry.id])
        except (redis.ConnectionError, redis.TimeoutError) as error:
            # Committed, so promised: the workers' recovery finds the pending row.
            log.warning("reply %s stored; its delivery is left to recovery: %s", entry.key, error)
    return jsonify(message_json(message)), 201


@operation(
    "patch",
    "/api/v1/tickets/{ref}",
    summary="Change a ticket",
    description="Status, priority, queue, assignee, tags; fields left out stay as they are. A status "
    "follows open -> pending -> solved -> closed (any of the first three from each other, closed only "
    "from solved); the customer writing again reopens a ticket.",
    scope=WRITE,
    body=schemas.TicketPatch,
    responses={
        200: ("The ticket as it is now.", schemas.TicketOut),
        **NOT_FOUND,
        409: ("The ticket's status does not allow this change.", schemas.Problem),
    },
)
def update_ticket(ref: str, body: dict[str, Any]) -> Response:
    ticket = _ticket_or_404(ref)
    try:
        changed = apply_changes(ticket, body, utcnow(), load_sla_config(db()))
    except ChangeRefused as error:
        problem(409, "status_not_allowed", str(error))
    survey = None
    if "status" in changed and ticket.status == TicketStatus.SOLVED:
        survey = build_satisfaction_request(db(), ticket, runtime().settings)
    db().commit()
    if survey is not None:
        try:
            enqueue_delivery(runtime(), [survey.id])
        except (redis.ConnectionError, redis.TimeoutError) as error:
            log.warning("satisfaction question %s stored; left to recovery: %s", survey.key, error)
    return jsonify(ticket_json(ticket))


@operation(
    "post",
    "/api/v1/tickets/{ref}/handoff",
    summary="Hand the ticket to a specialist queue or person",
    description="The ticket's queue and assignee change; `note` is stored as an internal note; the "
    "customer is told once, in their language and on their channel, that their case is with a "
    "specialist (no queue or name is shown to them).",
    scope=WRITE,
    body=schemas.HandoffIn,
    responses={
        201: ("The hand-off.", schemas.HandoffOut),
        **NOT_FOUND,
        409: (
            "The hand-off cannot be made (a closed ticket, an unknown agent, already with them).",
            schemas.Problem,
        ),
    },
)
def create_handoff(ref: str, body: dict[str, Any]) -> tuple[Response, int]:
    ticket = _ticket_or_404(ref, children=False)
    try:
        outcome = hand_off(
            db(),
            ticket,
            HandoffRequest(queue=body.get("queue"), assignee=body.get("assignee"), note=body["note"]),
            author=Author(type="api", value=g.api_token.name),
            settings=runtime().settings,
            now=utcnow(),
        )
    except HandoffRefused as error:
        db().rollback()
        problem(409, "cannot_hand_off", str(error))
    db().commit()
    try:
        enqueue_delivery(runtime(), outcome.outbox_ids)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        log.warning("hand-off %s stored; its delivery is left to recovery: %s", outcome.handoff.id, error)
    handoff = outcome.handoff
    return jsonify(
        {
            "ref": ticket.ref,
            "from_queue": handoff.from_queue,
            "queue": handoff.to_queue,
            "from_assignee": handoff.from_assignee,
            "assignee": handoff.to_assignee,
            "note": handoff.note,
            "handed_by": handoff.handed_by,
            "at": as_utc(handoff.created_at).isoformat(),
            "customer_told": outcome.notice is not None,
            "not_told_reason": outcome.not_told,
        }
    ), 201


@bp.route("/openapi.json")
def openapi_document() -> Response:
    from mailbot.api.openapi import openapi_spec

    response = jsonify(openapi_spec())
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.after_request
def _no_store(response: Response) -> Response:
    # Tickets are customer data: no shared or browser cache keeps them.
    response.headers.setdefault("Cache-Control", "no-store")
    return response
