from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailbot.message import Attachment, InboundMessage
from mailbot.pipeline.dedupe import SeenMessage, content_hash, find_duplicate, window_start

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = 6 * 3600
SINCE = window_start(NOW, WINDOW)


def message(**overrides: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "channel": "email",
        "sender_address": "ana@customer.example",
        "sender_name": "Ana",
        "subject": "Mi pedido no ha llegado",
        "text": "Hola, mi pedido 48213 no ha llegado.",
        "message_id": "new@mail.customer.example",
    }
    fields.update(overrides)
    return InboundMessage(**fields)


def seen(id: int, msg: InboundMessage, received_at: datetime = NOW, **overrides: Any) -> SeenMessage:
    fields: dict[str, Any] = {
        "id": id,
        "ticket_id": 100 + id,
        "ticket_ref": f"MB-AAAAA{id}",
        "channel": msg.channel,
        "internet_message_id": msg.message_id,
        "content_hash": content_hash(msg),
        "from_address": msg.sender_address.lower(),
        "received_at": received_at,
    }
    fields.update(overrides)
    return SeenMessage(**fields)


def duplicate_of(msg: InboundMessage, *stored: SeenMessage) -> SeenMessage | None:
    return find_duplicate(msg, content_hash(msg), stored, SINCE)


# --- content hash ------------------------------------------------------------------


def test_whitespace_case_and_reply_prefixes_do_not_change_the_hash() -> None:
    a = message()
    b = message(subject="RE: mi pedido no ha llegado", text="  hola, MI pedido 48213\n\nno ha llegado. ")
    assert content_hash(a) == content_hash(b)


@pytest.mark.parametrize(
    "change",
    [
        {"sender_address": "luis@customer.example"},
        {"subject": "Factura duplicada"},
        {"text": "Hola, mi pedido 48214 no ha llegado."},
        {"channel": "telegram"},
        {"attachments": [Attachment("foto.jpg", "image/jpeg", 1024, b"x")]},
    ],
)
def test_sender_subject_text_channel_and_attachments_change_the_hash(change: dict[str, Any]) -> None:
    assert content_hash(message(**change)) != content_hash(message())


def test_attachment_order_does_not_change_the_hash() -> None:
    a = Attachment("a.pdf", "application/pdf", 10, b"a")
    b = Attachment("b.pdf", "application/pdf", 20, b"b")
    assert content_hash(message(attachments=[a, b])) == content_hash(message(attachments=[b, a]))


def test_two_chat_photos_of_one_sender_are_told_apart_by_their_media_reference() -> None:
    # Chat media stays on the platform: no bytes, no size, the same placeholder text.
    def photo(reference: str) -> InboundMessage:
        attachment = Attachment("photo.jpg", "image/jpeg", 0, None, reference=reference)
        return message(channel="whatsapp", subject="", text="[photo]", attachments=[attachment])

    assert content_hash(photo("1479537139650973")) != content_hash(photo("1479537139650999"))
    assert content_hash(photo("1479537139650973")) == content_hash(photo("1479537139650973"))


def test_the_sender_address_case_does_not_change_the_hash() -> None:
    assert content_hash(message(sender_address="Ana@Customer.example")) == content_hash(message())


# --- same Message-ID -------------------------------------------------------------------


def test_nothing_stored_is_no_duplicate() -> None:
    assert duplicate_of(message()) is None


def test_the_same_message_id_is_a_duplicate() -> None:
    stored = seen(1, message(text="whatever the body was"))
    assert duplicate_of(message(), stored) == stored


def test_the_same_message_id_is_a_duplicate_however_old() -> None:
    stored = seen(1, message(), received_at=NOW - timedelta(days=400))
    assert duplicate_of(message(), stored) == stored


def test_the_same_message_id_from_another_sender_is_still_the_same_message() -> None:
    # One mail delivered to two mailboxes, once through a forwarding alias.
    stored = seen(1, message(sender_address="alias@acme.test"))
    assert duplicate_of(message(), stored) == stored


def test_the_same_message_id_on_another_channel_is_another_message() -> None:
    stored = seen(1, message(channel="slack", text="other"))
    assert duplicate_of(message(), stored) is None


def test_the_same_message_id_wins_over_a_repeat_of_the_content() -> None:
    repeat = seen(1, message(message_id="earlier@x"))
    same_id = seen(2, message(text="edited"))
    assert duplicate_of(message(), repeat, same_id) == same_id


# --- same sender and content within the window ---------------------------------------------


def test_a_resend_with_a_new_message_id_within_the_window_is_a_duplicate() -> None:
    stored = seen(1, message(message_id="first@x"), received_at=NOW - timedelta(hours=1))
    assert duplicate_of(message(), stored) == stored


def test_a_repeat_without_any_message_id_is_recognised_by_content() -> None:
    stored = seen(1, message(message_id=None), received_at=NOW - timedelta(minutes=5))
    assert duplicate_of(message(message_id=None), stored) == stored


def test_the_window_start_itself_is_inside() -> None:
    stored = seen(1, message(message_id="first@x"), received_at=SINCE)
    assert duplicate_of(message(), stored) == stored


def test_a_second_before_the_window_is_outside() -> None:
    stored = seen(1, message(message_id="first@x"), received_at=SINCE - timedelta(seconds=1))
    assert duplicate_of(message(), stored) is None


def test_the_window_is_counted_back_from_now() -> None:
    assert window_start(NOW, WINDOW) == NOW - timedelta(hours=6)
    assert window_start(NOW, 0) == NOW


def test_the_same_content_from_another_sender_is_not_a_duplicate() -> None:
    other = message(sender_address="luis@customer.example", message_id="luis@x")
    # Same hash as ours, but stored under another address: the address decides too.
    stored = seen(1, other, content_hash=content_hash(message()))
    assert duplicate_of(message(), stored) is None


def test_other_content_from_the_same_sender_is_not_a_duplicate() -> None:
    stored = seen(1, message(message_id="first@x", text="Otra cosa"))
    assert duplicate_of(message(), stored) is None


def test_of_several_repeats_the_first_on_file_is_the_duplicate() -> None:
    later = seen(7, message(message_id="b@x"))
    first = seen(3, message(message_id="a@x"), received_at=NOW - timedelta(hours=2))
    assert duplicate_of(message(), later, first) == first


def test_a_repeat_outside_the_window_does_not_hide_one_inside() -> None:
    old = seen(1, message(message_id="a@x"), received_at=NOW - timedelta(days=2))
    recent = seen(2, message(message_id="b@x"), received_at=NOW - timedelta(hours=1))
    assert duplicate_of(message(), old, recent) == recent
