"""HTML-to-text reads a bounded opening of an HTML part (Limits.max_html_read_chars):
megabytes of hostile markup cost a fraction of a second, not seconds (issue 11)."""

from __future__ import annotations

import time

import pytest

from mailbot.limits import Limits, load_limits
from mailbot.mail.html_text import html_opening
from mailbot.mail.parse import parse_email
from mailbot.pipeline.normalize import normalize_email

# Each costs 3 to 5 s per million characters to lay out without the bound (measured on
# the 2-core machine); 5 MB of them took 20 s or more.
HOSTILE = {
    "unclosed divs": "<div>x",
    "nested tables": "<table><tr><td><table><tr><td>a</td></tr></table></td></tr></table>",
    "table cells": "<table><tr><td>a</td><td>b</td></tr></table>",
}


def _html_mail(html: str) -> bytes:
    head = b"From: ana@example.es\r\nSubject: h\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    return head + html.encode()


def test_the_bound_is_a_limit_with_its_variable() -> None:
    assert Limits().max_html_read_chars == 200_000
    assert load_limits({"MAILBOT_MAX_HTML_READ_CHARS": "5000"}).max_html_read_chars == 5000


@pytest.mark.parametrize("unit", HOSTILE.values(), ids=HOSTILE.keys())
def test_five_megabytes_of_hostile_html_are_read_in_bounded_time(unit: str) -> None:
    html = "<p>Mi pedido no llega.</p>" + unit * (5_000_000 // len(unit))
    started = time.perf_counter()
    msg = normalize_email(
        _html_mail(html), staff_domains=frozenset(), default_language="en", max_attachment_bytes=1000
    )
    assert time.perf_counter() - started < 4.0  # about 1 s on a loaded 2-core machine
    assert msg.text.startswith("Mi pedido no llega.")
    assert any("text made from its first 200000" in w for w in msg.parse_warnings)


def test_the_text_comes_from_the_opening_cut_before_a_tag() -> None:
    html = "<p>Hola, mi pedido no llega.</p>" + '<p><a href="https://example.com/x">enlace</a></p>' * 50
    # The cut falls inside the second link's tag: it is dropped whole, never read as words.
    msg = parse_email(_html_mail(html), max_html_read_chars=100)
    assert msg.text == "Hola, mi pedido no llega.\n\nenlace (https://example.com/x)"
    assert msg.html == html  # the HTML itself is kept whole (up to max_html_chars)


def test_html_under_the_bound_is_read_whole_without_a_warning() -> None:
    html = "<p>Hola.</p>" * 10
    assert html_opening(html, len(html)) == html
    msg = parse_email(_html_mail(html), max_html_read_chars=len(html))
    assert msg.text.count("Hola.") == 10 and msg.parse_warnings == []


def test_an_opening_with_no_tag_to_cut_before_is_cut_at_the_bound() -> None:
    assert html_opening("x" * 50, 10) == "x" * 10
