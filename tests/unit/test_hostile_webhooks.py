"""Every webhook parser against hostile payloads (issue 12): a real platform payload with
one part replaced by anything JSON can hold, bodies that are not JSON or not UTF-8,
truncated bodies, JSON nested a thousand deep. The parsers may refuse (a 400 at the
edge) or give up on a stored event (quarantine), never crash; what they hand on is
something the store accepts."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.seeds import (
    CHANNELS,
    EXPECTED_ERRORS,
    as_json_seed,
    mutate_json,
    read_webhook,
    store_unsafe,
    webhook_seeds,
)
from webhooks import Rejected

SEEDS = webhook_seeds()
JSON_SEEDS = [(seed.channel_type, value) for seed in SEEDS if (value := as_json_seed(seed)) is not None]

# Strings that broke parsers elsewhere: NUL (PostgreSQL's text refuses it), a lone
# surrogate (JSON's "\ud800"; no UTF-8 encoder takes it), header injection, bidi
# overrides, a long line, numbers as strings.
HOSTILE_STRINGS = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "Eve\r\nBcc: victim@evil.test",
    "\u202egnp.exe",
    "A" * 5000,
    "-1",
    "1e309",
    "",
    " ",
    "<script>alert(1)</script>",
]
strings = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE_STRINGS))
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        strings,
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(strings, children, max_size=4),
    max_leaves=10,
)


def _read_all(channel_type: str, body: bytes) -> None:
    try:
        for msg in read_webhook(channel_type, body):
            assert store_unsafe(msg) == []
    except EXPECTED_ERRORS:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(JSON_SEEDS),
    path=st.lists(st.integers(min_value=0, max_value=50), max_size=7),
    replacement=json_values,
)
def test_a_real_payload_with_any_part_replaced_is_read_or_refused(seed, path, replacement) -> None:
    channel_type, value = seed
    body = json.dumps(mutate_json(value, path, replacement), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )
    _read_all(channel_type, body)


@settings(max_examples=150, deadline=None)
@given(channel_type=st.sampled_from(sorted(CHANNELS)), body=st.binary(max_size=300))
def test_any_bytes_are_read_or_refused(channel_type: str, body: bytes) -> None:
    _read_all(channel_type, body)


@settings(max_examples=150, deadline=None)
@given(seed=st.sampled_from(SEEDS), cut=st.integers(min_value=0, max_value=4000), junk=st.binary(max_size=8))
def test_truncated_or_garbled_bodies_are_read_or_refused(seed, cut: int, junk: bytes) -> None:
    _read_all(seed.channel_type, seed.body[: cut % (len(seed.body) + 1)] + junk)


@pytest.mark.parametrize("channel_type", sorted(set(CHANNELS) - {"twilio"}))
def test_json_nested_a_hundred_thousand_deep_is_a_400(channel_type: str) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(Rejected) as refused:
        list(read_webhook(channel_type, body))
    assert refused.value.status == 400


@pytest.mark.parametrize("channel_type", sorted(set(CHANNELS) - {"twilio"}))
def test_invalid_utf8_in_a_real_payload_is_a_400_not_a_crash(channel_type: str) -> None:
    seed = next(s for s in SEEDS if s.channel_type == channel_type)
    body = seed.body.replace(b'"', b'"\xff\xfe', 1)
    with pytest.raises(Rejected) as refused:
        list(read_webhook(channel_type, body))
    assert refused.value.status == 400


def test_nul_surrogates_and_line_breaks_from_a_payload_reach_the_store_clean() -> None:
    [seed] = [value for kind, value in JSON_SEEDS if kind == "generic"]
    hostile = {
        **seed,
        "text": "pedido\x00 88231 \ud800",
        "sender": {**seed["sender"], "name": "Eve\r\nBcc: x"},
    }
    body = json.dumps(hostile).encode()  # ASCII escapes, as most platforms send
    [msg] = read_webhook("generic", body)
    assert store_unsafe(msg) == []
    assert msg.text == "pedido 88231 \ufffd"
