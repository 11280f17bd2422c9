"""Contacts: search, one contact with its identities and tickets, and merging duplicates.

The pipeline matches a contact by its handle on each channel; one person writing from two
addresses becomes two contacts until someone merges them here."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from mailbot.store.models import Contact, ContactIdentity, Ticket
from mailbot.web.audit import record
from mailbot.web.store import db

bp = Blueprint("contacts", __name__)

PAGE_SIZE = 50


def _contact_state(contact: Contact) -> dict[str, object]:
    return {
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "language": contact.language,
        "identities": sorted(f"{i.channel}:{i.handle}" for i in contact.identities),
    }


def merge_contacts(session: Session, keep: Contact, duplicate: Contact) -> None:
    """Move everything of `duplicate` to `keep`, then delete `duplicate`. Kept values win;
    the duplicate's fill only what `keep` lacks."""
    if keep.id == duplicate.id:
        raise ValueError("a contact cannot be merged with itself")
    for identity in list(duplicate.identities):
        identity.contact = keep  # through the relationship, or deleting the duplicate orphans it
    session.execute(update(Ticket).where(Ticket.contact_id == duplicate.id).values(contact_id=keep.id))
    if not keep.name:
        keep.name = duplicate.name
    if not keep.language:
        keep.language = duplicate.language
    email = duplicate.email
    session.delete(duplicate)
    session.flush()  # the duplicate's unique e-mail must be gone before keep takes it
    if not keep.email and email:
        keep.email = email
    session.flush()


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
    return render_template("panel/contact.html", contact=contact, tickets=tickets)


def _find(reference: str) -> Contact | None:
    reference = reference.strip().lstrip("#")
    if reference.isdigit():
        return db().get(Contact, int(reference))
    found = db().scalar(select(Contact).where(func.lower(Contact.email) == reference.lower()))
    if found is None:
        found = db().scalar(
            select(Contact)
            .join(ContactIdentity)
            .where(func.lower(ContactIdentity.handle) == reference.lower())
        )
    return found


@bp.route("/contacts/<int:contact_id>/merge", methods=["POST"])
def merge(contact_id: int) -> ResponseReturnValue:
    keep = _contact_or_404(contact_id)
    duplicate = _find(request.form.get("other", ""))
    if duplicate is None or duplicate.id == keep.id:
        flash("No other contact with that e-mail, handle or number.", "error")
        return redirect(url_for("contacts.show", contact_id=keep.id))
    before = {"kept": _contact_state(keep), "merged": _contact_state(duplicate)}
    duplicate_id = duplicate.id
    merge_contacts(db(), keep, duplicate)
    db().refresh(keep)
    record(db(), "contact.merge", f"contact:{keep.id}", before, {"kept": _contact_state(keep)})
    db().commit()
    flash(f"Contact #{duplicate_id} merged into this one.", "ok")
    return redirect(url_for("contacts.show", contact_id=keep.id))
