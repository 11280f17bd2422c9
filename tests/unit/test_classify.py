from __future__ import annotations

import re
from typing import Any

import pytest

from mailbot.mail.parse import parse_email
from mailbot.message import Attachment, EnclosedMessage, InboundMessage
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
from tests.fixtures.messages import (
    built_acknowledgement,
    carrier_bounce,
    customer_mail,
    feedback_report,
    provider_complaint,
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


# The loop rules on what the product itself writes: an acknowledgement built by the SMTP
# sender (senders/smtp.py build_email), parsed back as it would arrive.
ACK = built_acknowledgement(support="support@shop.example")
ACK_ID = re.search(rb"^Message-ID: <([^>]+)>", ACK, re.MULTILINE).group(1).decode()  # type: ignore[union-attr]


def classify_raw(raw: bytes, own_ids: tuple[str, ...] = (ACK_ID,)) -> Verdict:
    return classify(parse_email(raw), OWN, own_message_ids=own_ids)


def test_our_sent_ack_coming_back_is_an_echo_by_its_sender() -> None:
    result = classify_raw(ACK)
    assert (result.kind, result.rule) == (OWN_ECHO, "own_address")


def test_our_sent_ack_relayed_under_another_from_is_an_echo_by_its_message_id() -> None:
    relayed = ACK.replace(b"From: support@shop.example", b"From: lista@grupos.example", 1)
    assert relayed != ACK
    result = classify_raw(relayed)
    assert (result.kind, result.rule) == (OWN_ECHO, "own_message")
    assert ACK_ID in result.reason


def test_our_sent_ack_with_new_from_and_message_id_is_an_echo_by_our_outbox_header() -> None:
    # A gateway that rewrites From and issues its own Message-ID keeps the other headers.
    rewritten = re.sub(
        rb"^Message-ID: <[^>]+>",
        b"Message-ID: <relay-77@gw.example>",
        ACK.replace(b"From: support@shop.example", b"From: lista@grupos.example", 1),
        flags=re.MULTILINE,
    )
    assert b"relay-77@gw.example" in rewritten
    result = classify_raw(rewritten)
    assert (result.kind, result.rule) == (OWN_ECHO, "own_message")
    assert "X-Mailbot-Outbox" in result.reason and "ack:MB-7K3Q9P" in result.reason


def test_the_sent_ack_carries_the_header_the_rule_reads() -> None:
    # The rule once looked for X-Mailbot-Ref, which nothing writes.
    assert b"X-Mailbot-Outbox: ack:MB-7K3Q9P" in ACK
    assert b"X-Mailbot-Ref" not in ACK


def test_a_customer_reply_to_our_sent_ack_is_not_an_echo() -> None:
    reply = customer_mail(
        "r1@mail.gmail.test",
        subject="Re: [#MB-7K3Q9P] Mi pedido no ha llegado",
        extra_headers=f"In-Reply-To: <{ACK_ID}>\r\nReferences: <{ACK_ID}>\r\n",
    )
    assert classify_raw(reply).kind == CUSTOMER


@pytest.mark.parametrize("value", ["ack:MB-7K3Q9P", "notification:MB-7K3Q9P:3"])
def test_outbox_header_is_an_echo(value: str) -> None:
    result = verdict(headers={"x-mailbot-outbox": value})
    assert (result.kind, result.rule) == (OWN_ECHO, "own_message")


def test_empty_outbox_header_is_not_an_echo() -> None:
    assert verdict(headers={"x-mailbot-outbox": ""}).kind == CUSTOMER


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


# --- complaint reports ----------------------------------------------------------------

OUR_COPY = EnclosedMessage(
    message_id=ACK_ID,
    sender_address="support@shop.example",
    subject="[#MB-7K3Q9P] My order 1234",
    outbox_key="ack:MB-7K3Q9P",
)
THEIR_COPY = EnclosedMessage(
    message_id="spam-1@bulk.example", sender_address="offers@bulk.example", subject="Win a prize"
)
ARF_PART = Attachment("part-2.txt", "message/feedback-report", 40, b"Feedback-Type: fraud\r\nVersion: 1\r\n")


@pytest.mark.parametrize(
    "content_type",
    [
        'multipart/report; report-type=feedback-report; boundary="x"',
        'Multipart/Report; boundary="x"; report-type="Feedback-Report"',
        "multipart/report;\r\n\treport-type=feedback-report",
    ],
)
def test_arf_report_is_a_complaint(content_type: str) -> None:
    result = verdict(headers={"content-type": content_type}, sender_address="fbl@isp.example")
    assert (result.kind, result.rule) == (AUTO_REPLY, "feedback_report")
    assert "RFC 5965" in result.reason


def test_arf_reason_names_the_feedback_type() -> None:
    result = verdict(content_type="multipart/report; report-type=feedback-report", attachments=[ARF_PART])
    assert "Feedback-Type: fraud" in result.reason


def test_feedback_report_part_outside_a_report_is_a_complaint() -> None:
    # Some generators send the ARF parts under multipart/mixed.
    result = verdict(content_type="multipart/mixed", attachments=[ARF_PART])
    assert result.rule == "feedback_report"


@pytest.mark.parametrize(
    "overrides",
    [
        {"sender_address": "postmaster@isp.example"},
        {"sender_address": "MAILER-DAEMON@isp.example", "return_path": ""},
        {"headers": {"auto-submitted": "auto-generated", "precedence": "bulk"}},
    ],
)
def test_complaint_is_no_bounce_whoever_sends_it(overrides: dict[str, Any]) -> None:
    # Nothing bounced: the message was delivered and called spam.
    headers = {"content-type": "multipart/report; report-type=feedback-report"}
    headers.update(overrides.pop("headers", {}))
    result = verdict(headers=headers, **overrides)
    assert (result.kind, result.rule) == (AUTO_REPLY, "feedback_report")


@pytest.mark.parametrize(
    "subject",
    [
        "complaint about message from 192.0.2.1",
        "Complaint about message from 203.0.113.77 ",
        "complaint about message from [198.51.100.4]",
        "complaint about message from 2001:db8::25",
        "FW: complaint about message from 192.0.2.1",
    ],
)
def test_older_provider_complaint(subject: str) -> None:
    result = verdict(sender_address="staff@hotmail.example", subject=subject, enclosed=THEIR_COPY)
    assert (result.kind, result.rule) == (AUTO_REPLY, "feedback_report")


def test_provider_complaint_subject_without_the_message_is_not_a_report() -> None:
    assert verdict(subject="complaint about message from 192.0.2.1").kind == CUSTOMER


@pytest.mark.parametrize(
    "subject",
    [
        "Complaint about message from your agent",
        "Complaint about message from support@shop.example",
        "complaint about message from 192.0.2.1 and others",
        "My complaint about message from 192.0.2.1",
    ],
)
def test_a_customers_complaint_with_our_mail_attached_is_a_customer(subject: str) -> None:
    assert verdict(subject=subject, enclosed=OUR_COPY).kind == CUSTOMER


def test_abuse_report_wording_about_our_mail_is_a_complaint() -> None:
    result = verdict(
        sender_address="abuse@isp.example",
        subject="Abuse report",
        text="This is an e-mail abuse report for a message received from 192.0.2.1.",
        enclosed=OUR_COPY,
    )
    assert (result.kind, result.rule) == (AUTO_REPLY, "feedback_report")
    assert "ack:MB-7K3Q9P" in result.reason


def test_a_customer_reporting_abuse_with_someone_elses_mail_is_a_customer() -> None:
    # "This is an abuse report" is what a customer writes about phishing in our name.
    result = verdict(
        subject="Phishing in your name",
        text="This is an abuse report: the attached mail pretends to be you.",
        enclosed=THEIR_COPY,
    )
    assert result.kind == CUSTOMER


def test_read_receipt_is_not_a_complaint() -> None:
    result = verdict(headers={"content-type": "multipart/report; report-type=disposition-notification"})
    assert result.rule == "machine_report"


def test_arf_report_wrapping_our_sent_ack() -> None:
    result = classify_raw(feedback_report(ACK))
    assert (result.kind, result.rule) == (AUTO_REPLY, "feedback_report")


def test_provider_complaint_wrapping_our_sent_ack() -> None:
    result = classify_raw(provider_complaint(ACK))
    assert (result.kind, result.rule) == (AUTO_REPLY, "feedback_report")


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
    "sender",
    [
        "post_master@correo.operadora.example",
        "POST_MASTER@correo.operadora.example",
        "Post.Master@mx.example",
        "PostMaster@mail.example",
        "MAILER_DAEMON@smtp.example",
        "Mailer-Daemon@mx2.example",
        "mailer.daemon@mx.example",
        "MAILERDAEMON@mx.example",
        "mail_daemon@mx.example",
        "postmaster+bounces@mx.example",
    ],
)
def test_mail_system_sender_in_any_case_and_punctuation(sender: str) -> None:
    result = verdict(sender_address=sender, sender_name="")
    assert (result.kind, result.rule) == (BOUNCE, "mailer_daemon")


@pytest.mark.parametrize(
    "name", ["MAILER_DAEMON", "Mail Delivery System", "mail-delivery-subsystem", "Mail Administrator"]
)
def test_mail_system_display_name(name: str) -> None:
    result = verdict(sender_address="bounce-4471@mx.example", sender_name=name)
    assert (result.kind, result.rule) == (BOUNCE, "mailer_daemon")


@pytest.mark.parametrize(
    "sender",
    [
        "postman@customer.example",
        "postmasters.guild@customer.example",
        "mailer@customer.example",
        "daemon@customer.example",
        "master@customer.example",
        "post@customer.example",
        "mail.delivery@customer.example",
    ],
)
def test_mail_system_lookalikes_are_people(sender: str) -> None:
    assert verdict(sender_address=sender, sender_name="").kind == CUSTOMER


# One notice per language, each in the wording its MTAs use.
FAILURE_NOTICES = [
    "A message that you sent could not be delivered to one or more of its\nrecipients.",
    "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.",
    "Delivery has failed to these recipients or groups: ana@customer.example",
    "Su mensaje no pudo ser entregado al destinatario ana@customer.example.",
    "No se ha podido entregar el mensaje a los siguientes destinatarios.",
    "Il messaggio non è stato recapitato ai seguenti destinatari.",
    "Impossibile recapitare il messaggio a ana@customer.example.",
    "Não foi possível entregar a mensagem ao destinatário.",
    "A sua mensagem não pôde ser entregue.",
    "Votre message n’a pas pu être remis à un ou plusieurs destinataires.",
    "Ihre Nachricht konnte nicht zugestellt werden.",
    "Die Zustellung an folgende Empfänger ist fehlgeschlagen.",
    "host mx.customer.example said: 550 5.1.1 <ana@customer.example>: user unknown",
]


@pytest.mark.parametrize("text", FAILURE_NOTICES)
@pytest.mark.parametrize(
    ("second_sign", "overrides"),
    [
        ("our copy", {"enclosed": OUR_COPY}),
        ("null path", {"return_path": ""}),
        ("auto-submitted", {"headers": {"auto-submitted": "auto-generated"}}),
    ],
)
def test_failure_notice_with_a_second_sign(text: str, second_sign: str, overrides: dict[str, Any]) -> None:
    result = verdict(
        sender_address="notices@mx.operadora.example",
        sender_name="Servicio de correo",
        subject="Re: [#MB-7K3Q9P] My order 1234",
        text=text,
        **overrides,
    )
    assert (result.kind, result.rule) == (BOUNCE, "failure_notice"), second_sign


@pytest.mark.parametrize("text", FAILURE_NOTICES)
def test_failure_wording_alone_is_a_person(text: str) -> None:
    # A customer quoting the notice they got when writing to another address of ours.
    assert verdict(subject="Undeliverable: my mail to billing", text=text).kind == CUSTOMER


@pytest.mark.parametrize(
    "text",
    [
        "My payment failed, and the order could not be delivered.",
        "El paquete no se ha podido entregar y nadie me avisa.",
        "Il pacco non è stato consegnato e il corriere non risponde.",
        "Das Paket konnte nicht zugestellt werden.",
        "Le colis n'a pas pu être livré.",
    ],
)
def test_parcel_that_could_not_be_delivered_is_a_customer_even_with_our_mail_attached(text: str) -> None:
    assert verdict(text=text, enclosed=OUR_COPY).kind == CUSTOMER


def test_failure_wording_with_someone_elses_mail_attached_is_a_person() -> None:
    result = verdict(text="Your message could not be delivered, see the attached mail.", enclosed=THEIR_COPY)
    assert result.kind == CUSTOMER


def test_our_mail_attached_alone_is_a_customer_forwarding_it() -> None:
    assert verdict(text="What does this mail of yours mean?", enclosed=OUR_COPY).kind == CUSTOMER


@pytest.mark.parametrize(
    "copy",
    [
        EnclosedMessage(message_id=ACK_ID, sender_address="", subject=""),
        EnclosedMessage(message_id=None, sender_address="", subject="", outbox_key="ack:MB-7K3Q9P"),
        EnclosedMessage(message_id=None, sender_address="Support+mb-7k3q9p.x@shop.example", subject=""),
    ],
)
def test_each_sign_that_the_copy_is_ours(copy: EnclosedMessage) -> None:
    msg = message(text="Your message could not be delivered.", enclosed=copy)
    result = classify(msg, OWN, own_message_ids=(ACK_ID,))
    assert (result.kind, result.rule) == (BOUNCE, "failure_notice")


def test_carrier_bounce_quoting_our_sent_ack_below() -> None:
    result = classify_raw(carrier_bounce(ACK))
    assert (result.kind, result.rule) == (BOUNCE, "mailer_daemon")
    assert parse_email(carrier_bounce(ACK)).bounced_message_id == ACK_ID


def test_notice_from_an_unknown_sender_quoting_our_sent_ack() -> None:
    # No daemon name, a real Return-Path, no Auto-Submitted: the wording and our own copy.
    raw = carrier_bounce(
        ACK,
        sender="Zustellsystem <zustellung@mx.web.example>",
        return_path="<zustellung@mx.web.example>",
        explanation="Ihre Nachricht konnte nicht zugestellt werden: Postfach voll.\n",
    )
    result = classify_raw(raw, own_ids=())
    assert (result.kind, result.rule) == (BOUNCE, "failure_notice")
    assert "ack:MB-7K3Q9P" in result.reason


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
