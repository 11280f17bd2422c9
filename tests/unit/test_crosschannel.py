"""Cross-channel dedupe decided over plain data: window, channels, similarity, confidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mailbot.message import InboundMessage
from mailbot.pipeline.crosschannel import CROSS_CHANNEL, OpenMatter, decide_cross_channel
from mailbot.pipeline.similarity import similarity, stems
from mailbot.pipeline.thread import TicketCandidate

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)
THRESHOLD = 0.3

CARD_MAIL = (
    "Tarjeta bloqueada",
    "Hola, mi tarjeta de crédito está bloqueada desde esta mañana y no puedo pagar. ¿Podéis desbloquearla?",
)


def message(text: str, **overrides: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "channel": "x",
        "sender_type": "x",
        "sender_address": "3001969357",
        "sender_name": "Lucía",
        "subject": "",
        "text": text,
        "language": "es",
    }
    fields.update(overrides)
    return InboundMessage(**fields)


def matter(
    ticket_id: int = 1,
    texts: tuple[str, ...] = CARD_MAIL,
    channels: tuple[str, ...] = ("email",),
    ago: timedelta = timedelta(hours=1),
    language: str = "es",
) -> OpenMatter:
    ticket = TicketCandidate(ticket_id, f"MB-{ticket_id:06d}", "open", 5, "lucia@example.test", "")
    return OpenMatter(ticket, language, texts, frozenset(channels), NOW - ago)


def decide(msg: InboundMessage, *matters: OpenMatter, threshold: float = THRESHOLD):  # type: ignore[no-untyped-def]
    return decide_cross_channel(msg, matters, NOW, WINDOW, threshold)


def test_the_same_complaint_on_another_channel_joins_the_open_ticket() -> None:
    decision = decide(message("@AcmeSupport sigo con la tarjeta bloqueada y no puedo pagar nada"), matter())
    assert decision.ticket is not None and decision.ticket.ref == "MB-000001"
    assert decision.reason.startswith(CROSS_CHANNEL)
    assert "tarjet" in decision.reason and "bloqu" in decision.reason
    assert 0.3 <= decision.confidence <= 1.0


def test_a_new_matter_from_the_same_customer_opens_its_own_ticket() -> None:
    decision = decide(message("Quiero cambiar la dirección de entrega del pedido 5512"), matter())
    assert decision.ticket is None
    assert decision.reason.startswith("new matter") and "MB-000001" in decision.reason
    assert decision.confidence > 0.5  # sure it is another matter: nothing shared


def test_outside_the_window_nothing_is_joined() -> None:
    msg = message("sigo con la tarjeta bloqueada")
    assert decide(msg, matter(ago=timedelta(hours=73))).ticket is None
    assert decide(msg, matter(ago=timedelta(hours=71))).ticket is not None


def test_the_window_is_configurable() -> None:
    msg = message("sigo con la tarjeta bloqueada")
    narrow = decide_cross_channel(msg, [matter(ago=timedelta(hours=2))], NOW, timedelta(hours=1), THRESHOLD)
    assert narrow.ticket is None and "1 h" in narrow.reason


def test_the_threshold_is_configurable() -> None:
    msg = message("sigo con la tarjeta bloqueada, ¿me llamáis?")
    assert decide(msg, matter(), threshold=0.99).ticket is None
    assert decide(msg, matter(), threshold=0.1).ticket is not None


def test_a_ticket_known_only_from_this_channel_is_left_to_conversation_threading() -> None:
    # Same channel: its own signals (conversation, headers) decide; the mail spine is unchanged.
    mail = message("sigo con la tarjeta bloqueada", channel="email", sender_type="email")
    assert decide(mail, matter(channels=("email",))).ticket is None
    assert decide(mail, matter(channels=("email", "x"))).ticket is not None


def test_the_most_similar_open_ticket_wins() -> None:
    card = matter(1)
    parcel = matter(
        2, texts=("Paquete", "Mi paquete del pedido 5512 no ha llegado"), ago=timedelta(minutes=5)
    )
    decision = decide(message("el pedido 5512 sigue sin llegar, el paquete no aparece"), card, parcel)
    assert decision.ticket is not None and decision.ticket.id == 2


def test_equal_similarity_goes_to_the_most_recent_ticket() -> None:
    older, newer = matter(1, ago=timedelta(hours=5)), matter(2, ago=timedelta(hours=1))
    decision = decide(message("tarjeta bloqueada"), older, newer)
    assert decision.ticket is not None and decision.ticket.id == 2


def test_nothing_open_says_so() -> None:
    decision = decide(message("tarjeta bloqueada"))
    assert decision.ticket is None and "no open ticket" in decision.reason and decision.confidence == 1.0


def test_a_message_of_only_greetings_joins_nothing() -> None:
    assert decide(message("Hola, ¿hay alguien? Gracias"), matter()).ticket is None


def test_words_match_across_inflections_in_each_language() -> None:
    english = matter(
        texts=("Card blocked", "My card was blocked this morning when I tried to pay"), language="en"
    )
    decision = decide(message("@AcmeBank my card is STILL blocking every payment", language="en"), english)
    assert decision.ticket is not None
    italian = matter(texts=("Carta bloccata", "La mia carta è stata bloccata stamattina"), language="it")
    assert decide(message("la carta ancora bloccata!!", language="it"), italian).ticket is not None


def test_a_customer_switching_language_keeps_the_shared_figures() -> None:
    english = matter(texts=("Order 88231", "My order 88231 has not arrived"), language="en")
    assert decide(message("¿dónde está mi pedido 88231?"), english).ticket is not None


def test_similarity_ignores_mentions_links_and_short_words() -> None:
    assert stems("@AcmeSupport https://t.co/abc de la el", "es") == frozenset()
    assert similarity(frozenset(), frozenset({"tarjet"})).score == 0.0


def test_similarity_is_the_share_of_the_shorter_text() -> None:
    short, long = frozenset({"tarjet", "bloqu"}), frozenset({"tarjet", "bloqu", "pag", "manan", "credit"})
    result = similarity(short, long)
    assert result.score == 1.0 and result.shared == ("bloqu", "tarjet")
