"""Acknowledgement templates per language: edit with a preview on a sample ticket; the
Jinja is parsed and rendered against that ticket before anything is saved."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailbot.ack_templates import (
    SAMPLE_CONTEXT,
    AckTemplateError,
    available_languages,
    check_ack_source,
    default_ack_source,
    languages_from_store,
)
from mailbot.store.panel_models import AckTemplateOverride
from mailbot.timeutil import utcnow
from mailbot.web.audit import record
from mailbot.web.auth import admin_required
from mailbot.web.store import db

bp = Blueprint("templates_admin", __name__)

# BCP 47 as far as we need it: "pt", "pt-BR", "es-419"; also bounds the column's 8 chars.
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$")


def _language_or_404(language: str) -> str:
    # "new" fits the pattern but is the add-a-language route's own name.
    if not LANGUAGE_RE.match(language) or len(language) > 8 or language == "new":
        abort(404)
    return language


def _override(language: str) -> AckTemplateOverride | None:
    return db().scalar(select(AckTemplateOverride).where(AckTemplateOverride.language == language))


def _preview(source: str) -> tuple[str | None, str | None, str | None]:
    """(subject, body, error) of the source rendered on the sample ticket."""
    try:
        subject, body = check_ack_source(source)
    except AckTemplateError as error:
        return None, None, str(error)
    return subject, body, None


def _editor(language: str, source: str, status: int = 200) -> ResponseReturnValue:
    subject, body, error = _preview(source)
    page = render_template(
        "panel/template_edit.html",
        language=language,
        source=source,
        override=_override(language),
        has_default=default_ack_source(language) is not None,
        sample=SAMPLE_CONTEXT,
        preview_subject=subject,
        preview_body=body,
        error=error,
    )
    return Response(page, status=status)


@bp.route("/templates")
def index() -> str:
    overrides = {o.language: o for o in db().scalars(select(AckTemplateOverride))}
    return render_template(
        "panel/templates.html",
        languages=languages_from_store(db()),
        files=set(available_languages()),
        overrides=overrides,
    )


@bp.route("/templates/<language>", methods=["GET"])
def edit(language: str) -> ResponseReturnValue:
    _language_or_404(language)
    override = _override(language)
    source = override.source if override else default_ack_source(language)
    if source is None:
        # A language added in the panel starts from the English text, to be translated.
        source = default_ack_source("en") or ""
    return _editor(language, source)


@bp.route("/templates/<language>/preview", methods=["POST"])
def preview(language: str) -> str:
    """The preview fragment alone, for the editor's live update (static/template_preview.js)."""
    _language_or_404(language)
    subject, body, error = _preview(request.form.get("source", ""))
    return render_template(
        "panel/_template_preview.html", preview_subject=subject, preview_body=body, error=error
    )


@bp.route("/templates/<language>", methods=["POST"])
def save(language: str) -> ResponseReturnValue:
    _language_or_404(language)
    source = request.form.get("source", "").replace("\r\n", "\n")
    if request.form.get("action") == "preview":  # the no-JavaScript preview
        return _editor(language, source)
    return _store(language, source)


@admin_required
def _store(language: str, source: str) -> ResponseReturnValue:
    try:
        check_ack_source(source)
    except AckTemplateError as error:
        flash(f"Not saved: {error}", "error")
        return _editor(language, source, status=422)
    override = _override(language)
    before = {"source": override.source if override else default_ack_source(language)}
    if override is None:
        override = AckTemplateOverride(language=language, source=source)
        db().add(override)
    override.source, override.updated_at, override.updated_by = source, utcnow(), g.user.email
    record(db(), "ack_template.update", f"ack_template:{language}", before, {"source": source})
    db().commit()
    flash(f"Template {language} saved; new acknowledgements use it.", "ok")
    return redirect(url_for("templates_admin.edit", language=language))


@bp.route("/templates/<language>/reset", methods=["POST"])
@admin_required
def reset(language: str) -> ResponseReturnValue:
    _language_or_404(language)
    override = _override(language)
    if override is not None:
        record(
            db(),
            "ack_template.reset",
            f"ack_template:{language}",
            {"source": override.source},
            {"source": default_ack_source(language)},
        )
        db().delete(override)
        db().commit()
        flash(f"Template {language} is back to the default.", "ok")
    return redirect(url_for("templates_admin.edit", language=language))


@bp.route("/templates/new", methods=["POST"])
@admin_required
def new() -> ResponseReturnValue:
    language = request.form.get("language", "").strip()
    if not LANGUAGE_RE.match(language) or len(language) > 8:
        flash("A language code looks like en, pt or pt-BR.", "error")
        return redirect(url_for("templates_admin.index"))
    return redirect(url_for("templates_admin.edit", language=language))
