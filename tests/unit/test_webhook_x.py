"""X Account Activity: the CRC and the body signature, events under X's ids, DMs and
public mentions mapped (ours recognised, media, retweets), the events that are never
answered, and the DM / reply-post sender against the fake X API."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from mailbot.channels import ChannelSpec
from mailbot.deliver import deliver_many
from mailbot.devservers.platform_api import PlatformApi
from mailbot.message import (
    EVENT_DELETE,
    EVENT_MEMBERSHIP,
    EVENT_MESSAGE,
    EVENT_REACTION,
    EVENT_STATUS,
    SenderIdentity,
)
from mailbot.runtime import Runtime
from mailbot.timeutil import as_utc, utcnow
from tests.fixtures.platforms import (
    as_bytes,
    channel_config,
    outbox_entry,
    queued_reply,
    stored_channel,
    webhook_request,
)
from tests.fixtures.platforms import x as fx
from webhooks import Rejected, UnreadableEvent, WebhookRequest
from webhooks.x import events, handshake, normalize, verify

CHANNEL = channel_config(
    "x", secret=fx.CONSUMER_SECRET, token=fx.USER_TOKEN, options={"account_id": fx.OUR_ID}
)


def signed(payload: dict) -> WebhookRequest:
    body = as_bytes(payload)
    return webhook_request(body, fx.headers(body), path="/webhooks/x/main")


def mapped_all(payload: dict) -> list:
    return [normalize(e.payload, CHANNEL) for e in events(signed(payload), CHANNEL)]


def mapped(payload: dict):
    [message] = mapped_all(payload)
    return message


# -- CRC and signature -----------------------------------------------------------------


def test_the_crc_is_answered_with_the_hmac_of_the_token() -> None:
    get = WebhookRequest(
        "GET", "https://support.example.test/webhooks/x/main", {}, {"crc_token": "zyx321"}, b"", {}, 0
    )
    reply = handshake(get, CHANNEL)
    assert reply.status == 200 and reply.content_type == "application/json"
    assert json.loads(reply.body) == fx.crc_response("zyx321")


def test_a_crc_without_a_token_is_refused() -> None:
    get = WebhookRequest("GET", "https://support.example.test/webhooks/x/main", {}, {}, b"", {}, 0)
    with pytest.raises(Rejected) as refused:
        handshake(get, CHANNEL)
    assert refused.value.status == 400


def test_a_body_signed_with_the_consumer_secret_is_accepted() -> None:
    verify(signed(fx.dm("Hola")), CHANNEL)


@pytest.mark.parametrize(
    "make_headers",
    [
        pytest.param(lambda body: fx.headers(body, secret="another-consumer-secret"), id="other-secret"),
        pytest.param(lambda body: fx.headers(body + b"\n"), id="body-changed"),
        pytest.param(
            lambda body: {"X-Twitter-Webhooks-Signature": fx.signature(body).lower()}, id="case-changed"
        ),
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="missing"),
    ],
)
def test_a_bad_or_missing_signature_is_refused_with_401(make_headers) -> None:
    body = as_bytes(fx.dm("Hola"))
    with pytest.raises(Rejected) as refused:
        verify(webhook_request(body, make_headers(body)), CHANNEL)
    assert refused.value.status == 401


def test_a_replayed_body_verifies_and_repeats_its_event_ids() -> None:
    request = signed(fx.dm("Hola"))
    verify(request, CHANNEL)
    assert [e.event_id for e in events(request, CHANNEL)] == [e.event_id for e in events(request, CHANNEL)]


# -- events ------------------------------------------------------------------------------


def test_events_carry_xs_ids_and_what_normalize_needs() -> None:
    payload = fx.dm("Hola")
    dm_id = payload["direct_message_events"][0]["id"]
    [event] = events(signed(payload), CHANNEL)
    assert event.event_id == f"dm:{dm_id}"
    stored = json.loads(event.payload)
    assert stored["for_user_id"] == fx.OUR_ID and fx.CUSTOMER_ID in stored["users"]
    post = fx.tweet("Mi pedido no llega")
    [event] = events(signed(fx.mentions(post)), CHANNEL)
    assert event.event_id == f"tweet:{post['id_str']}"


def test_events_without_ids_get_ids_a_redelivery_repeats() -> None:
    first = [e.event_id for e in events(signed(fx.follow()), CHANNEL)]
    assert first == [e.event_id for e in events(signed(fx.follow()), CHANNEL)]
    assert first[0].startswith("follow_events:")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<xml/>", id="not-json"),
        pytest.param(as_bytes({"direct_message_events": []}), id="no-for-user-id"),
        pytest.param(
            as_bytes(fx.body(direct_message_events=[{"type": "message_create"}])), id="dm-without-id"
        ),
        pytest.param(as_bytes(fx.body(tweet_create_events="@AcmeSupport hola")), id="not-a-list"),
    ],
)
def test_a_malformed_body_is_refused_with_400(body: bytes) -> None:
    with pytest.raises(Rejected) as refused:
        events(webhook_request(body, fx.headers(body)), CHANNEL)
    assert refused.value.status == 400


# -- normalize: direct messages ----------------------------------------------------------


def test_a_direct_message_is_the_customers_answered_in_the_dm() -> None:
    message = mapped(fx.dm("Hola, mi pedido 4411 no ha llegado"))
    assert message.event == EVENT_MESSAGE and not message.from_us and not message.public
    assert message.sender == SenderIdentity("x", fx.CUSTOMER_ID, fx.CUSTOMER_NAME)
    assert message.conversation_key == f"x:dm:{fx.CUSTOMER_ID}-{fx.OUR_ID}"
    assert message.reply_fields == {"participant_id": fx.CUSTOMER_ID}
    assert message.message_id and message.message_id.startswith("dm:")
    assert message.date == dt.datetime(2026, 12, 1, 9, 30, 0, 557000, tzinfo=dt.UTC)


def test_our_own_direct_message_is_ours_in_the_same_conversation() -> None:
    ours = mapped(fx.dm("Gracias, lo miramos", sender=fx.OUR_ID, recipient=fx.CUSTOMER_ID))
    assert ours.from_us
    assert ours.conversation_key == f"x:dm:{fx.CUSTOMER_ID}-{fx.OUR_ID}"


def test_a_photo_alone_reads_as_photo_without_xs_link() -> None:
    attachment, link = fx.photo_attachment()
    message = mapped(fx.dm(link, attachment=attachment))
    assert message.text == "[photo]"
    assert message.attachments[0].reference == attachment["media"]["media_url_https"]
    with_text = mapped(fx.dm(f"Llegó así {link}", attachment=attachment))
    assert with_text.text == "Llegó así"


# -- normalize: public posts -------------------------------------------------------------


def test_a_mention_is_public_and_answered_with_a_reply_to_it() -> None:
    post = fx.tweet("mi pedido 4411 lleva dos semanas sin llegar")
    message = mapped(fx.mentions(post))
    assert message.public and message.event == EVENT_MESSAGE and not message.from_us
    assert message.sender == SenderIdentity("x", fx.CUSTOMER_ID, fx.CUSTOMER_NAME)
    assert message.reply_fields == {"in_reply_to_tweet_id": post["id_str"]}
    assert message.message_id == f"tweet:{post['id_str']}"
    assert "pedido 4411" in message.text


def test_a_reply_to_our_post_is_read_without_the_leading_mention() -> None:
    post = fx.tweet("sigue sin llegar", in_reply_to="1863999999999999999")
    message = mapped(fx.mentions(post))
    assert message.text == "sigue sin llegar"
    assert message.in_reply_to == ["tweet:1863999999999999999"]


def test_our_own_post_and_a_retweet_are_never_a_customers_message() -> None:
    ours = mapped(fx.mentions(fx.tweet("Estamos revisando", author=fx.OUR_USER, mention=False)))
    assert ours.from_us
    original = fx.tweet("Nueva tienda en Madrid", author=fx.OUR_USER, mention=False)
    retweet = mapped(fx.mentions(fx.tweet("", retweet_of=original)))
    assert (retweet.event, retweet.target_message_id) == (EVENT_REACTION, f"tweet:{original['id_str']}")


# -- normalize: never answered ----------------------------------------------------------


def test_a_like_is_a_reaction_to_the_post() -> None:
    liked = fx.tweet("Gracias por todo", author=fx.OUR_USER, mention=False)
    like = mapped(fx.favorite(liked))
    assert (like.event, like.target_message_id, like.sender_address) == (
        EVENT_REACTION,
        f"tweet:{liked['id_str']}",
        fx.CUSTOMER_ID,
    )


def test_follows_and_a_revoked_authorisation_are_membership_events() -> None:
    assert mapped(fx.follow()).event == EVENT_MEMBERSHIP
    assert mapped(fx.follow("unfollow")).event == EVENT_MEMBERSHIP
    assert mapped(fx.revoke()).event == EVENT_MEMBERSHIP


def test_typing_and_read_receipts_are_statuses() -> None:
    assert mapped(fx.typing()).event == EVENT_STATUS
    read = mapped(fx.mark_read("1864000000000000042"))
    assert (read.event, read.target_message_id) == (EVENT_STATUS, "dm:1864000000000000042")


def test_a_deleted_post_points_at_it() -> None:
    gone = mapped(fx.tweet_delete("1864000000000000077"))
    assert (gone.event, gone.target_message_id) == (EVENT_DELETE, "tweet:1864000000000000077")


def test_an_event_for_another_subscribed_account_is_recorded_never_answered() -> None:
    payload = fx.dm("Hola", recipient="999111")
    payload["for_user_id"] = "999111"
    other = mapped(payload)
    assert other.event == EVENT_STATUS and "999111" in other.parse_warnings[0]


def test_a_batch_of_several_kinds_is_one_event_each() -> None:
    payload = {**fx.dm("Hola"), **fx.typing()}
    payload["users"] = {fx.CUSTOMER_ID: fx.CUSTOMER_USER, fx.OUR_ID: fx.OUR_USER}
    assert [m.event for m in mapped_all(payload)] == [EVENT_MESSAGE, EVENT_STATUS]


@pytest.mark.parametrize(
    "payload",
    [
        b"nope",
        as_bytes(
            {"for_user_id": fx.OUR_ID, "kind": "direct_message_events", "item": {"type": "message_create"}}
        ),
        as_bytes({"for_user_id": fx.OUR_ID, "kind": "tweet_create_events", "item": {"text": "@AcmeSupport"}}),
    ],
)
def test_a_stored_event_without_its_people_is_unreadable(payload: bytes) -> None:
    with pytest.raises(UnreadableEvent):
        normalize(payload, CHANNEL)


# -- sender -------------------------------------------------------------------------------

ACK = "Hola Lucía, ya tenemos tu caso: MB-7K3Q9P."


@pytest.fixture
def x_channel(runtime: Runtime, platform_api: PlatformApi):
    platform_api.credentials["x"] = fx.USER_TOKEN
    platform_api.credentials["x:user_id"] = fx.OUR_ID
    spec = ChannelSpec(
        "x",
        "acme",
        secret=fx.CONSUMER_SECRET,
        token=fx.USER_TOKEN,
        api_base=platform_api.base("x"),
        options={"account_id": fx.OUR_ID},
    )
    return stored_channel(runtime, spec)


def test_a_dm_acknowledgement_goes_to_the_participant_and_its_event_id_is_recorded(
    runtime: Runtime, platform_api: PlatformApi, x_channel
) -> None:
    outbox_id = queued_reply(
        runtime, x_channel, {"participant_id": fx.CUSTOMER_ID, "ticket_ref": "MB-7K3Q9P"}, ACK
    )
    assert deliver_many(runtime, [outbox_id])[0].status == "sent"
    [call] = platform_api.calls_to("x")
    assert (call.path, call.status) == (f"/2/dm_conversations/with/{fx.CUSTOMER_ID}/messages", 201)
    assert call.json == {"text": ACK} and call.headers["authorization"] == f"Bearer {fx.USER_TOKEN}"
    assert (outbox_entry(runtime, outbox_id).external_id or "").isdigit()


def test_a_mention_is_answered_with_a_public_reply_post(
    runtime: Runtime, platform_api: PlatformApi, x_channel
) -> None:
    fields = {"in_reply_to_tweet_id": "1864000000000000123", "ticket_ref": "MB-7K3Q9P"}
    outbox_id = queued_reply(runtime, x_channel, fields, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "sent"
    [call] = platform_api.calls_to("x")
    assert (call.path, call.json) == (
        "/2/tweets",
        {"text": ACK, "reply": {"in_reply_to_tweet_id": "1864000000000000123"}},
    )
    assert (outbox_entry(runtime, outbox_id).external_id or "").isdigit()


def test_a_429_waits_until_the_window_x_names_in_x_rate_limit_reset(
    runtime: Runtime, platform_api: PlatformApi, x_channel
) -> None:
    outbox_id = queued_reply(
        runtime, x_channel, {"participant_id": fx.CUSTOMER_ID, "ticket_ref": "MB-1"}, ACK
    )
    reset = int(time.time()) + 900
    # X sends no Retry-After, only the Unix time its window reopens.
    platform_api.fail(
        "x",
        429,
        body={"title": "Too Many Requests", "status": 429, "detail": "Too Many Requests"},
        headers={"x-rate-limit-limit": "15", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )
    before = utcnow()
    assert deliver_many(runtime, [outbox_id])[0].status == "retry"
    assert as_utc(outbox_entry(runtime, outbox_id).next_attempt_at) >= before + dt.timedelta(seconds=890)


def test_a_reply_longer_than_a_post_fails_that_entry_alone(
    runtime: Runtime, platform_api: PlatformApi, x_channel
) -> None:
    long = queued_reply(runtime, x_channel, {"in_reply_to_tweet_id": "1", "ticket_ref": "MB-1"}, "x" * 300)
    fine = queued_reply(runtime, x_channel, {"participant_id": fx.CUSTOMER_ID, "ticket_ref": "MB-2"}, ACK)
    assert [d.status for d in deliver_many(runtime, [long, fine])] == ["failed", "sent"]


def test_a_revoked_token_is_refused_for_good(runtime: Runtime, platform_api: PlatformApi, x_channel) -> None:
    platform_api.credentials["x"] = "revoked"
    outbox_id = queued_reply(
        runtime, x_channel, {"participant_id": fx.CUSTOMER_ID, "ticket_ref": "MB-1"}, ACK
    )
    assert deliver_many(runtime, [outbox_id])[0].status == "failed"
    assert "Unauthorized" in (outbox_entry(runtime, outbox_id).last_error or "")


def test_x_down_is_retried(runtime: Runtime, platform_api: PlatformApi, x_channel) -> None:
    platform_api.down("x")
    outbox_id = queued_reply(
        runtime, x_channel, {"participant_id": fx.CUSTOMER_ID, "ticket_ref": "MB-1"}, ACK
    )
    assert deliver_many(runtime, [outbox_id])[0].status == "retry"
