from __future__ import annotations

import pytest

from mailbot.pipeline.urgency import HIGH, NORMAL, URGENT, Urgency, detect_urgency


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("URGENT: order", ""),
        ("Pedido", "Es urgente, por favor"),
        ("Ordine", "È urgentissimo"),
        ("Pedido", "Urgentísimo"),
        ("Encomenda", "Preciso disto com urgência"),
        ("Bestellung", "Das ist dringend!"),
        ("Order", "Please send it asap"),
        ("Order", "I need it as soon as possible"),
        ("Pedido", "Lo necesito lo antes posible"),
        ("Ordine", "Mi serve il prima possibile"),
        ("Order", "Reply immediately"),
        ("Pedido", "Respondan de inmediato"),
        ("Ordine", "Rispondete subito"),
        ("Commande", "Répondez immédiatement"),
        ("Order", "This is an emergency"),
        ("Pedido", "Es una emergencia"),
    ],
)
def test_urgent(subject: str, text: str) -> None:
    result = detect_urgency(subject, text)
    assert result.level == URGENT, (subject, text)
    assert result.cues


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("Order", "I will contact my lawyer"),
        ("Order", "We will take legal action"),
        ("Pedido", "Voy a llamar a mi abogado"),
        ("Ordine", "Mi rivolgerò a un avvocato"),
        ("Commande", "Je vais contacter un avocat"),
        ("Bestellung", "Ich schalte meinen Anwalt ein"),
        ("Account", "Please cancel my account"),
        ("Suscripción", "Quiero cancelar mi suscripción"),
        ("Abbonamento", "Voglio disdire l'abbonamento"),
        ("Abonnement", "Je veux résilier mon abonnement"),
        ("Vertrag", "Ich möchte kündigen"),
        ("Where is my order??!!", ""),
        ("Order", "Still nothing! ! !"),
        ("MY ORDER NEVER ARRIVED", "hello"),
    ],
)
def test_high(subject: str, text: str) -> None:
    assert detect_urgency(subject, text).level == HIGH, (subject, text)


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("Question", "Do you ship to Italy?"),
        ("Order", "This is not urgent, whenever you can."),
        ("Pedido", "No es urgente."),
        ("Ordine", "Non è urgente"),
        ("Bestellung", "Nicht dringend"),
        ("Commande", "Ce n'est pas urgent"),
        ("Encomenda", "Não é urgente"),
        ("Reclamo", "Ho subito un danno alla merce"),
        ("Payment", "My Sofortüberweisung failed"),
        ("Pedido", "Hay alta demanda de este producto"),
        ("Thanks!", "Great service!"),
        ("FAQ", "ok"),
        ("", ""),
    ],
)
def test_normal(subject: str, text: str) -> None:
    assert detect_urgency(subject, text) == Urgency(NORMAL, ())


def test_cues_explain_the_level() -> None:
    result = detect_urgency("URGENTE", "Necesito respuesta lo antes posible o llamo a mi abogado!!")
    assert result.level == URGENT
    assert result.cues == (
        "urgent: urgente",
        "asap: lo antes posible",
        "legal threat: abogado",
        "repeated exclamation marks",
    )


def test_one_negated_mention_does_not_hide_another() -> None:
    result = detect_urgency("", "Not urgent yesterday, but now it is urgent")
    assert result.level == URGENT
