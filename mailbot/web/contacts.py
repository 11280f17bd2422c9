"""Contacts: search, one contact with its identities and tickets, and merging duplicates.

The pipeline matches a contact by its handle on each channel; one person writing from two
addresses becomes two contacts until someone merges them here."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from mailbot import contacts
from mailbot.store.models import Contact, ContactIdentity, IdentitySuggestion, Ticket
from mailbot.web.store import db

bp = Blueprint("contacts", __name__)
# Merging itself lives in mailbot/contacts.py: the command line does the same.

PAGE_SIZE = 50


@bp.route("/contacts")
def index() -> str:
    q = request.args.get("q", "").strip()[:200]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    tickets = (
        select(Ticket.contact_id, func.count(Ticket.id).label("n")).group_by(Ticket.contact_id).subquery()
    )
    query = select(Contact, func.coalesce(tickets.c.n, 0)).outerjoin(
        tickets, tickets.c.contact_id == Contact.id
    )
    if q:
        pattern = f"%{q}%"
        handles = select(ContactIdentity.contact_id).where(ContactIdentity.handle.ilike(pattern))
        query = query.where(
            or_(Contact.name.ilike(pattern), Contact.email.ilike(pattern), Contact.id.in_(handles))
        )
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (
        db().execute(query.order_by(Contact.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    )
    return render_template(
        "panel/contacts.html", rows=rows, q=q, page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    )


def _contact_or_404(contact_id: int) -> Contact:
    contact = db().scalar(
        select(Contact).options(selectinload(Contact.identities)).where(Contact.id == contact_id)
    )
    if contact is None:
        abort(404, description="There is no such contact.")
    return contact


@bp.route("/contacts/<int:contact_id>")
def show(contact_id: int) -> str:
    contact = _contact_or_404(contact_id)
    tickets = list(
        db().scalars(select(Ticket).where(Ticket.contact_id == contact.id).order_by(Ticket.created_at.desc()))
    )
    return render_template(
        "panel/contact.html",
        contact=contact,
        tickets=tickets,
        suggestions=contacts.open_suggestions(db(), contact.id),
        merges=contacts.merges_of(db(), contact.id),
    )


@bp.route("/contacts/<int:contact_id>/merge", methods=["POST"])
def merge(contact_id: int) -> ResponseReturnValue:
    keep = _contact_or_404(contact_id)
    duplicate = contacts.find_contact_by_reference(db(), request.form.get("other", ""))
    if duplicate is None or duplicate.id == keep.id:
        flash("No other contact with that e-mail, handle or number.", "error")
        return redirect(url_for("contacts.show", contact_id=keep.id))
    duplicate_id = duplicate.id
    merge = contacts.merge_contacts(db(), keep, duplicate)
    db().commit()
    flash(f"Contact #{duplicate_id} merged into this one (merge #{merge.id}).", "ok")
    return redirect(url_for("contacts.show", contact_id=keep.id))


@bp.route("/contacts/<int:contact_id>/unmerge/<int:merge_id>", methods=["POST"])
def unmerge(contact_id: int, merge_id: int) -> ResponseReturnValue:
    try:
        restored = contacts.unmerge_contacts(db(), merge_id)
    except contacts.ContactError as error:
        db().rollback()
        flash(str(error), "error")
        return redirect(url_for("contacts.show", contact_id=contact_id))
    db().commit()
    flash(f"Merge #{merge_id} undone: the contact is #{restored.id} again.", "ok")
    return redirect(url_for("contacts.show", contact_id=restored.id))


@bp.route("/contacts/suggestions/<int:suggestion_id>", methods=["POST"])
def decide_suggestion(suggestion_id: int) -> ResponseReturnValue:
    """Merge the suggested pair (the other contact into the one whose page this is), or
    dismiss the suggestion."""
    suggestion = db().get(IdentitySuggestion, suggestion_id)
    if suggestion is None or suggestion.dismissed_at is not None:
        abort(404, description="There is no such open suggestion.")
    here = request.form.get("contact_id", type=int) or suggestion.contact_id
    if request.form.get("action") == "merge":
        other_id = suggestion.other_contact_id if here == suggestion.contact_id else suggestion.contact_id
        keep, other = _contact_or_404(here), _contact_or_404(other_id)
        merge = contacts.merge_contacts(db(), keep, other)
        db().commit()
        flash(f"Contact #{other_id} merged into this one (merge #{merge.id}).", "ok")
    else:
        contacts.dismiss_suggestion(db(), suggestion_id)
        db().commit()
        flash("Suggestion dismissed.", "ok")
    return redirect(url_for("contacts.show", contact_id=here))
