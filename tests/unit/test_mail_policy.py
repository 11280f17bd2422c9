"""Each header value parsed once per process, and parsed exactly as policy.default does."""

from __future__ import annotations

import uuid
from email import policy

import pytest

from mailbot.mail.mail_policy import HEADER_FACTORY
from mailbot.mail.parse import parse_email
from mailbot.pipeline.classify import classify


def _alternative_mail() -> bytes:
    """A webmail-style mail whose boundary and sender no earlier test has seen."""
    token = uuid.uuid4().hex
    return (
        f"From: Ana Ruiz <ana.{token}@example.es>\r\n"
        "To: support@example.com\r\n"
        "Subject: Pedido sin llegar\r\n"
        "Date: Mon, 4 Mar 2024 10:15:00 +0000\r\n"
        f"Message-ID: <{token}@example.es>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{token}"\r\n'
        "\r\n"
        f"--{token}\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Hola, mi pedido no ha llegado.\r\n"
        f"--{token}\r\n"
        'Content-Type: text/html; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "<p>Hola, mi pedido no ha llegado.</p>\r\n"
        f"--{token}--\r\n"
    ).encode()


def _parses() -> int:
    return HEADER_FACTORY.cache_info().misses


def test_parsing_and_classifying_a_mail_parses_each_header_value_at_most_once() -> None:
    raw = _alternative_mail()
    before = _parses()
    msg = parse_email(raw)
    classify(msg, ["support@example.com"])
    # The stdlib reads the three Content-Types a dozen times between them and classify
    # asks for the top one three times more; the new values here are the top
    # Content-Type and the From (the rest recur from mail to mail), and at most every
    # header line once.
    new_parses = _parses() - before
    header_lines = sum(1 for line in raw.split(b"\r\n") if b": " in line and not line.startswith(b" "))
    assert 1 <= new_parses <= header_lines
    assert msg.text == "Hola, mi pedido no ha llegado." and msg.content_type == "multipart/alternative"

    again = _parses()
    parse_email(raw)
    classify(msg, ["support@example.com"])
    assert _parses() == again  # every value served from the first parse


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("content-type", 'text/plain; charset="utf-8"; format=flowed'),
        ("content-type", "multipart/report; report-type*=us-ascii''delivery-status; boundary=x"),
        ("content-type", "text/plain; charset=\udce9"),  # a raw 8-bit byte, as the parser hands it over
        ("content-type", "text/plain; name=\"unterminated"),
        ("content-disposition", "attachment; filename*=UTF-8''factura%20marzo.pdf"),
        ("to", 'Ana "Ruiz" <ana@example.es>, =?utf-8?q?Jos=C3=A9?= <jose@example.es>'),
        ("to", "not an address at all <<"),
        ("content-transfer-encoding", "7bit"),
    ],
)
def test_a_remembered_parse_is_policy_defaults_parse(name: str, value: str) -> None:
    expected = policy.default.header_factory(name, value)
    for found in (HEADER_FACTORY(name, value), HEADER_FACTORY(name, value)):
        assert str(found) == str(expected) and found.name == expected.name
        assert [type(d) for d in found.defects] == [type(d) for d in expected.defects]
        for attribute in ("content_type", "params", "addresses", "cte"):
            assert getattr(found, attribute, None) == getattr(expected, attribute, None)


def test_a_huge_header_value_is_parsed_but_not_kept() -> None:
    value = "text/plain; " + "; ".join(f"p{i}={uuid.uuid4().hex}" for i in range(200))
    before = HEADER_FACTORY.cache_info()
    assert HEADER_FACTORY("content-type", value).params["p0"]
    after = HEADER_FACTORY.cache_info()
    assert (after.misses, after.currsize) == (before.misses, before.currsize)
