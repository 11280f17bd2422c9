"""Ticket references, signed reply addresses and acknowledgement Message-IDs."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from mailbot.pipeline.refs import (
    ALPHABET,
    ack_message_id,
    new_ref,
    ref_from_reply_address,
    reply_address,
)
from mailbot.pipeline.subjects import find_ticket_refs

KEY = "test-secret-key"


def test_alphabet_has_no_characters_that_read_alike() -> None:
    assert not set("01IO") & set(ALPHABET)
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    # The subject parser must recognise every reference we mint, and nothing else: it reads
    # them with the same alphabet (one definition, in refs.py).
    for position in range(6):
        for char in ALPHABET:
            ref = "MB-" + "A" * position + char + "A" * (5 - position)
            assert find_ticket_refs(f"[#{ref}]") == [ref]
    for char in sorted(set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") - set(ALPHABET)):
        assert find_ticket_refs(f"[#MB-AAA{char}AA]") == []


def test_new_refs_have_the_documented_shape_and_do_not_repeat() -> None:
    refs = [new_ref() for _ in range(500)]
    shape = re.compile(rf"^MB-[{ALPHABET}]{{6}}$")
    assert all(shape.match(ref) for ref in refs), [r for r in refs if not shape.match(r)]
    # 32**6 is about a billion: 500 draws colliding means the generator is not random.
    assert len(set(refs)) == 500
    assert all(find_ticket_refs(f"Re: [#{ref}] hola") == [ref] for ref in refs[:50])


def test_reply_address_round_trips() -> None:
    address = reply_address(KEY, "support@acme.test", "MB-7K3Q9P")
    assert re.fullmatch(r"support\+mb-7k3q9p\.[0-9a-f]{8}@acme\.test", address)
    assert ref_from_reply_address(KEY, address) == "MB-7K3Q9P"


def test_reply_address_survives_a_client_that_changes_case() -> None:
    address = reply_address(KEY, "support@acme.test", "MB-7K3Q9P")
    assert ref_from_reply_address(KEY, address.upper()) == "MB-7K3Q9P"


def test_reply_address_replaces_an_existing_plus_tag() -> None:
    address = reply_address(KEY, "support+es@acme.test", "MB-7K3Q9P")
    assert address.startswith("support+mb-7k3q9p.")
    assert ref_from_reply_address(KEY, address) == "MB-7K3Q9P"


def test_signature_depends_on_the_ref() -> None:
    one = reply_address(KEY, "support@acme.test", "MB-AAAAAA")
    two = reply_address(KEY, "support@acme.test", "MB-AAAAAB")
    assert one.split(".")[1] != two.split(".")[1]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda a: a.replace("mb-7k3q9p", "mb-7k3q9q"),  # another ticket, same signature
        lambda a: re.sub(r"\.([0-9a-f])", lambda m: "." + ("0" if m.group(1) != "0" else "1"), a, count=1),
        lambda a: re.sub(r"\.[0-9a-f]{8}@", ".00000000@", a),
        lambda a: re.sub(r"\.[0-9a-f]{8}@", "@", a),  # signature dropped
        lambda a: re.sub(r"\.([0-9a-f]{8})@", r".\g<1>0@", a),  # signature too long
    ],
)
def test_a_tampered_reply_address_is_rejected(tamper: Callable[[str], str]) -> None:
    address = reply_address(KEY, "support@acme.test", "MB-7K3Q9P")
    tampered = tamper(address)
    assert tampered != address
    assert ref_from_reply_address(KEY, tampered) is None


def test_an_address_signed_with_another_secret_is_rejected() -> None:
    address = reply_address("another installation's key", "support@acme.test", "MB-7K3Q9P")
    assert ref_from_reply_address(KEY, address) is None


@pytest.mark.parametrize(
    "address",
    [
        "support@acme.test",
        "support+mb-7k3q9p@acme.test",
        "support+newsletter@acme.test",
        "support+mb-7k3q9.12345678@acme.test",
        "support+mb-7k3q0p.12345678@acme.test",  # 0 is not in the alphabet
        "",
        "no-at-sign",
    ],
)
def test_addresses_without_a_valid_token_carry_no_ref(address: str) -> None:
    assert ref_from_reply_address(KEY, address) is None


def test_ack_message_id_is_deterministic_per_ticket_and_domain() -> None:
    first = ack_message_id("k", "MB-7K3Q9P", "support@acme.test")
    assert first == ack_message_id("k", "MB-7K3Q9P", "support@acme.test")
    assert first.startswith("mailbot.ack.mb-7k3q9p.") and first.endswith("@acme.test")
    assert ack_message_id("k", "MB-7K3Q9Q", "support@acme.test") != first
    assert ack_message_id("k", "MB-7K3Q9P", "ayuda@acme.es").endswith("@acme.es")
    assert ack_message_id("k", "MB-7K3Q9P", "").endswith("@mailbot.invalid")


def test_ack_message_id_cannot_be_derived_from_the_ref_alone() -> None:
    assert ack_message_id("k", "MB-7K3Q9P", "support@acme.test") != ack_message_id(
        "other", "MB-7K3Q9P", "support@acme.test"
    )
