"""The FAQ page: entries per language with their "was this helpful?" answers and flags,
an entry's edit form, an import of JSON Lines (as `mailbot faq import`), and the phone
number acknowledgements give per language. Agents may look; changes are for admins and
are audited."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailbot.faq.entries import FaqImportError, FaqRecord, import_faq, parse_faq_lines
from mailbot.faq.flags import flags_for, load_entry_stats
from mailbot.language import SUPPORTED
from mailbot.store.faq_models import FaqEntry, SupportPhone
from mailbot.timeutil import utcnow
from mailbot.web.audit import record
from mailbot.web.auth import admin_required
from mailbot.web.store import db, runtime

bp = Blueprint("faq_admin", __name__)

MAX_PHONE = 50


def _snapshot(entry: FaqEntry) -> dict[str, str | None]:
    return {
        "id": entry.id,
        "lang": entry.language,
        "question": entry.question,
        "answer": entry.answer,
        "url": entry.url,
    }


def _index_page(*, source: str = "", error: str | None = None, status: int = 200) -> Response:
    settings = runtime().settings
    now = utcnow()
    flagged_only = request.args.get("flagged") == "1"
    rows = []
    for stats in load_entry_stats(db(), request.args.get("lang") or None):
        flags = flags_for(
            stats, now, unhelpful_flag=settings.faq_unhelpful_flag, review_days=settings.faq_review_days
        )
        if flagged_only and not flags:
            continue
        rows.append({"stats": stats, "flags": flags})
    phones = {p.language: p.phone for p in db().scalars(select(SupportPhone))}
    page = render_template(
        "panel/faq.html",
        rows=rows,
        flagged_only=flagged_only,
        phones=phones,
        languages=SUPPORTED,
        source=source,
        error=error,
        settings=settings,
    )
    return Response(page, status=status)


@bp.route("/faq")
def index() -> ResponseReturnValue:
    return _index_page()


@bp.route("/faq/import", methods=["POST"])
@admin_required
def import_entries() -> ResponseReturnValue:
    source = request.form.get("source", "").replace("\r\n", "\n")
    try:
        records = parse_faq_lines(source)
    except FaqImportError as error:
        return _index_page(source=source, error=f"Nothing imported: {error}", status=422)
    added, updated = import_faq(db(), records, utcnow())
    record(db(), "faq.import", "faq_entries", None, {"ids": [r.id for r in records]})
    db().commit()
    flash(f"{len(records)} entries imported: {added} added, {updated} updated.", "ok")
    return redirect(url_for("faq_admin.index"))


@bp.route("/faq/phones", methods=["POST"])
@admin_required
def save_phones() -> ResponseReturnValue:
    now = utcnow()
    before = {p.language: p.phone for p in db().scalars(select(SupportPhone))}
    wanted = {language: " ".join(request.form.get(f"phone_{language}", "").split()) for language in SUPPORTED}
    for language, phone in wanted.items():  # all checked before anything changes
        if len(phone) > MAX_PHONE or any(c not in "+0123456789 ()-./" for c in phone):
            flash(f"Not saved: the {language} number may hold digits, spaces, + ( ) - . / only.", "error")
            return redirect(url_for("faq_admin.index"))
    for language, phone in wanted.items():
        row = db().get(SupportPhone, language)
        if phone and row is None:
            db().add(SupportPhone(language=language, phone=phone, updated_at=now))
        elif phone and row is not None and row.phone != phone:
            row.phone, row.updated_at = phone, now
        elif not phone and row is not None:
            db().delete(row)
    after = {language: phone for language, phone in wanted.items() if phone}
    record(db(), "faq.phones", "support_phones", before, after)
    db().commit()
    flash("Phone numbers saved; acknowledgements give them from now on.", "ok")
    return redirect(url_for("faq_admin.index"))


def _entry(entry_id: str) -> FaqEntry:
    entry = db().get(FaqEntry, entry_id)
    if entry is None:
        abort(404, description=f"no FAQ entry {entry_id!r}")
    return entry


@bp.route("/faq/<entry_id>")
def edit(entry_id: str) -> ResponseReturnValue:
    return render_template("panel/faq_entry.html", entry=_entry(entry_id), error=None)


@bp.route("/faq/<entry_id>", methods=["POST"])
@admin_required
def save(entry_id: str) -> ResponseReturnValue:
    entry = _entry(entry_id)
    form = request.form
    record_in = FaqRecord(
        entry.id,
        form.get("lang", "").strip().lower(),
        form.get("question", "").strip(),
        form.get("answer", "").replace("\r\n", "\n").strip(),
        form.get("url", "").strip() or None,
    )
    line = {
        "id": record_in.id,
        "lang": record_in.lang,
        "question": record_in.question,
        "answer": record_in.answer,
    }
    if record_in.url:
        line["url"] = record_in.url
    try:  # the same checks as an import, so the panel cannot store what the file refuses
        (checked,) = parse_faq_lines(json.dumps(line))
    except FaqImportError as error:
        message = str(error).removeprefix("line 1: ")
        return Response(render_template("panel/faq_entry.html", entry=entry, error=message), status=422)
    before = _snapshot(entry)
    import_faq(db(), [checked], utcnow())
    record(db(), "faq.update", entry.id, before, _snapshot(entry))
    db().commit()
    flash(f"Entry {entry.id} saved.", "ok")
    return redirect(url_for("faq_admin.index"))


@bp.route("/faq/<entry_id>/reviewed", methods=["POST"])
@admin_required
def mark_reviewed(entry_id: str) -> ResponseReturnValue:
    entry = _entry(entry_id)
    entry.reviewed_at = utcnow()
    record(db(), "faq.reviewed", entry.id)
    db().commit()
    flash(f"Entry {entry.id} marked reviewed: its flags start afresh.", "ok")
    return redirect(url_for("faq_admin.index"))


@bp.route("/faq/<entry_id>/delete", methods=["POST"])
@admin_required
def delete(entry_id: str) -> ResponseReturnValue:
    entry = _entry(entry_id)
    record(db(), "faq.delete", entry.id, _snapshot(entry), None)
    db().delete(entry)
    db().commit()
    flash(f"Entry {entry_id} deleted.", "ok")
    return redirect(url_for("faq_admin.index"))
