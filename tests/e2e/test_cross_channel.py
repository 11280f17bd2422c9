"""One customer, several channels, end to end on real servers: mail through Dovecot and the
SMTP sink, the generic channel and X over real HTTP into the web app and answered through
the fake platform APIs, all filed by the same worker into the same store.

The case issue 9 names: a customer e-mails about a blocked card, then complains elsewhere
an hour later. The second message joins the ticket they have, the answer there names it,
never asks for a DM or for the details again; a new matter still opens its own ticket."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update

from mailbot.channels import ChannelSpec
from mailbot.contacts import find_contact_by_reference, merge_contacts
from mailbot.pipeline.refs import ack_message_id
from mailbot.statuses import TicketStatus
from mailbot.store.models import IdentitySuggestion, Mailbox, Ticket
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import generic as gx
from tests.fixtures.platforms import x as xx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

GENERIC = "/webhooks/generic/shop"
X = "/webhooks/x/acme"
EMAIL = "lucia.fdz@gmail.test"
CARD_SUBJECT = "Tarjeta bloqueada"
CARD_BODY = (
    "Hola, mi tarjeta de crédito está bloqueada desde esta mañana y no puedo pagar nada. "
    "¿Podéis desbloquearla, por favor?"
)


@pytest.fixture
def chat(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["generic"] = gx.SECRET
    chat_desk.api.credentials["x"] = xx.USER_TOKEN
    chat_desk.api.credentials["x:user_id"] = xx.OUR_ID
    chat_desk.add_channel(
        ChannelSpec(
            "generic",
            "shop",
            secret=gx.SECRET,
            api_base=chat_desk.api.base("generic"),
            options={"language": "es"},
        )
    )
    chat_desk.add_channel(
        ChannelSpec(
            "x",
            "acme",
            secret=xx.CONSUMER_SECRET,
            token=xx.USER_TOKEN,
            api_base=chat_desk.api.base("x"),
            options={"account_id": xx.OUR_ID, "language": "es"},
        )
    )
    return chat_desk


def post_generic(chat: ChatDesk, submission: dict) -> None:
    body = as_bytes(submission)
    assert chat.post(GENERIC, body, gx.signed_headers(body)).status_code == 200
    chat.work()


def post_x(chat: ChatDesk, payload: dict) -> None:
    body = as_bytes(payload)
    assert chat.post(X, body, xx.headers(body)).status_code == 200
    chat.work()


def card_mail(desk: Desk, support: tuple[str, str], *, an_hour_ago: bool = True) -> dict:
    user, password = support
    now = dt.datetime.now(dt.UTC)
    # The mailbox has been in service for a while: mail from an hour ago is new, not history.
    with desk.runtime.sessions.begin() as session:
        session.execute(update(Mailbox).values(ack_cutoff=now - dt.timedelta(days=1)))
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "card-1@mail.gmail.test", subject=CARD_SUBJECT, body=CARD_BODY, sender=f"Lucía <{EMAIL}>"
        ),
        msg_time=now - dt.timedelta(hours=1) if an_hour_ago else None,
    )
    desk.run()
    [ticket] = [t for t in desk.tickets() if t["channel"] == "email"]
    desk.smtp.wait_for(1)
    return ticket


def generic_texts(chat: ChatDesk) -> list[str]:
    return [json.loads(c.body)["text"] for c in chat.api.calls_to("generic")]


def test_a_complaint_through_the_generic_channel_joins_the_mailed_ticket_and_names_it(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    mailed = card_mail(desk, support)
    post_generic(
        chat,
        gx.submission(
            "Sigo con la tarjeta bloqueada y no puedo pagar nada, ¿qué pasa?",
            sender_id="app-user-77",
            email=EMAIL.upper(),  # the partner's system spells it its own way
            phone="600 111 222",  # national: read in the channel's language region (es -> ES)
            conversation_id="app-conv-1",
        ),
    )

    [ticket] = desk.tickets()  # no second ticket
    assert ticket["ref"] == mailed["ref"]
    first, joined = ticket["messages"]
    assert first["thread_reason"].startswith("new ticket: no open ticket on another channel")
    assert joined["channel"] == "generic"
    assert joined["thread_reason"].startswith("cross-channel, same matter")
    assert "contact linked by email " + EMAIL in joined["thread_reason"]
    assert 0.3 <= joined["thread_confidence"] <= 1
    assert {(i["type"], i["value"]) for i in ticket["contact"]["identities"]} == {
        ("email", EMAIL),
        ("generic", "app-user-77"),
        ("phone", "+34600111222"),
    }

    [answer] = generic_texts(chat)
    assert mailed["ref"] in answer
    assert "no hace falta que nos envíes los datos otra vez" in answer
    assert "DM" not in answer and "Hemos abierto" not in answer
    assert len(desk.smtp.received) == 1  # the mail acknowledgement only, nothing more by mail

    # More in that conversation joins by the conversation, answered once already.
    post_generic(
        chat,
        gx.submission(
            "Os paso el número de la tarjeta: termina en 4417",
            sender_id="app-user-77",
            email=EMAIL,
            phone=None,
            conversation_id="app-conv-1",
        ),
    )
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 3 and ticket["messages"][2]["thread_reason"] == "same conversation"
    assert len(generic_texts(chat)) == 1


def test_a_new_matter_from_the_same_customer_opens_its_own_ticket(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    mailed = card_mail(desk, support)
    post_generic(
        chat,
        gx.submission(
            "Quiero cambiar la dirección de entrega del pedido 5512",
            sender_id="app-user-77",
            email=EMAIL,
            conversation_id="app-conv-2",
        ),
    )
    tickets = {t["ref"]: t for t in desk.tickets()}
    assert len(tickets) == 2
    [new_ref] = set(tickets) - {mailed["ref"]}
    new = tickets[new_ref]
    assert new["channel"] == "generic"
    assert new["contact"] == tickets[mailed["ref"]]["contact"]  # the same person, linked by e-mail
    [message] = new["messages"]
    assert message["thread_reason"].startswith(f"new ticket: new matter: ticket {mailed['ref']} open")
    [answer] = generic_texts(chat)
    assert new_ref in answer and mailed["ref"] not in answer
    assert "Hemos abierto el ticket" in answer


def test_a_public_complaint_on_x_names_the_mailed_ticket_and_never_asks_for_a_dm(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    # The customer wrote to us by DM once; that ticket is solved, and an agent merged their
    # X account into the contact that e-mails (the link the pipeline would only suggest).
    post_x(chat, xx.dm("Hola, ¿a qué hora abrís?"))
    with desk.runtime.sessions.begin() as session:
        session.execute(update(Ticket).values(status=TicketStatus.CLOSED))
    mailed = card_mail(desk, support)
    with desk.runtime.sessions.begin() as session:
        by_mail = find_contact_by_reference(session, EMAIL)
        on_x = find_contact_by_reference(session, xx.CUSTOMER_ID)
        assert by_mail is not None and on_x is not None and by_mail.id != on_x.id
        merge_contacts(session, by_mail, on_x, actor="agent@acme.test")

    mention = xx.tweet("sigo con la tarjeta bloqueada y nadie me contesta")
    post_x(chat, xx.mentions(mention))

    tickets = {t["ref"]: t for t in desk.tickets()}
    assert len(tickets) == 2  # the old DM ticket and the card: no third
    card = tickets[mailed["ref"]]
    assert [m["channel"] for m in card["messages"]] == ["email", "x"]
    assert card["messages"][1]["thread_reason"] == "the customer's open ticket"
    public = [c for c in chat.api.calls_to("x") if c.path == "/2/tweets"]
    [reply] = public
    assert reply.json["reply"] == {"in_reply_to_tweet_id": mention["id_str"]}
    assert mailed["ref"] in reply.json["text"]
    assert "No hace falta que nos envíes los datos otra vez" in reply.json["text"]
    assert "DM" not in reply.json["text"]


def test_the_mail_acknowledgement_names_a_ticket_opened_on_another_channel(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    post_generic(chat, gx.submission(CARD_BODY, sender_id="app-user-9", email=EMAIL, conversation_id="c-9"))
    [opened] = desk.tickets()
    assert opened["contact"]["email"] == EMAIL  # the claimed address became the contact's
    user, password = support
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            "card-2@mail.gmail.test",
            subject="Mi tarjeta",
            body="Sigue bloqueada la tarjeta, no puedo pagar en ninguna tienda.",
            sender=f"Lucía <{EMAIL}>",
        ),
    )
    desk.run()

    [ticket] = desk.tickets()
    assert [m["channel"] for m in ticket["messages"]] == ["generic", "email"]
    assert ticket["messages"][1]["thread_reason"].startswith("cross-channel, same matter")
    [ack] = desk.smtp.wait_for(1)
    body = ack.message.get_content()
    assert ack.rcpt_tos == [EMAIL]
    assert f"[#{ticket['ref']}]" in ack.message["Subject"]
    assert f"Ya tenemos tu caso: el ticket {ticket['ref']}" in body
    assert "no hace falta que nos envíes los datos otra vez" in body
    first_ack_id = ack_message_id(desk.runtime.settings.secret_key, ticket["ref"], "support@acme.test")
    assert ack.message["Message-ID"] != f"<{first_ack_id}>"  # its own id, its own outbox key

    # A second round sends nothing more.
    desk.run()
    assert len(desk.smtp.received) == 1


def test_claims_that_point_at_two_contacts_link_neither_and_suggest_the_pair(
    desk: Desk, support: tuple[str, str], chat: ChatDesk
) -> None:
    card_mail(desk, support, an_hour_ago=False)  # contact 1: the e-mail address
    post_generic(
        chat,
        gx.submission(
            "Hola", sender_id="other-app-1", email=None, phone="+34 600 999 888", conversation_id="c-a"
        ),
    )  # contact 2: the phone
    post_generic(
        chat,
        gx.submission(
            "Tarjeta bloqueada", sender_id="third-app", email=EMAIL, phone="600999888", conversation_id="c-b"
        ),
    )
    tickets = desk.tickets()
    assert len(tickets) == 3  # nothing was joined on a guess
    by_mail, by_phone, third = (find_contact_ids(desk, ref) for ref in (EMAIL, "+34600999888", "third-app"))
    assert len({by_mail, by_phone, third}) == 3
    with desk.runtime.sessions() as session:
        suggestions = {
            (s.contact_id, s.other_contact_id): s.reason for s in session.scalars(select(IdentitySuggestion))
        }
    assert suggestions == {
        tuple(sorted((third, by_mail))): f"same email {EMAIL}",
        tuple(sorted((third, by_phone))): "same phone +34600999888",
    }
    # The agent sees them on the contact page and decides there (or `mailbot contacts`).
    [on_third] = [t for t in tickets if t["messages"][0]["sender"]["value"] == "third-app"]
    assert on_third["contact"]["email"] is None  # the address stays with its owner


def find_contact_ids(desk: Desk, reference: str) -> int:
    with desk.runtime.sessions() as session:
        found = find_contact_by_reference(session, reference)
        assert found is not None
        return found.id


def test_a_whatsapp_number_links_to_the_phone_a_partner_system_gave_and_joins_its_ticket(
    chat: ChatDesk,
) -> None:
    from tests.fixtures.platforms import meta as mx

    chat.api.credentials["meta"] = mx.ACCESS_TOKEN
    chat.add_channel(
        ChannelSpec(
            "whatsapp",
            "acme",
            secret=mx.APP_SECRET,
            token=mx.ACCESS_TOKEN,
            api_base=chat.api.base("meta"),
            options={
                "phone_number_id": mx.PHONE_NUMBER_ID,
                "verify_token": mx.VERIFY_TOKEN,
                "language": "es",
            },
        )
    )
    # The partner's app knows the customer's number as they typed it: national, with spaces.
    national = f"{mx.CUSTOMER_WA_ID[2:5]} {mx.CUSTOMER_WA_ID[5:8]} {mx.CUSTOMER_WA_ID[8:]}"
    post_generic(
        chat, gx.submission(CARD_BODY, sender_id="app-5", email=None, phone=national, conversation_id="c-5")
    )
    [opened] = chat.tickets()

    body = as_bytes(
        mx.whatsapp_body(mx.messages_change(mx.wa_text("Sigo con la tarjeta bloqueada, no puedo pagar")))
    )
    assert chat.post("/webhooks/whatsapp/acme", body, mx.headers(body)).status_code == 200
    chat.work()

    [ticket] = chat.tickets()
    assert ticket["ref"] == opened["ref"]
    assert [m["channel"] for m in ticket["messages"]] == ["generic", "whatsapp"]
    assert f"contact linked by phone +{mx.CUSTOMER_WA_ID}" in ticket["messages"][1]["thread_reason"]
    assert ("whatsapp", f"+{mx.CUSTOMER_WA_ID}") in {
        (i["type"], i["value"]) for i in ticket["contact"]["identities"]
    }
    [answer] = [c for c in chat.api.calls_to("meta") if c.path.endswith("/messages")]
    assert opened["ref"] in answer.body.decode() and "no hace falta" in answer.body.decode()
