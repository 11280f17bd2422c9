import pytest

from mailbot.mail.forwarded import find_forwarded, is_forward_subject, parse_sender


def test_gmail_forward_in_english() -> None:
    text = (
        "Can you help this customer?\n\n"
        "---------- Forwarded message ---------\n"
        "From: Jane Doe <Jane.Doe@example.org>\n"
        "Date: Mon, Mar 4, 2024 at 10:15 AM\n"
        "Subject: Broken charger\n"
        "To: <sales@example.com>\n\n"
        "Hello, my charger stopped working.\n\nJane\n"
    )
    origin = find_forwarded("Fwd: Broken charger", text)
    assert origin is not None
    assert origin.address == "jane.doe@example.org"
    assert origin.name == "Jane Doe"
    assert origin.subject == "Broken charger"
    assert origin.date == "Mon, Mar 4, 2024 at 10:15 AM"
    assert origin.text == "Hello, my charger stopped working.\n\nJane"


def test_gmail_forward_in_italian() -> None:
    text = (
        "---------- Messaggio inoltrato ---------\n"
        "Da: Marco Rossi <marco.rossi@example.it>\n"
        "Date: lun 4 mar 2024 alle ore 10:15\n"
        "Subject: Ordine 5521 non ricevuto\n"
        "To: <vendite@example.com>\n\n"
        "Buongiorno, non ho ricevuto l'ordine.\n"
    )
    origin = find_forwarded("I: Ordine 5521 non ricevuto", text)
    assert origin is not None
    assert (origin.address, origin.name) == ("marco.rossi@example.it", "Marco Rossi")
    assert origin.subject == "Ordine 5521 non ricevuto"
    assert origin.text == "Buongiorno, non ho ricevuto l'ordine."


def test_gmail_forward_in_spanish_without_subject_prefix() -> None:
    text = (
        "---------- Mensaje reenviado ---------\n"
        "De: Ana Pérez <ana@example.es>\n"
        "Date: lun, 4 mar 2024 a las 10:15\n"
        "Subject: Factura\n"
        "To: <ventas@example.com>\n\n"
        "Hola, necesito la factura.\n"
    )
    origin = find_forwarded("Factura", text)
    assert origin is not None
    assert origin.address == "ana@example.es"


def test_apple_mail_forward_in_english() -> None:
    text = (
        "FYI\n\n"
        "Begin forwarded message:\n\n"
        "From: Tom Baker <tom@example.co.uk>\n"
        "Subject: Re: Refund\n"
        "Date: 4 March 2024 at 10:15:00 GMT\n"
        "To: sales@example.com\n\n"
        "I am still waiting for my refund.\n"
    )
    origin = find_forwarded("Fwd: Refund", text)
    assert origin is not None
    assert (origin.address, origin.name) == ("tom@example.co.uk", "Tom Baker")
    assert origin.subject == "Re: Refund"
    assert origin.date == "4 March 2024 at 10:15:00 GMT"
    assert origin.text == "I am still waiting for my refund."


def test_apple_mail_forward_quoted_with_angle_brackets() -> None:
    text = (
        "Inicio del mensaje reenviado:\n\n"
        "> De: Ana <ana@example.es>\n"
        "> Asunto: Pedido\n"
        "> Fecha: 4 de marzo de 2024, 10:15:00 CET\n"
        "> Para: ventas@example.com\n"
        "> \n"
        "> ¿Dónde está mi pedido?\n"
    )
    origin = find_forwarded("RV: Pedido", text)
    assert origin is not None
    assert origin.address == "ana@example.es"
    assert origin.subject == "Pedido"
    assert origin.text == "¿Dónde está mi pedido?"


def test_apple_mail_forward_in_italian() -> None:
    text = "Inizio messaggio inoltrato:\n\nDa: Giulia <giulia@example.it>\nOggetto: Reso\n\nCiao"
    origin = find_forwarded("Fwd: Reso", text)
    assert origin is not None
    assert (origin.address, origin.subject, origin.text) == ("giulia@example.it", "Reso", "Ciao")


def test_outlook_forward_in_spanish() -> None:
    text = (
        "Os reenvío la queja.\n\n"
        "________________________________\n"
        "De: Luis García [mailto:luis.garcia@example.es]\n"
        "Enviado: lunes, 4 de marzo de 2024 10:15\n"
        "Para: Ventas <ventas@example.com>\n"
        "Asunto: Queja sobre el envío\n\n"
        "El paquete llegó roto.\n"
    )
    origin = find_forwarded("RV: Queja sobre el envío", text)
    assert origin is not None
    assert (origin.address, origin.name) == ("luis.garcia@example.es", "Luis García")
    assert origin.subject == "Queja sobre el envío"
    assert origin.date == "lunes, 4 de marzo de 2024 10:15"
    assert origin.text == "El paquete llegó roto."


def test_outlook_forward_after_original_message_separator() -> None:
    text = (
        "-----Original Message-----\n"
        'From: "Smith, Anna" <anna.smith@example.com>\n'
        "Sent: Monday, March 4, 2024 10:15 AM\n"
        "To: Sales\n"
        "Subject: Quote request\n\n"
        "Please send a quote.\n"
    )
    origin = find_forwarded("FW: Quote request", text)
    assert origin is not None
    assert (origin.address, origin.name) == ("anna.smith@example.com", "Smith, Anna")


def test_outlook_block_in_a_reply_is_not_a_forward() -> None:
    text = (
        "Thanks!\n\n"
        "From: Support <support@example.com>\n"
        "Sent: Monday, March 4, 2024 10:15 AM\n"
        "To: Anna\n"
        "Subject: Your ticket\n\n"
        "Solved.\n"
    )
    assert find_forwarded("RE: Your ticket", text) is None


def test_wrapped_to_line_does_not_end_the_block() -> None:
    text = (
        "---------- Forwarded message ---------\n"
        "From: Jane <jane@example.org>\n"
        "To: a@example.com, b@example.com,\n"
        "    c@example.com\n"
        "Subject: Hello\n\n"
        "Body"
    )
    origin = find_forwarded("Fwd: Hello", text)
    assert origin is not None
    assert (origin.subject, origin.text) == ("Hello", "Body")


def test_subject_falls_back_to_message_subject_without_prefixes() -> None:
    text = "---------- Forwarded message ---------\nFrom: jane@example.org\n\nBody"
    origin = find_forwarded("Fwd: FW: Order 77", text)
    assert origin is not None
    assert origin.subject == "Order 77"
    assert origin.name == ""


def test_forward_block_without_address_is_none() -> None:
    text = "---------- Forwarded message ---------\nFrom: Jane Doe\nSubject: Hi\n\nBody"
    assert find_forwarded("Fwd: Hi", text) is None


def test_plain_message_is_not_a_forward() -> None:
    assert find_forwarded("Fwd: hello", "Just a note, nothing forwarded.") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ana Pérez <ana@example.es>", ("ana@example.es", "Ana Pérez")),
        ('"Pérez, Ana" <Ana@Example.es>', ("ana@example.es", "Pérez, Ana")),
        ("ana@example.es", ("ana@example.es", "")),
        ("Ana Pérez [mailto:ana@example.es]", ("ana@example.es", "Ana Pérez")),
        ("Ana Pérez <mailto:ana@example.es>", ("ana@example.es", "Ana Pérez")),
        ("<ana@example.es>", ("ana@example.es", "")),
        ("ana@example.es <ana@example.es>", ("ana@example.es", "")),
        ("Pérez, Ana <ana@example.es>", ("ana@example.es", "Pérez, Ana")),  # Outlook, unquoted
        # A display name is never the address, in a forwarded block either.
        ("alice@example.com <bob@example.com>", ("bob@example.com", "")),
        ("Alice alice@example.com [mailto:bob@example.com]", ("bob@example.com", "Alice")),
    ],
)
def test_sender_formats(value: str, expected: tuple[str, str]) -> None:
    assert parse_sender(value) == expected


@pytest.mark.parametrize(
    "subject",
    ["Fwd: x", "FW: x", "fw: x", "RV: x", "I: x", "Enc: x", "WG: x", "TR : x", "Re: Fwd: x",
     "FWD: FWD: x", "Odp: Fwd: x", "Fwd[2]: x", "Fwd(2): x", "FW：x", "Res: RES: Enc: x"],
)  # fmt: skip
def test_forward_subjects(subject: str) -> None:
    assert is_forward_subject(subject)


@pytest.mark.parametrize(
    "subject", ["Re: x", "R: x", "AW: x", "Invoice: March", "Fwdx", "", "Res: x", "Ri: x", "Re(2): x"]
)
def test_non_forward_subjects(subject: str) -> None:
    assert not is_forward_subject(subject)


def test_a_spoofed_display_name_in_a_forwarded_block_is_reported() -> None:
    text = (
        "---------- Forwarded message ---------\n"
        "From: ceo@acme.test <mallory@evil.test>\n"
        "Subject: Pay this invoice\n\n"
        "Please pay.\n"
    )
    origin = find_forwarded("Fwd: Pay this invoice", text)
    assert origin is not None
    assert (origin.address, origin.name, origin.claimed_address) == ("mallory@evil.test", "", "ceo@acme.test")


THUNDERBIRD_BLOCK = (
    "-------- Forwarded Message --------\n"
    "Subject: \tPedido 55\n"
    "Date: \tMon, 23 Nov 2026 09:00:00 +0100\n"
    "From: \tTienda <pedidos@tienda.test>\n"
    "To: \tmarta@gmail.test\n\n\n"
    "Su pedido 55 ha sido cancelado.\n"
)


def test_thunderbird_forward() -> None:
    origin = find_forwarded("Fwd: Pedido 55", "\n" + THUNDERBIRD_BLOCK)
    assert origin is not None
    assert (origin.address, origin.name, origin.subject) == ("pedidos@tienda.test", "Tienda", "Pedido 55")
    assert origin.text == "Su pedido 55 ha sido cancelado."


def test_an_html_forward_quoted_whole_is_found() -> None:
    # Apple Mail's HTML puts the banner inside <blockquote type="cite">: as text, all of it is quoted.
    text = "\n".join("> " + line if line else ">" for line in (
        "Begin forwarded message:", "", "From: Tienda <pedidos@tienda.test>", "Subject: Pedido 55", "",
        "Su pedido 55 ha sido cancelado."))  # fmt: skip
    origin = find_forwarded("Fwd: Pedido 55", text)
    assert origin is not None
    assert (origin.address, origin.text) == ("pedidos@tienda.test", "Su pedido 55 ha sido cancelado.")


def test_a_quoted_forward_below_new_text_is_not_this_messages_forward() -> None:
    # A reply that quotes an earlier forward: the sender wrote this message, forwarded nothing.
    text = "Thanks, done.\n\n" + "\n".join("> " + line for line in THUNDERBIRD_BLOCK.splitlines())
    assert find_forwarded("Re: Pedido 55", text) is None
