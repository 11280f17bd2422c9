"""Phone numbers as identities: one spelling (E.164) whatever the channel wrote.

Twilio and WhatsApp give numbers in E.164 already; a generic channel or a form gives what
a person typed ("600 111 222", "0049 30 1234567"). A number without a country code is read
in the region of the channel's or mailbox's language, else a configured default region.
Parsing and validation are Google's libphonenumber metadata (the `phonenumbers` package),
which follows numbering-plan changes that a hand-written rule would miss.
"""

from __future__ import annotations

import phonenumbers

# The region a national number is read in when the channel speaks this language: the
# country most of the language's customers of a European support desk dial from.
LANGUAGE_REGIONS = {"es": "ES", "it": "IT", "en": "GB", "pt": "PT", "fr": "FR", "de": "DE"}


def region_for(language: str | None, default_region: str) -> str:
    return LANGUAGE_REGIONS.get((language or "").lower(), default_region.upper())


def to_e164(raw: str, region: str) -> str | None:
    """`raw` in E.164 (+<country><number>), or None when it is no valid number."""
    text = raw.strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]  # the international prefix most of Europe dials
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
