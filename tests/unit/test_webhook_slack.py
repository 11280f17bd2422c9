"""Slack: the v0 signature and its window, the Events API envelope cut into events, every
event type mapped, and chat.postMessage against the fake Slack API."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import httpx
import pytest

from mailbot.channels import ChannelSpec
from mailbot.deliver import deliver_many
from mailbot.devservers.platform_api import PlatformApi
from mailbot.message import (
    EVENT_DELETE,
    EVENT_EDIT,
    EVENT_MEMBERSHIP,
    EVENT_MESSAGE,
    EVENT_REACTION,
    EVENT_STATUS,
    SenderIdentity,
)
from mailbot.runtime import Runtime
from mailbot.store.models import Channel, OutboxEntry
from mailbot.store.secrets import encrypt_secret
from mailbot.timeutil import as_utc, utcnow
from tests.fixtures.platforms import (
    as_bytes,
    channel_config,
    outbox_entry,
    queued_reply,
    stored_channel,
    webhook_request,
)
from tests.fixtures.platforms import slack as fx
from webhooks import Rejected, Reply, UnreadableEvent, WebhookEvent
from webhooks.slack import events, normalize, verify

CHANNEL = channel_config("slack", secret=fx.SIGNING_SECRET, token=fx.BOT_TOKEN)


def signed(body: bytes, **kwargs) -> object:
    return webhook_request(body, fx.signed_headers(body, **kwargs))


def only_event(body: bytes) -> WebhookEvent:
    result = events(webhook_request(body, fx.signed_headers(body)), CHANNEL)
    assert isinstance(result, list) and len(result) == 1
    return result[0]


def mapped(event: dict, channel=CHANNEL, **envelope_options):
    return normalize(as_bytes(fx.envelope(event, **envelope_options)), channel)


# -- verify ---------------------------------------------------------------------


def test_a_request_signed_as_slack_signs_is_accepted() -> None:
    body = fx.body_of(fx.message("Hola, necesito ayuda con mi factura"))
    verify(signed(body), CHANNEL)


def test_a_timestamp_four_minutes_old_is_still_inside_the_window() -> None:
    body = fx.body_of(fx.message("hola"))
    verify(signed(body, timestamp=int(time.time()) - 240), CHANNEL)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: ({**h, "X-Slack-Signature": "v0=" + "0" * 64}, b), id="wrong-digest"),
        pytest.param(lambda h, b: (h, b.replace(b"factura", b"FACTURA")), id="body-changed"),
        pytest.param(lambda h, b: (fx.signed_headers(b, secret="another-app-secret"), b), id="other-secret"),
        pytest.param(
            lambda h, b: ({**h, "X-Slack-Signature": h["X-Slack-Signature"].replace("v0=", "v1=")}, b),
            id="other-version",
        ),
        pytest.param(
            lambda h, b: (
                {**h, "X-Slack-Request-Timestamp": str(int(h["X-Slack-Request-Timestamp"]) + 1)},
                b,
            ),
            id="timestamp-changed",
        ),
    ],
)
def test_a_bad_signature_is_refused_with_401(tamper) -> None:
    body = fx.body_of(fx.message("Hola, necesito ayuda con mi factura"))
    headers, body = tamper(fx.signed_headers(body), body)
    with pytest.raises(Rejected) as refused:
        verify(webhook_request(body, headers), CHANNEL)
    assert refused.value.status == 401


@pytest.mark.parametrize("missing", ["X-Slack-Signature", "X-Slack-Request-Timestamp"])
def test_a_missing_header_is_refused_with_401(missing: str) -> None:
    body = fx.body_of(fx.message("hola"))
    headers = {k: v for k, v in fx.signed_headers(body).items() if k != missing}
    with pytest.raises(Rejected) as refused:
        verify(webhook_request(body, headers), CHANNEL)
    assert refused.value.status == 401
    assert missing in refused.value.reason


@pytest.mark.parametrize(
    "offset", [-301, -3600, 301, 86400], ids=["5min-old", "hour-old", "5min-ahead", "day-ahead"]
)
def test_a_correctly_signed_request_outside_the_five_minute_window_is_refused(offset: int) -> None:
    # A request captured and replayed later carries its old, correctly signed timestamp.
    body = fx.body_of(fx.message("hola"))
    with pytest.raises(Rejected) as refused:
        verify(signed(body, timestamp=int(time.time()) + offset), CHANNEL)
    assert refused.value.status == 401
    assert "window" in refused.value.reason


def test_a_timestamp_that_is_not_unix_seconds_is_refused() -> None:
    body = fx.body_of(fx.message("hola"))
    headers = {**fx.signed_headers(body), "X-Slack-Request-Timestamp": "Tue, 01 Dec 2026 08:00:00 GMT"}
    with pytest.raises(Rejected) as refused:
        verify(webhook_request(body, headers), CHANNEL)
    assert refused.value.status == 401


# -- events ---------------------------------------------------------------------


def test_url_verification_is_answered_with_the_challenge_as_plain_text() -> None:
    result = events(webhook_request(as_bytes(fx.url_verification("chal-123")), {}), CHANNEL)
    assert isinstance(result, Reply)
    assert (result.status, result.body) == (200, b"chal-123")
    assert result.content_type.startswith("text/plain")


def test_an_event_callback_is_one_event_under_its_event_id_with_the_envelope_stored() -> None:
    body = fx.body_of(fx.message("hola"), event_id="Ev0PV52K25")
    event = only_event(body)
    assert event.event_id == "Ev0PV52K25"
    assert event.payload == body  # exactly what Slack signed and sent


def test_a_retry_carries_the_same_event_id_so_the_store_keeps_it_once() -> None:
    body = fx.body_of(fx.message("hola"), event_id="Ev0RETRY01")
    first = events(webhook_request(body, fx.signed_headers(body)), CHANNEL)
    retry = events(webhook_request(body, fx.retry_headers(body, attempt=2)), CHANNEL)
    assert isinstance(first, list) and isinstance(retry, list)
    assert [e.event_id for e in first] == [e.event_id for e in retry] == ["Ev0RETRY01"]


def test_slacks_rate_limit_notice_is_answered_and_stores_nothing() -> None:
    notice = {"token": "X", "type": "app_rate_limited", "team_id": fx.TEAM, "minute_rate_limited": 1518467820}
    result = events(webhook_request(as_bytes(notice), {}), CHANNEL)
    assert isinstance(result, Reply) and result.status == 200


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"token=abc&team_id=T1", id="not-json"),
        pytest.param(b"[1, 2]", id="json-array"),
        pytest.param(b"", id="empty"),
        pytest.param(as_bytes({"type": "event_callback", "event": {"type": "message"}}), id="no-event-id"),
        pytest.param(
            as_bytes({"type": "event_callback", "event_id": "Ev1", "event": "x"}), id="event-not-object"
        ),
        pytest.param(as_bytes({"type": "interactive_nonsense"}), id="unknown-type"),
        pytest.param(as_bytes({"type": "url_verification"}), id="no-challenge"),
    ],
)
def test_a_malformed_body_is_refused_with_400(body: bytes) -> None:
    with pytest.raises(Rejected) as refused:
        events(webhook_request(body, {}), CHANNEL)
    assert refused.value.status == 400


# -- normalize: messages ------------------------------------------------------------


def test_a_direct_message_is_a_customer_message_with_its_identity_and_conversation() -> None:
    event = fx.message("Hola, no me llega la factura de marzo")
    message = mapped(event)
    assert message.channel == "slack"
    assert message.sender == SenderIdentity("slack", fx.CUSTOMER, "marta")
    assert message.event == EVENT_MESSAGE
    assert message.text == "Hola, no me llega la factura de marzo"
    assert message.subject == ""
    assert message.message_id == f"{fx.DM}:{event['ts']}"
    assert message.conversation_key == f"slack:{fx.TEAM}:{fx.DM}:dm"  # one DM channel, one conversation
    # A top-level message is answered where it was written, not in a new thread.
    assert message.reply_fields == {"channel": fx.DM}
    assert (message.from_bot, message.from_us, message.unaddressed_group) == (False, False, False)
    assert message.date is not None and abs(message.date.timestamp() - float(event["ts"])) < 0.001
    assert message.headers == {}


def test_a_reply_in_a_thread_joins_its_top_level_message_and_is_answered_in_the_thread() -> None:
    top = fx.message("¿Tenéis envío a Canarias?", channel=fx.PUBLIC, channel_type="channel")
    reply = fx.message(
        f"<@{fx.BOT_USER}> sigo esperando", channel=fx.PUBLIC, channel_type="channel", thread_ts=top["ts"]
    )
    first, second = mapped(top), mapped(reply)
    assert first.conversation_key == second.conversation_key
    assert second.message_id != first.message_id
    assert second.reply_fields == {"channel": fx.PUBLIC, "thread_ts": top["ts"]}


def test_slack_escapes_are_undone_in_the_text() -> None:
    assert mapped(fx.message("pedido &lt;88231&gt; &amp; factura")).text == "pedido <88231> & factura"


def test_a_bot_message_is_from_a_bot_and_not_from_us() -> None:
    message = mapped(fx.bot_message("Build #412 passed"))
    assert (message.from_bot, message.from_us) == (True, False)
    assert message.sender_name == "github"


def test_our_own_posted_message_coming_back_is_from_us() -> None:
    # The bot user is taken from the event's authorizations, as Slack delivers it.
    message = mapped(fx.own_message("Gracias, hemos abierto el ticket T-1"))
    assert (message.from_bot, message.from_us) == (True, True)


def test_the_bot_user_id_option_names_us_when_the_payload_does_not() -> None:
    event = {**fx.own_message("Gracias"), "app_id": "A_OTHER"}
    envelope = fx.envelope(event)
    del envelope["authorizations"]
    without = normalize(as_bytes(envelope), CHANNEL)
    with_option = normalize(
        as_bytes(envelope), channel_config("slack", secret="s", options={"bot_user_id": fx.BOT_USER})
    )
    assert (without.from_us, with_option.from_us) == (False, True)


def test_an_edit_points_at_the_message_it_changed_and_stays_in_its_conversation() -> None:
    original = fx.message("Mi pedido es el 8823")
    edit = mapped(fx.message_changed(original, "Mi pedido es el 88231"))
    assert edit.event == EVENT_EDIT
    assert edit.target_message_id == f"{fx.DM}:{original['ts']}" == mapped(original).message_id
    assert edit.message_id != edit.target_message_id
    assert edit.text == "Mi pedido es el 88231"
    assert edit.conversation_key == mapped(original).conversation_key
    assert edit.sender_address == fx.CUSTOMER


def test_a_deletion_points_at_the_message_deleted() -> None:
    original = fx.message("mensaje equivocado")
    deletion = mapped(fx.message_deleted(original))
    assert deletion.event == EVENT_DELETE
    assert deletion.target_message_id == mapped(original).message_id
    assert deletion.text == ""


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(fx.channel_join(), id="channel_join"),
        pytest.param(fx.channel_leave(), id="channel_leave"),
        pytest.param(fx.app_home_opened(), id="app_home_opened"),
        pytest.param(fx.app_home_opened(tab="messages"), id="app_home_opened-messages"),
        pytest.param(fx.tokens_revoked(), id="tokens_revoked"),
        pytest.param(fx.app_uninstalled(), id="app_uninstalled"),
    ],
)
def test_joins_leaves_home_opens_and_revocations_are_membership_events(event: dict) -> None:
    message = mapped(event)
    assert message.event == EVENT_MEMBERSHIP
    assert message.channel == "slack"


def test_a_reaction_points_at_the_message_reacted_to() -> None:
    message = mapped(fx.reaction_added("1700000000.000100"))
    assert message.event == EVENT_REACTION
    assert message.target_message_id == f"{fx.DM}:1700000000.000100"
    assert message.sender_address == fx.CUSTOMER


def test_channel_bookkeeping_subtypes_are_statuses() -> None:
    ts = fx.next_ts()
    topic = {
        "type": "message",
        "subtype": "channel_topic",
        "ts": ts,
        "user": fx.COLLEAGUE,
        "topic": "Soporte",
        "text": "set the channel topic: Soporte",
        "channel": fx.PUBLIC,
        "channel_type": "channel",
    }
    assert mapped(topic).event == EVENT_STATUS


def test_an_event_type_mailbot_does_not_know_is_a_status_with_a_warning() -> None:
    message = mapped({"type": "emoji_changed", "subtype": "add", "name": "picard", "event_ts": fx.next_ts()})
    assert message.event == EVENT_STATUS
    assert "emoji_changed" in message.parse_warnings[0]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        as_bytes({"type": "event_callback", "event_id": "Ev1"}),
        as_bytes({"event": {"type": "message", "subtype": "message_changed"}}),
    ],
    ids=["not-json", "array", "no-event", "changed-without-message"],
)
def test_a_stored_payload_that_cannot_be_mapped_is_unreadable(payload: bytes) -> None:
    with pytest.raises(UnreadableEvent):
        normalize(payload, CHANNEL)


# -- normalize: media-only ------------------------------------------------------------


def test_a_file_without_text_keeps_the_reference_and_reads_as_a_placeholder() -> None:
    event = fx.file_share(name="factura-marzo.pdf", mimetype="application/pdf")
    message = mapped(event)
    assert message.event == EVENT_MESSAGE
    assert message.text == "[file: factura-marzo.pdf]"
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "factura-marzo.pdf",
        "application/pdf",
        48213,
    )
    assert attachment.data is None
    assert attachment.reference == event["files"][0]["url_private"]


def test_an_image_without_text_is_an_image_placeholder_and_a_caption_wins() -> None:
    assert mapped(fx.file_share(name="rotura.png", mimetype="image/png")).text == "[image: rotura.png]"
    assert (
        mapped(fx.file_share(text="Así llegó la caja", name="rotura.png", mimetype="image/png")).text
        == "Así llegó la caja"
    )


# -- normalize: group channels ------------------------------------------------------------


def test_in_a_channel_only_a_mention_of_our_bot_is_addressed_by_default() -> None:
    plain = mapped(fx.message("¿alguien sabe algo del envío?", channel=fx.PUBLIC, channel_type="channel"))
    mention = mapped(fx.message(f"<@{fx.BOT_USER}> ¿y mi envío?", channel=fx.PUBLIC, channel_type="channel"))
    other = mapped(fx.message(f"<@{fx.COLLEAGUE}> ¿y mi envío?", channel=fx.PUBLIC, channel_type="channel"))
    old_format = mapped(fx.message(f"<@{fx.BOT_USER}|support> hola", channel=fx.PUBLIC, channel_type="group"))
    assert (plain.unaddressed_group, mention.unaddressed_group, other.unaddressed_group) == (
        True,
        False,
        True,
    )
    assert old_format.unaddressed_group is False


@pytest.mark.parametrize(
    ("policy", "plain", "mention", "direct"),
    [("mentions", True, False, False), ("all", False, False, False), ("ignore", True, True, False)],
)
def test_the_groups_option_decides_what_is_addressed(
    policy: str, plain: bool, mention: bool, direct: bool
) -> None:
    channel = channel_config("slack", secret="s", options={"groups": policy})

    def unaddressed(event: dict) -> bool:
        return normalize(as_bytes(fx.envelope(event)), channel).unaddressed_group

    assert unaddressed(fx.message("hola", channel=fx.PUBLIC, channel_type="mpim")) is plain
    assert (
        unaddressed(fx.message(f"<@{fx.BOT_USER}> hola", channel=fx.PUBLIC, channel_type="channel"))
        is mention
    )
    assert unaddressed(fx.message("hola", channel=fx.DM, channel_type="im")) is direct


def test_an_app_mention_is_addressed_and_shares_the_message_id_of_the_same_message() -> None:
    # Subscribed to both, Slack sends one message twice under two event ids: the message id
    # (channel + ts) is what lets the pipeline keep it once.
    mention = fx.app_mention(f"<@{fx.BOT_USER}> hola")
    as_message = fx.message(mention["text"], channel=fx.PUBLIC, channel_type="channel", ts=mention["ts"])
    first, second = mapped(mention), mapped(as_message)
    assert first.unaddressed_group is False
    assert first.message_id == second.message_id
    assert first.conversation_key == second.conversation_key


# -- sender ---------------------------------------------------------------------


@pytest.fixture
def slack_channel(runtime: Runtime, platform_api: PlatformApi):
    platform_api.credentials["slack"] = fx.BOT_TOKEN
    return stored_channel(
        runtime,
        ChannelSpec(
            "slack", "acme", secret=fx.SIGNING_SECRET, token=fx.BOT_TOKEN, api_base=platform_api.base("slack")
        ),
    )


ACK = "Hola Marta, hemos recibido tu mensaje. Tu referencia es T-7K3Q9P."


def test_an_acknowledgement_is_posted_with_the_bot_token_and_its_ts_recorded(
    runtime: Runtime, platform_api: PlatformApi, slack_channel
) -> None:
    outbox_id = queued_reply(runtime, slack_channel, {"channel": fx.DM, "ticket_ref": "T-7K3Q9P"}, ACK)
    [delivery] = deliver_many(runtime, [outbox_id])
    assert delivery.status == "sent"
    [call] = platform_api.calls_to("slack")
    assert (call.method, call.path, call.status) == ("POST", "/chat.postMessage", 200)
    assert call.headers["authorization"] == f"Bearer {fx.BOT_TOKEN}"
    assert call.json == {"channel": fx.DM, "text": ACK}
    entry = outbox_entry(runtime, outbox_id)
    assert entry.status == "sent"
    assert entry.external_id and re.fullmatch(r"\d{10}\.\d{6}", entry.external_id)


def test_an_answer_to_a_thread_goes_into_the_thread(
    runtime: Runtime, platform_api: PlatformApi, slack_channel
) -> None:
    fields = {"channel": fx.PUBLIC, "thread_ts": "1700000000.000100", "ticket_ref": "T-1"}
    deliver_many(runtime, [queued_reply(runtime, slack_channel, fields, ACK)])
    [call] = platform_api.calls_to("slack")
    assert call.json == {"channel": fx.PUBLIC, "text": ACK, "thread_ts": "1700000000.000100"}


def test_a_429_is_retried_no_sooner_than_retry_after_and_holds_the_rest_of_the_batch(
    runtime: Runtime, platform_api: PlatformApi, slack_channel
) -> None:
    ids = [
        queued_reply(runtime, slack_channel, {"channel": fx.DM, "ticket_ref": f"T-{n}"}, ACK)
        for n in range(3)
    ]
    platform_api.fail("slack", 429, retry_after=600)
    before = utcnow()
    deliveries = deliver_many(runtime, ids)
    assert [d.status for d in deliveries] == ["retry"] * 3
    assert len(platform_api.calls_to("slack")) == 1  # the other two were not tried into the limit
    for outbox_id in ids:
        entry = outbox_entry(runtime, outbox_id)
        assert entry.status == "pending"
        assert as_utc(entry.next_attempt_at) >= before + dt.timedelta(seconds=595)


def test_slacks_ok_false_ratelimited_is_retried(
    runtime: Runtime, platform_api: PlatformApi, slack_channel
) -> None:
    outbox_id = queued_reply(runtime, slack_channel, {"channel": fx.DM, "ticket_ref": "T-1"}, ACK)
    platform_api.fail("slack", 200, body={"ok": False, "error": "ratelimited"})
    [delivery] = deliver_many(runtime, [outbox_id])
    assert delivery.status == "retry"
    assert "ratelimited" in (outbox_entry(runtime, outbox_id).last_error or "")


def test_a_revoked_token_fails_that_workspace_alone_and_for_good(
    runtime: Runtime, platform_api: PlatformApi, slack_channel
) -> None:
    revoked = stored_channel(
        runtime,
        ChannelSpec(
            "slack", "old-workspace", secret="s", token="xoxb-revoked", api_base=platform_api.base("slack")
        ),
    )
    bad = queued_reply(runtime, revoked, {"channel": fx.DM, "ticket_ref": "T-1"}, ACK)
    good = queued_reply(runtime, slack_channel, {"channel": fx.DM, "ticket_ref": "T-2"}, ACK)
    deliveries = deliver_many(runtime, [bad, good])
    assert [d.status for d in deliveries] == ["failed", "sent"]
    failed = outbox_entry(runtime, bad)
    assert "invalid_auth" in (failed.last_error or "")
    assert failed.attempts == 1


def test_a_rate_limit_in_one_workspace_does_not_hold_another(
    runtime: Runtime, platform_api: PlatformApi, slack_channel
) -> None:
    other = stored_channel(
        runtime,
        ChannelSpec("slack", "second", secret="s", token=fx.BOT_TOKEN, api_base=platform_api.base("slack")),
    )
    limited = queued_reply(runtime, slack_channel, {"channel": fx.DM, "ticket_ref": "T-1"}, ACK)
    fine = queued_reply(runtime, other, {"channel": fx.DM, "ticket_ref": "T-2"}, ACK)
    platform_api.fail("slack", 429, retry_after=30)
    assert [d.status for d in deliver_many(runtime, [limited, fine])] == ["retry", "sent"]


def test_slack_answering_503_is_retried(runtime: Runtime, platform_api: PlatformApi, slack_channel) -> None:
    outbox_id = queued_reply(runtime, slack_channel, {"channel": fx.DM, "ticket_ref": "T-1"}, ACK)
    platform_api.down("slack")
    [delivery] = deliver_many(runtime, [outbox_id])
    assert delivery.status == "retry"
    platform_api.up("slack")
    with runtime.sessions.begin() as session:  # due now
        session.get_one(OutboxEntry, outbox_id).next_attempt_at = utcnow()
    assert deliver_many(runtime, [outbox_id])[0].status == "sent"
    entry = outbox_entry(runtime, outbox_id)
    assert (entry.status, entry.attempts) == ("sent", 2)
    assert len(platform_api.calls_to("slack")) == 1  # the 503s of a down platform are not recorded


def test_nothing_listening_is_a_plain_retry_not_an_uncertain_send(
    runtime: Runtime, platform_api: PlatformApi
) -> None:
    dead_base = platform_api.base("slack")
    platform_api.stop()  # the port is closed: the connection is refused before anything is sent
    channel = stored_channel(runtime, ChannelSpec("slack", "gone", secret="s", token="t", api_base=dead_base))
    outbox_id = queued_reply(runtime, channel, {"channel": fx.DM, "ticket_ref": "T-1"}, ACK)
    [delivery] = deliver_many(runtime, [outbox_id])
    assert delivery.status == "retry"
    assert "unreachable" in (outbox_entry(runtime, outbox_id).last_error or "")


def test_a_row_whose_channel_was_deleted_fails(runtime: Runtime, slack_channel) -> None:
    outbox_id = queued_reply(runtime, slack_channel, {"channel": fx.DM, "ticket_ref": "T-1"}, ACK)
    with runtime.sessions.begin() as session:
        session.delete(session.get_one(Channel, slack_channel.id))
    [delivery] = deliver_many(runtime, [outbox_id])
    assert delivery.status == "failed"


def test_the_fake_refuses_what_slack_refuses(platform_api: PlatformApi) -> None:
    # The fake is only worth testing against if it says no where Slack does.
    platform_api.credentials["slack"] = fx.BOT_TOKEN
    url = f"{platform_api.base('slack')}/chat.postMessage"
    auth = {"Authorization": f"Bearer {fx.BOT_TOKEN}"}
    assert httpx.post(url, json={"channel": fx.DM, "text": "x"}).json()["error"] == "not_authed"
    assert httpx.post(url, json={"channel": fx.DM}, headers=auth).json()["error"] == "no_text"
    assert (
        httpx.post(url, json={"channel": "general", "text": "x"}, headers=auth).json()["error"]
        == "channel_not_found"
    )
    answer = httpx.post(
        url, json={"channel": fx.DM, "text": "x", "thread_ts": "yesterday"}, headers=auth
    ).json()
    assert answer == {"ok": False, "error": "invalid_thread_ts"}
    assert (
        json.loads(httpx.post(url, json={"channel": fx.DM, "text": "x"}, headers=auth).content)["ok"] is True
    )


def test_an_internal_error_may_have_posted_so_it_is_held_as_uncertain_not_resent(
    runtime: Runtime, platform_api: PlatformApi, slack_channel
) -> None:
    # Slack: "It's possible some aspect of the operation succeeded before the error was raised."
    outbox_id = queued_reply(runtime, slack_channel, {"channel": fx.DM, "ticket_ref": "T-1"}, ACK)
    platform_api.fail("slack", 200, body={"ok": False, "error": "internal_error"})
    [delivery] = deliver_many(runtime, [outbox_id])
    assert delivery.status == "uncertain"
    assert outbox_entry(runtime, outbox_id).status == "uncertain"


def test_a_token_that_no_longer_decrypts_waits_for_an_admin_instead_of_failing(
    runtime: Runtime, platform_api: PlatformApi, slack_channel
) -> None:
    outbox_id = queued_reply(runtime, slack_channel, {"channel": fx.DM, "ticket_ref": "T-1"}, ACK)
    with runtime.sessions.begin() as session:  # as if MAILBOT_SECRET_KEY had changed since
        session.get_one(Channel, slack_channel.id).token = encrypt_secret("an-older-key", fx.BOT_TOKEN)
    [delivery] = deliver_many(runtime, [outbox_id])
    assert delivery.status == "retry"
    assert "configuration unreadable" in (outbox_entry(runtime, outbox_id).last_error or "")
    assert platform_api.calls_to("slack") == []
