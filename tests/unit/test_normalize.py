"""Normalise: who the customer is when staff forward their mail."""

from __future__ import annotations

import pytest

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


def test_the_staff_note_is_kept_apart_from_the_customers_text() -> None:
    msg = normalize(GMAIL_FORWARD)
    assert msg.forwarded_by == "lucia.ortega@acme.test"
    assert msg.forward_note == "Os paso esto, es urgente."
    assert "Os paso esto" not in msg.text
    assert not any("Os paso esto" in warning for warning in msg.parse_warnings)


def test_a_staff_forward_without_a_note_has_an_empty_note() -> None:
    msg = normalize(GMAIL_FORWARD.replace("Os paso esto, es urgente.\n", ""))
    assert (msg.sender_address, msg.forwarded_by, msg.forward_note) == (
        "pedro.sanz@gmail.test",
        "lucia.ortega@acme.test",
        "",
    )


def test_every_colleagues_note_in_a_chain_is_kept() -> None:
    chain = GMAIL_FORWARD.replace(
        "Os paso esto, es urgente.\n",
        "Per il supporto.\n\n---------- Forwarded message ---------\n"
        "From: Lucia Ortega <lucia.ortega@acme.test>\n"
        "Subject: Fwd: Mi reserva\n\nOs paso esto, es urgente.\n",
    ).replace(
        "From: Lucia Ortega <lucia.ortega@acme.test>\nTo: support",
        "From: Marco <marco@acme.test>\nTo: support",
    )
    msg = normalize(chain)
    assert msg.sender_address == "pedro.sanz@gmail.test"
    assert msg.forwarded_by == "marco@acme.test"
    assert msg.forward_note == "Per il supporto.\n\nLucia Ortega wrote:\nOs paso esto, es urgente."


def test_a_spoofed_display_name_in_a_staff_forward_is_warned_about() -> None:
    spoofed = "vip@gmail.test <pedro.sanz@gmail.test>"
    msg = normalize(GMAIL_FORWARD.replace("Pedro Sanz <pedro.sanz@gmail.test>", spoofed))
    assert msg.sender_address == "pedro.sanz@gmail.test"
    assert msg.sender_name == ""
    assert len(msg.warnings) == 1 and "vip@gmail.test" in msg.warnings[0]


CUSTOMER = (
    "From: Marta Gil <marta@gmail.test>\nTo: support@acme.test\nSubject: {subject}\n"
    "Message-ID: <m@gmail.test>\n"
)
ORIGINAL = (
    "Estimada clienta, lamentamos comunicarle que su pedido 55 ha sido cancelado porque el producto "
    "ya no está disponible en nuestro almacén."
)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        # Thunderbird
        ("Fwd: Pedido 55", "\n-------- Forwarded Message --------\nSubject: \tPedido 55\n"
         "Date: \tMon, 23 Nov 2026 09:00:00 +0100\nFrom: \tTienda <pedidos@tienda.test>\n"
         f"To: \tmarta@gmail.test\n\n\n{ORIGINAL}\n"),
        # Gmail
        ("Fwd: Pedido 55", "---------- Forwarded message ---------\nFrom: Tienda <pedidos@tienda.test>\n"
         f"Date: Mon, 23 Nov 2026 at 09:00\nSubject: Pedido 55\nTo: <marta@gmail.test>\n\n\n{ORIGINAL}\n"),
        # Outlook, Spanish, with its underscore rule
        ("RV: Pedido 55", "\n\n________________________________\nDe: Tienda <pedidos@tienda.test>\n"
         "Enviado: lunes, 23 de noviembre de 2026 9:00\nPara: marta@gmail.test\nAsunto: Pedido 55\n\n"
         f"{ORIGINAL}\n"),
        # Outlook, German, header block only
        ("WG: Pedido 55", "Von: Tienda <pedidos@tienda.test>\nGesendet: Montag, 23. November 2026 09:00\n"
         f"An: marta@gmail.test\nBetreff: Pedido 55\n\n{ORIGINAL}\n"),
        ("I: Pedido 55", "Da: Tienda <pedidos@tienda.test>\nInviato: lunedì 23 novembre 2026 09:00\n"
         f"A: marta@gmail.test\nOggetto: Pedido 55\n\n{ORIGINAL}\n"),
        ("TR: Pedido 55", "De : Tienda <pedidos@tienda.test>\nEnvoyé : lundi 23 novembre 2026 09:00\n"
         f"À : marta@gmail.test\nObjet : Pedido 55\n\n{ORIGINAL}\n"),
        # Apple Mail, plain and quoted
        ("Fwd: Pedido 55", "\n\nBegin forwarded message:\n\nFrom: Tienda <pedidos@tienda.test>\n"
         f"Subject: Pedido 55\nDate: 23 November 2026 at 09:00:00 CET\nTo: marta@gmail.test\n\n{ORIGINAL}\n"),
        ("Fwd: Pedido 55", "\nBegin forwarded message:\n\n> From: Tienda <pedidos@tienda.test>\n"
         f"> Subject: Pedido 55\n> \n> {ORIGINAL}\n"),
    ],
)  # fmt: skip
def test_a_customer_forward_without_a_note_keeps_the_forwarded_text(subject: str, body: str) -> None:
    raw = CUSTOMER.format(subject=subject) + "Content-Type: text/plain; charset=utf-8\n\n" + body
    msg = normalize(raw)
    assert msg.sender_address == "marta@gmail.test"  # still the customer: not a staff forward
    assert msg.text == ORIGINAL
    assert msg.forwarded is not None and msg.forwarded.address == "pedidos@tienda.test"
    assert msg.forwarded_by is None
    assert msg.language == "es"


@pytest.mark.parametrize(
    "body",
    [
        # Apple Mail's HTML: the banner inside <blockquote type="cite">
        'Content-Type: text/html; charset=utf-8\n\n<div><br><blockquote type="cite"><div>Begin forwarded '
        "message:</div><br><div><b>From: </b>Tienda &lt;pedidos@tienda.test&gt;</div><div><b>Subject: </b>"
        f"Pedido 55</div><br><div>{ORIGINAL}</div></blockquote></div>\n",
        # Gmail's HTML
        'Content-Type: text/html; charset=utf-8\n\n<div dir="ltr"><br><div class="gmail_quote"><div '
        'class="gmail_attr">---------- Forwarded message ---------<br>From: <strong>Tienda</strong> '
        "&lt;pedidos@tienda.test&gt;<br>Subject: Pedido 55<br></div><br><br>"
        f"<div>{ORIGINAL}</div></div></div>\n",
        # Thunderbird's HTML: the headers in a table
        'Content-Type: text/html; charset=utf-8\n\n<p><br></p><div class="moz-forward-container">'
        "-------- Forwarded Message --------<table><tr><th>Subject: </th><td>Pedido 55</td></tr>"
        "<tr><th>From: </th><td>Tienda &lt;pedidos@tienda.test&gt;</td></tr></table><br>"
        f"<p>{ORIGINAL}</p></div>\n",
        # Forwarded as an attachment, with an empty text part
        'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n\n--b\n'
        "Content-Type: message/rfc822\n\nFrom: Tienda <pedidos@tienda.test>\nSubject: Pedido 55\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{ORIGINAL}\n--b--\n",
    ],
)
def test_html_and_attached_forwards_without_a_note_keep_the_forwarded_text(body: str) -> None:
    msg = normalize(CUSTOMER.format(subject="Fwd: Pedido 55") + "MIME-Version: 1.0\n" + body)
    assert msg.text == ORIGINAL
    assert msg.forwarded is not None and msg.forwarded.address == "pedidos@tienda.test"


def test_a_customer_note_above_a_forward_stays_the_text() -> None:
    raw = (
        CUSTOMER.format(subject="Fwd: Pedido 55")
        + "Content-Type: text/plain; charset=utf-8\n\n¿Por qué me lo cancelan? Lo necesito ya.\n\n"
        + "---------- Forwarded message ---------\nFrom: Tienda <pedidos@tienda.test>\n"
        + f"Subject: Pedido 55\n\n{ORIGINAL}\n"
    )
    msg = normalize(raw)
    assert msg.text == "¿Por qué me lo cancelan? Lo necesito ya."
    assert ORIGINAL in msg.quoted_text
    assert msg.forwarded is not None and msg.forwarded.address == "pedidos@tienda.test"


def test_a_message_with_no_text_and_no_forward_stays_empty() -> None:
    msg = normalize(CUSTOMER.format(subject="Hola") + "Content-Type: text/plain\n\n\n")
    assert msg.text == "" and msg.forwarded is None
