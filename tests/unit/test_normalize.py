"""Normalise: who the customer is when staff forward their mail."""

from __future__ import annotations

from mailbot.pipeline.normalize import normalize_email

STAFF = frozenset({"acme.test"})


def normalize(raw: str):  # type: ignore[no-untyped-def]
    return normalize_email(
        raw.encode(), staff_domains=STAFF, default_language="en", max_attachment_bytes=1_000_000
    )


GMAIL_FORWARD = """From: Lucia Ortega <lucia.ortega@acme.test>
To: support@acme.test
Subject: Fwd: Mi reserva
Message-ID: <fw1@acme.test>
Content-Type: text/plain; charset=utf-8

Os paso esto, es urgente.

---------- Forwarded message ---------
From: Pedro Sanz <pedro.sanz@gmail.test>
Date: Mon, 23 Nov 2026 at 09:12
Subject: Mi reserva
To: <lucia.ortega@acme.test>

Hola, no encuentro la confirmación de mi reserva para el viernes.
"""


def test_a_staff_forward_becomes_the_customers_message() -> None:
    msg = normalize(GMAIL_FORWARD)
    assert msg.sender_address == "pedro.sanz@gmail.test"
    assert msg.sender_name == "Pedro Sanz"
    assert "no encuentro la confirmación" in msg.text
    assert "Os paso esto" not in msg.text
    assert msg.headers["x-mailbot-forwarded-by"] == "lucia.ortega@acme.test"
    assert msg.language == "es"


def test_a_customer_forwarding_someone_elses_mail_stays_the_customer() -> None:
    msg = normalize(
        GMAIL_FORWARD.replace("lucia.ortega@acme.test>\nTo: support", "marta@gmail.test>\nTo: support", 1)
    )
    assert msg.sender_address == "marta@gmail.test"


def test_a_forward_chain_between_colleagues_reaches_the_customer() -> None:
    chain = """From: Marco Bianchi <marco.bianchi@acme.test>
To: support@acme.test
Subject: Fwd: Fwd: Mi reserva
Message-ID: <fw2@acme.test>
Content-Type: text/plain; charset=utf-8

Per il supporto.

---------- Forwarded message ---------
From: Lucia Ortega <lucia.ortega@acme.test>
Date: Mon, 23 Nov 2026 at 10:00
Subject: Fwd: Mi reserva
To: <marco.bianchi@acme.test>

Os paso esto.

---------- Forwarded message ---------
From: Pedro Sanz <pedro.sanz@gmail.test>
Date: Mon, 23 Nov 2026 at 09:12
Subject: Mi reserva
To: <lucia.ortega@acme.test>

Hola, no encuentro la confirmación de mi reserva para el viernes.
"""
    msg = normalize(chain)
    assert msg.sender_address == "pedro.sanz@gmail.test"
    assert "no encuentro la confirmación" in msg.text


def test_a_forward_between_colleagues_keeps_the_forwarder() -> None:
    internal = GMAIL_FORWARD.replace("Pedro Sanz <pedro.sanz@gmail.test>", "Rosa <rosa@acme.test>")
    msg = normalize(internal)
    assert msg.sender_address == "lucia.ortega@acme.test"
