"""Which language a customer wrote in, as an ISO 639-1 code.

Lingua (lingua-language-detector) names the language: character n-gram models of one to
five letters, built for text as short as a chat message, where langdetect, which the blend
used before, guessed ("Hola, mi pedido no ha llegado" came back Catalan or Galician).  A
vote of the function words and greetings of the six languages we answer in still steadies
it on the shortest messages ("Danke", "Bonsoir"), where a few letters say too little; the
longer the text, the more lingua's view counts.  benchmarks/language.py measures both on
tests/language/labelled.jsonl.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import LanguageDetector

SUPPORTED = ("en", "es", "it", "pt", "fr", "de")

# Function words and greetings that short support messages are made of.  A word
# shared by several languages ("no", "non", "a") is split between them, so the
# distinctive words ("hola", "não", "nicht") decide.
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is are was my i you your it this that to of for with not have has "
        "hasn't haven't don't doesn't didn't can't won't isn't i'm i've it's "
        "me in a hi hello thanks thank please yet be been what when why how can could would "
        "order we our there they just still need help good morning where".split()
    ),
    "es": frozenset(
        "el la los las y es mi mis tu su que de del en por para con no ha he han "
        "hola gracias pedido todavía aún pero un una este esta lo como qué cuando "
        "muy nos estoy está sido me se o al a buenos buenas días tardes necesito ayuda "
        "quiero cuándo dónde".split()
    ),
    "it": frozenset(
        "il lo la gli le e è mio mia miei tuo suo che di del della in per con non ho "
        "ha hanno ciao grazie ordine ancora ma un una questo questa come quando sono "
        "mi ci si al dal nel sto o anche i a buongiorno buonasera salve vorrei aiuto "
        "dove".split()
    ),
    "pt": frozenset(
        "o a os as e é meu minha seu sua que de do da em no na por para com não "
        "olá ola obrigado obrigada pedido ainda mas um uma este esta como quando "
        "estou está foi me se ao eu você bom boa dia tarde oi preciso ajuda quero "
        "onde".split()
    ),
    "fr": frozenset(
        "le la les et est mon ma mes ton son que de du des en pour avec ne pas n' "
        "bonjour merci commande encore mais un une ce cette comme quand je suis "
        "j' l' d' qu' c' m' s' nous vous il elle au a bonsoir salut besoin aide où".split()
    ),
    "de": frozenset(
        "der die das und ist mein meine dein sein dass von vom im in für mit nicht "
        "hallo danke bestellung noch aber ein eine dieser diese wie wann ich bin "
        "habe hat wir sie es zu den dem auf guten tag morgen brauche hilfe wann wo".split()
    ),
}
_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _lang, _words in _STOPWORDS.items():
    for _word in _words:
        _LANGUAGES_OF[_word] = (*_LANGUAGES_OF.get(_word, ()), _lang)

_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_NOISE_RE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+")
# Where a quoted reply or a signature starts (RFC 3676 §4.3 "-- ", the usual
# "On ... wrote:" in our six languages, Outlook's header block, mobile footers).
# An English client footer or legal disclaimer must not outvote a Spanish
# sentence above it.
_CUT_RE = re.compile(
    r"^(?:-- ?$|_{5,}|-{3,} ?(?:original message|mensaje original|messaggio originale"
    r"|mensagem original|message d'origine|urspr.ngliche nachricht)"
    r"|on .+ wrote:|el .+ escribi[oó]:|il .+ ha scritto:|em .+ escreveu:|le .+ a [ée]crit ?:"
    r"|am .+ schrieb .+:|from: |sent from my |get outlook for "
    r"|this (?:e-?mail|message)(?: and any attachments)? (?:is|are|may|contains?) "
    r"|confidentiality notice|disclaimer:)",
    re.IGNORECASE | re.MULTILINE,
)
_MAX_CHARS = 3000  # the opening of a message says enough
# Lingua's time grows with the text (about 3 ms for 1,000 characters, 5 ms for 3,000 on one
# core) and its trigram scores have long settled by then.
_LINGUA_MAX_CHARS = 1000
_DECISIVE_HITS = 4
_DECISIVE_SHARE = 0.75
# A mail paragraph shares many function words between es, it, pt and fr ("de", "que",
# "la", "no"), so the share above is rarely reached by a whole paragraph, which then went
# to lingua (issue 11: two thirds of realistic mails did, at 1 to
# 5 ms each with its models out of the CPU caches). One language far ahead of the next,
# with its words a good part of the text, settles it too. Measured on the labelled set,
# the corpus and 1,000 benchmark mails: 513 texts settled so, not one answer changed;
# Catalan, Galician, Dutch or Romanian paragraphs score a lead of 1.8 at most and 16 % of
# their words, so lingua still names them.
_LEADING_HITS = 8
_LEADING_RATIO = 3.0
_LEADING_SHARE_OF_WORDS = 0.2

# Languages that a few words in ours are easily taken for: weighed equally, lingua calls
# "factura incorrecta" Catalan and "ok super danke" Dutch.  They stay in, so that a Catalan,
# Romanian or Dutch customer is named rightly, but a message is that much likelier to be in
# a language we answer in.  Galician has no lingua model; it comes out as Portuguese.
_CONFUSABLE = ("ca", "ro", "nl")
_SHORT_TEXT_LANGUAGES = (*SUPPORTED, *_CONFUSABLE)
_SUPPORTED_PRIOR = 4.0
# Beyond those, the languages a European support desk meets and the big scripts, so that a
# message in, say, Polish or Russian is still named rightly.
_OTHERS = ("pl", "sv", "da", "nb", "fi", "cs", "el", "tr", "ru", "uk", "ar", "he", "zh", "ja", "ko")
# Lingua's low accuracy mode loads only its trigram models and, its author says, loses
# nothing on text of 120 characters or more (lingua-rs issue 119); measured here, from 120
# letters on both modes give the very same confidences.  For all the languages above those
# cost 70 MB and a fraction of a second to load; the models of one to five letters, which
# short text needs, about 250 MB and two seconds for the nine short-text languages alone.
_TRIGRAMS_ONLY_LETTERS = 120
# A short text the nine short-text languages cannot have written (another script, Polish
# letters) is left to the wide detector when it is this sure.
_OTHER_LANGUAGE_CONFIDENCE = 0.95
_LINGUA_MIN_LETTERS = 8  # "Danke" is Danish and "ok" Dutch to lingua: below this it is noise
_LINGUA_WEIGHT_WORDS = 4  # lingua's share: a third at 2 words, two thirds at 8, 93% at 50
_MIN_SCORE = 0.3


# functools.cache does not stop two threads from building a detector at once (a worker's
# warm-up and its first job): the lock does, and the second one waits for the first.
_BUILD_LOCK = threading.Lock()


def warm_up() -> None:
    """Load the models now (a worker calls this at start, in a thread), so the first
    customer after a start is not the one who waits the seconds they take to load."""
    # The builders are lazy too: lingua reads a language's models on its first detection.
    _short_detector().compute_language_confidence_values("hola, grazie, thank you")
    _wide_detector().compute_language_confidence_values("hola, grazie, thank you")


def _short_detector() -> LanguageDetector:
    with _BUILD_LOCK:
        return _build_short_detector()


def _wide_detector() -> LanguageDetector:
    with _BUILD_LOCK:
        return _build_wide_detector()


@functools.cache
def _build_short_detector() -> LanguageDetector:
    """Built once per process, on first use, as the wide one: its models take seconds to load."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [IsoCode639_1.from_str(code) for code in _SHORT_TEXT_LANGUAGES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


@functools.cache
def _build_wide_detector() -> LanguageDetector:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [IsoCode639_1.from_str(code) for code in (*_SHORT_TEXT_LANGUAGES, *_OTHERS)]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()


def _main_text(text: str) -> str:
    text = text.replace("\u2019", "'")[:_MAX_CHARS]
    # A marker on the very first line (a forward starting "From: ...") cuts nothing.
    cut = next((m for m in _CUT_RE.finditer(text) if m.start() > 0), None)
    if cut:
        text = text[: cut.start()]
    lines = (line for line in text.splitlines() if not line.lstrip().startswith(">"))
    return _NOISE_RE.sub(" ", "\n".join(lines))


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for word in _WORD_RE.findall(text.casefold()):
        if "'" in word and word not in _LANGUAGES_OF:
            # French and Italian elision: "n'est" is "n'" + "est", "l'ordine" is "l'" + "ordine".
            head, _, tail = word.partition("'")
            tokens += [head + "'", tail]
        else:
            tokens.append(word)
    return tokens


def _stopword_hits(tokens: list[str]) -> dict[str, float]:
    scores: dict[str, float] = defaultdict(float)
    for token in tokens:
        languages = _LANGUAGES_OF.get(token, ())
        for lang in languages:
            scores[lang] += 1 / len(languages)
    return scores


def _decisive(hits: dict[str, float], words: int) -> str | None:
    """The language the function words alone settle, or None when they leave doubt.

    Lingua is most of the time a long message costs; with this many function words and
    this clear a lead it has not changed the answer on the labelled set."""
    ranked = sorted(hits.values(), reverse=True)
    if not ranked or sum(ranked) < _DECISIVE_HITS:
        return None
    runner_up = ranked[1] if len(ranked) > 1 else 0.0
    leads = (
        ranked[0] >= _LEADING_HITS
        and ranked[0] >= _LEADING_RATIO * runner_up
        and ranked[0] >= _LEADING_SHARE_OF_WORDS * words
    )
    if ranked[0] < _DECISIVE_SHARE * sum(ranked) and not leads:
        return None
    return max(hits, key=lambda lang: hits[lang])


def _shares(scores: dict[str, float]) -> dict[str, float]:
    total = sum(scores.values())
    return {lang: score / total for lang, score in scores.items() if score > 0} if total else {}


def _confidences(detector: LanguageDetector, text: str) -> dict[str, float]:
    return {
        found.language.iso_code_639_1.name.lower(): found.value
        for found in detector.compute_language_confidence_values(text)
    }


def _lingua_scores(text: str, letters: int) -> dict[str, float]:
    """Lingua's confidences, the languages we answer in weighed up against the rest."""
    text = text[:_LINGUA_MAX_CHARS]
    wide = _confidences(_wide_detector(), text)
    top = max(wide, key=lambda lang: wide[lang], default=None)
    short = letters < _TRIGRAMS_ONLY_LETTERS and (
        top is None or top in _SHORT_TEXT_LANGUAGES or wide[top] < _OTHER_LANGUAGE_CONFIDENCE
    )
    found = _confidences(_short_detector(), text) if short else wide
    return _shares({lang: p * (_SUPPORTED_PRIOR if lang in SUPPORTED else 1.0) for lang, p in found.items()})


def _decide(scores: dict[str, float], hint: str | None, fallback: str) -> str:
    if hint in scores:
        scores = {**scores, hint: scores[hint] + 0.05}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] < _MIN_SCORE:
        return fallback
    # A dead heat ("Pedido" is Spanish and Portuguese) is undecided, not alphabetical.
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < 1e-6:
        return fallback
    return ranked[0][0]


def detect_language(text: str, *, hint: str | None = None, default: str = "en") -> str:
    """ISO 639-1 code of the language `text` is written in.

    `hint` (e.g. the language of the customer's previous messages or of the
    mailbox) breaks near ties and is the answer when the text says nothing.
    """
    fallback = hint or default
    main = _main_text(text)
    tokens = _tokens(main)
    hits = _stopword_hits(tokens)
    settled = _decisive(hits, len(tokens))
    if settled is not None:
        return settled
    words = _shares(hits)
    letters = sum(len(t) for t in tokens)
    detected = _lingua_scores(main, letters) if letters >= _LINGUA_MIN_LETTERS else {}
    weight = len(tokens) / (len(tokens) + _LINGUA_WEIGHT_WORDS) if words else 1.0
    combined = {
        lang: weight * detected.get(lang, 0.0) + (1 - weight) * words.get(lang, 0.0)
        for lang in sorted({*words, *detected})
    }
    return _decide(combined, hint, fallback)
