"""Which FAQ entries answer a message: BM25 over the entries of the message's language.

Pure: entries in, ranked suggestions out. The ranking is Okapi BM25 from `bm25s` (sparse
matrices, maintained); words are folded (mailbot/text.py), stop words of the language
dropped, and reduced by its Snowball stemmer (PyStemmer, the C build of the stemmers
`similarity.py` uses), so "contraseña", "contrasena" and "contraseñas" are one term.

An entry is suggested only when its score reaches a threshold: a weak match is noise in
an acknowledgement, and a wrong answer is worse than none. The default was chosen on the
labelled set in tests/faq/labelled.jsonl (benchmarks/faq_threshold.py prints precision
and recall per threshold). Scores are raw BM25, so the threshold reads as "about one
distinctive word of the entry, or several common ones": a word found in one entry of ten
weighs about 2, one found in every entry nearly nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import Stemmer

from mailbot.faq import DEFAULT_MIN_SCORE
from mailbot.pipeline.intent import CALLBACK, COMPLAINT, PRAISE
from mailbot.pipeline.similarity import STEMMERS
from mailbot.pipeline.similarity import STOPWORDS as COURTESY_WORDS
from mailbot.text import fold

MAX_SUGGESTIONS = 3
# Never for praise or thanks (nothing to answer), a complaint (a link reads as a brush-off
# to an angry customer) or a call-back request (they asked for a person).
NO_SUGGESTION_INTENTS = frozenset({PRAISE, COMPLAINT, CALLBACK})
# The question says what the entry is about; the answer adds words customers use too.
QUESTION_WEIGHT = 2

# bm25s's lists (NLTK's), by name; bm25s is imported when an index is first built, so
# commands that never rank (the CLI, the panel) do not pay its start-up (about 0.1 s).
_LANGUAGE_STOPWORDS = {
    "en": "STOPWORDS_EN",
    "es": "STOPWORDS_SPANISH",
    "it": "STOPWORDS_ITALIAN",
    "pt": "STOPWORDS_PORTUGUESE",
    "fr": "STOPWORDS_FRENCH",
    "de": "STOPWORDS_GERMAN",
}
_WORD = re.compile(r"\w+", re.UNICODE)
_LINK = re.compile(r"https?://\S+|\S+@\S+")


@dataclass(frozen=True)
class FaqText:
    """What ranking needs of an entry."""

    id: str
    question: str
    answer: str


@dataclass(frozen=True)
class Suggestion:
    id: str
    score: float


@lru_cache(maxsize=8)
def _stopwords(language: str) -> frozenset[str]:
    from bm25s import stopwords

    listed = getattr(stopwords, _LANGUAGE_STOPWORDS[language]) if language in _LANGUAGE_STOPWORDS else ()
    return frozenset(fold(w) for w in listed) | COURTESY_WORDS


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Any:
    name = STEMMERS.get(language)
    return Stemmer.Stemmer(name) if name else None


def terms(text: str, language: str) -> list[str]:
    """The text's words as the index holds them: folded, no stop words, stemmed."""
    stop = _stopwords(language)
    words = [w for w in _WORD.findall(fold(_LINK.sub(" ", text))) if len(w) > 1 and w not in stop]
    stemmer = _stemmer(language)
    return list(stemmer.stemWords(words)) if stemmer else words


class FaqIndex:
    """The BM25 index of one language's entries; built once per set of entries."""

    def __init__(self, language: str, entries: Sequence[FaqText]) -> None:
        self.language = language
        self.ids = [e.id for e in entries]
        documents = [terms(" ".join([e.question] * QUESTION_WEIGHT + [e.answer]), language) for e in entries]
        self._bm25: Any = None
        if any(documents):
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index([d or ["\x00"] for d in documents], show_progress=False)

    def scores(self, text: str) -> list[Suggestion]:
        """Every entry with its score for `text`, best first (ties by id, so stable)."""
        query = sorted(set(terms(text, self.language)))
        if self._bm25 is None or not query:
            return []
        raw = self._bm25.get_scores(query)
        ranked = [Suggestion(entry_id, round(float(s), 4)) for entry_id, s in zip(self.ids, raw, strict=True)]
        return sorted(ranked, key=lambda s: (-s.score, s.id))


def suggest(
    index: FaqIndex | None,
    subject: str,
    text: str,
    *,
    intent: str | None,
    min_score: float = DEFAULT_MIN_SCORE,
    limit: int = MAX_SUGGESTIONS,
) -> list[Suggestion]:
    """Up to `limit` entries that answer the message, only those scoring `min_score` or more;
    none at all for praise, a complaint or a call-back request."""
    if index is None or intent in NO_SUGGESTION_INTENTS:
        return []
    return [s for s in index.scores(f"{subject}\n{text}") if s.score >= min_score and s.score > 0][:limit]
