"""The generic signed JSON channel: the contract's signature and window, its fields
checked at the door, the mapping, and the signed acknowledgement to the customer's
own server (which checks our signature)."""

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
from mailbot.message import EVENT_MESSAGE, SenderIdentity
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
from tests.fixtures.platforms import generic as fx
from webhooks import Rejected, UnreadableEvent
from webhooks.generic import events, normalize, verify

CHANNEL = channel_config("generic", secret=fx.SECRET, name="shop")


# -- verify ---------------------------------------------------------------------


def test_a_request_signed_as_the_contract_says_is_accepted() -> None:
    body = as_bytes(fx.submission())
    verify(webhook_request(body, fx.signed_headers(body)), CHANNEL)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (fx.signed_headers(b, secret="not-the-secret"), b), id="other-secret"),
        pytest.param(lambda h, b: (h, b.replace(b"88231", b"88232")), id="body-changed"),
        pytest.param(
            lambda h, b: ({**h, "X-Mailbot-Signature": h["X-Mailbot-Signature"][7:]}, b), id="no-prefix"
        ),
        pytest.param(
            lambda h, b: ({**h, "X-Mailbot-Timestamp": str(int(h["X-Mailbot-Timestamp"]) - 1)}, b),
            id="timestamp-changed",
        ),
    ],
)
def test_a_bad_signature_is_refused_with_401(tamper) -> None:
    body = as_bytes(fx.submission())
    headers, body = tamper(fx.signed_headers(body), body)
    with pytest.raises(Rejected) as refused:
        verify(webhook_request(body, headers), CHANNEL)
    assert refused.value.status == 401


def test_upper_case_hex_is_the_same_signature() -> None:
    body = as_bytes(fx.submission())
    headers = fx.signed_headers(body)
    digest = headers["X-Mailbot-Signature"].removeprefix("sha256=")
    verify(webhook_request(body, {**headers, "X-Mailbot-Signature": "sha256=" + digest.upper()}), CHANNEL)


@pytest.mark.parametrize("missing", ["X-Mailbot-Signature", "X-Mailbot-Timestamp"])
def test_a_missing_header_is_refused_with_401(missing: str) -> None:
    body = as_bytes(fx.submission())
    headers = {k: v for k, v in fx.signed_headers(body).items() if k != missing}
    with pytest.raises(Rejected) as refused:
        verify(webhook_request(body, headers), CHANNEL)
    assert refused.value.status == 401


@pytest.mark.parametrize("offset", [-301, 301, -7 * 86400])
def test_a_correctly_signed_request_outside_the_window_is_refused(offset: int) -> None:
    body = as_bytes(fx.submission())
    headers = fx.signed_headers(body, timestamp=int(time.time()) + offset)
    with pytest.raises(Rejected) as refused:
        verify(webhook_request(body, headers), CHANNEL)
    assert refused.value.status == 401


def test_a_timestamp_in_milliseconds_is_outside_the_window() -> None:
    body = as_bytes(fx.submission())
    headers = fx.signed_headers(body, timestamp=int(time.time() * 1000))
    with pytest.raises(Rejected):
        verify(webhook_request(body, headers), CHANNEL)


# -- events ---------------------------------------------------------------------


def test_a_submission_is_one_event_under_its_own_event_id() -> None:
    body = as_bytes(fx.submission(event_id="evt-0001"))
    [event] = events(webhook_request(body, fx.signed_headers(body)), CHANNEL)
    assert (event.event_id, event.payload) == ("evt-0001", body)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: s.pop("event_id"), id="no-event-id"),
        pytest.param(lambda s: s.update(event_id=17), id="numeric-event-id"),
        pytest.param(lambda s: s.pop("sender"), id="no-sender"),
        pytest.param(lambda s: s.update(sender="cust-1"), id="sender-not-object"),
        pytest.param(lambda s: s["sender"].pop("id"), id="no-sender-id"),
        pytest.param(lambda s: s["sender"].update(email=["a@b.test"]), id="email-not-string"),
        pytest.param(lambda s: s.pop("conversation_id"), id="no-conversation"),
        pytest.param(lambda s: s.update(text="   "), id="blank-text"),
        pytest.param(lambda s: s.pop("text"), id="no-text"),
    ],
)
def test_a_submission_missing_a_contract_field_is_refused_with_400_naming_it(change) -> None:
    submission = fx.submission()
    change(submission)
    with pytest.raises(Rejected) as refused:
        events(webhook_request(as_bytes(submission), {}), CHANNEL)
    assert refused.value.status == 400
    assert refused.value.reason


def test_a_body_that_is_not_a_json_object_is_refused_with_400() -> None:
    for body in (b"event_id=1", b'["evt"]', b""):
        with pytest.raises(Rejected) as refused:
            events(webhook_request(body, {}), CHANNEL)
        assert refused.value.status == 400


# -- normalize ------------------------------------------------------------------------


def test_a_submission_becomes_a_message_with_its_sender_and_conversation() -> None:
    submission = fx.submission(event_id="evt-0002", conversation_id="conv-9001")
    message = normalize(as_bytes(submission), CHANNEL)
    assert message.channel == "generic"
    assert message.sender == SenderIdentity("generic", "cust-4411", "Núria Puig")
    assert message.event == EVENT_MESSAGE
    assert message.text == submission["text"]
    assert message.subject == ""
    assert message.message_id == "shop:evt-0002"
    assert message.conversation_key == "generic:shop:conv-9001"
    assert message.date == dt.datetime(2031, 3, 4, 10, 15, tzinfo=dt.UTC)
    assert message.recipients == ["nuria.puig@example.test"]
    assert message.reply_fields == {
        "conversation_id": "conv-9001",
        "recipient": "cust-4411",
        "phone": "+34600111222",
    }
    assert (message.from_bot, message.from_us, message.unaddressed_group) == (False, False, False)


def test_email_and_phone_are_optional() -> None:
    message = normalize(as_bytes(fx.submission(email=None, phone=None)), CHANNEL)
    assert message.recipients == []
    assert "phone" not in message.reply_fields


def test_two_generic_channels_sending_the_same_event_id_stay_apart() -> None:
    body = as_bytes(fx.submission(event_id="1"))
    other = channel_config("generic", secret=fx.SECRET, name="crm")
    assert normalize(body, CHANNEL).message_id != normalize(body, other).message_id


@pytest.mark.parametrize(
    ("sent_at", "expected"),
    [
        ("2031-03-04T10:15:00+01:00", dt.datetime(2031, 3, 4, 9, 15, tzinfo=dt.UTC)),
        (1962180900, dt.datetime.fromtimestamp(1962180900, dt.UTC)),
        ("1962180900", dt.datetime.fromtimestamp(1962180900, dt.UTC)),
        ("next tuesday", None),
        (None, None),
    ],
)
def test_sent_at_is_read_as_iso_8601_or_unix_seconds(sent_at, expected) -> None:
    assert normalize(as_bytes(fx.submission(sent_at=sent_at)), CHANNEL).date == expected


def test_a_stored_submission_that_breaks_the_contract_is_unreadable() -> None:
    for payload in (b"nope", as_bytes({"event_id": "1"})):
        with pytest.raises(UnreadableEvent):
            normalize(payload, CHANNEL)


# -- sender: the signed acknowledgement --------------------------------------------------


@pytest.fixture
def generic_channel(runtime: Runtime, platform_api: PlatformApi):
    platform_api.credentials["generic"] = fx.SECRET
    return stored_channel(
        runtime, ChannelSpec("generic", "shop", secret=fx.SECRET, api_base=platform_api.base("generic"))
    )


ACK = "Gracias Núria, hemos recibido tu mensaje. Referencia: T-7K3Q9P."
FIELDS = {
    "conversation_id": "conv-9001",
    "recipient": "cust-4411",
    "phone": "+34600111222",
    "ticket_ref": "T-7K3Q9P",
}


def test_the_acknowledgement_is_posted_signed_and_the_customer_server_accepts_it(
    runtime: Runtime, platform_api: PlatformApi, generic_channel
) -> None:
    outbox_id = queued_reply(runtime, generic_channel, FIELDS, ACK)
    [delivery] = deliver_many(runtime, [outbox_id])
    assert delivery.status == "sent"
    [call] = platform_api.calls_to("generic")
    assert (call.method, call.path, call.status) == ("POST", "/messages", 200)
    assert json.loads(call.body) == {
        "conversation_id": "conv-9001",
        "recipient": "cust-4411",
        "text": ACK,
        "ticket_ref": "T-7K3Q9P",
    }
    assert abs(int(call.headers["x-mailbot-timestamp"]) - time.time()) < 60
    # The receiving side can check it exactly as we check what it sends us.
    assert (
        call.headers["x-mailbot-signature"]
        == fx.signed_headers(call.body, timestamp=int(call.headers["x-mailbot-timestamp"]))[
            "X-Mailbot-Signature"
        ]
    )
    # The receiving system's id for it, from its answer.
    assert re.fullmatch(r"msg-\d+", outbox_entry(runtime, outbox_id).external_id or "")


def test_a_customer_server_that_does_not_know_our_secret_refuses_for_good(
    runtime: Runtime, platform_api: PlatformApi, generic_channel
) -> None:
    platform_api.credentials["generic"] = "a-secret-rotated-on-their-side"
    outbox_id = queued_reply(runtime, generic_channel, FIELDS, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "failed"
    assert "401" in (outbox_entry(runtime, outbox_id).last_error or "")


def test_a_channel_without_an_api_base_fails_with_a_clear_reason(runtime: Runtime) -> None:
    channel = stored_channel(runtime, ChannelSpec("generic", "inbound-only", secret=fx.SECRET))
    outbox_id = queued_reply(runtime, channel, FIELDS, ACK)
    assert deliver_many(runtime, [outbox_id])[0].status == "failed"
    assert "--api-base" in (outbox_entry(runtime, outbox_id).last_error or "")


def test_a_busy_customer_server_is_retried_after_its_retry_after(
    runtime: Runtime, platform_api: PlatformApi, generic_channel
) -> None:
    platform_api.fail("generic", 503, retry_after=240)
    outbox_id = queued_reply(runtime, generic_channel, FIELDS, ACK)
    before = utcnow()
    assert deliver_many(runtime, [outbox_id])[0].status == "retry"
    entry = outbox_entry(runtime, outbox_id)
    assert as_utc(entry.next_attempt_at) >= before + dt.timedelta(seconds=235)


def test_the_fake_customer_server_refuses_an_unsigned_or_stale_post(platform_api: PlatformApi) -> None:
    platform_api.credentials["generic"] = fx.SECRET
    url = f"{platform_api.base('generic')}/messages"
    body = json.dumps({"conversation_id": "c", "recipient": "r", "text": "t", "ticket_ref": "T-1"}).encode()
    assert httpx.post(url, content=body).status_code == 401
    stale = fx.signed_headers(body, timestamp=int(time.time()) - 600)
    assert httpx.post(url, content=body, headers=stale).status_code == 401
    assert httpx.post(url, content=body, headers=fx.signed_headers(body)).status_code == 200
    extra = json.dumps(
        {"conversation_id": "c", "recipient": "r", "text": "t", "ticket_ref": "T", "x": 1}
    ).encode()
    assert httpx.post(url, content=extra, headers=fx.signed_headers(extra)).status_code == 400
