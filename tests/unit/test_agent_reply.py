"""Where an agent's reply goes and how it is threaded: decided from the customer's last
message as the normaliser reads it, without a store."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mailbot.message import InboundMessage
from mailbot.pipeline.agent_reply import (
    REFERENCES_KEPT,
    ReplyRefused,
    ReplyTarget,
    build_agent_reply,
    reply_message_id,
    reply_subject,
    target_of,
)
from mailbot.pipeline.normalize import normalize_email
from mailbot.pipeline.refs import ref_from_reply_address
from mailbot.store.models import Ticket
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import channel_config
from webhooks.form import normalize as normalize_form

SECRET = "unit-secret"


def _mail(**headers: str) -> InboundMessage:
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return normalize_email(
        customer_mail("last@mail.gmail.test", extra_headers=extra),
        staff_domains=frozenset({"acme.test"}),
        default_language="en",
        max_attachment_bytes=0,
    )


def _target(msg: InboundMessage, **overrides: object) -> ReplyTarget:
    kwargs: dict[str, object] = {"mailbox_id": 3, "support_address": "support@acme.test", "channel_id": None}
    return target_of(msg, **{**kwargs, **overrides})  # type: ignore[arg-type]


def test_mail_is_threaded_under_the_customers_message_and_its_chain() -> None:
    target = _target(_mail(**{"In-Reply-To": "<a@x>", "References": "<root@x> <a@x>"}))
    assert target == ReplyTarget(
        channel="email",
        to_address="ana.garcia@gmail.test",
        mailbox_id=3,
        support_address="support@acme.test",
        in_reply_to="last@mail.gmail.test",
        references=("root@x", "a@x", "last@mail.gmail.test"),
    )


def test_a_long_chain_keeps_its_newest_references() -> None:
    chain = " ".join(f"<m{i}@x>" for i in range(30))
    target = _target(_mail(References=chain))
    assert len(target.references) == REFERENCES_KEPT
    assert target.references[-1] == "last@mail.gmail.test" and target.references[-2] == "m29@x"


def test_mail_without_a_mailbox_cannot_be_sent() -> None:
    with pytest.raises(ReplyRefused, match="mailbox"):
        _target(_mail(), mailbox_id=None)


def _form(**fields: str) -> InboundMessage:
    # As web/forms.py stores a submission.
    stored = {
        "kind": "contact",
        "name": "Lucía",
        "message": "¿Dónde está?",
        "submission_id": "s1",
        "ref": "MB-7K3Q9P",
        "submitted_at": "2026-11-23T10:00:00+00:00",
    }
    payload = json.dumps({**stored, **fields}).encode()
    return normalize_form(payload, channel_config("form", name="web"))


def test_a_form_with_an_address_is_answered_by_mail_without_threading_headers() -> None:
    target = _target(_form(email="lucia@correo.test"))
    assert (target.channel, target.to_address, target.in_reply_to, target.references) == (
        "email",
        "lucia@correo.test",
        None,  # a form submission's id is no Message-ID
        (),
    )


def test_a_form_with_only_a_phone_number_cannot_be_answered_in_writing() -> None:
    with pytest.raises(ReplyRefused, match="phone number"):
        _target(_form(phone="+39 333 123 4567"))


CHAT = InboundMessage(
    channel="telegram",
    sender_address="111222333",
    sender_name="Lena",
    subject="",
    text="Hallo",
    message_id="4411",
    sender_type="telegram",
    conversation_key="telegram:acme:111222333",
    reply_fields={"chat_id": "111222333", "reply_to_message_id": "4411"},
)


def test_a_chat_reply_goes_to_the_conversation_with_its_fields() -> None:
    target = _target(CHAT, channel_id=7, mailbox_id=None)
    assert target == ReplyTarget(
        channel="telegram",
        to_address="111222333",
        channel_id=7,
        in_reply_to="4411",
        reply_fields={"chat_id": "111222333", "reply_to_message_id": "4411"},
    )
    with pytest.raises(ReplyRefused, match="no longer exists"):
        _target(CHAT, channel_id=None)
    with pytest.raises(ReplyRefused, match="public post"):
        _target(replace(CHAT, public=True), channel_id=7)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Mi pedido no ha llegado", "Re: [#MB-7K3Q9P] Mi pedido no ha llegado"),
        ("RE: AW: Lieferung", "Re: [#MB-7K3Q9P] Lieferung"),
        ("[#MB-7K3Q9P] Mi pedido", "Re: [#MB-7K3Q9P] Mi pedido"),  # the tag once
        ("", "Re: [#MB-7K3Q9P]"),
    ],
)
def test_the_subject_carries_the_reference(subject: str, expected: str) -> None:
    assert reply_subject("MB-7K3Q9P", subject) == expected


def test_the_message_id_is_deterministic_per_reply_and_signed() -> None:
    one = reply_message_id(SECRET, "reply:12", "support@acme.test")
    assert one == reply_message_id(SECRET, "reply:12", "support@acme.test")  # a retry sends the same id
    assert one != reply_message_id(SECRET, "reply:13", "support@acme.test")
    assert one != reply_message_id("another-secret", "reply:12", "support@acme.test")
    assert one.startswith("mailbot.reply.12.") and one.endswith("@acme.test")


def test_the_mail_row_answers_from_the_support_address_with_the_signed_reply_address() -> None:
    ticket = Ticket(id=5, ref="MB-7K3Q9P", subject="Mi pedido no ha llegado")
    entry = build_agent_reply(ticket, 12, "Hola\n\n", _target(_mail()), secret_key=SECRET)
    assert (entry.key, entry.kind, entry.channel, entry.mailbox_id) == ("reply:12", "agent_reply", "email", 3)
    assert (entry.from_address, entry.to_address) == ("support@acme.test", "ana.garcia@gmail.test")
    assert ref_from_reply_address(SECRET, entry.reply_to or "") == "MB-7K3Q9P"
    assert entry.in_reply_to == "last@mail.gmail.test" and entry.references == "<last@mail.gmail.test>"
    assert entry.body == "Hola\n"


def test_the_chat_row_carries_the_conversation_and_the_ticket() -> None:
    ticket = Ticket(id=5, ref="MB-7K3Q9P", subject="")
    entry = build_agent_reply(ticket, 12, "Ist unterwegs", _target(CHAT, channel_id=7), secret_key=SECRET)
    assert (entry.channel, entry.channel_id, entry.to_address, entry.in_reply_to) == (
        "telegram",
        7,
        "111222333",
        "4411",
    )
    assert entry.fields == {"chat_id": "111222333", "reply_to_message_id": "4411", "ticket_ref": "MB-7K3Q9P"}
    assert entry.internet_message_id.endswith("@chat.invalid")
