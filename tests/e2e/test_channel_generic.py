"""The generic signed JSON channel end to end, as issue 8's contract describes it: a signed
POST to /webhooks/generic/<name> becomes a ticket, and the acknowledgement is POSTed back,
signed the same way, to the customer's own server, which checks our signature."""

from __future__ import annotations

import json
import time

import pytest

from mailbot.channels import ChannelSpec
from tests.fixtures.platforms import ChatDesk, as_bytes
from tests.fixtures.platforms import generic as fx

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PATH = "/webhooks/generic/shop"


@pytest.fixture
def desk(chat_desk: ChatDesk) -> ChatDesk:
    chat_desk.api.credentials["generic"] = fx.SECRET
    chat_desk.add_channel(
        ChannelSpec(
            "generic",
            "shop",
            secret=fx.SECRET,
            api_base=chat_desk.api.base("generic"),
            options={"language": "es"},
        )
    )
    return chat_desk


def send(desk: ChatDesk, submission: dict, **signing) -> int:
    body = as_bytes(submission)
    return desk.post(PATH, body, fx.signed_headers(body, **signing)).status_code


def test_a_signed_submission_becomes_a_ticket_and_a_signed_acknowledgement(desk: ChatDesk) -> None:
    submission = fx.submission(event_id="evt-e2e-1", conversation_id="conv-77")
    assert send(desk, submission) == 200
    desk.work()

    [ticket] = desk.tickets()
    assert ticket["channel"] == "generic"
    [message] = ticket["messages"]
    assert message["sender"] == {"type": "generic", "value": "cust-4411", "name": "Núria Puig"}
    assert message["text"] == submission["text"]
    assert ticket["acknowledged_at"] is not None

    # The fake customer server answered 200 only because our signature checked out.
    [call] = desk.api.calls_to("generic")
    assert (call.path, call.status) == ("/messages", 200)
    sent = json.loads(call.body)
    assert sent["conversation_id"] == "conv-77"
    assert sent["recipient"] == "cust-4411"
    assert sent["ticket_ref"] == ticket["ref"]
    assert ticket["ref"] in sent["text"]
    [entry] = desk.outbox()
    assert entry.status == "sent" and (entry.external_id or "").startswith("msg-")


def test_the_same_event_id_twice_is_one_message_and_one_answer(desk: ChatDesk) -> None:
    submission = fx.submission(event_id="evt-dup")
    assert send(desk, submission) == 200
    assert send(desk, submission) == 200  # the sender's own retry, freshly signed
    desk.work()
    assert len(desk.inbound()) == 1
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 1
    assert len(desk.api.calls_to("generic")) == 1


def test_more_in_the_same_conversation_joins_the_ticket_without_a_second_answer(desk: ChatDesk) -> None:
    send(desk, fx.submission("Mi pedido 88231 no llega", conversation_id="conv-5"))
    desk.work()
    send(desk, fx.submission("Os adjunto el número de seguimiento: ES0099", conversation_id="conv-5"))
    desk.work()
    [ticket] = desk.tickets()
    assert len(ticket["messages"]) == 2
    assert len(desk.api.calls_to("generic")) == 1


def test_bad_signature_stale_timestamp_and_malformed_body_are_refused_and_store_nothing(
    desk: ChatDesk,
) -> None:
    assert send(desk, fx.submission(), secret="wrong-secret") == 401
    assert send(desk, fx.submission(), timestamp=int(time.time()) - 600) == 401  # a replay
    body = as_bytes(fx.submission())
    assert desk.post(PATH, body, {"Content-Type": "application/json"}).status_code == 401
    malformed = {**fx.submission()}
    del malformed["conversation_id"]
    assert send(desk, malformed) == 400
    desk.work()
    assert desk.inbound() == [] and desk.tickets() == []
    assert desk.api.calls_to("generic") == []


def test_a_customer_server_that_is_down_gets_the_answer_later_not_never(desk: ChatDesk) -> None:
    desk.api.down("generic")
    send(desk, fx.submission())
    desk.work()
    [entry] = desk.outbox()
    assert (entry.status, entry.attempts) == ("pending", 1)
