import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailbot.mail.addresses import parse_address_list
from mailbot.mail.parse import UnparseableMessage, parse_email

SIMPLE = b"""Return-Path: <john.smith@example.org>
Delivered-To: support@example.com
Received: from mail.example.org (mail.example.org [203.0.113.5])
\tby mx.example.com with ESMTPS id 4Tq; Mon, 4 Mar 2024 10:15:03 +0000
From: John Smith <John.Smith@Example.ORG>
To: Support <support@example.com>
Subject: Order 1234 has not arrived
Date: Mon, 4 Mar 2024 10:15:00 +0000
Message-ID: <CAF=abc123@mail.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 7bit

Hello,

my order 1234 has not arrived yet.

Thanks,
John
"""


def test_simple_message() -> None:
    msg = parse_email(SIMPLE)
    assert msg.channel == "email"
    assert msg.sender_address == "john.smith@example.org"
    assert msg.sender_name == "John Smith"
    assert msg.subject == "Order 1234 has not arrived"
    assert msg.text == "Hello,\n\nmy order 1234 has not arrived yet.\n\nThanks,\nJohn"
    assert msg.quoted_text == "" and msg.signature == "" and msg.html is None
    assert msg.message_id == "CAF=abc123@mail.example.org"
    assert msg.date == datetime(2024, 3, 4, 10, 15, tzinfo=UTC)
    assert msg.content_type == "text/plain"
    assert msg.return_path == "john.smith@example.org"
    assert msg.recipients == ["support@example.com"]
    assert msg.language is None
    assert msg.parse_warnings == []


def test_headers_are_lower_cased_first_values_and_unfolded() -> None:
    headers = parse_email(SIMPLE).headers
    assert headers["subject"] == "Order 1234 has not arrived"
    assert headers["received"].startswith("from mail.example.org (mail.example.org [203.0.113.5])")
    assert "\n" not in headers["received"]
    assert headers["message-id"] == "<CAF=abc123@mail.example.org>"


def test_crlf_line_endings() -> None:
    msg = parse_email(SIMPLE.replace(b"\n", b"\r\n"))
    assert msg.subject == "Order 1234 has not arrived"
    assert msg.text.endswith("Thanks,\nJohn")
    assert "\r" not in msg.text


def test_rfc2047_subject_in_iso_8859_1_q_and_name_in_utf8_b() -> None:
    raw = b"""From: =?UTF-8?B?Sm9zw6kgUMOpcmV6?= <jose@example.es>
To: soporte@example.com
Subject: =?iso-8859-1?Q?Informaci=F3n_sobre_mi_pedido?=
Date: Tue, 5 Mar 2024 09:00:00 +0100

Hola
"""
    msg = parse_email(raw)
    assert msg.subject == "Información sobre mi pedido"
    assert msg.sender_name == "José Pérez"


def test_rfc2047_subject_in_utf8_b_split_over_two_words() -> None:
    raw = b"""From: marco@example.it
Subject: =?utf-8?B?UGVyY2jDqSBsJ29yZGluZSDDqA==?=
 =?utf-8?B?IGluIHJpdGFyZG8/?=

Ciao
"""
    assert parse_email(raw).subject == "Perché l'ordine è in ritardo?"


def test_malformed_and_raw_8bit_headers_never_raise() -> None:
    raw = (
        b"From: Jos\xe9 Garc\xeda <jose@example.es>\n"
        b'To: "Pe\xc3\xb1a, Luc\xc3\xada" <lucia@example.es>\n'
        b"Subject: Pedido =?utf-8?q?sin_terminar\n"
        b"X-Weird: =?bogus-charset?q?abc?=\n"
        b"Date: not a date\n\n"
        b"Hola\n"
    )
    msg = parse_email(raw)
    assert msg.sender_name == "José García"
    assert msg.sender_address == "jose@example.es"
    assert msg.subject == "Pedido =?utf-8?q?sin_terminar"
    assert msg.headers["to"] == '"Peña, Lucía" <lucia@example.es>'
    assert msg.headers["x-weird"] == "abc"
    assert msg.date is None
    assert any("Date" in warning for warning in msg.parse_warnings)


def test_name_with_comma_inside_encoded_word_stays_one_address() -> None:
    raw = b"""From: =?utf-8?q?P=C3=A9rez,_Ana?= <ana@example.es>
To: =?utf-8?q?Ventas,_Madrid?= <ventas@example.com>, otros@example.com

Hola
"""
    msg = parse_email(raw)
    assert (msg.sender_address, msg.sender_name) == ("ana@example.es", "Pérez, Ana")
    assert msg.recipients == ["ventas@example.com", "otros@example.com"]


def test_message_ids_without_brackets_and_folded_references_with_garbage() -> None:
    raw = b"""From: a@example.org
Message-ID: <20240304.1@mail.example.org>
In-Reply-To: <ticket-42@support.example.com> (Support's message of Mon, 4 Mar 2024)
References: <root@example.com>
 <ticket-42@support.example.com>
\tgarbage-without-at <ticket-42@support.example.com>

Body
"""
    msg = parse_email(raw)
    assert msg.message_id == "20240304.1@mail.example.org"
    assert msg.in_reply_to == ["ticket-42@support.example.com"]
    assert msg.references == ["root@example.com", "ticket-42@support.example.com"]


def test_message_id_missing_angle_brackets() -> None:
    raw = b"From: a@example.org\nMessage-ID: abc.123@example.org\n\nBody\n"
    assert parse_email(raw).message_id == "abc.123@example.org"


def test_recipients_from_all_sources_deduplicated_in_order() -> None:
    raw = b"""Delivered-To: soporte@example.com
Delivered-To: Soporte+ES@Example.com
X-Original-To: ventas@example.com
From: Cliente <cliente@example.org>
To: Ventas <VENTAS@example.com>, soporte@example.com
Cc: "Jefe" <jefe@example.org>, undisclosed-recipients:;

Hola
"""
    assert parse_email(raw).recipients == [
        "soporte@example.com",
        "soporte+es@example.com",
        "ventas@example.com",
        "jefe@example.org",
    ]


def test_date_with_unknown_zone_is_utc() -> None:
    raw = b"From: a@example.org\nDate: Mon, 04 Mar 2024 10:15:00 -0000\n\nx\n"
    assert parse_email(raw).date == datetime(2024, 3, 4, 10, 15, tzinfo=UTC)


def test_date_keeps_offset() -> None:
    raw = b"From: a@example.org\nDate: Mon, 4 Mar 2024 10:15:00 +0100 (CET)\n\nx\n"
    date = parse_email(raw).date
    assert date is not None and date.utcoffset() == timedelta(hours=1)
    assert date == datetime(2024, 3, 4, 10, 15, tzinfo=timezone(timedelta(hours=1)))


def test_null_return_path() -> None:
    raw = b"Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.com>\n\nx\n"
    assert parse_email(raw).return_path == ""


def test_missing_return_path_is_none() -> None:
    raw = b"From: a@example.org\n\nx\n"
    assert parse_email(raw).return_path is None


def test_missing_from_falls_back_to_return_path() -> None:
    raw = b"""Return-Path: <Billing@Example.NET>
To: support@example.com
Subject: Invoice
Date: Mon, 4 Mar 2024 10:15:00 +0000

See attached.
"""
    msg = parse_email(raw)
    assert msg.sender_address == "billing@example.net"
    assert msg.sender_name == ""
    assert any("Return-Path" in warning for warning in msg.parse_warnings)


def test_missing_from_prefers_sender_then_reply_to() -> None:
    raw = b"Reply-To: Desk <desk@example.org>\nSender: Robot <robot@example.org>\n\nx\n"
    assert parse_email(raw).sender_address == "robot@example.org"
    raw = b"Reply-To: Desk <desk@example.org>\nFrom: undisclosed\n\nx\n"
    assert parse_email(raw).sender_address == "desk@example.org"


def test_garbage_bytes_are_unparseable() -> None:
    garbage = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256))
    with pytest.raises(UnparseableMessage, match="not an e-mail"):
        parse_email(garbage)


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n"])
def test_empty_bytes_are_unparseable(raw: bytes) -> None:
    with pytest.raises(UnparseableMessage, match="empty"):
        parse_email(raw)


def test_headers_without_any_sender_are_unparseable() -> None:
    raw = b"To: support@example.com\nSubject: who am I\nReturn-Path: <>\n\nhello\n"
    with pytest.raises(UnparseableMessage, match="no usable sender"):
        parse_email(raw)


def test_mislabelled_charset_body() -> None:
    raw = b"""From: Ana <ana@example.es>
Subject: Pedido
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 8bit

\xbfD\xf3nde est\xe1 mi pedido? Ya pas\xf3 una semana.
"""
    msg = parse_email(raw)
    assert msg.text == "¿Dónde está mi pedido? Ya pasó una semana."
    assert any("us-ascii" in warning for warning in msg.parse_warnings)


def test_latin1_label_on_utf8_body() -> None:
    raw = b"""From: Giulia <giulia@example.it>
Subject: Reso
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Perch=C3=A9 il reso non =C3=A8 stato accettato?
"""
    assert parse_email(raw).text == "Perché il reso non è stato accettato?"


def test_undeclared_8bit_latin1_body() -> None:
    raw = b"""From: Joao <joao@example.pt>
Subject: Encomenda

Ol\xe1, n\xe3o recebi a encomenda. Obrigado, Jo\xe3o
"""
    msg = parse_email(raw)
    assert msg.text == "Olá, não recebi a encomenda. Obrigado, João"
    assert any("undeclared" in warning for warning in msg.parse_warnings)


def test_unknown_charset_body() -> None:
    raw = b"""From: a@example.org
Content-Type: text/plain; charset="x-unknown-8bit"

Caf\xc3\xa9
"""
    msg = parse_email(raw)
    assert msg.text == "Café"
    assert any("unknown charset" in warning for warning in msg.parse_warnings)


HTML_ONLY = b"""From: Shop Customer <buyer@example.com>
To: support@example.com
Subject: Wrong items
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><head><style>td {padding: 4px}</style></head><body>
<script>trackOpen()</script>
<p>Hi, I received the wrong items:</p>
<ul><li>Blue mug</li><li>Red scarf</li></ul>
<table><tr><th>Item</th><th>Qty</th></tr><tr><td>Blue mug</td><td>2</td></tr></table>
<p>See <a href=3D"https://shop.example.com/o/88">order 88</a>.</p>
</body></html>
"""


def test_html_only_message() -> None:
    msg = parse_email(HTML_ONLY)
    assert msg.text == (
        "Hi, I received the wrong items:\n\n"
        "- Blue mug\n- Red scarf\n\n"
        "Item | Qty\nBlue mug | 2\n\n"
        "See order 88 (https://shop.example.com/o/88)."
    )
    assert msg.html is not None and "<table>" in msg.html
    assert "trackOpen" not in msg.text


def test_alternative_prefers_plain_and_keeps_html() -> None:
    raw = b"""From: a@example.org
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Plain version
--alt
Content-Type: text/html; charset=utf-8

<p>HTML <b>version</b></p>
--alt--
"""
    msg = parse_email(raw)
    assert msg.text == "Plain version"
    assert msg.html == "<p>HTML <b>version</b></p>"
    assert msg.content_type == "multipart/alternative"


def test_html_reply_blockquote_becomes_quoted_text() -> None:
    raw = b"""From: Ana <ana@example.es>
Content-Type: text/html; charset=utf-8

<div dir="ltr">Ya lo recib\xc3\xad, gracias.</div><br>
<div class="gmail_quote"><div class="gmail_attr">El lun, 4 mar 2024 a las 10:15,
Soporte &lt;soporte@example.com&gt; escribi\xc3\xb3:<br></div>
<blockquote class="gmail_quote"><p>Su pedido ha sido enviado.</p></blockquote></div>
"""
    msg = parse_email(raw)
    assert msg.text == "Ya lo recibí, gracias."
    assert msg.quoted_text.endswith("> Su pedido ha sido enviado.")


OUTLOOK_REPLY_ES = b"""From: =?iso-8859-1?Q?Luc=EDa_Fern=E1ndez?= <lucia.fernandez@example.es>
To: Soporte <soporte@example.com>
Subject: RE: Incidencia 5521
Date: Tue, 5 Mar 2024 08:02:11 +0000
Message-ID: <AM0PR01MB1234.eurprd01.prod.outlook.com>
In-Reply-To: <ticket-5521@soporte.example.com>
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Buenos d=EDas,

el problema contin=FAa, no puedo acceder a mi cuenta.

Saludos,
Luc=EDa

________________________________
De: Soporte <soporte@example.com>
Enviado: lunes, 4 de marzo de 2024 17:40
Para: Luc=EDa Fern=E1ndez <lucia.fernandez@example.es>
Asunto: Incidencia 5521

Hola Luc=EDa, =BFpodr=EDa probar de nuevo?
"""


def test_outlook_reply_in_spanish() -> None:
    msg = parse_email(OUTLOOK_REPLY_ES)
    assert msg.sender_name == "Lucía Fernández"
    assert msg.text == (
        "Buenos días,\n\nel problema continúa, no puedo acceder a mi cuenta.\n\nSaludos,\nLucía"
    )
    assert msg.quoted_text.startswith("________________________________\nDe: Soporte")
    assert msg.quoted_text.endswith("¿podría probar de nuevo?")
    assert msg.in_reply_to == ["ticket-5521@soporte.example.com"]
    # An Outlook block in a reply is our own message quoted back, not a forward.
    assert msg.forwarded is None


def test_gmail_forward_in_italian() -> None:
    raw = b"""From: Paolo Bianchi <paolo@example.it>
To: assistenza@example.com
Subject: I: Ordine 7781 danneggiato
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Vi inoltro la segnalazione di una cliente.

---------- Messaggio inoltrato ---------
Da: Chiara Verdi <chiara.verdi@example.it>
Date: lun 4 mar 2024 alle ore 18:22
Subject: Ordine 7781 danneggiato
To: Paolo Bianchi <paolo@example.it>

Buonasera, il pacco =C3=A8 arrivato danneggiato.
Chiara
"""
    msg = parse_email(raw)
    assert msg.text == "Vi inoltro la segnalazione di una cliente."
    assert msg.forwarded is not None
    assert msg.forwarded.address == "chiara.verdi@example.it"
    assert msg.forwarded.name == "Chiara Verdi"
    assert msg.forwarded.subject == "Ordine 7781 danneggiato"
    assert msg.forwarded.date == "lun 4 mar 2024 alle ore 18:22"
    assert msg.forwarded.text == "Buonasera, il pacco è arrivato danneggiato.\nChiara"


def test_apple_mail_forward_in_english() -> None:
    raw = b"""From: Sam Lee <sam@example.com>
To: help@example.com
Subject: Fwd: Damaged parcel
Content-Type: text/plain; charset=us-ascii

Could you look at this one?

Begin forwarded message:

From: "Olivia Brown" <olivia.brown@example.co.uk>
Subject: Damaged parcel
Date: 4 March 2024 at 18:22:10 GMT
To: Sam Lee <sam@example.com>

The parcel arrived crushed.

Sent from my iPhone
"""
    msg = parse_email(raw)
    assert msg.text == "Could you look at this one?"
    assert msg.forwarded is not None
    assert (msg.forwarded.address, msg.forwarded.name) == ("olivia.brown@example.co.uk", "Olivia Brown")
    assert msg.forwarded.date == "4 March 2024 at 18:22:10 GMT"
    assert msg.forwarded.text.startswith("The parcel arrived crushed.")


def test_forward_as_attached_message() -> None:
    raw = b"""From: Agent <agent@example.com>
To: support@example.com
Subject: Fw: Rechnung fehlt
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=utf-8

Siehe Anhang.
--outer
Content-Type: message/rfc822
Content-Disposition: attachment; filename="Rechnung fehlt.eml"

From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
To: agent@example.com
Subject: Rechnung fehlt
Date: Mon, 4 Mar 2024 12:00:00 +0100
Message-ID: <orig-1@example.de>
Content-Type: text/plain; charset=utf-8

Wo ist meine Rechnung?
--outer--
"""
    msg = parse_email(raw)
    assert msg.text == "Siehe Anhang."
    assert msg.forwarded is not None
    assert (msg.forwarded.address, msg.forwarded.name) == ("juergen@example.de", "Jürgen Müller")
    assert msg.forwarded.subject == "Rechnung fehlt"
    assert msg.forwarded.date == "Mon, 4 Mar 2024 12:00:00 +0100"
    assert msg.forwarded.text == "Wo ist meine Rechnung?"
    [attachment] = msg.attachments
    assert attachment.filename == "Rechnung fehlt.eml"
    assert attachment.content_type == "message/rfc822"
    assert attachment.data is not None and b"Wo ist meine Rechnung?" in attachment.data
    assert msg.bounced_message_id is None


def test_attachment_with_rfc2231_filename() -> None:
    raw = b"""From: Ana <ana@example.es>
Subject: Factura
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain; charset=utf-8

Adjunto la factura.
--mix
Content-Type: application/pdf; name="factura.pdf"
Content-Disposition: attachment;
 filename*=utf-8''factura_n%C3%BAmero_1.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcOkw7zDtsOf
--mix--
"""
    msg = parse_email(raw)
    assert msg.text == "Adjunto la factura."
    [attachment] = msg.attachments
    assert attachment.filename == "factura_número_1.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.data is not None and attachment.data.startswith(b"%PDF-1.4")
    assert attachment.size == len(attachment.data)


def test_attachment_with_rfc2231_continuations_in_latin1() -> None:
    raw = b"""From: a@example.org
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain

x
--mix
Content-Type: text/plain
Content-Disposition: attachment;
 filename*0*=iso-8859-1''Presupuesto%20a;
 filename*1*=%F1o%202024.txt

data
--mix--
"""
    assert parse_email(raw).attachments[0].filename == "Presupuesto año 2024.txt"


def test_attachment_with_rfc2047_filename_and_path() -> None:
    raw = b"""From: a@example.org
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain

x
--mix
Content-Type: image/jpeg; name="=?UTF-8?B?Zm90b19kYcOxby5qcGc=?="
Content-Disposition: attachment; filename="=?UTF-8?B?Zm90b19kYcOxby5qcGc=?="
Content-Transfer-Encoding: base64

/9j/4AAQ
--mix
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="C:\\\\Users\\\\ana\\\\notas.txt"

n
--mix--
"""
    names = [a.filename for a in parse_email(raw).attachments]
    assert names == ["foto_daño.jpg", "notas.txt"]


def test_oversized_attachment_keeps_metadata_but_not_data() -> None:
    payload = b"A" * 3000
    raw = (
        b"From: a@example.org\nSubject: big\n"
        b'Content-Type: multipart/mixed; boundary="mix"\n\n'
        b"--mix\nContent-Type: text/plain\n\nsee attachment\n"
        b"--mix\nContent-Type: application/zip\n"
        b'Content-Disposition: attachment; filename="logs.zip"\n\n' + payload + b"\n--mix--\n"
    )
    msg = parse_email(raw, max_attachment_bytes=1024)
    [attachment] = msg.attachments
    assert attachment.filename == "logs.zip"
    assert attachment.size == 3000
    assert attachment.data is None
    assert any("logs.zip" in warning and "limit" in warning for warning in msg.parse_warnings)
    assert msg.text == "see attachment"


def test_text_attachment_is_not_body() -> None:
    raw = b"""From: a@example.org
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain

Body text
--mix
Content-Type: text/plain; name="log.txt"
Content-Disposition: attachment; filename="log.txt"

ERROR 42
--mix--
"""
    msg = parse_email(raw)
    assert msg.text == "Body text"
    assert [a.filename for a in msg.attachments] == ["log.txt"]
    assert msg.attachments[0].data == b"ERROR 42"


def test_inline_image_in_related_is_an_attachment() -> None:
    raw = b"""From: a@example.org
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=utf-8

<p>Look: <img src="cid:img1"></p>
--rel
Content-Type: image/png
Content-ID: <img1>
Content-Disposition: inline
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel--
"""
    msg = parse_email(raw)
    assert msg.text == "Look:"
    assert msg.attachments[0].content_type == "image/png"
    assert msg.attachments[0].filename == "part-1.png"
    assert msg.attachments[0].data == b"\x89PNG\r\n\x1a\n"


def test_multipart_without_boundary_is_read_as_text() -> None:
    raw = b"From: a@example.org\nContent-Type: multipart/mixed\n\nStill readable\n"
    msg = parse_email(raw)
    assert msg.text == "Still readable"
    assert msg.parse_warnings


DSN = b"""Return-Path: <>
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>
To: support@example.com
Subject: Delivery Status Notification (Failure)
Date: Tue, 5 Mar 2024 08:00:00 +0000
Message-ID: <dsn-1@mx.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="rep"

--rep
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to nobody@example.net.
--rep
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; nobody@example.net
Action: failed
Status: 5.1.1
--rep
Content-Type: text/rfc822-headers

From: Support <support@example.com>
To: nobody@example.net
Subject: Your ticket #42
Message-ID: <ticket-42.reply-1@support.example.com>
--rep--
"""


def test_dsn_bounce() -> None:
    msg = parse_email(DSN)
    assert msg.content_type == "multipart/report"
    assert msg.return_path == ""
    assert msg.sender_address == "mailer-daemon@mx.example.com"
    assert msg.bounced_message_id == "ticket-42.reply-1@support.example.com"
    assert msg.text == "Your message could not be delivered to nobody@example.net."
    assert msg.forwarded is None
    assert {a.content_type for a in msg.attachments} == {
        "message/delivery-status",
        "text/rfc822-headers",
    }
    status = next(a for a in msg.attachments if a.content_type == "message/delivery-status")
    assert status.data is not None and b"Status: 5.1.1" in status.data


def test_dsn_with_returned_message() -> None:
    raw = b"""From: postmaster@mx.example.net
Content-Type: multipart/report; report-type=delivery-status; boundary="rep"

--rep
Content-Type: text/plain

Delivery failed.
--rep
Content-Type: message/delivery-status

Final-Recipient: rfc822; x@example.net
Action: failed
--rep
Content-Type: message/rfc822

From: support@example.com
Message-ID: <reply-7@support.example.com>
Subject: Re: help

Our answer.
--rep--
"""
    msg = parse_email(raw)
    assert msg.bounced_message_id == "reply-7@support.example.com"
    assert msg.forwarded is None
    assert msg.text == "Delivery failed."


def test_classic_bounce_with_headers_inline() -> None:
    raw = b"""Return-Path: <>
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@example.net>: host mx.example.net said: 550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

Return-Path: <support@example.com>
From: support@example.com
Message-ID: <reply-9@support.example.com>
Subject: Re: order
"""
    msg = parse_email(raw)
    assert msg.sender_address == "mailer-daemon@mail.example.net"
    assert msg.bounced_message_id == "reply-9@support.example.com"


def test_read_receipt_report_is_not_a_bounce() -> None:
    raw = b"""From: Ana <ana@example.es>
Content-Type: multipart/report; report-type=disposition-notification; boundary="r"

--r
Content-Type: text/plain

Read.
--r
Content-Type: message/disposition-notification

Original-Message-ID: <reply-3@support.example.com>
Disposition: manual-action/MDN-sent-manually; displayed
--r--
"""
    assert parse_email(raw).bounced_message_id is None


def test_customer_mail_mentioning_message_id_is_not_a_bounce() -> None:
    raw = b"From: a@example.org\nSubject: hi\n\nMessage-ID: <x@y.org> is in the logs\n"
    assert parse_email(raw).bounced_message_id is None


# -- the copy a bounce or report carries back ------------------------------------

ACK_HEADERS = """From: support@example.com
To: ana@example.net
Reply-To: support+mb-7k3q9p.1a2b3c4d@example.com
Subject: [#MB-7K3Q9P] Pedido
Message-ID: <mailbot.ack.mb-7k3q9p.1a2b3c4d@example.com>
X-Mailbot-Outbox: ack:MB-7K3Q9P"""


def _assert_our_copy(raw: bytes) -> None:
    enclosed = parse_email(raw).enclosed
    assert enclosed is not None
    assert enclosed.message_id == "mailbot.ack.mb-7k3q9p.1a2b3c4d@example.com"
    assert enclosed.sender_address == "support@example.com"
    assert enclosed.subject == "[#MB-7K3Q9P] Pedido"
    assert enclosed.reply_to == ("support+mb-7k3q9p.1a2b3c4d@example.com",)
    assert enclosed.outbox_key == "ack:MB-7K3Q9P"


def test_enclosed_copy_attached_as_message() -> None:
    raw = f"""From: staff@isp.example
Subject: complaint about message from 192.0.2.1
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

This is an email abuse report.
--b
Content-Type: message/rfc822

{ACK_HEADERS}

Hola.
--b--
""".encode()
    _assert_our_copy(raw)


def test_enclosed_copy_as_returned_headers() -> None:
    raw = f"""From: notices@mx.example
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

Ihre Nachricht konnte nicht zugestellt werden.
--b
Content-Type: text/rfc822-headers

{ACK_HEADERS}
--b--
""".encode()
    _assert_our_copy(raw)


@pytest.mark.parametrize("quote", ["", "> ", ">", "> > "])
def test_enclosed_copy_pasted_or_quoted_in_the_text(quote: str) -> None:
    pasted = "\n".join(quote + line for line in ACK_HEADERS.splitlines())
    raw = f"""From: post_master@correo.example
Subject: Re: [#MB-7K3Q9P] Pedido

Su mensaje no pudo ser entregado.

----- Mensaje original -----
{quote}Received: from worker1.example.com (worker1.example.com [10.0.0.4])
{quote}\tby relay.example.com with ESMTPS id 1; Thu, 19 Nov 2026 19:30:53 +0100
{pasted}
{quote}
{quote}Hola.
""".encode()
    _assert_our_copy(raw)


def test_one_header_like_line_is_no_enclosed_copy() -> None:
    raw = b"From: a@example.org\nSubject: hi\n\nMessage-ID: <x@y.org> is in the logs\n"
    assert parse_email(raw).enclosed is None


def test_plain_customer_mail_has_no_enclosed_copy() -> None:
    assert parse_email(SIMPLE).enclosed is None


@pytest.mark.parametrize("sender", ["post_master@correo.example", "MAILER_DAEMON@smtp.example"])
def test_bounce_from_any_spelling_of_the_mail_system_names_what_bounced(sender: str) -> None:
    raw = f"""From: {sender}
Return-Path: <{sender}>
Subject: Re: [#MB-7K3Q9P] Pedido

Su mensaje no pudo ser entregado.

{ACK_HEADERS}
""".encode()
    msg = parse_email(raw)
    assert msg.bounced_message_id == "mailbot.ack.mb-7k3q9p.1a2b3c4d@example.com"
    assert msg.forwarded is None


def test_complaint_report_is_no_bounce_but_carries_the_copy() -> None:
    raw = f"""From: feedback@arf.isp.example
Return-Path: <>
Content-Type: multipart/report; report-type=feedback-report; boundary="b"

--b
Content-Type: text/plain

This is an email abuse report.
--b
Content-Type: message/feedback-report

Feedback-Type: abuse
Version: 1
--b
Content-Type: message/rfc822

{ACK_HEADERS}

Hola.
--b--
""".encode()
    msg = parse_email(raw)
    assert msg.bounced_message_id is None
    assert msg.enclosed is not None and msg.enclosed.outbox_key == "ack:MB-7K3Q9P"
    assert "message/feedback-report" in {a.content_type for a in msg.attachments}


def test_signature_is_separated() -> None:
    raw = b"""From: Hans <hans@example.de>
Subject: Frage
Content-Type: text/plain; charset=utf-8

Wann kommt meine Bestellung?

Gr\xc3\xbc\xc3\x9fe
Hans

Von meinem iPhone gesendet
"""
    msg = parse_email(raw)
    assert msg.text == "Wann kommt meine Bestellung?\n\nGrüße\nHans"
    assert msg.signature == "Von meinem iPhone gesendet"


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_raw_8bit_sender_headers_become_real_text(encoding: str) -> None:
    # RFC 6532 mail (and older clients' Latin-1) puts 8-bit bytes straight into headers;
    # they must not come out as surrogate escapes that no database or socket accepts.
    raw = (
        "From: José Núñez <josé@correo.test>\r\nTo: support@acme.test\r\n"
        "Subject: Café frío\r\nMessage-ID: <u8@correo.test>\r\n\r\nHola.\r\n"
    ).encode(encoding)
    msg = parse_email(raw)
    assert msg.sender_address == "josé@correo.test"
    assert msg.sender_name == "José Núñez"
    assert msg.subject == "Café frío"
    assert all(not ("\udc80" <= ch <= "\udcff") for ch in msg.sender_address + msg.subject)


# -- the sender is the addr-spec, never the display name (issue 7) ----------------


@pytest.mark.parametrize(
    "from_header",
    [
        "alice@example.com <bob@example.com>",  # unquoted: the stdlib reads alice as the address
        "alice@example.com<bob@example.com>",
        '"alice@example.com" <bob@example.com>',
        "=?utf-8?q?alice=40example.com?= <bob@example.com>",
        "Alice (alice@example.com) <bob@example.com>",
        "bob@example.com (alice@example.com)",
        "alice@example.com <BOB@example.com>",
    ],
)
def test_a_display_name_posing_as_an_address_is_not_the_sender(from_header: str) -> None:
    raw = f"From: {from_header}\r\nTo: support@acme.test\r\nSubject: hi\r\n\r\nHello\r\n".encode()
    msg = parse_email(raw)
    assert msg.sender_address == "bob@example.com"
    assert "alice@example.com" not in msg.sender_name  # never greeted or shown as alice
    assert len(msg.warnings) == 1
    assert "alice@example.com" in msg.warnings[0] and "bob@example.com" in msg.warnings[0]


@pytest.mark.parametrize(
    "from_header",
    [
        "bob@example.com <bob@example.com>",  # Outlook repeats the address as the name
        "Bob <bob@example.com>",
        '"Pérez, Ana" <bob@example.com>',
        "bob@example.com",
        "bob@example.com (Bob)",
    ],
)
def test_an_ordinary_display_name_raises_no_warning(from_header: str) -> None:
    raw = f"From: {from_header}\r\nSubject: hi\r\n\r\nHello\r\n".encode()
    msg = parse_email(raw)
    assert msg.sender_address == "bob@example.com"
    assert msg.warnings == []


def test_display_names_are_never_recipients() -> None:
    raw = (
        b"From: Ana <ana@example.es>\r\n"
        b"Delivered-To: stranger@evil.test <support@acme.test>\r\n"
        b'To: other@evil.test <support+mb-7k3q9p.12345678@acme.test>, "x@evil.test" <ventas@acme.test>\r\n'
        b"Cc: grp@evil.test: cc@acme.test;\r\n"
        b"Subject: hi\r\n\r\nHello\r\n"
    )
    assert parse_email(raw).recipients == [
        "support@acme.test",
        "support+mb-7k3q9p.12345678@acme.test",
        "ventas@acme.test",
        "cc@acme.test",
    ]


def test_a_display_name_is_not_taken_when_the_angle_address_is_broken() -> None:
    # The only address-looking text is the display name: there is no sender at all.
    raw = b"From: alice@example.com <bob at example>\r\nSubject: hi\r\n\r\nHello\r\n"
    with pytest.raises(UnparseableMessage, match="no usable sender"):
        parse_email(raw)


def test_sender_fallbacks_also_ignore_display_names() -> None:
    raw = b"From: nobody\r\nReply-To: alice@example.com <bob@example.com>\r\n\r\nx\r\n"
    msg = parse_email(raw)
    assert msg.sender_address == "bob@example.com"
    assert msg.warnings and "alice@example.com" in msg.warnings[0]
    raw = b"Return-Path: alice@example.com <bob@example.com>\r\n\r\nx\r\n"
    msg = parse_email(raw)
    assert (msg.sender_address, msg.return_path) == ("bob@example.com", "bob@example.com")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice@example.com <bob@example.com>", [("bob@example.com", "", "alice@example.com")]),
        ("=?utf-8?q?P=C3=A9rez,_Ana?= <ana@example.es>, b@x.test", [
            ("ana@example.es", "Pérez, Ana", None), ("b@x.test", "", None)]),
        ('"a, b@x.test" <c@x.test>, d@x.test', [("c@x.test", "a", "b@x.test"), ("d@x.test", "", None)]),
        ("Team (a, b): x@y.test, z@y.test;, w@y.test", [
            ("x@y.test", "", None), ("z@y.test", "", None), ("w@y.test", "", None)]),
        ("Ana <mailto:ana@example.es>", [("ana@example.es", "Ana", None)]),
        ("<@relay.test:bob@example.com>", [("bob@example.com", "", None)]),
        ("Ana Smith ana@example.es", [("ana@example.es", "Ana Smith", None)]),
        ("x <bob@example.com", [("bob@example.com", "x", None)]),
        ("José <josé@ejemplo.test>", [("josé@ejemplo.test", "José", None)]),
        ("Seán O'Brien <o'brien@x.test>", [("o'brien@x.test", "Seán O'Brien", None)]),
        ("o'brien@x.test", [("o'brien@x.test", "", None)]),
        ("brien@x.test <o'brien@x.test>", [("o'brien@x.test", "", "brien@x.test")]),
        ("\"o'brien@x.test\" <brien@x.test>", [("brien@x.test", "", "o'brien@x.test")]),
        ("Ana ('ana@x.test') <bob@y.test>", [("bob@y.test", "Ana", "ana@x.test")]),
        ("undisclosed-recipients:;", []),
        ("<>", []),
    ],
)  # fmt: skip
def test_parse_address_list(value: str, expected: list[tuple[str, str, str | None]]) -> None:
    found = parse_address_list(value)
    assert [(a.address, a.name, a.claimed_address) for a in found] == expected


def _plain_values() -> list[str]:
    """The shapes nearly all mail has: dot-atom addresses, names of atoms or one quoted string."""
    rng = random.Random(11)
    locals_ = ["ana", "Ana.Perez", "luca_rossi+pedidos", "o'brien", "x-y.z", "JOHN", "a1.b2.c3"]
    domains = ["gmail.com", "Correo.ES", "mail.example-shop.it", "x.test"]
    names = ["", "Ana", "Ana Perez", "Luca De Rossi", '"Perez, Ana"', '"Dr. John Smith"', '""', "O'Brien Jr"]
    values = []
    for _ in range(200):
        address = f"{rng.choice(locals_)}@{rng.choice(domains)}"
        name = rng.choice(names)
        values.append(f"{name} <{address}>".strip() if name or rng.random() < 0.5 else address)
    return values


def test_plain_addresses_read_as_the_stdlib_parser_reads_them_without_parsing() -> None:
    from email.headerregistry import HeaderRegistry

    from mailbot.mail.mail_policy import HEADER_FACTORY

    stdlib = HeaderRegistry()
    for value in _plain_values():
        asked = HEADER_FACTORY.cache_info()
        [found] = parse_address_list(value)
        after = HEADER_FACTORY.cache_info()
        assert (after.hits, after.misses) == (asked.hits, asked.misses), value  # the parser was not asked
        [expected] = stdlib("from", value).addresses
        assert (found.address, found.name) == (expected.addr_spec.lower(), expected.display_name), value
        assert found.claimed_address is None
