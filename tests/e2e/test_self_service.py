"""Self-service end to end on the real servers: FAQ entries in the acknowledgement that
reaches the SMTP sink, its signed "was this helpful?" links followed over real HTTP (a
tampered one refused), the satisfaction question sent when an agent solves the ticket
through the REST API, its answer stored and shown in the customer's next ticket."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from mailbot.api.tokens import READ, WRITE, create_token
from mailbot.channels import ChannelSpec
from mailbot.faq.entries import import_faq, parse_faq_lines
from mailbot.faq.suggestions import faq_index
from mailbot.runtime import Runtime
from mailbot.store.faq_models import FaqFeedback, SupportPhone
from mailbot.store.models import OutboxEntry, Ticket
from mailbot.timeutil import utcnow
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import ChatDesk, as_bytes, generic
from tests.fixtures.web import WebServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ENTRIES = Path(__file__).resolve().parent.parent / "faq" / "entries.jsonl"
LINK = re.compile(r"https?://\S+/feedback/\S+")


def _links(text: str) -> list[str]:
    return LINK.findall(text)


def _follow(web: WebServer, runtime: Runtime, link: str) -> httpx.Response:
    """GET the link's path on the test's web server: the signature is in the path, and the
    base is the configured public URL, which the test cannot know a port for in advance."""
    assert link.startswith(runtime.settings.public_url + "/feedback/")
    return httpx.get(web.url(urlsplit(link).path), timeout=10)


def _seed(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        import_faq(session, parse_faq_lines(ENTRIES.read_text(encoding="utf-8")), utcnow())
        session.add(SupportPhone(language="es", phone="+34 900 123 456"))


def test_ack_carries_entries_and_signed_links_and_satisfaction_reaches_the_next_ticket(
    desk: Desk, support: tuple[str, str], runtime: Runtime, web_server: WebServer
) -> None:
    _seed(runtime)
    user, password = support
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "ss1@mail.gmail.test",
            subject="Contraseña olvidada",
            body="Hola, he olvidado la contraseña y no puedo entrar. ¿Cómo la restablezco?",
        ),
    )
    desk.run()
    [ack] = desk.smtp.wait_for(1)
    body = ack.message.get_content()
    [ticket] = desk.tickets()
    assert ticket["suggested_faq"] == ["es-password"]
    # The entry, its link, both answers, and the way to a person (reply, and the phone).
    assert "¿Cómo restablezco mi contraseña?" in body
    assert "https://help.example.com/es/contrasena" in body
    assert "responde a este correo" in body and "+34 900 123 456" in body
    yes, no = _links(body)
    assert yes.split("/")[-2] == "yes" and no.split("/")[-2] == "no"
    assert f"/feedback/faq/{ticket['ref']}/es-password/" in yes

    answered = _follow(web_server, runtime, yes)
    assert answered.status_code == 200 and "Gracias por tu respuesta" in answered.text
    assert answered.headers["Cache-Control"] == "no-store"
    assert _follow(web_server, runtime, yes).status_code == 200  # the same click twice
    assert _follow(web_server, runtime, no).status_code == 200  # changed their mind
    with runtime.sessions() as session:
        rows = session.execute(select(FaqFeedback.entry_id, FaqFeedback.helpful)).all()
    assert rows == [("es-password", False)]  # one answer per ticket and entry, the last one

    # Tampered: another signature, another entry, another ticket. Refused, nothing stored.
    *head, signature = urlsplit(yes).path.split("/")
    forged_signature = "/".join([*head, ("0" if signature[0] != "0" else "1") + signature[1:]])
    forged_entry = urlsplit(yes).path.replace("/es-password/", "/es-invoice/")
    forged_ticket = urlsplit(yes).path.replace(ticket["ref"], "MB-AAAAAA")
    for path in (forged_signature, forged_entry, forged_ticket):
        refused = httpx.get(web_server.url(path), timeout=10)
        assert refused.status_code == 403, path
        assert "not valid" in refused.text  # no ticket named: the default language
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(FaqFeedback)) == 1

    # An agent solves the ticket through the API: one satisfaction question, by mail.
    with runtime.sessions.begin() as session:
        _, token = create_token(session, "solver", (READ, WRITE), created_by="tests")
    api = httpx.Client(base_url=web_server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    solved = api.patch(f"/api/v1/tickets/{ticket['ref']}", json={"status": "solved"})
    assert solved.status_code == 200, solved.text
    assert solved.json()["satisfaction_score"] is None
    desk.work()
    survey = desk.smtp.wait_for(2)[1]
    assert survey.rcpt_tos == ["ana.garcia@gmail.test"]
    assert survey.message["Auto-Submitted"] == "auto-generated"
    assert ticket["ref"] in survey.message["Subject"]
    text = survey.message.get_content()
    links = {link.split("/")[-2]: link for link in _links(text)}
    assert sorted(links) == ["1", "2", "3", "4", "5"]
    assert "muy satisfecho" in text
    rated = _follow(web_server, runtime, links["4"])
    assert rated.status_code == 200 and "Gracias por valorar" in rated.text
    assert api.get(f"/api/v1/tickets/{ticket['ref']}").json()["satisfaction_score"] == 4
    tampered = httpx.get(web_server.url(urlsplit(links["5"]).path.replace(ticket["ref"], "MB-AAAAAA")))
    assert tampered.status_code == 403

    # Reopened and solved again: the question is never asked twice.
    assert api.patch(f"/api/v1/tickets/{ticket['ref']}", json={"status": "open"}).status_code == 200
    assert api.patch(f"/api/v1/tickets/{ticket['ref']}", json={"status": "solved"}).status_code == 200
    with runtime.sessions() as session:
        surveys = session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.kind == "satisfaction")
        )
    assert surveys == 1

    # The customer's next matter: its context shows the answer.
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "ss2@mail.gmail.test",
            subject="Factura de marzo",
            body="¿Dónde descargo la factura de marzo en PDF?",
        ),
    )
    desk.run()
    tickets = {t["subject"]: t for t in desk.tickets()}
    later = tickets["Factura de marzo"]
    assert later["ref"] != ticket["ref"]
    assert later["context"]["last_satisfaction"] == 4
    assert later["suggested_faq"] == ["es-invoice"]
    with runtime.sessions() as session:
        assert session.scalar(select(Ticket.satisfaction_score).where(Ticket.ref == ticket["ref"])) == 4


def test_no_entries_for_a_complaint_and_every_ack_names_a_person(
    desk: Desk, support: tuple[str, str], runtime: Runtime
) -> None:
    _seed(runtime)
    user, password = support
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "ss3@mail.gmail.test",
            subject="Es inaceptable",
            body="Es inaceptable: he olvidado la contraseña y el enlace sigue sin funcionar.",
        ),
    )
    desk.run()
    [ack] = desk.smtp.wait_for(1)
    [ticket] = desk.tickets()
    assert (ticket["intent"], ticket["suggested_faq"]) == ("complaint", [])
    body = ack.message.get_content()
    assert "/feedback/" not in body and "¿Cómo restablezco" not in body
    assert "hablar con una persona" in body and "+34 900 123 456" in body


def test_a_chat_ack_names_the_entries_briefly_and_the_phone(chat_desk: ChatDesk, runtime: Runtime) -> None:
    _seed(runtime)
    chat_desk.api.credentials["generic"] = generic.SECRET
    chat_desk.add_channel(
        ChannelSpec(
            "generic",
            "shop",
            secret=generic.SECRET,
            api_base=chat_desk.api.base("generic"),
            options={"language": "es"},
        )
    )
    body = as_bytes(
        generic.submission(
            "¿Cuánto tarda el envío de mi pedido? ¿Hay número de seguimiento?", event_id="ss-c1"
        )
    )
    assert chat_desk.post("/webhooks/generic/shop", body, generic.signed_headers(body)).status_code == 200
    chat_desk.work()
    [ticket] = chat_desk.tickets()
    assert ticket["suggested_faq"] == ["es-shipping"]
    [call] = chat_desk.api.calls_to("generic")
    text = json.loads(call.body)["text"]
    assert "¿Cuánto tarda el envío de un pedido? https://help.example.com/es/envios" in text
    assert "+34 900 123 456" in text and "\n" not in text.strip()  # one paragraph
    assert "/feedback/" not in text  # briefly: the question and its page, no survey in a chat


def test_an_imported_change_is_ranked_at_once(runtime: Runtime) -> None:
    """The index is kept between messages, and rebuilt as soon as the entries change."""
    _seed(runtime)
    with runtime.sessions() as session:
        first = faq_index(session, "en")
        assert faq_index(session, "en") is first  # nothing changed: the same index
        assert first is not None and not first.scores("parrot feathers")[0].score
    with runtime.sessions.begin() as session:
        line = json.dumps(
            {"id": "en-pets", "lang": "en", "question": "Can I bring my parrot?", "answer": "Feathers ok."}
        )
        import_faq(session, parse_faq_lines(line), utcnow())
    with runtime.sessions() as session:
        rebuilt = faq_index(session, "en")
        assert rebuilt is not first and rebuilt is not None
        assert rebuilt.scores("parrot feathers")[0].id == "en-pets"
        assert faq_index(session, "xx") is None  # a language without entries
