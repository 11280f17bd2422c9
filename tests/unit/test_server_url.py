"""Server URLs: imap[s]://USER:PASS@HOST:PORT[/FOLDER] and smtp[s]://[USER:PASS@]HOST:PORT."""

from __future__ import annotations

import re

import pytest

from mailbot.sources.server_url import BadServerUrl, parse_server_url

IMAP = ("imap", "imaps")
SMTP = ("smtp", "smtps")


def test_a_full_imap_url() -> None:
    url = parse_server_url("imap://support:secret@mail.acme.test:1143/INBOX", IMAP)
    assert (url.scheme, url.host, url.port) == ("imap", "mail.acme.test", 1143)
    assert (url.user, url.password, url.path) == ("support", "secret", "INBOX")
    assert url.implicit_tls is False


def test_the_user_may_be_an_email_address() -> None:
    url = parse_server_url("imaps://support@acme.test:secret@imap.gmail.test/INBOX", IMAP)
    assert url.user == "support@acme.test"
    assert url.password == "secret"
    assert url.host == "imap.gmail.test"


def test_percent_encoded_credentials_are_decoded() -> None:
    url = parse_server_url("imaps://support%40acme.test:p%40ss%3Aw%2Frd%25@host/INBOX", IMAP)
    assert url.user == "support@acme.test"
    assert url.password == "p@ss:w/rd%"
    assert url.host == "host" and url.path == "INBOX"


def test_a_password_with_raw_colons_and_at_signs() -> None:
    url = parse_server_url("imap://ana:a:b@c@host:143", IMAP)
    assert (url.user, url.password, url.host) == ("ana", "a:b@c", "host")


def test_a_user_without_password() -> None:
    url = parse_server_url("smtp://relay@smtp.acme.test:587", SMTP)
    assert (url.user, url.password) == ("relay", None)


def test_no_credentials() -> None:
    url = parse_server_url("smtp://127.0.0.1:2525", SMTP)
    assert (url.user, url.password, url.host, url.port) == (None, None, "127.0.0.1", 2525)


@pytest.mark.parametrize(
    "url, port, tls",
    [
        ("imap://u:p@host", 143, False),
        ("imaps://u:p@host", 993, True),
        ("smtp://host", 25, False),
        ("smtps://host", 465, True),
        ("imaps://u:p@host/INBOX", 993, True),
        ("IMAPS://u:p@host", 993, True),
    ],
)
def test_default_ports_and_implicit_tls(url: str, port: int, tls: bool) -> None:
    allowed = IMAP if url.lower().startswith("imap") else SMTP
    parsed = parse_server_url(url, allowed)
    assert parsed.port == port
    assert parsed.implicit_tls is tls
    assert parsed.scheme == parsed.scheme.lower()


@pytest.mark.parametrize(
    "url, folder",
    [
        ("imap://u:p@host:143", ""),
        ("imap://u:p@host:143/", ""),
        ("imap://u:p@host:143/INBOX", "INBOX"),
        ("imap://u:p@host:143/INBOX/Soporte", "INBOX/Soporte"),
        ("imap://u:p@host:143/Soporte%20T%C3%A9cnico", "Soporte Técnico"),
        ("imap://u:p@host:143/Archive/2026/", "Archive/2026"),
    ],
)
def test_the_path_is_the_folder(url: str, folder: str) -> None:
    assert parse_server_url(url, IMAP).path == folder


@pytest.mark.parametrize(
    "url, host, port",
    [
        ("imap://u:p@[::1]:1143/INBOX", "::1", 1143),
        ("imaps://u:p@[2001:db8::25]/INBOX", "2001:db8::25", 993),
        ("smtp://[fe80::1]:25", "fe80::1", 25),
    ],
)
def test_ipv6_literals(url: str, host: str, port: int) -> None:
    allowed = IMAP if url.startswith("imap") else SMTP
    parsed = parse_server_url(url, allowed)
    assert (parsed.host, parsed.port) == (host, port)


@pytest.mark.parametrize(
    "url, allowed, message",
    [
        ("http://u:p@host/INBOX", IMAP, "imap:// or imaps://"),
        ("smtp://host:25", IMAP, "imap://"),
        ("imap://u:p@host", SMTP, "smtp:// or smtps://"),
        ("u:p@host:143", IMAP, "expected a URL"),
        ("", IMAP, "expected a URL"),
        ("imap://u:p@host:abc/INBOX", IMAP, "bad port"),
        ("imap://u:p@host:0/INBOX", IMAP, "bad port"),
        ("imap://u:p@host:65536/INBOX", IMAP, "bad port"),
        ("imap://u:p@host:-1/INBOX", IMAP, "bad port"),
        ("imap://u:p@:143/INBOX", IMAP, "no host"),
        ("imap://u:p@/INBOX", IMAP, "no host"),
        ("imap://[::1]x143/INBOX", IMAP, "bad port"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, allowed: tuple[str, ...], message: str) -> None:
    with pytest.raises(BadServerUrl, match=re.escape(message)):
        parse_server_url(url, allowed)


def test_bad_server_url_is_a_value_error() -> None:
    # The mailbox configuration turns ValueError into a message for the operator.
    assert issubclass(BadServerUrl, ValueError)


def test_highest_port_is_accepted() -> None:
    assert parse_server_url("smtp://host:65535", SMTP).port == 65535
