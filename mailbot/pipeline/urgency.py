"""How soon a message wants an answer, from cues a person can check.

Three levels: "urgent" when the sender says so in words (urgent, ASAP, subito,
dringend...), "high" for signs of an escalating customer (legal threats,
cancelling, shouting), otherwise "normal".  Every match is returned as a cue,
so an agent sees *why* a ticket jumped the queue.  No model, no scores: a
keyword list is easy to audit and to extend when a new word turns up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mailbot.text import fold

URGENT = "urgent"
HIGH = "high"
NORMAL = "normal"
_RANK = {NORMAL: 0, HIGH: 1, URGENT: 2}


@dataclass(frozen=True)
class Urgency:
    level: str  # URGENT, HIGH or NORMAL
    cues: tuple[str, ...] = ()  # "label: matched words" (folded), in the order of the table below


# (level, cue label, pattern over casefolded, accent-free text)
_CUES: tuple[tuple[str, str, str], ...] = (
    (URGENT, "urgent", r"urgen(?:t|te|tissimo|tisimo|temente|tly|cia|za)|dringend"),
    (
        URGENT,
        "asap",
        r"asap|as soon as possible|lo antes posible|lo mas pronto posible"
        r"|il prima possibile|o mais rapido possivel|o quanto antes"
        r"|au plus vite|des que possible|so schnell wie moglich",
    ),
    (
        URGENT,
        "immediately",
        r"immediately|right away|inmediat[oa]|inmediatamente|de inmediato"
        r"|immediatamente|imediatamente|immediatement|sofort|subito",
    ),
    (URGENT, "emergency", r"emergenc(?:y|ia)|emergenza|notfall"),
    (
        HIGH,
        "legal threat",
        r"lawyers?|attorney|legal action|lawsuit|sue you|small claims"
        r"|abogad[oa]s?|demandar\w*|una demanda|denuncia(?:r|re)?|denuncio"
        r"|accion(?:es)? legal(?:es)?"
        r"|avvocat[oi]|azione legale|vie legali|advogad[oa]s?|acao judicial"
        r"|avocat|poursuites?|mise en demeure|(?:rechts)?anwalt|klage"
        r"|rechtliche schritte",
    ),
    (
        HIGH,
        "cancellation",
        r"cancel(?:l?ing)? (?:my|our|the) (?:account|subscription|contract"
        r"|membership|order)|close my account"
        r"|cancelar|cancelamento|disdire|disdetta|resilier|resiliation"
        r"|kundigen|kundigung",
    ),
)
# Whole words only: "urgentemente" is a cue, "Sofortüberweisung" (a payment method) is not.
_CUE_RES = tuple(
    (level, label, re.compile(rf"(?<![a-z])(?:{pattern})(?![a-z])")) for level, label, pattern in _CUES
)

# "not urgent", "no es urgente", "non è urgente", "nicht dringend", "pas urgent",
# "não é urgente": the words say the opposite of what the keyword alone says.
_NEGATION_RE = re.compile(
    r"(?<![a-z])(?:not|no|non|nao|nicht|pas|nothing|nada|niente|rien|kein\w*)"
    r"(?:\s+\w+){0,2}\s*$"
)
# Italian "subito" is also the participle of "subire" (to suffer): "ho subito un
# danno" is a complaint, not a deadline.
_SUBIRE_RE = re.compile(r"(?<![a-z])(?:ho|hai|ha|abbiamo|avete|hanno|aver|avendo)\s*$")
_EXCLAMATIONS_RE = re.compile(r"!\s*!")


def _negated(text: str, start: int, label: str) -> bool:
    before = text[max(0, start - 30) : start]
    if label == "immediately" and text.startswith("subito", start) and _SUBIRE_RE.search(before):
        return True
    return label in {"urgent", "asap", "immediately", "emergency"} and bool(_NEGATION_RE.search(before))


def _shouting(subject: str) -> bool:
    letters = [c for c in subject if c.isalpha()]
    return len(letters) >= 10 and sum(c.isupper() for c in letters) / len(letters) >= 0.8


# Enrich and triage both ask about the same message: the answer is kept for the last few.
@lru_cache(maxsize=32)
def detect_urgency(subject: str, text: str) -> Urgency:
    """The urgency of a message from its subject and newly written text (no quotes)."""
    folded = fold(f"{subject}\n{text}")
    level = NORMAL
    cues: list[str] = []
    for cue_level, label, pattern in _CUE_RES:
        matches = (m for m in pattern.finditer(folded) if not _negated(folded, m.start(), label))
        first = next(matches, None)
        if first is not None:
            cues.append(f"{label}: {first.group()}")
            level = max(level, cue_level, key=_RANK.__getitem__)
    if _EXCLAMATIONS_RE.search(subject) or _EXCLAMATIONS_RE.search(text):
        cues.append("repeated exclamation marks")
        level = max(level, HIGH, key=_RANK.__getitem__)
    if _shouting(subject):
        cues.append("subject in capitals")
        level = max(level, HIGH, key=_RANK.__getitem__)
    return Urgency(level, tuple(cues))
