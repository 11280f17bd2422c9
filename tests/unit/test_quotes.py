import pytest

from mailbot.mail.quotes import ReplyParts, split_reply


def test_plain_text_without_quote_is_all_new() -> None:
    text = "Hello,\n\nmy order #1234 has not arrived yet.\n\nThanks,\nJohn"
    assert split_reply(text) == ReplyParts(new=text, quoted="", signature="")


def test_gmail_english_attribution() -> None:
    text = (
        "Yes, please cancel it.\n\n"
        "On Mon, Mar 4, 2024 at 10:15 AM Support <support@example.com> wrote:\n\n"
        "> Do you want us to cancel order 1234?\n"
    )
    parts = split_reply(text)
    assert parts.new == "Yes, please cancel it."
    assert parts.quoted.startswith("On Mon, Mar 4, 2024")
    assert parts.quoted.endswith("> Do you want us to cancel order 1234?")


def test_attribution_wrapped_inside_the_address() -> None:
    text = (
        "Thanks!\n\n"
        "On Mon, Mar 4, 2024 at 10:15 AM Customer Support Team <\n"
        "support@example.com> wrote:\n\n"
        "> Hi John\n"
    )
    parts = split_reply(text)
    assert parts.new == "Thanks!"
    assert "support@example.com> wrote:" in parts.quoted


def test_spanish_attribution_wrapped_over_two_lines() -> None:
    text = (
        "Hola,\n\nNo me llegó el pedido.\n\nSaludos,\nAna\n\n"
        "El lun, 4 mar 2024 a las 10:15, Soporte <soporte@example.com>\n"
        "escribió:\n"
        "> Hola Ana,\n> ¿en qué podemos ayudar?\n"
    )
    parts = split_reply(text)
    assert parts.new == "Hola,\n\nNo me llegó el pedido.\n\nSaludos,\nAna"
    assert parts.quoted.startswith("El lun, 4 mar 2024")
    assert parts.signature == ""


@pytest.mark.parametrize(
    "attribution",
    [
        "Il giorno lun 4 mar 2024 alle ore 10:15 Assistenza <assistenza@example.it> ha scritto:",
        "Il 04/03/2024 10:15, Marco Rossi ha scritto:",
        "Em seg., 4 de mar. de 2024 às 10:15, Suporte <suporte@example.pt> escreveu:",
        "Le lun. 4 mars 2024 à 10:15, Service client <sav@example.fr> a écrit :",
        "Am 04.03.2024 um 10:15 schrieb Kundenservice <service@example.de>:",
        "Am Mo., 4. März 2024 um 10:15 Uhr schrieb Hans Müller <hans@example.de>:",
        "On 3/4/24 10:15, Support wrote:",
    ],
)
def test_localised_attributions(attribution: str) -> None:
    parts = split_reply(f"Grazie, tutto chiaro.\n\n{attribution}\n> testo precedente\n")
    assert parts.new == "Grazie, tutto chiaro."
    assert parts.quoted == f"{attribution}\n> testo precedente"


def test_attribution_without_date_needs_quoted_lines() -> None:
    assert split_reply("Ok\n\nAna Pérez <ana@example.es> wrote:\n> hi").new == "Ok"
    kept = "Ok\n\nMy colleague wrote:\nplease call me"
    assert split_reply(kept).new == kept


def test_sentence_looking_like_attribution_without_date_is_kept() -> None:
    text = "Hi\n\nOn Monday I wrote:\nthe parcel is damaged"
    assert split_reply(text).new == text


def test_outlook_reply_in_spanish_with_underscore_separator() -> None:
    text = (
        "Buenas tardes,\nadjunto la factura.\n\nUn saludo,\nAna Pérez\n\n"
        "________________________________\n"
        "De: Soporte <soporte@example.com>\n"
        "Enviado: lunes, 4 de marzo de 2024 10:15\n"
        "Para: Ana Pérez <ana@example.es>\n"
        "Asunto: RE: Factura\n\n"
        "Hola Ana, ¿nos envía la factura?\n"
    )
    parts = split_reply(text)
    assert parts.new == "Buenas tardes,\nadjunto la factura.\n\nUn saludo,\nAna Pérez"
    assert parts.quoted.startswith("________________________________\nDe: Soporte")
    assert parts.quoted.endswith("¿nos envía la factura?")


@pytest.mark.parametrize(
    "separator",
    ["-----Original Message-----", "-----Mensaje original-----", "-----Messaggio originale-----"],
)
def test_outlook_original_message_separators(separator: str) -> None:
    text = f"See below.\n\n{separator}\nFrom: Support\nSent: Monday\n\nOld text"
    parts = split_reply(text)
    assert parts.new == "See below."
    assert parts.quoted.startswith(separator)


@pytest.mark.parametrize(
    ("sender_line", "date_line"),
    [
        ("From: Support <support@example.com>", "Sent: Monday, March 4, 2024 10:15 AM"),
        ("De: Soporte <soporte@example.com>", "Fecha: lunes, 4 de marzo de 2024 10:15"),
        ("Da: Assistenza <assistenza@example.it>", "Inviato: lunedì 4 marzo 2024 10:15"),
        ("Da: Assistenza <assistenza@example.it>", "Data: lunedì 4 marzo 2024 10:15"),
        ("Von: Kundenservice <service@example.de>", "Gesendet: Montag, 4. März 2024 10:15"),
        ("*From:* Support <support@example.com>", "*Date:* Monday, March 4, 2024"),
    ],
)
def test_outlook_header_block_without_separator(sender_line: str, date_line: str) -> None:
    text = f"Thanks, solved.\n\n{sender_line}\nTo: me@example.org\n{date_line}\n\nOld text"
    parts = split_reply(text)
    assert parts.new == "Thanks, solved."
    assert parts.quoted.startswith(sender_line)


def test_from_line_without_sent_line_is_not_a_header_block() -> None:
    text = "My address changed.\nFrom: Calle Mayor 1\nTo: Calle Menor 2"
    assert split_reply(text).new == text


def test_trailing_bare_quote_block() -> None:
    parts = split_reply("Done, thanks.\n\n> Please restart the router.\n> Then try again.")
    assert parts.new == "Done, thanks."
    assert parts.quoted == "> Please restart the router.\n> Then try again."


def test_bottom_posted_reply_keeps_text_below_quote() -> None:
    text = (
        "On Mon, Mar 4, 2024 at 10:15 AM Support <support@example.com> wrote:\n"
        "> Did you try restarting?\n\n"
        "Yes, twice, still broken.\n"
    )
    parts = split_reply(text)
    assert parts.new == "Yes, twice, still broken."
    assert parts.quoted.startswith("On Mon, Mar 4, 2024")


def test_bottom_posting_without_attribution_and_with_signature() -> None:
    parts = split_reply("> Did you try restarting?\n\nYes, twice.\n\n-- \nJohn Smith\nACME Ltd")
    assert parts.new == "Yes, twice."
    assert parts.quoted == "> Did you try restarting?"
    assert parts.signature == "--\nJohn Smith\nACME Ltd"


def test_interleaved_answers_are_kept_whole() -> None:
    text = "> What is your order number?\n1234\n> Which colour?\nBlue"
    assert split_reply(text) == ReplyParts(new=text, quoted="", signature="")


def test_rfc3676_signature_delimiter() -> None:
    parts = split_reply("Please send a new one.\n\n-- \nJohn Smith\n+44 20 7946 0000")
    assert parts.new == "Please send a new one."
    assert parts.signature == "--\nJohn Smith\n+44 20 7946 0000"


def test_delimiter_with_trailing_space_stripped_by_client() -> None:
    assert split_reply("Gracias\n--\nAna").signature == "--\nAna"


def test_very_long_block_after_delimiter_is_not_a_signature() -> None:
    text = "Intro\n--\n" + "\n".join(f"step {n}" for n in range(30))
    assert split_reply(text).new == text


@pytest.mark.parametrize(
    "signoff",
    [
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Enviado desde mi iPhone",
        "Inviato da iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado do meu iPhone",
        "Get Outlook for Android",
        "Get Outlook for iOS",
        "Sent from Mail for Windows",
    ],
)
def test_mobile_signoffs(signoff: str) -> None:
    parts = split_reply(f"Where is my parcel?\n\nSaludos,\nAna\n\n{signoff}")
    assert parts.new == "Where is my parcel?\n\nSaludos,\nAna"
    assert parts.signature == signoff


def test_mobile_signoff_above_quote() -> None:
    text = (
        "Va bene\n\nInviato da iPhone\n\n"
        "Il giorno 4 mar 2024, alle ore 10:15, Assistenza <a@example.it> ha scritto:\n"
        "> Salve\n"
    )
    parts = split_reply(text)
    assert parts == ReplyParts(
        new="Va bene",
        quoted="Il giorno 4 mar 2024, alle ore 10:15, Assistenza <a@example.it> ha scritto:\n> Salve",
        signature="Inviato da iPhone",
    )


def test_sentence_starting_like_a_signoff_is_kept() -> None:
    text = "Ok\n\nSent from my office, please call me back on Monday."
    assert split_reply(text).new == text


@pytest.mark.parametrize("closing", ["Saludos,\nAna", "Cordiali saluti,\nMarco", "Best,\nJohn"])
def test_closing_lines_stay_in_new_text(closing: str) -> None:
    text = f"Necesito ayuda con la factura.\n\n{closing}"
    assert split_reply(text) == ReplyParts(new=text, quoted="", signature="")


def test_crlf_line_endings() -> None:
    parts = split_reply("Thanks\r\n\r\nOn 4 Mar 2024, Support <s@example.com> wrote:\r\n> hi\r\n")
    assert parts.new == "Thanks"
    assert parts.quoted == "On 4 Mar 2024, Support <s@example.com> wrote:\n> hi"


def test_empty_text() -> None:
    assert split_reply("") == ReplyParts(new="", quoted="", signature="")


def test_customer_line_starting_like_an_opener_is_not_joined_into_attribution() -> None:
    text = (
        "Il pacco non è arrivato\n"
        "Il giorno lun 4 mar 2024 alle ore 10:15 Assistenza <a@example.it> ha scritto:\n"
        "> Salve"
    )
    assert split_reply(text).new == "Il pacco non è arrivato"


def test_bare_attribution_is_never_joined_with_the_line_above() -> None:
    text = "Ya lo recibí, gracias.\nSoporte <soporte@example.com> escribió:\n\n> Enviado."
    parts = split_reply(text)
    assert parts.new == "Ya lo recibí, gracias."
    assert parts.quoted.startswith("Soporte <soporte@example.com> escribió:")
