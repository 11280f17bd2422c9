"""Do two texts speak of the same matter? Word stems shared, in each text's language.

"Mi tarjeta está bloqueada" and "sigo con la tarjeta bloqueada!!" share `tarjet` and
`bloqu` once each is reduced by the Snowball stemmer of its language (the stemmers
Lucene and PostgreSQL's full-text search use, from the `snowballstemmer` package), after
words that carry no matter (articles, greetings, "please") are dropped. Order numbers and
other figures count as words: "4411" on both sides is strong evidence.

The score is the overlap coefficient |A ∩ B| / min(|A|, |B|): a short chat message
("card still blocked") against a long e-mail scores by how much of the short one the long
one contains, which is what "the same complaint again, elsewhere" looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import snowballstemmer

from mailbot.text import fold

STEMMERS = {
    "en": "english",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "fr": "french",
    "de": "german",
}

# Words of three letters or more that say nothing about the matter (shorter ones are
# dropped anyway), folded: greetings, courtesy, pronouns and the commonest verbs.
STOPWORDS = frozenset(
    """
    the and for you your our are was were have has had this that with from not but can
    could would will please thanks thank hello dear any all still again just also here
    there what when who how why they them its it's i'm don't nobody anyone someone help
    hola gracias por favor para con una uno los las del que esta este esto pero sus mis
    tus como muy ayuda hoy ahora sigo sigue todavia nadie alguien buenas buenos dias
    ciao grazie per favore con una uno gli che questo questa sono non mio mia miei ancora
    nessuno qualcuno buongiorno aiuto oggi
    ola obrigado obrigada por favor para com uma um dos das que este esta isso mas meu
    minha ainda ninguem alguem bom dia ajuda hoje
    bonjour merci pour avec une les des que est cette mais mon mes encore personne
    quelqu'un aide aujourd'hui svp
    hallo danke bitte fur mit eine einen der die das und ist nicht mein meine noch
    niemand jemand hilfe heute guten tag
    """.split()
)

_WORD = re.compile(r"\w+", re.UNICODE)
# A mention (@acme) or a link names the audience, not the matter.
_NOISE = re.compile(r"(?:@\w+|https?://\S+)")


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Any:
    name = STEMMERS.get(language)
    return snowballstemmer.stemmer(name) if name else None


def stems(text: str, language: str | None) -> frozenset[str]:
    """The text's content words, stemmed in `language` (unstemmed when it has no stemmer)."""
    stemmer = _stemmer((language or "").lower())
    words = [w for w in _WORD.findall(_NOISE.sub(" ", text).casefold()) if len(w) >= 3 or w.isdigit()]
    words = [w for w in words if fold(w) not in STOPWORDS and not (w.isdigit() and len(w) < 3)]
    stemmed = stemmer.stemWords(words) if stemmer else words
    return frozenset(fold(s) for s in stemmed if s)


@dataclass(frozen=True)
class Similarity:
    score: float  # 0..1
    shared: tuple[str, ...]  # the stems both texts have, sorted


def similarity(a: frozenset[str], b: frozenset[str]) -> Similarity:
    if not a or not b:
        return Similarity(0.0, ())
    shared = a & b
    return Similarity(len(shared) / min(len(a), len(b)), tuple(sorted(shared)))
