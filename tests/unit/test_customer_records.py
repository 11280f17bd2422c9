from __future__ import annotations

from datetime import timedelta

import pytest

from mailbot.customers.lookup import lookup_url, retry_delay
from mailbot.customers.records import CustomerFileError, CustomerRow, normalize_phone, parse_customers_csv


def test_a_csv_with_email_phone_name_and_attributes() -> None:
    rows = parse_customers_csv(
        "email,phone,name,plan,vip,payment_status\n"
        "Ana.Garcia@Example.com,+34 600 11 22 33,Ana García,gold,yes,paid\n"
        ",0034 611 000 111,Luis,basic,,failed\n"
    )
    assert rows == [
        CustomerRow(
            "ana.garcia@example.com",
            "+34600112233",
            "Ana García",
            {"plan": "gold", "vip": "yes", "payment_status": "paid"},
        ),
        CustomerRow(None, "+34611000111", "Luis", {"plan": "basic", "payment_status": "failed"}),
    ]


def test_header_case_spaces_and_an_excel_bom() -> None:
    rows = parse_customers_csv("\ufeffEmail , Name ,Plan\nana@example.com,Ana,gold\n")
    assert rows == [CustomerRow("ana@example.com", None, "Ana", {"plan": "gold"})]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,plan\nAna,gold\n", "needs an email or a phone column"),
        ("email,name\n,Ana\n", "line 2: neither an email nor a phone"),
        ("email,name\nnot-an-address,Ana\n", "line 2: 'not-an-address' is not an e-mail address"),
        ("email,name\na@example.com,Ana,extra\n", "line 2: more cells than the header"),
        ("", "needs an email or a phone column"),
    ],
)
def test_bad_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(CustomerFileError) as raised:
        parse_customers_csv(text)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("value", "phone"),
    [
        ("+34 600-11-22-33", "+34600112233"),
        ("0034600112233", "+34600112233"),
        ("34600112233", "+34600112233"),
        ("", None),
    ],
)
def test_phones_are_digits_with_a_plus(value: str, phone: str | None) -> None:
    assert normalize_phone(value) == phone


def test_lookup_urls_quote_the_keys() -> None:
    template = "http://crm.example/customers?email={email}"
    assert (
        lookup_url(template, "ana+shop@example.com", None)
        == "http://crm.example/customers?email=ana%2Bshop@example.com"
    )
    assert lookup_url("http://crm.example/by-phone/{phone}", None, "+34600112233") == (
        "http://crm.example/by-phone/%2B34600112233"
    )


def test_no_url_when_the_template_needs_a_key_we_lack() -> None:
    assert lookup_url("http://crm.example/by-phone/{phone}", "ana@example.com", None) is None
    assert lookup_url("http://crm.example/?email={email}", None, "+34600112233") is None


def test_retries_back_off_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
    ]
    assert retry_delay(20) == timedelta(hours=1)
