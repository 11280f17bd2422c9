"""Public pages behind the signed links of acknowledgements and satisfaction mails:
`/feedback/faq/<ref>/<entry>/<yes|no>/<signature>` and
`/feedback/satisfaction/<ref>/<score>/<signature>`.

One click records the answer (links in mail are followed with GET) and shows a short
thank-you page in the ticket's language. A link whose signature does not hold is
refused with 403 and records nothing; a ticket or entry since deleted is 404.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, make_response, render_template

from mailbot.faq.answers import UnknownLink, record_faq_answer, record_satisfaction
from mailbot.faq.links import check_feedback, check_satisfaction
from mailbot.timeutil import utcnow
from mailbot.web.store import db, runtime

log = logging.getLogger("mailbot.feedback")

bp = Blueprint("feedback", __name__, url_prefix="/feedback")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Thank you",
        "faq": "Thank you for your answer: it helps us improve our help pages.",
        "satisfaction": "Thank you for rating our help.",
        "invalid": "This link is not valid.",
    },
    "es": {
        "title": "Gracias",
        "faq": "Gracias por tu respuesta: nos ayuda a mejorar nuestras páginas de ayuda.",
        "satisfaction": "Gracias por valorar nuestra ayuda.",
        "invalid": "Este enlace no es válido.",
    },
    "it": {
        "title": "Grazie",
        "faq": "Grazie per la risposta: ci aiuta a migliorare le nostre pagine di aiuto.",
        "satisfaction": "Grazie per aver valutato il nostro aiuto.",
        "invalid": "Questo link non è valido.",
    },
    "pt": {
        "title": "Obrigado",
        "faq": "Obrigado pela resposta: ajuda-nos a melhorar as nossas páginas de ajuda.",
        "satisfaction": "Obrigado por avaliar a nossa ajuda.",
        "invalid": "Esta ligação não é válida.",
    },
    "fr": {
        "title": "Merci",
        "faq": "Merci pour votre réponse : elle nous aide à améliorer nos pages d'aide.",
        "satisfaction": "Merci d'avoir évalué notre aide.",
        "invalid": "Ce lien n'est pas valide.",
    },
    "de": {
        "title": "Vielen Dank",
        "faq": "Danke für Ihre Antwort: Sie hilft uns, unsere Hilfeseiten zu verbessern.",
        "satisfaction": "Danke, dass Sie unsere Hilfe bewertet haben.",
        "invalid": "Dieser Link ist ungültig.",
    },
}


def _texts(language: str | None) -> tuple[str, dict[str, str]]:
    if language in TEXTS:
        return language, TEXTS[language]
    fallback = runtime().settings.default_language
    fallback = fallback if fallback in TEXTS else "en"
    return fallback, TEXTS[fallback]


def _page(language: str | None, message_key: str, status: int = 200) -> Response:
    lang, texts = _texts(language)
    html = render_template("feedback/thanks.html", lang=lang, texts=texts, message=texts[message_key])
    response = make_response(html, status)
    # Nothing here may be cached by a proxy: every click must reach us.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/faq/<ref>/<entry_id>/<answer>/<signature>", methods=["GET"])
def faq_answer(ref: str, entry_id: str, answer: str, signature: str) -> Response:
    verdict = check_feedback(runtime().settings.secret_key, ref, entry_id, answer, signature)
    if not verdict.valid:
        log.warning("refused FAQ feedback link for %s/%s: %s", ref, entry_id, verdict.reason)
        return _page(None, "invalid", 403)
    session = db()
    try:
        ticket = record_faq_answer(session, ref, entry_id, answer == "yes", utcnow())
    except UnknownLink as error:
        session.rollback()
        log.info("FAQ feedback for a deleted item: %s", error)
        return _page(None, "invalid", 404)
    language = ticket.language
    session.commit()
    return _page(language, "faq")


@bp.route("/satisfaction/<ref>/<score>/<signature>", methods=["GET"])
def satisfaction_answer(ref: str, score: str, signature: str) -> Response:
    verdict = check_satisfaction(runtime().settings.secret_key, ref, score, signature)
    if not verdict.valid:
        log.warning("refused satisfaction link for %s: %s", ref, verdict.reason)
        return _page(None, "invalid", 403)
    session = db()
    try:
        ticket = record_satisfaction(session, ref, int(score), utcnow())
    except UnknownLink:
        session.rollback()
        return _page(None, "invalid", 404)
    language = ticket.language
    session.commit()
    return _page(language, "satisfaction")
