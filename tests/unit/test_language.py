from __future__ import annotations

import subprocess
import sys

import pytest

from mailbot import language
from mailbot.language import detect_language

SENTENCES = {
    "es": [
        "Hola, mi pedido no ha llegado",
        "Gracias",
        "¿Dónde está mi pedido?",
        "No funciona",
        "Quiero devolver el producto porque llegó roto y nadie me responde desde hace una "
        "semana. Necesito una solución o el reembolso completo.",
        "Buenos días, necesito cambiar la dirección de envío de mi pedido número 12345.",
    ],
    "it": [
        "Ciao, il mio ordine non è arrivato",
        "Grazie mille",
        "Dov'è il mio ordine?",
        "Non funziona",
        "Vorrei restituire il prodotto perché è arrivato rotto e nessuno mi risponde da una "
        "settimana. Ho bisogno di una soluzione o del rimborso completo.",
        "Buongiorno, devo cambiare l'indirizzo di spedizione del mio ordine 12345.",
    ],
    "en": [
        "Hi, my order hasn't arrived",
        "Thanks!",
        "Where is my order?",
        "It doesn't work",
        "I would like to return the product because it arrived broken and nobody has "
        "answered me for a week. I need a solution or a full refund.",
        "Good morning, I need to change the shipping address of my order 12345.",
    ],
    "pt": [
        "Olá, o meu pedido não chegou",
        "Obrigado",
        "Onde está o meu pedido?",
        "Não funciona",
        "Quero devolver o produto porque chegou partido e ninguém me responde há uma "
        "semana. Preciso de uma solução ou do reembolso total.",
        "Bom dia, preciso de alterar a morada de envio da minha encomenda 12345.",
    ],
    "fr": [
        "Bonjour, ma commande n'est pas arrivée",
        "Merci beaucoup",
        "Où est ma commande ?",
        "Ça ne marche pas",
        "Je voudrais retourner le produit car il est arrivé cassé et personne ne me répond "
        "depuis une semaine. J'ai besoin d'une solution ou d'un remboursement complet.",
        "Bonjour, je dois changer l’adresse de livraison de ma commande 12345.",
    ],
    "de": [
        "Hallo, meine Bestellung ist nicht angekommen",
        "Danke",
        "Wo ist meine Bestellung?",
        "Funktioniert nicht",
        "Ich möchte das Produkt zurückgeben, weil es kaputt angekommen ist und mir seit einer "
        "Woche niemand antwortet. Ich brauche eine Lösung oder eine volle Erstattung.",
        "Guten Morgen, ich muss die Lieferadresse meiner Bestellung 12345 ändern.",
    ],
}


@pytest.mark.parametrize(
    ("expected", "text"),
    [(lang, text) for lang, texts in SENTENCES.items() for text in texts],
)
def test_sentences(expected: str, text: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        (
            "es",
            "Hola, no he recibido mi pedido todavía.\n\n"
            "On Mon, 3 Mar 2025 at 10:00, Shop <support@shop.example> wrote:\n"
            "> Thank you for your order. We will ship it as soon as possible and you will\n"
            "> receive a tracking number by email within two working days.",
        ),
        (
            "it",
            "Ciao, il pacco non è ancora arrivato.\n\n--\n"
            "This email and any attachments are confidential and intended solely for the "
            "use of the individual to whom they are addressed.",
        ),
        (
            "es",
            "Hola, no he recibido mi pedido.\n\n"
            "This email and any attachments are confidential and intended solely for the "
            "use of the individual to whom they are addressed.",
        ),
        (
            "de",
            "Hallo, wo bleibt mein Paket?\n\n> Your order has been shipped and will arrive "
            "within three days.\n> Kind regards, the shop team",
        ),
        (
            "pt",
            "Bom dia, a minha encomenda chegou danificada. Podem ajudar?\n\nSent from my iPhone",
        ),
        (
            "fr",
            "Bonjour,\n\nJe n'ai toujours pas reçu mon colis : https://track.example/abc\n\n"
            "-----Original Message-----\nFrom: Shop\nSubject: Your order has shipped",
        ),
    ],
)
def test_english_quotes_and_footers_do_not_decide(expected: str, text: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "12345 !!!", "https://shop.example/x", "ok"])
def test_undecidable_falls_back(text: str) -> None:
    assert detect_language(text) == "en"
    assert detect_language(text, default="it") == "it"
    assert detect_language(text, hint="pt", default="it") == "pt"


def test_hint_breaks_a_tie() -> None:
    # "Pedido" is Spanish and Portuguese alike.
    assert detect_language("Pedido 12345", hint="pt") == "pt"
    assert detect_language("Pedido 12345", hint="es") == "es"


def test_hint_does_not_override_clear_text() -> None:
    assert detect_language("Hallo, meine Bestellung ist nicht angekommen", hint="en") == "de"


def test_other_languages_pass_through() -> None:
    long_dutch = (
        "Goedemiddag, ik heb vorige week een bestelling geplaatst maar ik heb nog steeds "
        "niets ontvangen. Kunnen jullie alstublieft controleren waar mijn pakket blijft?"
    )
    assert detect_language(long_dutch) == "nl"


def test_deterministic() -> None:
    text = "Bom dia, o pedido chegou"
    assert len({detect_language(text) for _ in range(20)}) == 1


def test_dead_heat_without_hint_is_undecided() -> None:
    assert detect_language("Pedido 12345") == "en"
    assert detect_language("Pedido 12345", default="fr") == "fr"


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        ("es", "Buenas tardes"),
        ("it", "Buongiorno"),
        ("pt", "Boa tarde"),
        ("fr", "Bonsoir"),
        ("de", "Guten Tag"),
        ("en", "Good morning"),
        ("pt", "Oi, meu pedido ainda não chegou"),
        ("pt", "Preciso de ajuda"),
        ("es", "Necesito ayuda"),
        ("it", "Salve, vorrei sapere quando arriva"),
    ],
)
def test_greetings_and_one_liners(expected: str, text: str) -> None:
    # Non-English answers here prove the stopword score decided, not the "en" default.
    assert detect_language(text, default="xx") == expected


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        ("ru", "Где мой заказ?"),
        ("el", "Γεια σας, πού είναι η παραγγελία μου;"),
        ("zh", "你好，我的订单在哪里？"),
        ("pl", "Dzień dobry, gdzie jest moja paczka?"),
        ("sv", "Hej, var är mitt paket?"),
        ("nl", "Hallo, waar is mijn bestelling?"),
        ("ro", "Bună ziua, unde este comanda mea?"),
    ],
)
def test_short_text_in_other_languages_is_not_forced_into_ours(expected: str, text: str) -> None:
    # The short-text models know only our six and their look-alikes; another script or
    # letters none of them use must still be named, not squeezed into Spanish or Dutch.
    assert detect_language(text, default="xx") == expected


@pytest.mark.parametrize(
    "text", ["Hola, mi pedido no ha llegado", "factura incorrecta", "falta factura", "Holaa, pregunta rapida"]
)
def test_spanish_is_not_catalan(text: str) -> None:
    # No function word decides these; weighed equally, lingua calls the last three Catalan.
    assert detect_language(text, default="xx") == "es"


def test_catalan_is_still_catalan() -> None:
    # Catalan is in the models so that its speakers are named rightly, only weighed below
    # the six: a text plainly Catalan stays Catalan.
    assert detect_language("Moltes gràcies", default="xx") == "ca"


def test_no_models_load_at_import() -> None:
    # Loading lingua's models takes seconds and hundreds of MB: once per process, on the
    # first message, never when a module (the panel's forms, the CLI) imports this one.
    probe = "import sys, mailbot.language; print('lingua' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


SPANISH_PARAGRAPH = (
    "Hola, os escribo porque el pedido 12345 no ha llegado todavía. Ya he mirado el seguimiento "
    "y pone que está en reparto desde el lunes. ¿Me podéis decir qué pasa? Gracias."
)


def test_a_paragraph_far_ahead_in_our_function_words_is_settled_without_lingua() -> None:
    # "de", "que", "el", "no" are shared with pt, it and fr: under the 75 % share, but
    # Spanish leads the next language nearly four to one (issue 11: lingua was most of
    # what such a mail cost).
    tokens = language._tokens(language._main_text(SPANISH_PARAGRAPH))
    assert language._decisive(language._stopword_hits(tokens), len(tokens)) == "es"
    assert detect_language(SPANISH_PARAGRAPH, default="xx") == "es"


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        (
            "ca",
            "Hola, no he rebut la factura de la meva comanda i la necessito per a la meva empresa. "
            "La comanda és de fa dues setmanes i el pagament es va fer amb targeta. Si us plau, "
            "envieu-me la factura tan aviat com sigui possible.",
        ),
        (
            "ro",
            "Bună ziua, am comandat săptămâna trecută un aspirator de pe site-ul dumneavoastră, dar "
            "încă nu a ajuns. Vă rog să verificați unde este coletul și să îmi spuneți când va fi livrat.",
        ),
        (
            "nl",
            "Goedemiddag, ik heb vorige week een bestelling geplaatst maar ik heb nog steeds niets "
            "ontvangen. De bestelling is betaald en de bevestiging staat in mijn mailbox.",
        ),
    ],
)
def test_a_paragraph_in_a_look_alike_language_is_left_to_lingua(expected: str, text: str) -> None:
    # Catalan shares "el", "la", "de", "no", "per" with ours: a lead, but not a clear one.
    tokens = language._tokens(language._main_text(text))
    assert language._decisive(language._stopword_hits(tokens), len(tokens)) is None
    assert detect_language(text, default="xx") == expected
