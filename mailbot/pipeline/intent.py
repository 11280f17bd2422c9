"""What the customer wants, from cues a person can check, in es, it, en, pt, fr and de.

Five intents, ranked so that a ticket's intent only moves upwards as messages join it
(a complaint after a question makes it a complaint): praise < question < request <
callback < complaint. Every match is returned as a cue, as urgency.py does; like it, a
keyword list over folded text (mailbot/text.py `fold`), easy to audit and extend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.text import fold

PRAISE = "praise"
QUESTION = "question"
REQUEST = "request"
CALLBACK = "callback"
COMPLAINT = "complaint"
INTENTS = (PRAISE, QUESTION, REQUEST, CALLBACK, COMPLAINT)
_RANK = {intent: rank for rank, intent in enumerate(INTENTS)}
# A message with no cue at all ("Hello, my order 1234") asks something of us.
DEFAULT_INTENT = QUESTION


@dataclass(frozen=True)
class Intent:
    intent: str
    cues: tuple[str, ...] = ()  # "intent: matched words" (folded)


# (intent, pattern over folded text), whole words only.
_CUES: tuple[tuple[str, str], ...] = (
    (
        COMPLAINT,
        r"complain\w*|unacceptable|disgrace\w*|terrible|awful|disappointed|worst"
        r"|still (?:not|no|waiting|blocked|broken)|(?:does|do|is) ?n[o']?t work\w*|not working"
        r"|queja\w*|reclamacion\w*|reclamar|inaceptable|verguenza|decepcionad[oa]s?|harto|harta"
        r"|sigue sin|todavia no|aun no|no funciona"
        r"|reclamo|lamentela|inaccettabile|vergogna|delus[oia]|pessim[oa]|ancora non|non funziona"
        r"|reclamacao|inaceitavel|absurdo|ainda nao|nao funciona"
        r"|plainte|reclamation|inacceptable|scandal\w*|decu|decue|toujours pas"
        r"|ne (?:fonctionne|marche) (?:toujours )?pas"
        r"|beschwerde|reklamation|inakzeptabel|unverschamt|enttauscht|immer noch nicht"
        r"|funktioniert (?:immer noch )?nicht|katastrophe",
    ),
    (
        CALLBACK,
        r"call me(?: back)?|call back|callback|give me a call|phone me"
        r"|llam(?:adme|eme|ame|enme)|me (?:pueden|puede|podeis) llamar|devolver la llamada"
        r"|(?:ri)?chiamatemi|mi (?:ri)?chiami|mi (?:potete|puo) (?:ri)?chiamare"
        r"|ligue-me|liguem-me|me liguem?|me (?:podem|pode) ligar"
        r"|rappelez-moi|appelez-moi|me rappeler|m'appeler"
        r"|rufen sie mich (?:bitte )?(?:zuruck|an)|ruckruf",
    ),
    (
        REQUEST,
        r"i would like|i'd like|i want|i need|please (?:send|change|update|cancel|close|add|remove|refund)"
        r"|quisiera|me gustaria|necesito|quiero|por favor"
        r"|vorrei|ho bisogno|per favore|per cortesia"
        r"|gostaria|preciso|quero|por gentileza"
        r"|je voudrais|j'aimerais|j'ai besoin|s'il vous plait|merci de (?:me )?\w+er"
        r"|ich mochte|ich brauche|ich hatte gern|bitte",
    ),
    (
        QUESTION,
        r"\?|how (?:do|can|long|much)|what is|when will|where is|why (?:is|did|does)"
        r"|como puedo|cuando|donde esta|por que|cual es"
        r"|come posso|quando|dove|perche|qual e"
        r"|como posso|onde esta|por que|qual e"
        r"|comment|quand|ou est|pourquoi|quel(?:le)? est"
        r"|wie kann|wann|wo ist|warum|welche[rs]?",
    ),
    (
        PRAISE,
        r"thank(?:s| you)|great (?:service|job|work)|excellent|well done|love (?:it|your)"
        r"|gracias|genial|excelente|enhorabuena"
        r"|grazie|ottimo|complimenti|bravissim[oi]"
        r"|obrigad[oa]|otimo|parabens"
        r"|merci|bravo|formidable"
        r"|danke|vielen dank|hervorragend|toll|super",
    ),
)
# "?" has no letters around it to guard; every other cue is a whole word or phrase.
_CUE_RES = tuple((intent, re.compile(rf"(?<![a-z'])(?:{pattern})(?![a-z])")) for intent, pattern in _CUES)
# "no complaints", "sin queja", "nessuna lamentela": the word says the opposite.
_NEGATED_RE = re.compile(r"(?<![a-z])(?:no|not|sin|nessun\w*|sem|sans|keine?)\s+$")


def _negated(folded: str, start: int) -> bool:
    return bool(_NEGATED_RE.search(folded[max(0, start - 12) : start]))


def detect_intent(subject: str, text: str) -> Intent:
    """The intent of a message from its subject and newly written text (no quotes)."""
    folded = fold(f"{subject}\n{text}")
    found = DEFAULT_INTENT
    cues: list[str] = []
    for intent, pattern in _CUE_RES:
        match = next((m for m in pattern.finditer(folded) if not _negated(folded, m.start())), None)
        if match is None:
            continue
        cues.append(f"{intent}: {match.group()}")
        if len(cues) == 1:  # the cue table is ranked: the first intent found is the highest
            found = intent
    return Intent(found, tuple(cues))


def higher_intent(current: str | None, new: str) -> str:
    """A joining message moves the ticket's intent only upwards."""
    if current is None or current not in _RANK:
        return new
    return new if _RANK[new] > _RANK[current] else current
