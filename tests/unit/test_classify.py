from __future__ import annotations

from typing import Any

import pytest

from mailbot.message import InboundMessage
from mailbot.pipeline.classify import (
    AUTO_REPLY,
    BOUNCE,
    CUSTOMER,
    OWN_ECHO,
    RULES,
    Verdict,
    canonical_address,
    classify,
)

OWN = ("support@shop.example", "Billing@Shop.example")


def message(**overrides: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "channel": "email",
        "sender_address": "ana@customer.example",
        "sender_name": "Ana García",
        "subject": "My order 1234",
        "text": "Hello, where is my order?",
        "headers": {},
    }
    fields.update(overrides)
    return InboundMessage(**fields)


def verdict(**overrides: Any) -> Verdict:
    return classify(message(**overrides), OWN, own_message_ids=("ack-1@mailbot.shop.example",))


def test_plain_customer_message() -> None:
    result = verdict()
    assert result == Verdict(CUSTOMER, result.reason, "")
    assert "person" in result.reason


# --- own echo --------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender",
    [
        "support@shop.example",
        "SUPPORT@shop.example",
        "billing@shop.example",
        "support+t7k3q9p@shop.example",
        "<support@shop.example>",
    ],
)
def test_own_address_is_an_echo(sender: str) -> None:
    result = verdict(sender_address=sender)
    assert result.kind == OWN_ECHO
    assert result.rule == "own_address"


def test_other_local_part_on_our_domain_is_not_us() -> None:
    assert verdict(sender_address="supporter@shop.example").kind == CUSTOMER


def test_our_reference_header_is_an_echo() -> None:
    assert verdict(headers={"x-mailbot-ref": "MB-7K3Q9P"}).kind == OWN_ECHO


@pytest.mark.parametrize("message_id", ["ack-1@mailbot.shop.example", "<ack-1@mailbot.shop.example>"])
def test_our_message_id_is_an_echo(message_id: str) -> None:
    assert verdict(message_id=message_id).kind == OWN_ECHO


def test_reply_to_our_message_is_a_customer() -> None:
    # Customers' replies name our Message-ID in In-Reply-To; that is threading, not an echo.
    result = verdict(in_reply_to=["ack-1@mailbot.shop.example"], subject="Re: [#MB-7K3Q9P] order")
    assert result.kind == CUSTOMER


def test_echo_wins_over_auto_submitted() -> None:
    result = verdict(sender_address="support@shop.example", headers={"auto-submitted": "auto-replied"})
    assert result.kind == OWN_ECHO


# --- bounces -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        'multipart/report; report-type=delivery-status; boundary="x"',
        'Multipart/Report; boundary="x"; report-type="Delivery-Status"',
        'multipart/report;\r\n\treport-type=delivery-status; boundary="x"',
        "multipart/report; report-type*=us-ascii''delivery-status",
    ],
)
def test_delivery_status_report(content_type: str) -> None:
    result = verdict(headers={"content-type": content_type})
    assert result.kind == BOUNCE
    assert "RFC 3464" in result.reason


def test_delivery_status_from_content_type_field() -> None:
    assert verdict(content_type="multipart/report; report-type=delivery-status").kind == BOUNCE


@pytest.mark.parametrize(
    ("sender", "name"),
    [
        ("MAILER-DAEMON@mx.example", ""),
        ("postmaster@outlook.example", "Postmaster"),
        ("mailer-daemon@googlemail.com", "Mail Delivery Subsystem"),
        ("bounces@mx.example", "Mail Delivery Subsystem"),
    ],
)
def test_mail_system_sender(sender: str, name: str) -> None:
    assert verdict(sender_address=sender, sender_name=name).kind == BOUNCE


@pytest.mark.parametrize(
    "subject",
    [
        "Undelivered Mail Returned to Sender",
        "Delivery Status Notification (Failure)",
        "Mail delivery failed: returning message to sender",
        "Returned mail: see transcript",
        "Undeliverable: My order 1234",
        "No se puede entregar: Pedido",
        "Non recapitabile: Ordine",
        "Unzustellbar: Bestellung",
        "Non remis : Commande",
    ],
)
def test_null_path_with_bounce_subject(subject: str) -> None:
    result = verdict(sender_address="server@mx.example", subject=subject, return_path="")
    assert result.kind == BOUNCE
    assert result.rule == "non_delivery"


def test_bounce_subject_without_null_path_is_a_customer() -> None:
    # A customer returning goods may well write "Returned mail order".
    assert verdict(subject="Returned mail order item", return_path="ana@customer.example").kind == CUSTOMER


def test_parsed_bounced_message_id() -> None:
    assert verdict(bounced_message_id="ack-9@mailbot.shop.example").kind == BOUNCE


def test_exim_failed_recipients() -> None:
    assert verdict(headers={"x-failed-recipients": "gone@customer.example"}).kind == BOUNCE


def test_bounce_wins_over_auto_submitted() -> None:
    result = verdict(sender_address="MAILER-DAEMON@mx.example", headers={"auto-submitted": "auto-replied"})
    assert result.kind == BOUNCE


# --- automatic replies: headers ---------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "auto-replied",
        "auto-generated",
        "Auto-Replied",
        "auto-notified",
        'auto-replied; owner-email="boss@customer.example"',
    ],
)
def test_auto_submitted(value: str) -> None:
    result = verdict(headers={"auto-submitted": value})
    assert result.kind == AUTO_REPLY
    assert "RFC 3834" in result.reason


@pytest.mark.parametrize("value", ["no", "No", " no ", ""])
def test_auto_submitted_no_is_a_person(value: str) -> None:
    assert verdict(headers={"auto-submitted": value}).kind == CUSTOMER


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "auto_reply", "Bulk"])
def test_precedence(value: str) -> None:
    assert verdict(headers={"precedence": value}).kind == AUTO_REPLY


@pytest.mark.parametrize("value", ["normal", "first-class", "urgent"])
def test_ordinary_precedence_is_a_person(value: str) -> None:
    assert verdict(headers={"precedence": value}).kind == CUSTOMER


@pytest.mark.parametrize(
    "headers",
    [
        {"x-autoreply": "yes"},
        {"x-autorespond": "Out of office"},
        {"x-autoreply-from": "ana@c.example"},
        {"x-mail-autoreply": "1"},
        {"x-autogenerated": "Reply"},
        {"x-loop": "helpdesk@c.example"},
        {"x-auto-response-suppress": "All"},
        {"x-auto-response-suppress": "DR, RN, NRN, OOF, AutoReply"},
        {"x-auto-response-suppress": "OOF"},
    ],
)
def test_autoresponder_headers(headers: dict[str, str]) -> None:
    assert verdict(headers=headers).kind == AUTO_REPLY


@pytest.mark.parametrize(
    "headers",
    [
        {"x-auto-response-suppress": "None"},
        {"x-auto-response-suppress": ""},
        {"x-autogenerated": "Forward"},
        {"x-autoreply": "no"},
    ],
)
def test_harmless_autoresponder_header_values(headers: dict[str, str]) -> None:
    assert verdict(headers=headers).kind == CUSTOMER


@pytest.mark.parametrize(
    "headers",
    [
        {"list-id": "<news.brand.example>"},
        {"list-unsubscribe": "<https://brand.example/u/1>, <mailto:u@brand.example>"},
        {"list-post": "<mailto:users@lists.example>"},
    ],
)
def test_list_mail(headers: dict[str, str]) -> None:
    result = verdict(headers=headers)
    assert result.kind == AUTO_REPLY
    assert "list mail" in result.reason


def test_our_own_group_relaying_a_customer_is_not_list_mail() -> None:
    # support@ as a Google Group adds list headers naming itself to every customer's mail.
    headers = {
        "list-id": "<support.shop.example>",
        "list-post": "<https://groups.google.com/a/shop.example/group/support/post>",
        "list-unsubscribe": "<mailto:googlegroups-manage+1+unsubscribe@googlegroups.com>",
    }
    assert verdict(headers=headers).kind == CUSTOMER


def test_read_receipt_is_automatic() -> None:
    result = verdict(headers={"content-type": "multipart/report; report-type=disposition-notification"})
    assert result.kind == AUTO_REPLY
    assert "disposition-notification" in result.reason


@pytest.mark.parametrize(
    "sender",
    [
        "noreply@brand.example",
        "no-reply@brand.example",
        "no_reply@brand.example",
        "do-not-reply@brand.example",
        "donotreply@brand.example",
        "noreply+bounce-1@brand.example",
        "no-reply-42@brand.example",
        "nao-responda@loja.example",
        "ne-pas-repondre@boutique.example",
    ],
)
def test_noreply_sender(sender: str) -> None:
    assert verdict(sender_address=sender).kind == AUTO_REPLY


@pytest.mark.parametrize(
    "sender",
    [
        "norman@customer.example",
        "noreen@customer.example",
        "replyguy@customer.example",
        "nora.reply@customer.example",
    ],
)
def test_noreply_lookalikes_are_people(sender: str) -> None:
    assert verdict(sender_address=sender).kind == CUSTOMER


def test_feedback_id_named_in_reason() -> None:
    result = verdict(sender_address="noreply@brand.example", headers={"feedback-id": "1:2:gmail"})
    assert result.kind == AUTO_REPLY
    assert "Feedback-ID" in result.reason


def test_feedback_id_alone_is_not_enough() -> None:
    # Amazon SES stamps Feedback-ID on every message it relays, people's too.
    assert verdict(headers={"feedback-id": "1.eu-west-1.abc:AmazonSES"}).kind == CUSTOMER


def test_null_return_path_alone_is_automatic() -> None:
    result = verdict(return_path="")
    assert result.kind == AUTO_REPLY
    assert result.rule == "null_return_path"


def test_absent_return_path_is_not_null() -> None:
    assert verdict(return_path=None).kind == CUSTOMER


# --- automatic replies: out-of-office subjects ---------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        # English
        "Out of Office",
        "Automatic reply: Re: my order",
        "Auto-Reply: your message",
        "Autoreply",
        "On vacation",
        "Away from office until Monday",
        "Re: order 1234 - Out of Office",
        "OUT OF THE OFFICE: back on 3 March",
        # Spanish
        "Respuesta automática: Pedido 1234",
        "RESPUESTA AUTOMATICA",
        "Fuera de la oficina",
        "Fuera de oficina hasta el lunes",
        "Ausente: Re: pedido",
        # Italian
        "Risposta automatica: Ordine",
        "Fuori sede",
        "Fuori ufficio fino al 3 marzo",
        "Assente",
        # Portuguese
        "Resposta automática: Pedido",
        "Ausência",
        "Fora do escritório",
        # French
        "Réponse automatique : Commande",
        "REPONSE AUTOMATIQUE",
        "Absence du bureau",
        "Absent du bureau jusqu'au lundi",
        "Message d’absence",
        # German
        "Automatische Antwort: Bestellung",
        "Abwesenheitsnotiz: Re: Bestellung",
        "Außer Haus",
        "Ich bin außer Haus",
        "AUSSER HAUS",
        # behind reply prefixes and tags
        "Re: Automatic reply: Re: my order",
        "AW: Abwesenheitsnotiz",
        "[EXT] Out of office",
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    result = verdict(subject=subject)
    assert result.kind == AUTO_REPLY, subject
    assert result.rule == "out_of_office_subject"


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic payment failed",
        "Re: out of stock?",
        "Re: your automatic reply did not help",
        "Ausência de resposta ao meu pedido",
        "Ausente el paquete desde ayer",
        "On vacation and my booking vanished",
        "Out of office hours support?",
        "Question about automatic renewals",
        "Absent-minded? No, your site is broken",
        "Re: Undelivered parcel",
        "Fuori tempo massimo la consegna",
    ],
)
def test_customer_subjects_that_look_automatic(subject: str) -> None:
    assert verdict(subject=subject).kind == CUSTOMER, subject


# --- the chain itself --------------------------------------------------------------------------


def test_every_rule_is_described_and_named_uniquely() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(rule.description and rule.kind in {OWN_ECHO, BOUNCE, AUTO_REPLY} for rule in RULES)


def test_first_matching_rule_decides() -> None:
    # Both a no-reply sender and list headers: the list rule comes first.
    result = verdict(sender_address="noreply@brand.example", headers={"list-id": "<n.brand.example>"})
    assert result.rule == "list_mail"


def test_rules_can_be_replaced() -> None:
    msg = message(headers={"auto-submitted": "auto-replied"})
    assert classify(msg, OWN, rules=()).kind == CUSTOMER


def test_verdict_is_frozen() -> None:
    with pytest.raises(AttributeError):
        verdict().kind = BOUNCE  # type: ignore[misc]


def test_non_email_channel_handle() -> None:
    msg = message(channel="telegram", sender_address="@ana_g", subject="", headers={})
    assert classify(msg, OWN).kind == CUSTOMER
    assert classify(msg, ("@Ana_G",)).kind == OWN_ECHO


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("Support+abc@Shop.Example", "support@shop.example"),
        ("<a@b.example>", "a@b.example"),
        ("@handle", "@handle"),
        ("plain", "plain"),
    ],
)
def test_canonical_address(address: str, expected: str) -> None:
    assert canonical_address(address) == expected
