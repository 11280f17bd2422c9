"""Every limit of README "## Limits", set small through the environment and met end to
end on the real servers: what is cut is said, what is refused is logged, the raw bytes
are kept whole, and a customer over a limit still gets one ticket and one answer."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import select

from mailbot.channels import ChannelSpec
from mailbot.store.models import Inbound
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import generic as fx
from tests.fuzz.seeds import nested_mail

pytestmark = [pytest.mark.slow]

SMALL = {
    "MAILBOT_MAX_MESSAGE_BYTES": "60000",
    "MAILBOT_MAX_TEXT_CHARS": "2000",
    "MAILBOT_MAX_WEBHOOK_BYTES": "4096",
    "MAILBOT_MAX_MIME_DEPTH": "5",
}
PATH = "/webhooks/generic/shop"


@pytest.fixture
def mailbot_env(mailbot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SMALL.items():
        monkeypatch.setenv(name, value)
    return {**mailbot_env, **SMALL}


@pytest.fixture
def chat(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["generic"] = fx.SECRET
    chat_desk.add_channel(
        ChannelSpec("generic", "shop", secret=fx.SECRET, api_base=chat_desk.api.base("generic"))
    )
    return chat_desk


def test_the_limits_are_read_from_the_environment(desk: Desk) -> None:
    limits = desk.runtime.settings.limits
    assert (
        limits.max_message_bytes,
        limits.max_text_chars,
        limits.max_webhook_bytes,
        limits.max_mime_depth,
    ) == (
        60000,
        2000,
        4096,
        5,
    )


def test_a_long_text_is_cut_with_a_warning_and_answered_once(desk: Desk, support) -> None:
    words = "Mi pedido no ha llegado y necesito una solución urgente. " * 200  # about 11,000 characters
    desk.dovecot.append(*support, customer_mail("long@mail.gmail.test", body=words))
    desk.run()
    [ticket] = desk.tickets()
    [message] = ticket["messages"]
    assert len(message["text"]) == 2000 and words.startswith(message["text"])
    assert any("Cut to the limit" in w and "text (" in w for w in message["warnings"])
    assert len(desk.smtp.wait_for(1)) == 1


def test_a_mail_over_the_size_limit_is_stored_whole_read_from_its_start_and_answered_once(
    desk: Desk, support
) -> None:
    body = "Hola, os escribo por la factura.\r\n" + "Detalle de la línea de factura.\r\n" * 3000  # ~100 KB
    raw = customer_mail("huge@mail.gmail.test", body=body)
    desk.dovecot.append(*support, raw)
    desk.run()
    [ticket] = desk.tickets()
    [message] = ticket["messages"]
    assert message["text"].startswith("Hola, os escribo por la factura.")
    assert any("over the 60000-byte limit" in w for w in message["warnings"])
    with desk.runtime.sessions() as session:
        [inbound] = session.scalars(select(Inbound)).all()
        assert len(inbound.raw) >= len(raw) - 64 and inbound.status == "processed"
    assert len(desk.smtp.wait_for(1)) == 1


def test_mime_nesting_over_the_limit_is_quarantined_and_under_it_answered(desk: Desk, support) -> None:
    deep = nested_mail(5).replace(
        b"From: a@example.com", b"From: deep@gmail.test\r\nMessage-ID: <deep@gmail.test>"
    )
    shallow = nested_mail(3).replace(
        b"From: a@example.com", b"From: ok@gmail.test\r\nMessage-ID: <ok@gmail.test>"
    )
    desk.dovecot.append(*support, deep)
    desk.dovecot.append(*support, shallow)
    desk.run()
    assert [t["contact"]["email"] for t in desk.tickets()] == ["ok@gmail.test"]
    [ack] = desk.smtp.wait_for(1)
    assert ack.rcpt_tos == ["ok@gmail.test"]
    with desk.runtime.sessions() as session:
        [held] = session.scalars(select(Inbound).where(Inbound.status == "quarantined")).all()
    assert held.error == "unparseable: MIME parts nested 6 levels deep (the limit is 5)"


def test_a_webhook_over_the_body_limit_is_413_and_logged_under_it_accepted(
    chat: ChatDesk, caplog: pytest.LogCaptureFixture
) -> None:
    small = as_bytes(fx.submission(text="Hola " * 100))
    big = as_bytes(fx.submission(text="Hola " * 1000))
    assert len(small) < 4096 < len(big)
    with caplog.at_level(logging.WARNING, logger="mailbot.ingest"):
        assert chat.post(PATH, big, fx.signed_headers(big)).status_code == 413
        assert chat.post(PATH, small, fx.signed_headers(small)).status_code == 200
    assert [r.getMessage() for r in caplog.records if "refused" in r.getMessage()] == [
        "generic/shop: refused (413): webhook bodies are limited to 4096 bytes"
    ]


def test_a_chunked_webhook_that_declares_no_length_is_cut_off_at_the_limit(chat: ChatDesk) -> None:
    big = as_bytes(fx.submission(text="Hola " * 1000))

    def chunks():
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    answer = httpx.post(chat.web.url(PATH), content=chunks(), headers=fx.signed_headers(big))
    assert answer.status_code == 413
    with chat.runtime.sessions() as session:
        assert session.scalars(select(Inbound)).all() == []
