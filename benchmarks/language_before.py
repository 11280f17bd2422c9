"""The language detector mailbot used before lingua, frozen for benchmarks/language.py.

A copy of mailbot/language.py as of commit 0943edc (langdetect blended with a vote of
function words), kept only as the baseline the benchmark measures in the same run. It
needs langdetect, which mailbot itself no longer depends on: `pip install -e ".[bench]"`.
Do not use it in mailbot.
"""

from __future__ import annotations

import functools
import os
import re
from collections import defaultdict

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
_MAX_CHARS = 3000  # the opening of a message says enough, and langdetect is slow on long text
_LANGDETECT_MIN_LETTERS = 8
_LANGDETECT_MIN_WORDS = 3
_DECISIVE_HITS = 4
_DECISIVE_SHARE = 0.75


# The languages langdetect weighs. Its cost grows with their number (55 by default);
# these are the ones a European support desk meets, plus the big scripts, so a message
# in, say, Dutch or Russian is still named rightly.
_LANGDETECT_LANGUAGES = (
    "es", "it", "en", "pt", "fr", "de", "ca", "nl", "ro", "pl", "sv", "da", "no", "fi",
    "cs", "el", "tr", "ru", "uk", "ar", "he", "zh-cn", "ja", "ko",
)  # fmt: skip
_LANGDETECT_TRIALS = 3  # langdetect's default 7 buys stability our stopword vote already gives


@functools.cache
def _langdetect_factory():
    """Built once, on first use, and seeded: langdetect samples randomly, and an unseeded
    detector can answer differently for the same text from one run to the next."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.set_seed(0)
    profiles = []
    for lang in _LANGDETECT_LANGUAGES:
        with open(os.path.join(PROFILES_DIRECTORY, lang), encoding="utf-8") as handle:
            profiles.append(handle.read())
    factory.load_json_profile(profiles)
    return factory


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


def _shares(hits: dict[str, float]) -> dict[str, float]:
    total = sum(hits.values())
    return {lang: score / total for lang, score in hits.items()} if total else {}


def _decisive(hits: dict[str, float]) -> str | None:
    """The language the function words alone settle, or None when they leave doubt.

    langdetect costs about 5 ms a call, most of the pipeline's time per message; with
    this many function words and this clear a lead it has never changed the answer."""
    ranked = sorted(hits.values(), reverse=True)
    if not ranked or sum(ranked) < _DECISIVE_HITS:
        return None
    if ranked[0] < _DECISIVE_SHARE * sum(ranked):
        return None
    return max(hits, key=lambda lang: hits[lang])


def _langdetect_scores(text: str) -> dict[str, float]:
    from langdetect import LangDetectException

    try:
        detector = _langdetect_factory().create()
        detector.n_trial = _LANGDETECT_TRIALS
        detector.append(text)
        found = detector.get_probabilities()
    except LangDetectException:  # no usable features, e.g. only symbols
        return {}
    # langdetect says "zh-cn"/"zh-tw"; ISO 639-1 has only "zh".
    return {str(lang.lang).split("-")[0]: float(lang.prob) for lang in found}


def detect_language(text: str, *, hint: str | None = None, default: str = "en") -> str:
    """ISO 639-1 code of the language `text` is written in.

    `hint` (e.g. the language of the customer's previous messages or of the
    mailbox) breaks near ties and is the answer when the text says nothing.
    """
    fallback = hint or default
    main = _main_text(text)
    tokens = _tokens(main)
    hits = _stopword_hits(tokens)
    settled = _decisive(hits)
    if settled is not None:
        return settled
    stopwords = _shares(hits)
    # langdetect answers "Danke" with Danish and "ok" with Slovak, each at 99.99%:
    # alone, it needs a few words before its answer means anything.
    if not stopwords and len(tokens) < _LANGDETECT_MIN_WORDS:
        return fallback
    letters = sum(len(t) for t in tokens)
    detected = _langdetect_scores(main) if letters >= _LANGDETECT_MIN_LETTERS else {}
    # Trust langdetect more as the text grows: 14% at 2 words, a third at 6, 80% at 50.
    weight = len(tokens) / (len(tokens) + 12) if stopwords else 1.0
    combined = {
        lang: weight * detected.get(lang, 0.0) + (1 - weight) * stopwords.get(lang, 0.0)
        for lang in sorted({*stopwords, *detected})
    }
    if hint in combined:
        combined[hint] += 0.05
    ranked = sorted(combined.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] < 0.3:
        return fallback
    # A dead heat ("Pedido" is Spanish and Portuguese) is undecided, not alphabetical.
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < 1e-6:
        return fallback
    return ranked[0][0]
