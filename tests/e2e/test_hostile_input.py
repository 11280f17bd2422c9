"""Hostile input end to end on the real servers (issue 12, README "## Limits"): an
oversize or compressed webhook is refused and logged; a 50 MB attachment is stored whole
and still gets its one ticket and one acknowledgement; a parser bomb is quarantined with
its raw bytes and a clear error while the mail behind it is answered; a subject built to
inject headers is answered on one line; a chat payload with NUL and lone surrogates
becomes a ticket on PostgreSQL too."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os

import pytest
from sqlalchemy import select

from mailbot.channels import ChannelSpec
from mailbot.delivery_targets import TargetSpec, add_target
from mailbot.store.models import Inbound
from mailbot.web.passwords import create_user
from tests.e2e.test_agent_delivery import AGENT, TEAM, agent_reply
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import generic as fx
from tests.fuzz.seeds import nested_mail

pytestmark = [pytest.mark.slow]

PATH = "/webhooks/generic/shop"


@pytest.fixture
def chat(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["generic"] = fx.SECRET
    chat_desk.add_channel(
        ChannelSpec("generic", "shop", secret=fx.SECRET, api_base=chat_desk.api.base("generic"))
    )
    return chat_desk


def test_an_oversize_webhook_is_413_and_logged_and_stores_nothing(
    chat: ChatDesk, caplog: pytest.LogCaptureFixture
) -> None:
    big = fx.submission(text="x" * (1024 * 1024 + 1))
    body = as_bytes(big)
    with caplog.at_level(logging.WARNING, logger="mailbot.ingest"):
        answer = chat.post(PATH, body, fx.signed_headers(body))
    assert answer.status_code == 413
    assert "limited to 1048576 bytes" in answer.text
    assert any("generic/shop: refused (413)" in r.getMessage() for r in caplog.records)
    with chat.runtime.sessions() as session:
        assert session.scalars(select(Inbound)).all() == []


def test_a_compressed_webhook_is_415_never_decompressed(
    chat: ChatDesk, caplog: pytest.LogCaptureFixture
) -> None:
    bomb = gzip.compress(as_bytes(fx.submission(text="a" * 5_000_000)))  # 5 MB in a few KB
    headers = {**fx.signed_headers(bomb), "Content-Encoding": "gzip"}
    with caplog.at_level(logging.WARNING, logger="mailbot.ingest"):
        assert chat.post(PATH, bomb, headers).status_code == 415
    assert any("refused (415)" in r.getMessage() for r in caplog.records)


@pytest.mark.postgres
def test_nul_surrogates_and_line_breaks_in_a_payload_still_make_one_ticket_and_one_ack(
    chat: ChatDesk,
) -> None:
    submission = fx.submission(text="Mi pedido\x00 88231 no llega \ud800", name="Eve\r\nBcc: x@evil.test")
    body = json.dumps(submission).encode()  # \u0000 and \ud800 escapes, valid JSON
    assert chat.post(PATH, body, fx.signed_headers(body)).status_code == 200
    chat.work()
    [ticket] = chat.tickets()
    [message] = ticket["messages"]
    assert message["text"] == "Mi pedido 88231 no llega \ufffd"
    assert len(chat.api.calls_to("generic")) == 1  # the one acknowledgement


def _attachment_mail(size: int) -> bytes:
    head = customer_mail("big@mail.gmail.test", subject="Factura adjunta").split(b"\r\n\r\n", 1)[0]
    head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-"))
    return (
        head + b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nAdjunto la factura que no cuadra.\r\n--X\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=scan.bin\r\n\r\n"
        + base64.encodebytes(os.urandom(size))
        + b"\r\n--X--\r\n"
    )


def test_a_50_mb_attachment_is_stored_whole_and_gets_one_ticket_and_one_ack(desk: Desk, support) -> None:
    user, password = support
    raw = _attachment_mail(50 * 1024 * 1024)
    desk.dovecot.append(user, password, raw)
    desk.run()
    [ticket] = desk.tickets()
    [message] = ticket["messages"]
    assert message["text"] == "Adjunto la factura que no cuadra."
    assert any("over the 33554432-byte limit" in w for w in message["warnings"])
    with desk.runtime.sessions() as session:
        [inbound] = session.scalars(select(Inbound)).all()
        assert len(inbound.raw) >= len(raw) - 64  # whole (the server may rewrite a header line)
    [ack] = desk.smtp.wait_for(1, timeout=30)
    assert ack.rcpt_tos == ["ana.garcia@gmail.test"]
    assert ticket["ref"] in str(ack.message["Subject"])


def test_a_parser_bomb_is_quarantined_with_its_bytes_and_the_mail_behind_it_is_answered(
    desk: Desk, support
) -> None:
    user, password = support
    bomb = nested_mail(1000).replace(
        b"From: a@example.com", b"From: bomb@evil.test\r\nMessage-ID: <bomb@evil.test>"
    )
    desk.dovecot.append(user, password, bomb)
    desk.dovecot.append(user, password, customer_mail("after-bomb@mail.gmail.test"))
    desk.run()
    [ticket] = desk.tickets()
    assert ticket["contact"]["email"] == "ana.garcia@gmail.test"
    assert len(desk.smtp.wait_for(1)) == 1
    with desk.runtime.sessions() as session:
        [held] = session.scalars(select(Inbound).where(Inbound.status == "quarantined")).all()
        assert b"bomb@evil.test" in held.raw and len(held.raw) >= len(bomb) - 64
        assert held.error is not None and "nested too deeply" in held.error


def test_a_subject_and_name_built_to_inject_headers_are_answered_on_one_line(desk: Desk, support) -> None:
    user, password = support
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "inject@mail.gmail.test",
            sender="=?utf-8?q?Eve=0D=0ABcc:_victim@evil.test?= <eve@gmail.test>",
            subject="=?utf-8?q?Ayuda=0D=0ABcc:_victim@evil.test=0D=0A=0D=0Ahidden?=",
        ),
    )
    desk.run()
    [ack] = desk.smtp.wait_for(1)
    assert ack.rcpt_tos == ["eve@gmail.test"]
    assert "Bcc" not in ack.message and "bcc" not in {k.lower() for k in ack.message.keys()}
    subject = str(ack.message["Subject"])
    assert "Ayuda Bcc: victim@evil.test hidden" in subject and "\n" not in subject
    [ticket] = desk.tickets()
    assert ticket["subject"] == "Ayuda Bcc: victim@evil.test hidden"


INJECTED_SUBJECT = "=?utf-8?q?Ayuda=0D=0ABcc:_victim@evil.test?="


def test_no_header_injection_in_the_agents_notification_or_the_relayed_reply(desk: Desk, support) -> None:
    """The customer's subject travels into the team's notification and, through the agent's
    answer, into the reply relayed to the customer: one line, one recipient, each time."""
    user, password = support
    with desk.runtime.sessions.begin() as session:
        add_target(
            session, TargetSpec(queue="support", kind="email", address=TEAM), desk.runtime.settings.secret_key
        )
        create_user(session, AGENT, "correct horse battery staple", "agent")
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "inject-2@mail.gmail.test",
            sender="=?utf-8?q?Eve=0D=0ABcc:_x@evil.test?= <eve@gmail.test>",
            subject=INJECTED_SUBJECT,
        ),  # fmt: skip
    )
    desk.run()
    received = desk.smtp.wait_for(2)
    [notification] = [m for m in received if m.rcpt_tos == [TEAM]]
    assert "Ayuda Bcc: victim@evil.test" in str(notification.message["Subject"])
    desk.smtp.clear()
    desk.dovecot.append(
        user, password, agent_reply(notification, "Hola Eve, lo miramos.", sender=f"Jane <{AGENT}>")
    )
    desk.run()
    [relayed] = desk.smtp.wait_for(1)
    assert relayed.rcpt_tos == ["eve@gmail.test"]
    for mail in (notification, relayed):
        names = {k.lower() for k in mail.message.keys()}
        assert "bcc" not in names and "cc" not in names
        assert "\n" not in str(mail.message["Subject"])
    assert "Ayuda Bcc: victim@evil.test" in str(relayed.message["Subject"])


@pytest.mark.postgres
def test_fields_longer_than_their_columns_still_make_one_ticket_and_one_ack(desk: Desk, support) -> None:
    """PostgreSQL refuses a value longer than its column: a hostile name, subject, Message-ID
    or filename must not keep a customer from their ticket."""
    user, password = support
    long_id = "x" * 1200 + "@mail.gmail.test"
    head = customer_mail(long_id, sender=f"{'Ana ' * 300}<ana.garcia@gmail.test>", subject="Pedido " * 300)
    head = head.split(b"\r\n\r\n", 1)[0]
    head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-"))
    name = ("f" * 700 + ".pdf").encode()
    raw = (
        head + b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nMi pedido no ha llegado.\r\n--X\r\n"
        b"Content-Type: application/" + b"p" * 300 + b'; name="' + name + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + name + b'"\r\n\r\n%PDF-1.4\r\n--X--\r\n'
    )
    desk.dovecot.append(user, password, raw)
    desk.run()
    [ticket] = desk.tickets()
    assert ticket["subject"].startswith("Pedido Pedido")
    assert ticket["messages"][0]["text"] == "Mi pedido no ha llegado."
    assert len(desk.smtp.wait_for(1)) == 1
