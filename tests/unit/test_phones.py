from __future__ import annotations

import pytest

from mailbot.phones import region_for, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+34600111222", "GB", "+34600111222"),  # a country code wins over the region
        ("600 111 222", "ES", "+34600111222"),
        ("600-11-12-22", "ES", "+34600111222"),
        ("0034 600 111 222", "GB", "+34600111222"),  # the European international prefix
        ("+39 333 123 4567", "ES", "+393331234567"),
        ("333 1234567", "IT", "+393331234567"),
        ("030 12345678", "DE", "+493012345678"),
        ("(0)20 7946 0958", "GB", "+442079460958"),
        ("912 345 678", "PT", "+351912345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
    ],
)
def test_numbers_become_e164(raw: str, region: str, expected: str) -> None:
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "   ", "12", "abc", "+34 12", "600 111 222 333 444"])
def test_what_is_no_valid_number_is_none(raw: str) -> None:
    assert to_e164(raw, "ES") is None


def test_the_same_national_number_means_another_phone_in_another_region() -> None:
    assert to_e164("612345678", "ES") != to_e164("612345678", "FR")


def test_a_region_comes_from_the_language_or_the_default() -> None:
    assert region_for("es", "GB") == "ES"
    assert region_for("DE", "GB") == "DE"
    assert region_for(None, "it") == "IT"
    assert region_for("nl", "PT") == "PT"  # no region for the language: the default
