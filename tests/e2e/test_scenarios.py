"""Scenarios across channels and languages, end to end on the real servers: mail through
Dovecot and the SMTP sink, webhooks over real HTTP into the web app answered through the
fake platform APIs, one worker, on SQLite and PostgreSQL.

Each names what the customer and the agent must see: which ticket, its reference, priority
and queue, and the words of the acknowledgement in the customer's language."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import update

from mailbot.channels import ChannelSpec
from mailbot.contacts import find_contact_by_reference, merge_contacts
from mailbot.customers.records import import_customers, parse_customers_csv
from mailbot.rules import import_rules
from mailbot.store.models import Mailbox, Ticket
from mailbot.timeutil import utcnow
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import generic as gx
from tests.fixtures.platforms import meta as mx
from tests.fixtures.platforms import telegram as tx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# What a support team of a card issuer routes by: blocked cards to their queue, VIPs first.
RULES: list[dict[str, Any]] = [
    {
        "name": "vip",
        "if": {"attributes": {"vip": "yes"}},
        "then": {"queue": "vip", "priority": "high", "tags": ["vip"], "assignee": "claire@acme.test"},
    },
    {
        "name": "card-blocked",
        "if": {"words": ["tarjeta bloqueada", "carta bloccata", "cartão bloqueado", "carte bloquée"]},
        "then": {"queue": "cards", "tags": ["card-blocked"]},
    },
]
CUSTOMERS = (
    "email,phone,name,plan,vip,payment_status\n"
    "camille.durand@orange.test,,Camille Durand,gold,yes,paid\n"
    "jonas.weber@web.test,,Jonas Weber,basic,no,failed\n"
)


@pytest.fixture
def chat(chat_desk: ChatDesk, desk: Desk, support: tuple[str, str]) -> ChatDesk:
    """The desk's chat side: a partner app (generic, Spanish), WhatsApp and Telegram, with
    the routing rules and the CRM export loaded; the mailbox in service since yesterday."""
    api = chat_desk.api
    api.credentials.update({"generic": gx.SECRET, "meta": mx.ACCESS_TOKEN})
    generic = {"language": "es"}
    chat_desk.add_channel(
        ChannelSpec("generic", "shop", secret=gx.SECRET, api_base=api.base("generic"), options=generic)
    )
    chat_desk.add_channel(
        ChannelSpec(
            "whatsapp",
            "acme",
            secret=mx.APP_SECRET,
            token=mx.ACCESS_TOKEN,
            api_base=api.base("meta"),
            options={"phone_number_id": mx.PHONE_NUMBER_ID, "verify_token": mx.VERIFY_TOKEN},
        )
    )
    chat_desk.add_channel(
        ChannelSpec(
            "telegram",
            "acme",
            secret=tx.SECRET_TOKEN,
            token=tx.BOT_TOKEN,
            api_base=api.base("telegram"),
            options={"bot_username": tx.BOT_USERNAME},
        )
    )
    with desk.runtime.sessions.begin() as session:
        import_rules(session, RULES, utcnow())
        import_customers(session, parse_customers_csv(CUSTOMERS), utcnow())
        session.execute(update(Mailbox).values(ack_cutoff=utcnow() - dt.timedelta(days=1)))
    return chat_desk


def mail(desk: Desk, support: tuple[str, str], message_id: str, sender: str, subject: str, body: str) -> None:
    """A customer's mail, an hour old (the issue's "an hour later" needs a before)."""
    user, password = support
    sent = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    desk.dovecot.append(
        user, password, customer_mail(message_id, subject=subject, body=body, sender=sender), msg_time=sent
    )
    desk.run()


def post(chat: ChatDesk, path: str, payload: dict[str, Any], headers: Any) -> None:
    body = as_bytes(payload)
    assert chat.post(path, body, headers(body)).status_code == 200
    chat.work()


def ticket_of(tickets: list[dict[str, Any]], channel: str) -> dict[str, Any]:
    [ticket] = [t for t in tickets if t["channel"] == channel]
    return ticket


def sent_texts(chat: ChatDesk, platform: str) -> list[str]:
    """What was said to the customer on a platform, in order."""
    texts = []
    for call in chat.api.calls_to(platform):
        data = json.loads(call.body)
        texts.append(data["text"]["body"] if platform == "meta" else data["text"])
    return texts


def mail_bodies(desk: Desk, count: int) -> list[tuple[str, str]]:
    """(Subject, body) of the acknowledgements the sink holds, once `count` have come."""
    return [(m.message["Subject"], m.message.get_content()) for m in desk.smtp.wait_for(count)]


def test_es_blocked_card_by_mail_then_the_partner_app_names_the_same_ticket(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    mail(
        desk,
        support,
        "card.es@mail.gmail.test",
        "Lucía Fernández <lucia.fdz@gmail.test>",
        "Tarjeta bloqueada",
        "Hola, tengo la tarjeta bloqueada desde esta mañana y no puedo pagar nada.",
    )
    [(subject, body)] = mail_bodies(desk, 1)
    [ticket] = desk.tickets()
    ref = ticket["ref"]
    assert (ticket["priority"], ticket["queue"], ticket["matched_rule"], ticket["tags"]) == (
        "normal",
        "cards",
        "card-blocked",
        ["card-blocked"],
    )
    assert subject == f"[#{ref}] Tarjeta bloqueada"
    assert f"Hemos recibido tu mensaje y hemos abierto el ticket {ref}." in body

    # An hour later, in the shop's app: same matter, the app vouches for her address.
    post(
        chat,
        "/webhooks/generic/shop",
        gx.submission(
            "¿Por qué sigue la tarjeta bloqueada? Es la segunda vez que escribo.",
            sender_id="app-lucia",
            email="lucia.fdz@gmail.test",
            phone=None,
            conversation_id="app-conv-lucia",
        ),
        gx.signed_headers,
    )
    [joined] = desk.tickets()  # no second ticket
    assert joined["ref"] == ref and [m["channel"] for m in joined["messages"]] == ["email", "generic"]
    assert (joined["priority"], joined["queue"]) == ("normal", "cards")
    [answer] = sent_texts(chat, "generic")
    assert f"Ya tenemos tu caso: el ticket {ref}" in answer
    assert "no hace falta que nos envíes los datos otra vez" in answer
    assert "DM" not in answer and "mensaje privado" not in answer and "Hemos abierto" not in answer
    assert len(desk.smtp.received) == 1  # nothing more by mail


def test_es_a_new_matter_from_the_same_customer_opens_its_own_ticket(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    mail(
        desk,
        support,
        "card.es2@mail.gmail.test",
        "Lucía Fernández <lucia.fdz@gmail.test>",
        "Tarjeta bloqueada",
        "Tengo la tarjeta bloqueada y no puedo pagar.",
    )
    [card] = desk.tickets()
    post(
        chat,
        "/webhooks/generic/shop",
        gx.submission(
            "Quiero cambiar la dirección de entrega del pedido 5512, me he mudado.",
            sender_id="app-lucia",
            email="lucia.fdz@gmail.test",
            phone=None,
            conversation_id="app-conv-move",
        ),
        gx.signed_headers,
    )
    tickets = desk.tickets()
    assert len(tickets) == 2
    moving, card = ticket_of(tickets, "generic"), ticket_of(tickets, "email")
    assert moving["ref"] != card["ref"] and moving["contact"] == card["contact"]  # one person
    # Another ticket of hers within 48 hours: it goes up; no rule matches, so the default queue.
    assert (moving["priority"], moving["queue"], moving["matched_rule"]) == ("high", "support", None)
    assert moving["context"]["prior_tickets"] == [card["ref"]]
    assert moving["context"]["open_tickets"] == [card["ref"]]
    [answer] = sent_texts(chat, "generic")
    assert f"Hemos abierto el ticket {moving['ref']}" in answer and card["ref"] not in answer


def test_it_whatsapp_then_mail_after_an_agent_links_the_number(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    # Luca wrote by mail last year; that ticket is closed.
    mail(
        desk,
        support,
        "old.it@mail.libero.test",
        "Luca Rossi <luca.rossi@libero.test>",
        "Indirizzo di consegna",
        "Buongiorno, vorrei cambiare l'indirizzo di consegna.",
    )
    [old] = desk.tickets()
    with desk.runtime.sessions.begin() as session:
        session.execute(update(Ticket).values(status="closed"))

    post(
        chat,
        "/webhooks/whatsapp/acme",
        mx.whatsapp_body(
            mx.messages_change(
                mx.wa_text(
                    "Buongiorno, ho restituito le scarpe ma non ho ancora ricevuto il rimborso.",
                    sender="393201112233",
                ),
                name="Luca Rossi",
                wa_id="393201112233",
            )
        ),
        mx.headers,
    )
    whatsapp = ticket_of(desk.tickets(), "whatsapp")
    assert whatsapp["ref"] != old["ref"] and whatsapp["language"] == "it"
    assert (whatsapp["priority"], whatsapp["queue"]) == ("normal", "support")
    [answer] = sent_texts(chat, "meta")
    assert answer.startswith("Ciao Luca, grazie per il tuo messaggio.")
    assert f"Abbiamo aperto il ticket {whatsapp['ref']}" in answer

    # The agent recognises him and merges the WhatsApp contact into the one that mails.
    with desk.runtime.sessions.begin() as session:
        by_mail = find_contact_by_reference(session, "luca.rossi@libero.test")
        on_whatsapp = find_contact_by_reference(session, "+393201112233")
        assert by_mail is not None and on_whatsapp is not None and by_mail.id != on_whatsapp.id
        merge_contacts(session, by_mail, on_whatsapp, actor="agent@acme.test")

    mail(
        desk,
        support,
        "refund.it@mail.libero.test",
        "Luca Rossi <luca.rossi@libero.test>",
        "Rimborso scarpe",
        "Vi scrivo anche qui: il rimborso delle scarpe restituite non è ancora arrivato.",
    )
    tickets = desk.tickets()
    assert len(tickets) == 2  # the closed one and the WhatsApp one: the mail joined it
    joined = ticket_of(tickets, "whatsapp")
    assert [m["channel"] for m in joined["messages"]] == ["whatsapp", "email"]
    assert joined["messages"][1]["thread_reason"].startswith("cross-channel, same matter")
    identities = {(i["type"], i["value"]) for i in joined["contact"]["identities"]}
    assert {("email", "luca.rossi@libero.test"), ("whatsapp", "+393201112233")} <= identities
    [_, (subject, body)] = mail_bodies(desk, 2)
    assert subject.startswith(f"[#{joined['ref']}]")
    assert f"Abbiamo già il tuo caso: il ticket {joined['ref']}" in body
    assert "non serve inviarci di nuovo i dettagli" in body
    assert len(sent_texts(chat, "meta")) == 1


def test_pt_telegram_urgent_request_is_answered_in_portuguese_once(chat: ChatDesk, desk: Desk) -> None:
    ana = {"id": 424242, "is_bot": False, "first_name": "Ana", "last_name": "Silva", "language_code": "pt"}
    post(
        chat,
        "/webhooks/telegram/acme",
        tx.update(
            "message",
            tx.message("Olá, preciso de ajuda urgente: não consigo entrar na minha conta.", sender=ana),
        ),
        lambda _body: tx.headers(),
    )
    [ticket] = desk.tickets()
    ref = ticket["ref"]
    assert (ticket["channel"], ticket["language"], ticket["urgency"]) == ("telegram", "pt", "urgent")
    assert (ticket["priority"], ticket["queue"], ticket["matched_rule"]) == ("urgent", "support", None)
    [answer] = sent_texts(chat, "telegram")
    assert answer.startswith("Olá Ana, obrigado pela sua mensagem.")
    assert f"Abrimos o pedido {ref}" in answer

    post(
        chat,
        "/webhooks/telegram/acme",
        tx.update("message", tx.message("O meu utilizador é ana.silva", sender=ana)),
        lambda _body: tx.headers(),
    )
    [ticket] = desk.tickets()
    assert ticket["ref"] == ref and len(ticket["messages"]) == 2
    assert ticket["messages"][1]["thread_reason"] == "same conversation"
    assert len(sent_texts(chat, "telegram")) == 1  # one conversation, one acknowledgement


def test_fr_vip_customer_goes_to_the_vip_queue_first(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    mail(
        desk,
        support,
        "vip.fr@mail.orange.test",
        "Camille Durand <camille.durand@orange.test>",
        "Carte bloquée",
        "Bonjour, ma carte bloquée depuis hier m'empêche de payer. Pouvez-vous la débloquer ?",
    )
    [ticket] = desk.tickets()
    ref = ticket["ref"]
    # The first matching rule (vip) sets queue, priority and assignee; card-blocked adds its tag.
    assert (ticket["priority"], ticket["queue"], ticket["assignee"], ticket["matched_rule"]) == (
        "high",
        "vip",
        "claire@acme.test",
        "vip",
    )
    assert ticket["tags"] == ["vip", "card-blocked"]
    assert ticket["context"]["attributes"]["vip"] == "yes" and ticket["language"] == "fr"
    [(subject, body)] = mail_bodies(desk, 1)
    assert subject == f"[#{ref}] Carte bloquée"
    assert body.startswith("Bonjour Camille,")
    assert f"Nous avons bien reçu votre message et ouvert le ticket {ref}." in body


def test_de_failed_payment_raises_priority_without_a_rule(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    mail(
        desk,
        support,
        "pay.de@mail.web.test",
        "Jonas Weber <jonas.weber@web.test>",
        "Frage zur Rechnung",
        "Hallo, ich habe eine Frage zu meiner letzten Rechnung. Wann wird der Betrag abgebucht?",
    )
    [ticket] = desk.tickets()
    assert (ticket["priority"], ticket["queue"], ticket["matched_rule"], ticket["language"]) == (
        "high",
        "support",
        None,
        "de",
    )
    assert any("payment" in cue for cue in ticket["triage"]["priority_cues"])
    [(subject, body)] = mail_bodies(desk, 1)
    assert subject == f"[#{ticket['ref']}] Frage zur Rechnung"
    assert body.startswith("Hallo Jonas,")
    assert ticket["ref"] in body


def test_en_thanks_is_low_priority_and_still_acknowledged(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    mail(
        desk,
        support,
        "thanks.en@mail.outlook.test",
        "Grace Evans <grace.evans@outlook.test>",
        "Thank you",
        "Thank you so much for the quick help yesterday, the new card works perfectly.",
    )
    [ticket] = desk.tickets()
    assert (ticket["intent"], ticket["priority"], ticket["queue"], ticket["matched_rule"]) == (
        "praise",
        "low",
        "support",
        None,
    )
    [(subject, body)] = mail_bodies(desk, 1)
    assert subject == f"[#{ticket['ref']}] Thank you"
    assert body.startswith("Hello Grace,") and ticket["ref"] in body
