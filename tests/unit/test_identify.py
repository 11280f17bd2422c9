from __future__ import annotations

from typing import Any

from mailbot.message import InboundMessage
from mailbot.pipeline.identify import ContactPlan, KnownContact, decide_contact, sender_handle


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
