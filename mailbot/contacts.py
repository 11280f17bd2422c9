"""Merging and unmerging contacts, for the panel and the command line alike.

A merge moves the duplicate's identities and tickets to the kept contact, fills only what
the kept one lacks, deletes the duplicate and records what it moved (ContactMerge) beside
an audit entry. Unmerging recreates the duplicate from that record and gives back the
identities and tickets that are still where the merge put them (a ticket opened after the
merge stays with the kept contact: the merge was in force when it was filed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from mailbot.store.models import Contact, ContactIdentity, ContactMerge, IdentitySuggestion, Ticket
from mailbot.timeutil import utcnow
from mailbot.web.audit import record


class ContactError(ValueError):
    """A merge or unmerge that cannot be done, with a reason for the agent."""


def contact_state(contact: Contact) -> dict[str, object]:
    return {
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "language": contact.language,
        "identities": sorted(f"{i.channel}:{i.handle}" for i in contact.identities),
    }


def find_contact_by_reference(session: Session, reference: str) -> Contact | None:
    """`42` / `#42` (an id), an e-mail address, or any identity's handle (a phone number,
    a platform id), case-insensitively."""
    reference = reference.strip()
    by_id_only = reference.startswith("#")
    reference = reference.lstrip("#")
    if not reference:
        return None
    # Platform ids are digits too (an X or Telegram user id): a number beyond a contact
    # id's range is a handle, and one that is no contact's id is tried as a handle next.
    if reference.isdigit() and int(reference) < 2**31:
        found = session.get(Contact, int(reference))
        if found is not None or by_id_only:
            return found
    found = session.scalar(select(Contact).where(func.lower(Contact.email) == reference.lower()))
    if found is None:
        found = session.scalar(
            select(Contact)
            .join(ContactIdentity)
            .where(func.lower(ContactIdentity.handle) == reference.lower())
            .limit(1)
        )
    return found


def merge_contacts(
    session: Session, keep: Contact, duplicate: Contact, actor: str | None = None
) -> ContactMerge:
    """Move everything of `duplicate` to `keep`, then delete `duplicate`. Kept values win;
    the duplicate's fill only what `keep` lacks."""
    if keep.id == duplicate.id:
        raise ContactError("a contact cannot be merged with itself")
    before = {"kept": contact_state(keep), "merged": contact_state(duplicate)}
    ticket_ids = list(session.scalars(select(Ticket.id).where(Ticket.contact_id == duplicate.id)))
    identity_ids = [i.id for i in duplicate.identities]
    for identity in list(duplicate.identities):
        identity.contact = keep  # through the relationship, or deleting the duplicate orphans it
    session.execute(update(Ticket).where(Ticket.contact_id == duplicate.id).values(contact_id=keep.id))
    filled = {
        "name": not keep.name and bool(duplicate.name),
        "language": not keep.language and bool(duplicate.language),
        "email": not keep.email and bool(duplicate.email),
    }
    if filled["name"]:
        keep.name = duplicate.name
    if filled["language"]:
        keep.language = duplicate.language
    moved: dict[str, Any] = {
        "name": duplicate.name,
        "email": duplicate.email,
        "language": duplicate.language,
        "identity_ids": identity_ids,
        "ticket_ids": ticket_ids,
        "filled": filled,
    }
    duplicate_id, email = duplicate.id, duplicate.email
    session.delete(duplicate)
    session.flush()  # the duplicate's unique e-mail must be gone before keep takes it
    if filled["email"]:
        keep.email = email
    merge = ContactMerge(kept_id=keep.id, merged_id=duplicate_id, moved=moved, actor=actor or "system")
    session.add(merge)
    session.flush()
    session.refresh(keep)
    record(
        session,
        "contact.merge",
        f"contact:{keep.id}",
        before,
        {"kept": contact_state(keep), "merge_id": merge.id},
        actor=actor,
    )
    return merge


def unmerge_contacts(session: Session, merge_id: int, actor: str | None = None) -> Contact:
    """Undo merge `merge_id`: the merged contact again, with what the merge moved."""
    merge = session.get(ContactMerge, merge_id)
    if merge is None:
        raise ContactError(f"there is no merge #{merge_id}")
    if merge.unmerged_at is not None:
        raise ContactError(f"merge #{merge_id} was already undone")
    keep = session.get(Contact, merge.kept_id)
    if keep is None:
        raise ContactError(f"the kept contact #{merge.kept_id} no longer exists")
    moved = dict(merge.moved)
    before = {"kept": contact_state(keep)}
    filled = moved.get("filled", {})
    if filled.get("email") and keep.email == moved.get("email"):
        keep.email = None
        session.flush()  # the unique address moves back to the recreated contact
    if filled.get("name") and keep.name == moved.get("name"):
        keep.name = ""
    if filled.get("language") and keep.language == moved.get("language"):
        keep.language = None
    email = moved.get("email")
    if email and session.scalar(select(Contact.id).where(Contact.email == email)) is not None:
        email = None  # another contact took the address meanwhile: it stays there
    restored = Contact(name=moved.get("name") or "", email=email, language=moved.get("language"))
    session.add(restored)
    session.flush()
    session.execute(
        update(ContactIdentity)
        .where(ContactIdentity.id.in_(moved.get("identity_ids", [])), ContactIdentity.contact_id == keep.id)
        .values(contact_id=restored.id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Ticket)
        .where(Ticket.id.in_(moved.get("ticket_ids", [])), Ticket.contact_id == keep.id)
        .values(contact_id=restored.id)
        .execution_options(synchronize_session=False)
    )
    merge.unmerged_at = utcnow()
    merge.moved = {**moved, "restored_id": restored.id}
    session.flush()
    session.expire_all()
    record(
        session,
        "contact.unmerge",
        f"contact:{keep.id}",
        before,
        {
            "kept": contact_state(session.get(Contact, keep.id)),  # type: ignore[arg-type]
            "restored": contact_state(session.get(Contact, restored.id)),  # type: ignore[arg-type]
            "merge_id": merge.id,
        },
        actor=actor,
    )
    return restored


def merges_of(session: Session, contact_id: int) -> list[ContactMerge]:
    """The merges into this contact, newest first (the panel offers to undo them)."""
    return list(
        session.scalars(
            select(ContactMerge).where(ContactMerge.kept_id == contact_id).order_by(ContactMerge.id.desc())
        )
    )


def open_suggestions(session: Session, contact_id: int | None = None) -> list[IdentitySuggestion]:
    query = select(IdentitySuggestion).where(IdentitySuggestion.dismissed_at.is_(None))
    if contact_id is not None:
        query = query.where(
            or_(
                IdentitySuggestion.contact_id == contact_id, IdentitySuggestion.other_contact_id == contact_id
            )
        )
    return list(session.scalars(query.order_by(IdentitySuggestion.id)))


def dismiss_suggestion(session: Session, suggestion_id: int, actor: str | None = None) -> IdentitySuggestion:
    suggestion = session.get(IdentitySuggestion, suggestion_id)
    if suggestion is None or suggestion.dismissed_at is not None:
        raise ContactError(f"there is no open suggestion #{suggestion_id}")
    suggestion.dismissed_at = utcnow()
    record(
        session,
        "contact.suggestion.dismiss",
        f"contact:{suggestion.contact_id}",
        {"contacts": [suggestion.contact_id, suggestion.other_contact_id], "reason": suggestion.reason},
        None,
        actor=actor,
    )
    return suggestion
