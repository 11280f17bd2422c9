"""Public web forms: `/forms/<name>` (contact) and `/forms/<name>/callback` (call me back).

A submission is stored like any inbound (the same durable row and job as a webhook
event), with the ticket reference reserved at once so the thank-you page can name it:
the visitor leaves knowing their reference, which is the acknowledgement promised.
Guards: the panel's CSRF token (csrf.py, for every POST), a honeypot field that
people never see and bots fill in, a rate limit per client address, field limits.
"""

from __future__ import annotations

import json
import uuid

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import select

from mailbot.channels import channel_options, find_channel
from mailbot.language import SUPPORTED
from mailbot.pipeline.refs import new_ref
from mailbot.sources.webhook_intake import store_events
from mailbot.store.models import Mailbox, Ticket
from mailbot.timeutil import utcnow
from mailbot.web.form_texts import FORM_TEXTS
from mailbot.web.store import db, runtime
from webhooks import WebhookEvent
from webhooks.form import plain_phone, valid_email

bp = Blueprint("forms", __name__)

HONEYPOT_FIELD = "website"
MAX_SUBMISSIONS_PER_ADDRESS = 10
RATE_WINDOW_SECONDS = 600
LIMITS = {"name": 200, "email": 320, "phone": 40, "message": 10_000, "preferred_time": 200}


def _language(options: dict[str, str]) -> str:
    configured = options.get("language")
    if configured in FORM_TEXTS:
        return configured
    best = request.accept_languages.best_match(SUPPORTED)
    return best if best in FORM_TEXTS else runtime().settings.default_language


def _form_channel(name: str) -> tuple[int, dict[str, str]]:
    channel = find_channel(db(), "form", name)
    if channel is None:
        abort(404, description=f"no form named {name!r}")
    result = channel.id, channel_options(channel)
    db().rollback()
    return result


def _too_many(address: str) -> bool:
    key = f"mailbot:forms:rate:{address}"
    pipe = runtime().redis.pipeline()
    pipe.incr(key)
    pipe.expire(key, RATE_WINDOW_SECONDS, nx=True)
    count, _ = pipe.execute()
    return int(count) > MAX_SUBMISSIONS_PER_ADDRESS


def _errors(kind: str, fields: dict[str, str], texts: dict[str, str]) -> dict[str, str]:
    errors = {name: texts["too_long"] for name, limit in LIMITS.items() if len(fields[name]) > limit}
    if fields["email"] and not valid_email(fields["email"]):
        errors["email"] = texts["bad_email"]
    if kind == "callback" and not plain_phone(fields["phone"]):
        errors["phone"] = texts["need_phone"]
    if kind == "contact":
        if not fields["message"]:
            errors["message"] = texts["need_message"]
        if not fields["email"] and not plain_phone(fields["phone"]):
            errors["email"] = texts["need_contact"]
    return errors


def _reserve_ref() -> str:
    while True:
        ref = new_ref()
        if db().scalar(select(Ticket.id).where(Ticket.ref == ref)) is None:
            return ref


def _page(name: str, kind: str) -> Response:
    channel_id, options = _form_channel(name)
    language = _language(options)
    texts = FORM_TEXTS[language]
    fields = {key: request.form.get(key, "").strip() for key in LIMITS}
    if request.method == "GET":
        body = render_template("forms/form.html", kind=kind, name=name, texts=texts, lang=language,
                               fields=fields, errors={}, title=options.get("title"))  # fmt: skip
        return Response(body)
    if request.form.get(HONEYPOT_FIELD):
        # A bot: it gets the page it expects and nothing is stored.
        return Response(render_template("forms/thanks.html", texts=texts, lang=language, ref=None, kind=kind))
    if _too_many(request.remote_addr or "unknown"):
        return Response(render_template("forms/thanks.html", texts=texts, lang=language, ref=None,
                                        kind=kind, refused=texts["too_many"]), status=429)  # fmt: skip
    errors = _errors(kind, fields, texts)
    if errors:
        body = render_template("forms/form.html", kind=kind, name=name, texts=texts, lang=language,
                               fields=fields, errors=errors, title=options.get("title"))  # fmt: skip
        return Response(body, status=400)
    ref = _reserve_ref()
    mailbox_id = None
    if options.get("mailbox"):
        mailbox_id = db().scalar(select(Mailbox.id).where(Mailbox.name == options["mailbox"]))
    db().rollback()
    submission = uuid.uuid4().hex
    payload = {
        **fields,
        "kind": kind,
        "ref": ref,
        "submission_id": submission,
        "submitted_at": utcnow().isoformat(),
        "language": language,
    }
    event = WebhookEvent(event_id=submission, payload=json.dumps(payload, ensure_ascii=False).encode())
    store_events(runtime(), channel_id, "form", name, [event], mailbox_id=mailbox_id)
    return Response(render_template("forms/thanks.html", texts=texts, lang=language, ref=ref, kind=kind))


@bp.route("/forms/<name>", methods=["GET", "POST"])
def contact(name: str) -> Response:
    return _page(name, "contact")


@bp.route("/forms/<name>/callback", methods=["GET", "POST"])
def callback(name: str) -> Response:
    return _page(name, "callback")
