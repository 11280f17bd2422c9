from __future__ import annotations

from typing import Any

from mailbot.message import InboundMessage, SenderIdentity
from mailbot.pipeline.identify import (
    ContactPlan,
    IdentityKey,
    KnownContact,
    Suggestion,
    claims_of,
    decide_contact,
    sender_handle,
)


def message(**overrides: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "channel": "email",
        "sender_address": "ana@customer.example",
        "sender_name": "Ana García",
        "subject": "Pedido",
        "text": "Hola",
        "language": "es",
    }
    fields.update(overrides)
    return InboundMessage(**fields)


def by_identity(
    id: int, name: str = "Ana García", email: str | None = "ana@customer.example"
) -> KnownContact:
    return KnownContact(id, name, email, by_identity=True)


def by_email(id: int, name: str = "Ana García", email: str = "ana@customer.example") -> KnownContact:
    return KnownContact(id, name, email, by_identity=False)


def test_a_first_time_sender_becomes_a_new_contact_with_its_identity() -> None:
    plan = decide_contact(message(), [])
    assert plan == ContactPlan(
        contact=None, name="Ana García", email="ana@customer.example", language="es", add_identity=True
    )
    assert not plan.fills_name


def test_a_new_contact_from_a_chat_channel_has_no_email() -> None:
    plan = decide_contact(message(channel="telegram", sender_address="48213377", sender_name="Ana"), [])
    assert plan.contact is None and plan.email is None and plan.add_identity


def test_the_handle_is_the_lower_cased_address() -> None:
    msg = message(sender_address="Ana@Customer.Example")
    assert sender_handle(msg) == "ana@customer.example"
    assert decide_contact(msg, []).email == "ana@customer.example"


def test_a_known_identity_is_that_contact_and_nothing_is_added() -> None:
    known = by_identity(7)
    plan = decide_contact(message(), [known])
    assert plan.contact == known and not plan.add_identity and not plan.fills_name


def test_a_known_contact_keeps_its_name_when_the_sender_writes_another() -> None:
    plan = decide_contact(message(sender_name="ANA G. (work)"), [by_identity(7, name="Ana García")])
    assert plan.name == "Ana García" and not plan.fills_name


def test_a_known_contact_without_a_name_gets_the_senders() -> None:
    plan = decide_contact(message(), [by_identity(7, name="")])
    assert plan.name == "Ana García" and plan.fills_name


def test_no_name_on_either_side_writes_nothing() -> None:
    plan = decide_contact(message(sender_name=""), [by_identity(7, name="")])
    assert plan.name == "" and not plan.fills_name


def test_a_contact_with_the_address_but_no_identity_gets_one() -> None:
    # An agent created or merged the contact before this address ever wrote in.
    known = by_email(8)
    plan = decide_contact(message(), [known])
    assert plan.contact == known and plan.add_identity


def test_the_identity_wins_over_another_contact_with_the_address() -> None:
    # After a merge the address may stay on the old contact; the identity says who it is now.
    identity, address = by_identity(7, email="ana.personal@gmail.test"), by_email(8)
    assert decide_contact(message(), [address, identity]).contact == identity


def test_the_same_contact_found_both_ways_is_one_contact() -> None:
    plan = decide_contact(message(), [by_identity(7), by_email(7)])
    assert plan.contact is not None and plan.contact.id == 7 and not plan.add_identity


def test_on_a_chat_channel_an_email_lookalike_is_not_a_match() -> None:
    msg = message(channel="telegram", sender_address="ana@customer.example")
    plan = decide_contact(msg, [by_email(8)])
    assert plan.contact is None


def test_a_candidate_with_another_address_is_not_the_sender() -> None:
    assert decide_contact(message(), [by_email(8, email="luis@customer.example")]).contact is None


def test_the_language_is_only_set_on_a_new_contact() -> None:
    assert decide_contact(message(language="it"), [by_identity(7)]).language is None
    assert decide_contact(message(language="it"), []).language == "it"


# -- claimed identities: linking across channels -----------------------------------


def generic(email: str | None = "ana@customer.example", phone: str | None = None) -> InboundMessage:
    claims = [SenderIdentity("email", email)] if email else []
    if phone:
        claims.append(SenderIdentity("phone", phone))
    return message(
        channel="generic",
        sender_type="generic",
        sender_address="cust-4411",
        claimed_identities=claims,
    )


def claimed(id: int, via: str, email: str | None = None) -> KnownContact:
    return KnownContact(id, "Ana García", email, by_identity=False, via=via)


def test_claims_are_normalised_and_invalid_numbers_dropped() -> None:
    msg = generic(email="Ana@Customer.Example", phone="600 111 222")
    assert claims_of(msg, "ES") == (
        IdentityKey("email", "ana@customer.example", "email"),
        IdentityKey("phone", "+34600111222", "phone"),
    )
    assert claims_of(generic(email=None, phone="12"), "ES") == ()


def test_a_whatsapp_or_sms_sender_claims_its_own_number() -> None:
    whatsapp = message(channel="whatsapp", sender_type="whatsapp", sender_address="+34600111222")
    sms = message(channel="twilio", sender_type="phone", sender_address="+34600111222")
    for msg in (whatsapp, sms):
        assert claims_of(msg, "GB") == (IdentityKey("phone", "+34600111222", "phone"),)


def test_an_email_sender_claims_nothing_beyond_its_handle() -> None:
    assert claims_of(message(), "ES") == ()


def test_a_chat_sender_without_claims_claims_nothing() -> None:
    assert claims_of(message(channel="telegram", sender_type="telegram", sender_address="4821"), "ES") == ()


def test_one_contact_holding_the_claimed_address_is_linked() -> None:
    msg = generic()
    claims = claims_of(msg, "ES")
    known = claimed(8, "email:ana@customer.example", "ana@customer.example")
    plan = decide_contact(msg, [known], claims)
    assert plan.contact == known and plan.add_identity
    assert plan.linked_by == "email:ana@customer.example"
    assert plan.links == () and plan.suggestions == ()


def test_a_claim_nobody_holds_is_added_to_the_linked_contact() -> None:
    msg = generic(phone="+34600111222")
    claims = claims_of(msg, "ES")
    plan = decide_contact(msg, [claimed(8, "email:ana@customer.example")], claims)
    assert plan.contact is not None and plan.contact.id == 8
    assert plan.links == (IdentityKey("phone", "+34600111222", "phone"),)


def test_claims_split_between_two_contacts_link_none_and_suggest_both() -> None:
    msg = generic(phone="+34600111222")
    claims = claims_of(msg, "ES")
    known = [claimed(8, "email:ana@customer.example"), claimed(9, "phone:+34600111222")]
    plan = decide_contact(msg, known, claims)
    assert plan.contact is None and plan.linked_by == ""
    assert plan.suggestions == (
        Suggestion(8, "same email ana@customer.example"),
        Suggestion(9, "same phone +34600111222"),
    )
    assert plan.links == ()  # each claim has its owner already
    assert plan.email is None  # the address is contact 8's: the new contact cannot take it


def test_a_known_handle_stays_its_contact_and_another_claim_owner_is_only_suggested() -> None:
    msg = generic()
    claims = claims_of(msg, "ES")
    plan = decide_contact(msg, [by_identity(7, email=None), claimed(8, "email:ana@customer.example")], claims)
    assert plan.contact is not None and plan.contact.id == 7 and not plan.add_identity
    assert plan.suggestions == (Suggestion(8, "same email ana@customer.example"),)


def test_a_claim_held_by_the_handles_own_contact_suggests_nothing() -> None:
    msg = generic()
    plan = decide_contact(
        msg, [by_identity(7), claimed(7, "email:ana@customer.example")], claims_of(msg, "ES")
    )
    assert plan.contact is not None and plan.contact.id == 7
    assert plan.suggestions == () and plan.links == ()


def test_a_new_generic_contact_takes_its_unclaimed_address_as_email() -> None:
    msg = generic(phone="600111222")
    plan = decide_contact(msg, [], claims_of(msg, "ES"))
    assert plan.contact is None and plan.email == "ana@customer.example"
    assert {k.channel for k in plan.links} == {"email", "phone"}


def test_one_contact_found_by_two_claims_is_still_one_contact() -> None:
    msg = generic(phone="+34600111222")
    known = [claimed(8, "email:ana@customer.example"), claimed(8, "phone:+34600111222")]
    plan = decide_contact(msg, known, claims_of(msg, "ES"))
    assert plan.contact is not None and plan.contact.id == 8 and plan.suggestions == ()
    assert plan.linked_by == "email:ana@customer.example, phone:+34600111222"


def test_a_whatsapp_number_links_to_the_contact_with_that_phone() -> None:
    msg = message(channel="whatsapp", sender_type="whatsapp", sender_address="+34600111222")
    plan = decide_contact(msg, [claimed(5, "phone:+34600111222")], claims_of(msg, "ES"))
    assert plan.contact is not None and plan.contact.id == 5 and plan.add_identity
