"""Identify: the contact behind a sender handle, created on first sight, and linked across
channels when the evidence is unambiguous.

`claims_of` reads which e-mail addresses and phone numbers the message vouches for (a
WhatsApp or SMS sender's own number, what a generic channel's system says about its user);
`load_known_contacts` reads every contact the handle or a claim could belong to, in one
statement; `decide_contact` picks one and says what to write, without I/O;
`identify_contact` writes it.

Linking is automatic only when one contact holds the evidence: the sender's handle, or
else every claimed address and number belonging to the same one contact. Anything else
(a claim held by another contact than the handle's, claims split between two contacts)
becomes a suggestion an agent merges or dismisses in the panel or with `mailbot contacts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    and_,
    cast,
    false,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from mailbot.message import InboundMessage, SenderIdentity
from mailbot.phones import to_e164
from mailbot.pipeline.chunk_reads import reads_of
from mailbot.store.id_pool import assign_id
from mailbot.store.models import Contact, ContactIdentity, IdentitySuggestion
from mailbot.timeutil import utcnow


@dataclass(frozen=True, order=True)
class IdentityKey:
    """Where a handle is unique: (channel, handle), as contact_identities stores it.

    Claims use "email" and "phone" as their channel whatever channel gave them, so the
    same number from WhatsApp and from a generic channel is one key."""

    channel: str
    handle: str
    kind: str  # the ticket JSON's identity type (message.SENDER_TYPES)

    @property
    def label(self) -> str:
        return f"{self.channel} {self.handle}"


@dataclass(frozen=True)
class KnownContact:
    """A stored contact, as far as identifying and threading need it."""

    id: int
    name: str
    email: str | None
    # The sender's handle on this channel is already one of the contact's identities
    # (False: found by its e-mail address, or by a claim).
    by_identity: bool = True
    # The claim ("email:ana@example.com", "phone:+34600111222") this row was found by;
    # "" for the handle itself, or a legacy e-mail lookup of an e-mail sender.
    via: str = ""
    # Created by this filing: it has no tickets yet, so nothing needs to look for them.
    created: bool = False
    since: datetime | None = None  # when the contact was first seen (None: not read)


@dataclass(frozen=True)
class Suggestion:
    other_contact_id: int
    reason: str


@dataclass(frozen=True)
class ContactPlan:
    """Who the sender is, and what filing the message must write about them."""

    contact: KnownContact | None  # None: a new contact, with the fields below
    name: str
    email: str | None
    language: str | None
    add_identity: bool
    # Claimed identities no contact holds yet: added to the sender's contact.
    links: tuple[IdentityKey, ...] = ()
    # Contacts that may be the same person, for an agent to decide.
    suggestions: tuple[Suggestion, ...] = ()
    # Why an existing contact was chosen without its handle: "email ana@..." ("" otherwise).
    linked_by: str = ""

    @property
    def fills_name(self) -> bool:
        return self.contact is not None and self.contact.name != self.name


def sender_handle(msg: InboundMessage) -> str:
    return msg.sender_handle


def handle_key(msg: InboundMessage) -> IdentityKey:
    return IdentityKey(msg.channel, sender_handle(msg), msg.sender_type)


def claims_of(msg: InboundMessage, phone_region: str) -> tuple[IdentityKey, ...]:
    """The addresses and numbers the message vouches for, normalised: e-mail lower-cased,
    phones in E.164 read in `phone_region` when they lack a country code (invalid ones are
    dropped: a typo must not link two people).

    A WhatsApp or SMS sender's number is verified by the platform (the message came from
    it); a generic channel's sender fields come signed by the customer's own system."""
    keys: dict[IdentityKey, None] = {}
    given = list(msg.claimed_identities)
    if msg.sender_type in ("whatsapp", "phone") and msg.sender_address:
        given.append(SenderIdentity("phone", msg.sender_address))
    for identity in given:
        if identity.type == "email" and "@" in identity.value:
            keys[IdentityKey("email", identity.value.strip().lower(), "email")] = None
        elif identity.type == "phone":
            number = to_e164(identity.value, phone_region)
            if number:
                keys[IdentityKey("phone", number, "phone")] = None
    own = handle_key(msg)
    return tuple(k for k in keys if (k.channel, k.handle) != (own.channel, own.handle))


def decide_contact(
    msg: InboundMessage, known: Sequence[KnownContact], claims: Sequence[IdentityKey] = ()
) -> ContactPlan:
    """The handle's own identity wins; on e-mail, a contact with that address comes next
    (one added by an agent, or merged, before this handle wrote in); then the one contact
    every claim points to; else a new contact. A known contact's name is kept, and only
    filled in when it has none."""
    handle = sender_handle(msg)
    by_identity = next((c for c in known if c.by_identity), None)
    by_email = next(
        (
            c
            for c in known
            if msg.channel == "email" and not c.via and not c.by_identity and c.email == handle
        ),
        None,
    )
    owners: dict[str, set[int]] = {}  # claim label -> contact ids holding it
    contacts = {c.id: c for c in known}
    for c in known:
        if c.via:
            owners.setdefault(c.via, set()).add(c.id)
    claimed_by = {cid for ids in owners.values() for cid in ids}
    unowned = tuple(k for k in claims if f"{k.channel}:{k.handle}" not in owners)

    contact = by_identity or by_email
    linked_by = ""
    suggestions: list[Suggestion] = []
    if contact is None and len(claimed_by) == 1:
        contact = contacts[next(iter(claimed_by))]
        linked_by = ", ".join(sorted(owners))
    others = sorted(claimed_by - ({contact.id} if contact else set()))
    for other in others:
        held = sorted(label for label, ids in owners.items() if other in ids)
        suggestions.append(
            Suggestion(other, "same " + ", ".join(label.replace(":", " ", 1) for label in held))
        )
    if contact is None:
        emails = [k.handle for k in unowned if k.channel == "email"]
        return ContactPlan(
            contact=None,
            name=msg.sender_name,
            email=handle if msg.channel == "email" else (emails[0] if emails else None),
            language=msg.language,
            add_identity=True,
            links=unowned,
            suggestions=tuple(suggestions),
        )
    return ContactPlan(
        contact=contact,
        name=contact.name or msg.sender_name,
        email=contact.email,
        language=None,
        add_identity=by_identity is None,
        links=unowned,
        suggestions=tuple(suggestions),
        linked_by=linked_by,
    )


def load_known_contacts(
    session: Session, msg: InboundMessage, claims: Sequence[IdentityKey] = ()
) -> list[KnownContact]:
    """The contact holding the sender's handle, on e-mail the one with that address, and
    those holding a claimed address or number.

    A UNION of indexed lookups (the identity's unique channel+handle, the contact's unique
    e-mail), one statement, a handful of rows; read for the whole chunk when it is filed
    in one and the message claims nothing else (chunk_reads.py)."""
    chunk = reads_of(session)
    if chunk is not None and not claims and (known := chunk.contacts_for(msg)) is not None:
        return known
    handle = sender_handle(msg)
    no_via = cast(null(), String)
    arms: list[Select] = [
        select(
            Contact.id,
            Contact.name,
            Contact.email,
            Contact.created_at,
            true().label("by_identity"),
            no_via.label("via"),
        )
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(ContactIdentity.channel == msg.channel, ContactIdentity.handle == handle)
    ]
    if msg.channel == "email":
        arms.append(
            select(Contact.id, Contact.name, Contact.email, Contact.created_at, false(), no_via).where(
                Contact.email == handle
            )
        )
    if claims:
        arms.append(
            select(
                Contact.id,
                Contact.name,
                Contact.email,
                Contact.created_at,
                false(),
                (ContactIdentity.channel + literal(":") + ContactIdentity.handle),
            )
            .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
            .where(
                or_(
                    *(
                        and_(ContactIdentity.channel == k.channel, ContactIdentity.handle == k.handle)
                        for k in claims
                    )
                )
            )
        )
        emails = [k.handle for k in claims if k.channel == "email"]
        if emails:
            arms.append(
                select(
                    Contact.id,
                    Contact.name,
                    Contact.email,
                    Contact.created_at,
                    false(),
                    literal("email:") + Contact.email,
                ).where(Contact.email.in_(emails))
            )
    query: Select | CompoundSelect = arms[0] if len(arms) == 1 else union_all(*arms)
    return [
        KnownContact(
            row.id, row.name or "", row.email, bool(row.by_identity), row.via or "", since=row.created_at
        )
        for row in session.execute(query)
    ]


def find_contact(session: Session, msg: InboundMessage) -> KnownContact | None:
    """The known contact behind the sender, without creating one."""
    return decide_contact(msg, load_known_contacts(session, msg)).contact


@dataclass(frozen=True)
class Identified:
    contact: KnownContact
    plan: ContactPlan


def identify_contact(session: Session, msg: InboundMessage, phone_region: str = "") -> KnownContact:
    return identify(session, msg, phone_region).contact


def identify(session: Session, msg: InboundMessage, phone_region: str = "") -> Identified:
    """The contact behind the sender, created with its identity on first sight, with the
    claimed identities nobody holds yet, and suggestions for the ambiguous rest."""
    claims = claims_of(msg, phone_region)
    plan = decide_contact(msg, load_known_contacts(session, msg, claims), claims)
    if plan.contact is None:
        created = Contact(name=plan.name, email=plan.email, language=plan.language, created_at=utcnow())
        session.add(created)
        assign_id(session, created)
        contact = KnownContact(created.id, plan.name, plan.email, created=True, since=created.created_at)
    else:
        contact = KnownContact(plan.contact.id, plan.name, plan.contact.email, since=plan.contact.since)
        if plan.fills_name:
            session.execute(
                update(Contact)
                .where(Contact.id == contact.id)
                .values(name=plan.name)
                .execution_options(synchronize_session=False)
            )
    keys = ([handle_key(msg)] if plan.add_identity else []) + list(plan.links)
    for key in keys:
        session.add(
            ContactIdentity(contact_id=contact.id, channel=key.channel, handle=key.handle, kind=key.kind)
        )
    if plan.suggestions:
        suggest_links(session, contact.id, plan.suggestions)
    return Identified(contact, plan)


def suggest_links(session: Session, contact_id: int, suggestions: Sequence[Suggestion]) -> None:
    """Store each suggestion once per pair of contacts, whichever way round it came up."""
    pairs = {
        (min(contact_id, s.other_contact_id), max(contact_id, s.other_contact_id)): s for s in suggestions
    }
    stored = {
        (row[0], row[1])
        for row in session.execute(
            select(IdentitySuggestion.contact_id, IdentitySuggestion.other_contact_id).where(
                or_(
                    *(
                        and_(IdentitySuggestion.contact_id == a, IdentitySuggestion.other_contact_id == b)
                        for a, b in pairs
                    )
                )
            )
        )
    }
    for (a, b), suggestion in pairs.items():
        if (a, b) not in stored:
            session.add(IdentitySuggestion(contact_id=a, other_contact_id=b, reason=suggestion.reason))
