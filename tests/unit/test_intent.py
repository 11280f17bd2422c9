from __future__ import annotations

import pytest

from mailbot.pipeline.intent import (
    CALLBACK,
    COMPLAINT,
    DEFAULT_INTENT,
    PRAISE,
    QUESTION,
    REQUEST,
    detect_intent,
    higher_intent,
)


@pytest.mark.parametrize(
    ("subject", "text", "intent"),
    [
        # complaint
        ("Order", "This is unacceptable, my card is still blocked.", COMPLAINT),
        ("Tarjeta", "Es inaceptable, sigue sin funcionar la tarjeta.", COMPLAINT),
        ("Queja", "Quiero poner una queja formal.", COMPLAINT),
        ("Ordine", "Servizio pessimo, sono molto deluso.", COMPLAINT),
        ("Carta", "La carta non funziona da tre giorni.", COMPLAINT),
        ("Cartão", "É inaceitável, o cartão ainda não funciona.", COMPLAINT),
        ("Reclamação", "Quero fazer uma reclamação.", COMPLAINT),
        ("Carte", "C'est inacceptable, je suis déçu.", COMPLAINT),
        ("Commande", "Ma carte ne fonctionne toujours pas.", COMPLAINT),
        ("Karte", "Ich bin sehr enttäuscht, die Karte funktioniert nicht.", COMPLAINT),
        ("Beschwerde", "Hiermit reiche ich eine Beschwerde ein.", COMPLAINT),
        # callback
        ("Call", "Can you call me back on 600 112 233?", CALLBACK),
        ("Llamada", "Por favor, llamadme esta tarde.", CALLBACK),
        ("Llamada", "¿Me pueden llamar mañana?", CALLBACK),
        ("Chiamata", "Richiamatemi al più presto.", CALLBACK),
        ("Ligação", "Por favor, liguem-me amanhã.", CALLBACK),
        ("Appel", "Rappelez-moi s'il vous plaît.", CALLBACK),
        ("Rückruf", "Bitte rufen Sie mich zurück.", CALLBACK),
        # request
        ("Invoice", "I would like a copy of my invoice.", REQUEST),
        ("Factura", "Quisiera una copia de la factura.", REQUEST),
        ("Fattura", "Vorrei una copia della fattura.", REQUEST),
        ("Fatura", "Gostaria de receber a fatura.", REQUEST),
        ("Facture", "Je voudrais recevoir la facture.", REQUEST),
        ("Rechnung", "Ich möchte eine Kopie der Rechnung.", REQUEST),
        # question
        ("Order", "When will my order arrive?", QUESTION),
        ("Pedido", "¿Cuándo llega mi pedido?", QUESTION),
        ("Ordine", "Quando arriva il mio ordine", QUESTION),
        ("Encomenda", "Onde está a minha encomenda", QUESTION),
        ("Commande", "Pourquoi ma commande est en retard", QUESTION),
        ("Bestellung", "Wann kommt meine Bestellung", QUESTION),
        # praise
        ("Thanks", "Thank you, great service!", PRAISE),
        ("Gracias", "Muchas gracias por todo.", PRAISE),
        ("Grazie", "Grazie mille, ottimo lavoro.", PRAISE),
        ("Obrigado", "Muito obrigada pela ajuda.", PRAISE),
        ("Merci", "Merci beaucoup, formidable.", PRAISE),
        ("Danke", "Vielen Dank, hervorragend.", PRAISE),
    ],
)
def test_intent_in_six_languages(subject: str, text: str, intent: str) -> None:
    result = detect_intent(subject, text)
    assert result.intent == intent, (subject, text, result)
    assert result.cues[0].startswith(f"{intent}: ")


def test_no_cue_is_the_default_and_records_none() -> None:
    assert detect_intent("Pedido 1234", "Hola") == type(detect_intent("", ""))(DEFAULT_INTENT, ())


def test_a_complaint_wins_over_thanks_and_a_question() -> None:
    result = detect_intent("Card", "Thanks, but why is my card still blocked? Unacceptable.")
    assert result.intent == COMPLAINT
    assert [cue.split(":")[0] for cue in result.cues] == [COMPLAINT, QUESTION, PRAISE]


def test_a_request_outranks_its_question_mark() -> None:
    assert detect_intent("Invoice", "Could you send the invoice? I need it for my taxes.").intent == REQUEST


def test_thanks_in_advance_does_not_hide_a_question() -> None:
    assert detect_intent("Order", "Where is my order? Thanks in advance").intent == QUESTION


@pytest.mark.parametrize("text", ["No complaints, all fine", "Sin queja alguna", "Keine Beschwerde"])
def test_a_negated_complaint_is_not_one(text: str) -> None:
    assert detect_intent("", text).intent != COMPLAINT


def test_words_inside_other_words_are_no_cue() -> None:
    # "unterminated" holds no "termin", "thanksgiving" is no thanks
    assert detect_intent("Thanksgiving order", "Order 1234 for thanksgiving").intent == DEFAULT_INTENT


def test_accents_and_case_are_folded() -> None:
    assert detect_intent("RECLAMACIÓN", "").intent == COMPLAINT


@pytest.mark.parametrize(
    ("current", "new", "result"),
    [
        (QUESTION, COMPLAINT, COMPLAINT),
        (COMPLAINT, QUESTION, COMPLAINT),
        (PRAISE, REQUEST, REQUEST),
        (CALLBACK, REQUEST, CALLBACK),
        (None, PRAISE, PRAISE),
        ("unknown-old-value", QUESTION, QUESTION),
    ],
)
def test_intent_moves_only_upwards(current: str | None, new: str, result: str) -> None:
    assert higher_intent(current, new) == result
