"""Every shape the REST API reads or writes, once: marshmallow schemas that validate the
requests and, through apispec, are the OpenAPI document's components.

The response schemas describe what mailbot/ticket_json.py builds (the same JSON as
`mailbot tickets list --json`); they forbid properties they do not name, so a field
added there without being described here fails the schemathesis run.

String fields refuse what the store cannot keep or a client must never be handed:
NUL (PostgreSQL refuses it in text) and control characters in one-line fields, by a
pattern the document shows too; lone surrogates (which no UTF-8 store can hold) by a
validator, because the Rust and ECMA regex engines that read the document reject a
pattern naming them.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from mailbot.message import SENDER_TYPES
from mailbot.statuses import TicketStatus
from mailbot.ticket_changes import PRIORITIES

# held: sent to an agent-reply address and not relayed (pipeline/relay.py says why).
MESSAGE_KINDS = ("customer", "auto_reply", "bounce", "callback", "agent", "note", "held")
STATUSES = tuple(s.value for s in TicketStatus)
MAX_PAGE = 100
DEFAULT_PAGE = 50
MAX_TEXT = 50_000
MAX_TAGS = 20

# One line of text: no control characters (C0 with NUL, DEL).
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# A message: line breaks and tabs welcome, no NUL, at least one character not a space.
MESSAGE_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"
# Where a page starts: the last ticket's change time in microseconds and its id (views.py).
CURSOR = r"^[0-9]{1,20}-[0-9]{1,18}$"
# A queue or a tag: a short name, as `mailbot delivery add QUEUE` takes it.
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
# A canned response's name and a queue a ticket is handed to, as canned.py and
# ticket_handoff.py take them.
CANNED_NAME = r"^[a-z0-9][a-z0-9_.-]*$"
QUEUE_NAME = r"^[a-z0-9][a-z0-9_-]*$"


def _no_surrogates(value: str) -> None:
    # JSON can spell one (a lone \ud800 escape); Python decodes it, no UTF-8 store can keep it.
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise ValidationError("Not valid Unicode text (a lone surrogate).")


class Text(fields.String):
    """A string that is valid Unicode text."""

    def __init__(self, *, validate: list[Any], **kwargs: Any) -> None:
        super().__init__(validate=[*validate, _no_surrogates], **kwargs)


class StrictBoolean(fields.Boolean):
    """true or false only: marshmallow's Boolean would take "yes", 1 or "0" as well."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a boolean: true or false.")
        return value


def require_one_of(data: dict[str, Any], names: tuple[str, ...]) -> None:
    """At least one of `names`: a schema's REQUIRE_ONE_OF, which openapi.py also writes into
    the document (as anyOf), so that what is checked here is what the document says."""
    if not any(name in data for name in names):
        raise ValidationError(f"give at least one of {', '.join(names)}", field_name=names[0])


def _one_line(**kwargs: Any) -> fields.String:
    return Text(validate=[validate.Length(min=1, max=320), validate.Regexp(ONE_LINE)], **kwargs)


# -- requests ------------------------------------------------------------------------


class TicketQuery(Schema):
    """Filters of GET /api/v1/tickets; all optional, combined with AND."""

    class Meta:
        unknown = EXCLUDE  # a client's extra query parameters are ignored, as is usual for GET

    status = fields.String(validate=validate.OneOf(STATUSES), metadata={"description": "Only this status."})
    queue = fields.String(
        validate=[validate.Length(min=1, max=100), validate.Regexp(NAME)],
        metadata={"description": "Only this queue."},
    )
    channel = fields.String(
        validate=[validate.Length(min=1, max=30), validate.Regexp(NAME)],
        metadata={"description": "Only tickets opened on this channel (`email`, `slack`, ...)."},
    )
    contact = _one_line(
        metadata={
            "description": "Only this customer's tickets: their e-mail address or any of their handles."
        }
    )
    updated_since = fields.AwareDateTime(
        format="iso",
        default_timezone=None,
        metadata={"description": "Only tickets changed at or after this time (RFC 3339)."},
    )
    cursor = fields.String(
        validate=validate.Regexp(CURSOR),
        metadata={"description": "`next_cursor` of the previous page."},
    )
    limit = fields.Integer(
        load_default=DEFAULT_PAGE,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"Tickets per page (default {DEFAULT_PAGE})."},
    )


class TicketPatch(Schema):
    """PATCH /api/v1/tickets/<ref>: the fields to change; absent fields stay as they are."""

    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={
            "description": "open, pending (waiting on the customer), solved, closed. Closed only from "
            "solved, and final for agents: the customer writing again reopens a ticket."
        },
    )
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    queue = fields.String(validate=[validate.Length(min=1, max=100), validate.Regexp(NAME)])
    assignee = _one_line(allow_none=True, metadata={"description": "Who has the ticket; null: nobody."})
    tags = fields.List(
        fields.String(validate=[validate.Length(min=1, max=50), validate.Regexp(NAME)]),
        validate=validate.Length(max=MAX_TAGS),
        metadata={
            "description": "The ticket's labels, each once, replacing the ones it had.",
            "uniqueItems": True,
        },
    )

    @validates_schema
    def _distinct_tags(self, data: dict[str, Any], **kwargs: Any) -> None:
        tags = data.get("tags")
        if tags is not None and len(set(tags)) != len(tags):
            raise ValidationError("each tag once", field_name="tags")


class NewMessage(Schema):
    """POST /api/v1/tickets/<ref>/messages: `text`, or `canned`, or both."""

    text = Text(
        validate=[validate.Length(min=1, max=MAX_TEXT), validate.Regexp(MESSAGE_TEXT)],
        metadata={"description": "What the agent writes, as plain text; with `canned`, added below it."},
    )
    canned = fields.String(
        validate=[validate.Length(min=1, max=100), validate.Regexp(CANNED_NAME)],
        metadata={
            "description": "The name of a canned response (`mailbot canned import`): its version in the "
            "ticket's language, placeholders filled from the ticket and customer, is the message's text."
        },
    )
    internal = StrictBoolean(
        load_default=False,
        metadata={"description": "true: an internal note the customer never sees; false: a reply to them."},
    )

    REQUIRE_ONE_OF = ("text", "canned")

    @validates_schema
    def _text_or_canned(self, data: dict[str, Any], **kwargs: Any) -> None:
        require_one_of(data, self.REQUIRE_ONE_OF)


class HandoffIn(Schema):
    """POST /api/v1/tickets/<ref>/handoff: at least one of `queue` and `assignee`."""

    queue = fields.String(
        validate=[validate.Length(min=1, max=100), validate.Regexp(QUEUE_NAME)],
        metadata={"description": "The specialist queue; left out: the ticket stays in its queue."},
    )
    assignee = _one_line(
        metadata={
            "description": "The specialist, a known agent's e-mail address; left out with a new "
            "queue: whoever of that queue takes it."
        }
    )
    note = Text(
        load_default="",
        validate=[validate.Length(max=10_000), validate.Regexp(r"^[^\x00]*$")],
        metadata={"description": "For the specialist: an internal note, never sent to the customer."},
    )

    REQUIRE_ONE_OF = ("queue", "assignee")

    @validates_schema
    def _queue_or_assignee(self, data: dict[str, Any], **kwargs: Any) -> None:
        require_one_of(data, self.REQUIRE_ONE_OF)


# -- responses (what ticket_json.py builds) ------------------------------------------


class IdentityOut(Schema):
    type = fields.String(required=True, validate=validate.OneOf(SENDER_TYPES))
    value = fields.String(required=True)


class ContactOut(Schema):
    name = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    identities = fields.List(
        fields.Nested(IdentityOut),
        required=True,
        metadata={"description": "Every identity of the contact, typed as messages' senders are."},
    )


class SenderOut(Schema):
    type = fields.String(required=True, validate=validate.OneOf(SENDER_TYPES))
    value = fields.String(required=True)
    name = fields.String(required=True)


class MessageOut(Schema):
    message_id = fields.String(required=True, allow_none=True)
    from_ = fields.String(required=True, data_key="from")
    subject = fields.String(required=True)
    text = fields.String(required=True)
    received_at = fields.DateTime(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(MESSAGE_KINDS),
        metadata={"description": "agent: a reply to the customer; note: internal, never sent."},
    )
    channel = fields.String(required=True)
    sender = fields.Nested(SenderOut, required=True)
    warnings = fields.List(fields.String(), required=True)
    forwarded_by = fields.String(required=True, allow_none=True)
    forward_note = fields.String(required=True)
    forwarded_from = fields.String(required=True, allow_none=True)
    thread_reason = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Why the message is on this ticket: the deciding signal and its evidence."},
    )
    thread_confidence = fields.Float(
        required=True,
        allow_none=True,
        validate=validate.Range(0, 1),
        metadata={"description": "How sure that decision was, 0 to 1."},
    )


class PriorTicketOut(Schema):
    ref = fields.String(required=True)
    status = fields.String(required=True)
    outcome = fields.String(required=True)
    channel = fields.String(required=True)
    subject = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class ContextOut(Schema):
    """Prior interaction context (pipeline/context.py), as at the ticket's opening."""

    prior_tickets = fields.List(fields.String(), required=True)
    open_tickets = fields.List(fields.String(), required=True)
    attributes = fields.Dict(
        required=True, metadata={"description": "Customer data: CSV import, HTTP lookup."}
    )
    last_tickets = fields.List(fields.Nested(PriorTicketOut), required=True)
    channels = fields.List(fields.String(), required=True)
    first_contact_at = fields.DateTime(required=True, allow_none=True)
    last_satisfaction = fields.Raw(required=True, allow_none=True)
    language = fields.String(required=True, allow_none=True)
    repeated_contact = fields.Boolean(required=True)
    attributes_pending = fields.Boolean(required=True)


class TriageOut(Schema):
    intent_cues = fields.List(fields.String(), required=True)
    urgency_cues = fields.List(fields.String(), required=True)
    priority_cues = fields.List(fields.String(), required=True)
    routing_reason = fields.String(required=True, allow_none=True)


class EscalationOut(Schema):
    level = fields.Integer(required=True, metadata={"description": "1 for the first step of the chain."})
    at = fields.DateTime(required=True, metadata={"description": "When the level was reached."})


class TicketOut(Schema):
    ref = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    subject = fields.String(required=True)
    channel = fields.String(required=True)
    contact = fields.Nested(ContactOut, required=True)
    language = fields.String(required=True)
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    created_at = fields.DateTime(required=True)
    acknowledged_at = fields.DateTime(required=True, allow_none=True)
    first_response_at = fields.DateTime(required=True, allow_none=True)
    assignee = fields.String(required=True, allow_none=True)
    queue = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    context = fields.Nested(ContextOut, required=True)
    intent = fields.String(required=True, allow_none=True, metadata={"description": "null before issue 9."})
    urgency = fields.String(required=True, allow_none=True)
    matched_rule = fields.String(
        required=True, allow_none=True, metadata={"description": "The first routing rule that matched."}
    )
    sla_due_at = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={"description": "First response due by the ticket's SLA policy (ISO 8601 with offset)."},
    )
    escalations = fields.List(fields.Nested(EscalationOut), required=True)
    triage = fields.Nested(TriageOut, required=True)
    suggested_faq = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Ids of the FAQ entries the acknowledgement suggested, best first."},
    )
    satisfaction_score = fields.Integer(
        required=True,
        allow_none=True,
        validate=validate.Range(min=1, max=5),
        metadata={"description": "The customer's answer to the satisfaction question (1 to 5), or null."},
    )
    messages = fields.List(fields.Nested(MessageOut), required=True)


class TicketPage(Schema):
    tickets = fields.List(fields.Nested(TicketOut), required=True)
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null: last."},
    )


class MessageList(Schema):
    messages = fields.List(fields.Nested(MessageOut), required=True)


class HandoffOut(Schema):
    """A hand-off as made: who had the ticket, who has it now, and whether the customer is told."""

    ref = fields.String(required=True)
    from_queue = fields.String(required=True)
    queue = fields.String(required=True)
    from_assignee = fields.String(required=True, allow_none=True)
    assignee = fields.String(required=True, allow_none=True)
    note = fields.String(required=True)
    handed_by = fields.String(required=True)
    at = fields.DateTime(required=True)
    customer_told = fields.Boolean(
        required=True,
        metadata={"description": "true: a notice in the customer's language is on its way, once."},
    )
    not_told_reason = fields.String(
        required=True, allow_none=True, metadata={"description": "Why the customer cannot be told."}
    )


class Problem(Schema):
    """Every error: a stable code and a sentence for a person."""

    error = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(metadata={"description": "Per field, what is wrong (validation errors)."})
