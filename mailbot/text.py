"""Text folded for matching words, shared by every rule that compares words.

One definition, so a phrase list written in one module matches text folded in
another: classification (out-of-office subjects, failure notices) and urgency
cues both match on folded text.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# The stages of one filing fold the same subject and body several times (classification,
# urgency, intent, routing): kept for the last few texts, up to a size that bounds what
# the cache holds of customers' text after their messages are filed.
_KEPT_FOLD_CHARS = 20_000


def fold(text: str) -> str:
    """Casefold and drop accents, so "RÉPONSE" matches "reponse" and ß matches ss.

    The typographic apostrophe (U+2019, what phones and Word type) becomes "'", so
    "message d’absence" and "n’a pas pu être remis" match the phrases as written.
    """
    return _fold_kept(text) if len(text) <= _KEPT_FOLD_CHARS else _fold(text)


@lru_cache(maxsize=32)
def _fold_kept(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'").casefold())
    if decomposed.isascii():
        return decomposed  # no accents to drop: skip the loop over every character
    return "".join(c for c in decomposed if not unicodedata.combining(c))
