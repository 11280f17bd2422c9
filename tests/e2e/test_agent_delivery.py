"""Delivery to agents and their replies, end to end on real servers: a mail ticket is
delivered to a team address with its context block; the agent's reply, APPENDed to the
support mailbox as it would arrive, reaches the customer once, threaded, without the
quoted notification; the same for a Telegram ticket through the fake platform server;
a copy of the notification in a support mailbox is no ticket; forged replies and
strangers are kept on the ticket, not relayed; a webhook target receives signed JSON."""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select, update

from mailbot.channels import ChannelSpec
from mailbot.deliver import deliver
from mailbot.delivery_targets import TargetSpec, add_target
from mailbot.devservers.smtp_sink import ReceivedMail
from mailbot.pipeline.refs import parse_agent_reply_address
from mailbot.store.models import Inbound, OutboxEntry
from mailbot.timeutil import utcnow
from mailbot.web.passwords import create_user
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import ChatDesk, as_bytes, slack
from tests.fixtures.platforms import telegram as tg

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TEAM = "team@acme.test"
AGENT = "jane@acme.test"
ANSWER = "Hola Ana, tu pedido salió ayer y llegará el jueves.\nUn saludo, Jane"


def _target(desk_runtime: Any, spec: TargetSpec) -> int:
    with desk_runtime.sessions.begin() as session:
        return add_target(session, spec, desk_runtime.settings.secret_key).id


@pytest.fixture
def team_desk(desk: Desk, support: tuple[str, str]) -> Desk:
    """The support desk with a team address on the default queue and Jane as an agent."""
    _target(desk.runtime, TargetSpec(queue="support", kind="email", address=TEAM))
    with desk.runtime.sessions.begin() as session:
        create_user(session, AGENT, "correct horse battery staple", "agent")
    return desk


def _mail_to(received: list[ReceivedMail], address: str) -> list[ReceivedMail]:
    return [m for m in received if m.rcpt_tos == [address]]


def _text(mail: ReceivedMail) -> str:
    return mail.message.get_content().replace("\r\n", "\n")


def agent_reply(
    notification: ReceivedMail,
    text: str,
    *,
    sender: str = f"Jane Doe <{AGENT}>",
    to: str | None = None,
    message_id: str = "jane.1@mail.acme.test",
    extra_headers: str = "",
) -> bytes:
    """The agent's answer as Gmail writes it: their words, an attribution line, then the
    notification mailbot sent, quoted, to the notification's Reply-To."""
    note = notification.message
    quoted = "\n".join(f"> {line}" if line else ">" for line in _text(notification).splitlines())
    body = f"{text}\n\nOn Mon, 23 Nov 2026 at 10:05, {note['From']} wrote:\n\n{quoted}".replace("\n", "\r\n")
    return customer_mail(
        message_id,
        subject=f"Re: {note['Subject']}",
        body=body,
        sender=sender,
        to=to or str(note["Reply-To"]),
        extra_headers=f"In-Reply-To: {note['Message-ID']}\r\nReferences: {note['Message-ID']}\r\n"
        + extra_headers,
    )


def _new_ticket(desk: Desk, support: tuple[str, str]) -> tuple[dict[str, Any], ReceivedMail, ReceivedMail]:
    desk.dovecot.append(*support, customer_mail("order.1@mail.gmail.test"))
    desk.run()
    [ticket] = desk.tickets()
    received = desk.smtp.wait_for(2)
    [ack] = _mail_to(received, "ana.garcia@gmail.test")
    [notification] = _mail_to(received, TEAM)
    return ticket, ack, notification


def test_a_mail_ticket_reaches_the_team_with_its_context_and_the_agents_reply_reaches_the_customer(
    team_desk: Desk, support: tuple[str, str]
) -> None:
    desk = team_desk
    ticket, ack, notification = _new_ticket(desk, support)
    ref = ticket["ref"]

    note = notification.message
    assert email.utils.parseaddr(note["From"])[1] == "support@acme.test"
    assert notification.mail_from == "support@acme.test"
    # RFC 3834 section 5: generated, not a reply to anyone; the marker says whose it is.
    assert note["Auto-Submitted"] == "auto-generated"
    assert note["X-Mailbot-Notification"].startswith("notify:")
    assert ref in note["Subject"] and "Mi pedido no ha llegado" in note["Subject"]
    reply_to = parse_agent_reply_address(desk.runtime.settings.secret_key, note["Reply-To"])
    assert reply_to is not None and reply_to.verified and reply_to.ref == ref
    assert note["Reply-To"] != ack.message["Reply-To"]  # not the customer's reply address
    body = _text(notification)
    assert "todavía no ha llegado" in body  # the customer's message first
    context = body.split("\n-- \n", 1)[1]
    assert f"Ticket: {ref} (open, queue support)" in context
    assert "Customer: Ana García <ana.garcia@gmail.test>" in context
    assert "Identities: email ana.garcia@gmail.test" in context
    assert "Open tickets: none other" in context
    assert "Priority: normal" in context
    assert "First response due: " in context

    # A copy of the notification that lands in the support mailbox (the team address
    # forwards to it, a Bcc) is our own echo: no ticket, no acknowledgement.
    desk.dovecot.append(*support, notification.raw)
    desk.run()
    assert [t["ref"] for t in desk.tickets()] == [ref]
    with desk.runtime.sessions() as session:
        echo = session.scalars(select(Inbound).order_by(Inbound.id.desc())).first()
    assert echo is not None and echo.status == "ignored" and echo.verdict == "own_echo"
    assert "X-Mailbot-Notification" in (echo.verdict_reason or "")

    # Jane answers from her mail client; the mail arrives in the support mailbox.
    desk.dovecot.append(*support, agent_reply(notification, ANSWER))
    desk.run()
    received = desk.smtp.wait_for(3)
    [_, relayed] = _mail_to(received, "ana.garcia@gmail.test")
    mail = relayed.message
    assert email.utils.parseaddr(mail["From"]) == ("Jane Doe", "support@acme.test")
    assert mail["Subject"] == f"Re: [#{ref}] Mi pedido no ha llegado"
    assert mail["In-Reply-To"] == "<order.1@mail.gmail.test>"
    assert mail["References"].split()[-1] == "<order.1@mail.gmail.test>"
    assert mail["Auto-Submitted"] is None
    assert _text(relayed).strip() == ANSWER  # no quoted notification, no context block
    [shown] = desk.tickets()
    assert [m["kind"] for m in shown["messages"]] == ["customer", "agent"]
    assert shown["messages"][1]["sender"] == {"type": "email", "value": AGENT, "name": "Jane Doe"}
    assert shown["first_response_at"] is not None
    assert len(_mail_to(received, TEAM)) == 1  # an agent's answer is not news to the team

    # Once: the same mail again (a second mailbox, a resync) and more workers change nothing.
    desk.dovecot.append(*support, agent_reply(notification, ANSWER))
    desk.run()
    desk.work()
    assert len(desk.smtp.received) == 3
    assert [m["kind"] for m in desk.tickets()[0]["messages"]] == ["customer", "agent"]


def test_mail_to_the_agent_reply_address_that_is_not_an_agents_is_kept_and_never_relayed(
    team_desk: Desk, support: tuple[str, str]
) -> None:
    desk = team_desk
    with desk.runtime.sessions.begin() as session:
        create_user(session, "mark@acme.test", "correct horse battery staple", "agent")
    ticket, _, notification = _new_ticket(desk, support)
    ref = ticket["ref"]
    address = str(notification.message["Reply-To"])
    local, _, domain = address.partition("@")
    tampered = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{domain}"
    forged = f"support+agent.{ref.lower()}.{'ab' * 10}@acme.test"
    attempts = [
        (agent_reply(notification, "Refund approved.", to=tampered, message_id="t.1@x.test"), "not signed"),
        (
            agent_reply(notification, "Refund of 80 EUR approved.", to=forged, message_id="t.2@x.test"),
            "not signed",
        ),
        (
            agent_reply(
                notification, "Send it to me.", sender="Bob <bob@stranger.test>", message_id="t.3@x.test"
            ),
            "bob@stranger.test is not a known agent",
        ),
        (
            agent_reply(
                notification, "Me too.", sender="Ana García <ana.garcia@gmail.test>", message_id="t.4@x.test"
            ),
            "sent by the ticket's customer",
        ),
        (
            agent_reply(notification, "I'll check.", sender="Lee <lee@acme.test>", message_id="t.5@x.test"),
            "lee@acme.test is not a known agent",
        ),
        (
            agent_reply(
                notification,
                "I am out of the office until Monday.",
                message_id="t.6@x.test",
                extra_headers="Auto-Submitted: auto-replied\r\n",
            ),
            "automatic mail",
        ),
    ]
    for raw, _ in attempts:
        desk.dovecot.append(*support, raw)
    desk.run()
    desk.work()

    assert len(desk.smtp.received) == 2  # the acknowledgement and the notification, nothing more
    [shown] = desk.tickets()  # and no ticket of their own
    held = [m for m in shown["messages"] if m["kind"] == "held"]
    assert [m["message_id"] for m in held] == [f"t.{i}@x.test" for i in range(1, 7)]
    with desk.runtime.sessions() as session:
        reasons = {
            i.raw.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode(): i.verdict_reason or ""
            for i in session.scalars(select(Inbound).where(Inbound.verdict == "held"))
        }
        kinds = [e.kind for e in session.scalars(select(OutboxEntry).order_by(OutboxEntry.id))]
    for index, (_, reason) in enumerate(attempts, start=1):
        assert reason in reasons[f"t.{index}@x.test"], (index, reasons)
    assert kinds == ["ack", "notification"]
    assert shown["status"] == "open" and shown["first_response_at"] is None

    # A stranger's mail to an agent-reply address naming a ticket that does not exist
    # opens nothing either.
    desk.dovecot.append(
        *support,
        customer_mail(
            "t.7@x.test",
            sender="Eve <eve@stranger.test>",
            body="Please refund me.",
            to="support+agent.mb-zzzzzz.0123456789abcdef0123@acme.test",
        ),
    )
    desk.run()
    assert len(desk.tickets()) == 1
    with desk.runtime.sessions() as session:
        last = session.scalars(select(Inbound).order_by(Inbound.id.desc())).first()
    assert last is not None and last.status == "ignored" and "naming no ticket" in (last.verdict_reason or "")


@pytest.fixture
def telegram_team_desk(chat_desk: ChatDesk, desk: Desk, support: tuple[str, str]) -> ChatDesk:
    chat_desk.api.credentials["telegram"] = tg.BOT_TOKEN
    chat_desk.add_channel(
        ChannelSpec(
            "telegram",
            "acme",
            secret=tg.SECRET_TOKEN,
            token=tg.BOT_TOKEN,
            api_base=chat_desk.api.base("telegram"),
            options={"bot_username": tg.BOT_USERNAME},
        )
    )
    _target(desk.runtime, TargetSpec(queue="support", kind="email", address=TEAM))
    with desk.runtime.sessions.begin() as session:
        create_user(session, AGENT, "correct horse battery staple", "agent")
    return chat_desk


def test_a_telegram_ticket_reaches_the_team_by_mail_and_the_agents_reply_goes_back_in_the_chat(
    telegram_team_desk: ChatDesk, desk: Desk, support: tuple[str, str]
) -> None:
    chat = telegram_team_desk
    update_body = as_bytes(tg.update("message", tg.message("Hallo, meine Bestellung 4411 ist nicht da.")))
    assert chat.post("/webhooks/telegram/acme", update_body, tg.headers()).status_code == 200
    chat.work()
    [ticket] = chat.tickets()
    # The notification goes out through the first mailbox, the chat ticket having none.
    [notification] = desk.smtp.wait_for(1)
    assert notification.rcpt_tos == [TEAM] and notification.mail_from == "support@acme.test"
    assert ticket["ref"] in notification.message["Subject"]
    assert "Bestellung 4411" in notification.message["Subject"]  # a chat message has no subject
    assert "Identities: telegram " in _text(notification)

    desk.dovecot.append(*support, agent_reply(notification, "Ist unterwegs, Ankunft Donnerstag!"))
    desk.run()
    chat.work()
    ack_call, reply_call = chat.api.calls_to("telegram")
    assert reply_call.json["chat_id"] == tg.CUSTOMER["id"]
    assert reply_call.json["text"] == "Ist unterwegs, Ankunft Donnerstag!\n"
    assert len(desk.smtp.received) == 1  # nothing went to the customer by mail
    [shown] = chat.tickets()
    assert [m["kind"] for m in shown["messages"]] == ["customer", "agent"]
    assert shown["messages"][1]["channel"] == "telegram"


@dataclass
class Hook:
    """A local HTTP server that records each POST and answers with the next status."""

    statuses: list[int]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def hook() -> Iterator[Hook]:
    found = Hook(statuses=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            found.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = found.statuses.pop(0) if found.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/mailbot/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


def test_a_webhook_target_receives_each_customer_message_signed_and_retried(
    desk: Desk, support: tuple[str, str], hook: Hook
) -> None:
    secret = "whsec-3f9a0c"
    _target(desk.runtime, TargetSpec(queue="support", kind="webhook", address=hook.url, secret=secret))
    hook.statuses = [503]  # the helpdesk is down for the first attempt
    desk.dovecot.append(*support, customer_mail("order.1@mail.gmail.test"))
    desk.run()
    desk.smtp.wait_for(1)  # the acknowledgement went out all the same
    assert len(hook.received) == 1
    with desk.runtime.sessions() as session:
        [row] = session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "notification"))
    assert row.status == "pending" and "HTTP 503" in (row.last_error or "")

    # The retry is due after its backoff; make it due now rather than wait.
    with desk.runtime.sessions.begin() as session:
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == row.id)
            .values(next_attempt_at=utcnow() - timedelta(1))
        )
    assert deliver(desk.runtime, row.id).status == "sent"
    assert deliver(desk.runtime, row.id).status == "skipped"  # once
    assert len(hook.received) == 2

    headers, body = hook.received[-1]
    timestamp = headers["x-mailbot-timestamp"]
    # Verified as the receiver would, from the documented scheme alone.
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["x-mailbot-signature"] == f"sha256={expected}"
    assert headers["content-type"].startswith("application/json")
    event = json.loads(body)
    [ticket] = desk.tickets()
    assert event["event"] == "message.created"
    assert event["ticket"]["ref"] == ticket["ref"] and event["ticket"]["queue"] == "support"
    assert event["message"]["message_id"] == "order.1@mail.gmail.test"
    assert event["message"]["kind"] == "customer" and "todavía no ha llegado" in event["message"]["text"]
    assert hook.received[0][1] == body  # every attempt sends the same event

    # The customer writing again is a second event; the same message seen twice is not.
    again = customer_mail(
        "order.2@mail.gmail.test",
        subject=f"Re: [#{ticket['ref']}] Mi pedido no ha llegado",
        body="¿Alguna novedad?",
    )
    desk.dovecot.append(*support, again)
    desk.dovecot.append(*support, again)
    desk.run()
    assert len(hook.received) == 3
    assert json.loads(hook.received[-1][1])["message"]["message_id"] == "order.2@mail.gmail.test"


TEAM_CHANNEL = "C0TEAM0001"


@pytest.fixture
def slack_team_desk(chat_desk: ChatDesk, desk: Desk, support: tuple[str, str]) -> ChatDesk:
    """A mail desk whose support queue is posted to the team's Slack channel."""
    chat_desk.api.credentials["slack"] = slack.BOT_TOKEN
    chat_desk.add_channel(
        ChannelSpec(
            "slack",
            "acme",
            secret=slack.SIGNING_SECRET,
            token=slack.BOT_TOKEN,
            api_base=chat_desk.api.base("slack"),
        )
    )
    spec = TargetSpec(queue="support", kind="slack", address=TEAM_CHANNEL, slack_channel="acme")
    _target(desk.runtime, spec)
    return chat_desk


def test_a_mail_ticket_is_posted_to_the_teams_slack_channel_and_answered_from_its_thread(
    slack_team_desk: ChatDesk, desk: Desk, support: tuple[str, str]
) -> None:
    chat = slack_team_desk
    desk.dovecot.append(*support, customer_mail("order.1@mail.gmail.test"))
    desk.run()
    [ticket] = desk.tickets()
    [ack] = desk.smtp.wait_for(1)
    [post_call] = chat.api.calls_to("slack")
    assert post_call.json["channel"] == TEAM_CHANNEL
    text = post_call.json["text"]
    assert ticket["ref"] in text and "todavía no ha llegado" in text
    assert "Customer: Ana García <ana.garcia@gmail.test>" in text and "Priority: normal" in text
    [notification] = [e for e in chat.outbox() if e.kind == "notification"]
    assert notification.status == "sent" and notification.external_id

    # Our own post comes back as an event: no ticket. A colleague answers in its thread,
    # without mentioning the bot.
    own = slack.own_message(text, channel=TEAM_CHANNEL)
    answer = slack.message(
        "Hola Ana, sale hoy mismo por mensajero.",
        user=slack.COLLEAGUE,
        channel=TEAM_CHANNEL,
        channel_type="channel",
        thread_ts=notification.external_id,
    )
    for event in (own, answer):
        body = as_bytes(slack.envelope(event))
        assert chat.post("/webhooks/slack/acme", body, slack.signed_headers(body)).status_code == 200
    chat.work()
    _, relayed = desk.smtp.wait_for(2)
    assert relayed.rcpt_tos == ["ana.garcia@gmail.test"]
    assert relayed.message["In-Reply-To"] == "<order.1@mail.gmail.test>"
    assert _text(relayed).strip() == "Hola Ana, sale hoy mismo por mensajero."
    [shown] = desk.tickets()
    assert [m["kind"] for m in shown["messages"]] == ["customer", "agent"]
    assert shown["messages"][1]["sender"]["type"] == "slack"
    assert shown["messages"][1]["sender"]["value"] == slack.COLLEAGUE
    assert len(chat.api.calls_to("slack")) == 1  # nothing more posted: not news, not acknowledged
    assert ack.rcpt_tos == ["ana.garcia@gmail.test"]

    # A reply that mentions the bot comes as two events, `message` and `app_mention`, for
    # one post (api.slack.com/events/app_mention): relayed once.
    mention = slack.message(
        f"<@{slack.BOT_USER}> y el número de seguimiento es ES123.",
        user=slack.COLLEAGUE,
        channel=TEAM_CHANNEL,
        channel_type="channel",
        thread_ts=notification.external_id,
    )
    same_post = {
        **slack.app_mention(mention["text"], channel=TEAM_CHANNEL, user=slack.COLLEAGUE),
        "ts": mention["ts"],
        "event_ts": mention["ts"],
        "thread_ts": notification.external_id,
    }
    for event in (mention, same_post):
        body = as_bytes(slack.envelope(event))
        assert chat.post("/webhooks/slack/acme", body, slack.signed_headers(body)).status_code == 200
    chat.work()
    chat.work()
    to_customer = _mail_to(desk.smtp.wait_for(3), "ana.garcia@gmail.test")
    assert len(to_customer) == 3
    assert _text(to_customer[2]).strip() == "y el número de seguimiento es ES123."  # no Slack ids
    assert [m["kind"] for m in desk.tickets()[0]["messages"]] == ["customer", "agent", "agent"]
