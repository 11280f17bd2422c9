"""FAQ ranking: BM25 in the message's language, only above the threshold, at most three,
never for praise, a complaint or a call-back request. Cases from tests/faq/ (the labelled
set the default threshold was chosen on) and small ones written here."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from mailbot.faq import DEFAULT_MIN_SCORE
from mailbot.faq.entries import parse_faq_lines
from mailbot.faq.ranking import FaqIndex, FaqText, suggest, terms
from mailbot.pipeline.intent import detect_intent

HERE = Path(__file__).resolve().parent.parent / "faq"


def _indexes() -> dict[str, FaqIndex]:
    by_language: dict[str, list[FaqText]] = defaultdict(list)
    for record in parse_faq_lines((HERE / "entries.jsonl").read_text(encoding="utf-8")):
        by_language[record.lang].append(record.as_text())
    return {lang: FaqIndex(lang, texts) for lang, texts in by_language.items()}


INDEXES = _indexes()
LABELLED = [json.loads(line) for line in (HERE / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("case", LABELLED, ids=lambda c: f"{c['lang']}:{c['subject']}")
def test_the_labelled_set_at_the_default_threshold(case: dict) -> None:
    found = [s.id for s in suggest(INDEXES[case["lang"]], case["subject"], case["text"], intent=None)]
    if not case["relevant"]:
        assert found == []  # nothing answers it: nothing is suggested
    elif case["relevant"] == ["de-returns"]:
        # The one miss of the set (score 1.39 < 1.5): measured and kept, see the benchmark.
        assert found == []
    else:
        assert found[:1] == case["relevant"]
        assert set(found) <= set(case["relevant"])  # and nothing wrong beside it


@pytest.mark.parametrize(
    "language, subject, text, expected",
    [
        ("es", "contrasena", "he olvidado la contrasena", "es-password"),  # no accent, still a match
        ("it", "Fattura", "dove posso scaricare le fatture?", "it-invoice"),  # plural, stemmed
        ("pt", "", "quero cancelar a assinatura", "pt-cancel"),
        ("fr", "", "comment résilier l'abonnement", "fr-cancel"),
        ("de", "", "Ich möchte mein Abo kündigen", "de-cancel"),
        ("en", "", "How can I cancel the subscription?", "en-cancel"),
    ],
)
def test_each_language_is_stemmed_and_folded(language: str, subject: str, text: str, expected: str) -> None:
    [best, *_] = suggest(INDEXES[language], subject, text, intent=None)
    assert best.id == expected and best.score >= DEFAULT_MIN_SCORE


def test_entries_of_another_language_are_never_suggested() -> None:
    # The Spanish index knows no English words: an English message finds nothing there.
    assert suggest(INDEXES["es"], "Password", "I forgot my password, how do I reset it?", intent=None) == []
    assert {s.id[:3] for s in INDEXES["en"].scores("forgot password reset")} == {"en-"}


def test_the_threshold_is_what_decides() -> None:
    index = INDEXES["en"]
    scores = index.scores("my card got blocked at the shop today")
    best = scores[0]
    assert best.id == "en-card"
    assert [
        s.id for s in suggest(index, "", "my card got blocked", intent=None, min_score=best.score + 5)
    ] == []
    assert suggest(index, "", "my card got blocked", intent=None, min_score=0.01)[0].id == "en-card"


def test_at_most_three_and_best_first() -> None:
    index = INDEXES["en"]
    text = "password reset, delivery time, refund for a return, invoice download, cancel subscription"
    found = suggest(index, "", text, intent=None, min_score=0.1)
    assert len(found) == 3
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert len(suggest(index, "", text, intent=None, min_score=0.1, limit=1)) == 1


@pytest.mark.parametrize(
    "language, text",
    [
        ("en", "Thank you so much, you reset my password in minutes!"),
        ("es", "Muchas gracias, ya he podido restablecer la contraseña."),
        ("it", "Grazie mille, la password funziona di nuovo."),
        ("pt", "Obrigado, já consegui redefinir a palavra-passe."),
        ("fr", "Merci beaucoup, mon mot de passe marche de nouveau."),
        ("de", "Vielen Dank, das Passwort geht wieder."),
    ],
)
def test_no_suggestion_for_praise(language: str, text: str) -> None:
    intent = detect_intent("", text).intent
    assert intent == "praise"
    assert suggest(INDEXES[language], "", text, intent=intent) == []


@pytest.mark.parametrize(
    "language, text",
    [
        ("en", "This is unacceptable, I still can't reset my password!"),
        ("es", "Es inaceptable: he olvidado la contraseña y sigue sin funcionar el enlace."),
        ("de", "Inakzeptabel: Passwort vergessen, und der Link funktioniert nicht."),
    ],
)
def test_no_suggestion_for_a_complaint(language: str, text: str) -> None:
    intent = detect_intent("", text).intent
    assert intent == "complaint"
    # The same words as a plain question would find the entry: the intent alone stops it.
    assert suggest(INDEXES[language], "", text, intent=None)
    assert suggest(INDEXES[language], "", text, intent=intent) == []


def test_no_suggestion_for_a_call_back_request_nor_without_entries() -> None:
    assert suggest(INDEXES["en"], "", "Call me back about my password reset", intent="callback") == []
    assert suggest(None, "", "password", intent="question") == []
    assert FaqIndex("en", []).scores("password") == []


def test_terms_drop_stop_words_courtesy_and_links() -> None:
    assert terms("Hello, please help: https://example.com/x the passwords", "en") == ["password"]
    assert terms("Buenos días, por favor, mis contraseñas", "es") == terms("contrasena", "es")
