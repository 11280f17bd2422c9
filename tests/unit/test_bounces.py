"""The signs of a failure notice that is no RFC 3464 report (mailbot/mail/bounces.py)."""

from __future__ import annotations

import pytest

from mailbot.mail import bounces
from mailbot.mail.bounces import BOUNCE_SUBJECTS, MAIL_SYSTEM_NAMES, failure_wording, is_mail_system
from mailbot.pipeline import classify


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("post_master@correo.example", ""),
        ("MAILER_DAEMON@smtp.example", ""),
        ("<Mailer-Daemon@mx.example>", ""),
        ("postmaster+x@mx.example", ""),
        ("bounce@mx.example", "MAILER-DAEMON"),
        ("bounce@mx.example", "  Mail Delivery Subsystem "),
        ("maildeliverysystem@mx.example", ""),
    ],
)
def test_mail_systems(address: str, name: str) -> None:
    assert is_mail_system(address, name)


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("ana@customer.example", "Ana"),
        ("postmaster", ""),  # no domain: not an address at all
        ("@postmaster", ""),  # a chat handle
        ("ana@customer.example", ""),
        ("post.mastery@customer.example", ""),
        ("ana@customer.example", "Mail Delivery Team Lead"),
    ],
)
def test_not_mail_systems(address: str, name: str) -> None:
    assert not is_mail_system(address, name)


def test_one_list_of_mail_system_names() -> None:
    # Parsing and classification read the same list; neither keeps its own copy.
    assert "postmaster" in MAIL_SYSTEM_NAMES and "mailerdaemon" in MAIL_SYSTEM_NAMES
    assert not hasattr(classify, "_DAEMON_LOCAL_PARTS") and not hasattr(classify, "_DAEMON_NAMES")
    from mailbot.mail import parse

    assert not hasattr(parse, "_BOUNCE_SENDERS")
    assert parse.is_mail_system is bounces.is_mail_system
    assert classify.is_mail_system is bounces.is_mail_system


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "your message could not\nbe delivered to one or more recipients",
            "your message could not be delivered",
        ),
        ("YOUR MESSAGE WASN’T DELIVERED to ana@x.example", "your message wasn't delivered"),
        ("Votre message n’a pas pu être remis.", "votre message n'a pas pu etre remis"),
        ("Die Nachricht konnte nicht zugestellt werden.", "die nachricht konnte nicht zugestellt werden"),
        ("Remote said: 552-5.2.2 mailbox full", "552-5.2.2"),
        ("Il messaggio non è stato consegnato.", "il messaggio non e stato consegnato"),
    ],
)
def test_failure_wording_is_found_through_case_accents_and_line_breaks(text: str, expected: str) -> None:
    assert failure_wording(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Where is my order? It could not be delivered, the courier says.",
        "My payment failed twice.",
        "Version 5.1.1 of your app crashes",
        "I called 550 times",
        "Il corriere dice che il pacco non è stato consegnato.",
    ],
)
def test_ordinary_text_has_no_failure_wording(text: str) -> None:
    assert failure_wording(text) is None


def test_bounce_subjects_are_folded() -> None:
    assert "echec de la remise" in BOUNCE_SUBJECTS and "mensagem nao entregue" in BOUNCE_SUBJECTS
