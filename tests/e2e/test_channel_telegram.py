"""Telegram end to end: webhook updates with the secret-token header over real HTTP into
/webhooks/telegram/<name>, filed by a worker, acknowledged through the fake Bot API."""

from __future__ import annotations

import pytest

from mailbot.channels import ChannelSpec
from mailbot.store.models import Attachment
from tests.fixtures.messages import alerts
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import telegram as fx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PATH = "/webhooks/telegram/acme"


@pytest.fixture
def desk(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["telegram"] = fx.BOT_TOKEN
    chat_desk.add_channel(
        ChannelSpec(
            "telegram",
            "acme",
            secret=fx.SECRET_TOKEN,
            token=fx.BOT_TOKEN,
            api_base=chat_desk.api.base("telegram"),
            options={"bot_username": fx.BOT_USERNAME, "language": "de"},
        )
    )
    return chat_desk


def send(desk: ChatDesk, kind: str, body: dict, update_id: int | None = None) -> int:
    return desk.post(PATH, as_bytes(fx.update(kind, body, update_id)), fx.headers()).status_code


def test_a_private_message_becomes_a_ticket_answered_as_a_reply_in_the_chat(desk: ChatDesk) -> None:
    body = fx.message("Hallo, meine Bestellung 4411 ist nach zwei Wochen immer noch nicht da.")
    assert send(desk, "message", body) == 200
    desk.work()

    [ticket] = desk.tickets()
    assert ticket["channel"] == "telegram"
    [message] = ticket["messages"]
    assert message["sender"] == {"type": "telegram", "value": str(fx.CUSTOMER["id"]), "name": "Lena Fischer"}
    assert ticket["acknowledged_at"] is not None

    [call] = desk.api.calls_to("telegram")
    assert call.path == f"/bot{fx.BOT_TOKEN}/sendMessage" and call.status == 200
    assert call.json["chat_id"] == fx.CUSTOMER["id"]
    assert call.json["reply_to_message_id"] == body["message_id"]
    assert ticket["ref"] in call.json["text"]
    assert call.json["text"].startswith("Hallo Lena")
    [entry] = desk.outbox()
    assert entry.status == "sent" and entry.external_id and entry.external_id.isdigit()


def test_the_next_message_in_the_chat_joins_the_ticket_without_a_second_answer(desk: ChatDesk) -> None:
    send(desk, "message", fx.message("Bestellung 4411 fehlt"))
    desk.work()
    send(desk, "message", fx.message("Die Sendungsnummer ist DE123456789"))
    desk.work()
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 2
    assert len(desk.api.calls_to("telegram")) == 1


def test_a_redelivered_update_is_answered_200_and_filed_once(desk: ChatDesk) -> None:
    body = as_bytes(fx.update("message", fx.message("Wo bleibt mein Paket?"), 880001))
    for _ in range(3):
        assert desk.post(PATH, body, fx.headers()).status_code == 200
    desk.work()
    assert len(desk.inbound()) == 1
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 1
    assert len(desk.api.calls_to("telegram")) == 1


def test_a_wrong_or_missing_secret_token_is_401_and_stores_nothing(desk: ChatDesk) -> None:
    body = as_bytes(fx.update("message", fx.message("Hallo")))
    assert desk.post(PATH, body, fx.headers("guessed")).status_code == 401
    assert desk.post(PATH, body, {"Content-Type": "application/json"}).status_code == 401
    assert desk.post(PATH, b'{"update_id": ', fx.headers()).status_code == 400
    desk.work()
    assert desk.inbound() == [] and desk.tickets() == []


def test_an_edit_updates_the_message_and_is_not_answered(desk: ChatDesk) -> None:
    original = fx.message("Bestellung 441")
    send(desk, "message", original)
    desk.work()
    send(desk, "edited_message", fx.edited(original, "Bestellung 4411"))
    desk.work()
    [ticket] = desk.tickets()
    [message] = ticket["messages"]
    assert message["text"] == "Bestellung 4411"
    assert len(desk.api.calls_to("telegram")) == 1


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        pytest.param("my_chat_member", lambda: fx.my_chat_member("kicked"), id="bot-blocked"),
        pytest.param("message_reaction", lambda: fx.message_reaction(12), id="reaction"),
        pytest.param("message", fx.new_chat_members, id="member-joined"),
        pytest.param(
            "message", lambda: fx.group_message("Hat noch jemand Probleme?"), id="group-not-addressed"
        ),
        pytest.param("message", lambda: fx.group_message("12 °C", sender=fx.OTHER_BOT), id="other-bot"),
        pytest.param("channel_post", lambda: fx.channel_post("Neue Öffnungszeiten"), id="channel-post"),
    ],
)
def test_what_is_not_for_us_is_stored_but_never_a_ticket_or_an_answer(
    desk: ChatDesk, kind: str, make
) -> None:
    assert send(desk, kind, make()) == 200
    desk.work()
    [stored] = desk.inbound()
    assert stored.status == "ignored" or stored.verdict == "auto_reply"
    assert desk.tickets() == []
    assert desk.api.calls_to("telegram") == []


def test_a_mention_in_a_group_is_answered_in_the_group(desk: ChatDesk) -> None:
    body = fx.mention_in_group(f"@{fx.BOT_USERNAME} meine Lieferung 4411 fehlt")
    send(desk, "message", body)
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["messages"][0]["sender"]["value"] == str(fx.CUSTOMER["id"])
    [call] = desk.api.calls_to("telegram")
    assert call.json["chat_id"] == fx.GROUP["id"]
    assert call.json["reply_to_message_id"] == body["message_id"]


@pytest.mark.parametrize(
    ("make", "text", "reference"),
    [
        pytest.param(fx.photo, "[photo]", "AgACAgIAAxkBAAIBbGXlarge", id="photo"),
        pytest.param(fx.voice, "[voice message]", "AwACAgIAAxkBAAIBbWvoice", id="voice"),
        pytest.param(
            fx.document, "[document: Rechnung-2031.pdf]", "BQACAgIAAxkBAAIBbmdocument", id="document"
        ),
    ],
)
def test_media_without_text_is_a_customer_message_with_its_file_id(
    desk: ChatDesk, make, text: str, reference: str
) -> None:
    send(desk, "message", make())
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["messages"][0]["text"] == text
    with desk.runtime.sessions() as session:
        [attachment] = session.query(Attachment).all()
        assert attachment.reference == reference
    assert len(desk.api.calls_to("telegram")) == 1


def test_a_user_who_blocked_the_bot_fails_the_answer_for_good_and_it_shows(desk: ChatDesk) -> None:
    desk.api.fail(
        "telegram",
        403,
        body={"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    send(desk, "message", fx.message("Hallo?"))
    desk.work()
    [entry] = desk.outbox()
    assert entry.status == "failed"
    assert "blocked by the user" in (entry.last_error or "")
    [ticket] = desk.tickets()
    assert ticket["acknowledged_at"] is None
    [alert] = alerts(desk.runtime, "outbox_failed")  # what the panel's failures page lists
    assert entry.key in alert.detail
