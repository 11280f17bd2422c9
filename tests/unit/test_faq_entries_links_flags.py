"""The FAQ file format, the signed feedback links and the review flags: pure, many cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mailbot.faq.entries import FaqImportError, parse_faq_lines
from mailbot.faq.flags import EntryStats, flags_for
from mailbot.faq.links import (
    check_feedback,
    check_satisfaction,
    feedback_path,
    feedback_signature,
    satisfaction_path,
)
from mailbot.store.faq_models import FaqEntry

GOOD = {
    "id": "es-password",
    "lang": "es",
    "question": "¿Contraseña?",
    "answer": "Pulsa «olvidé».",
    "url": "https://h.test/x",
}


def _line(**changes: object) -> str:
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}, ensure_ascii=False)


def test_a_good_file_parses_blank_lines_skipped_url_optional() -> None:
    records = parse_faq_lines(_line() + "\n\n" + _line(id="en-x", lang="EN", url=...) + "\n")
    assert [(r.id, r.lang, r.url) for r in records] == [
        ("es-password", "es", "https://h.test/x"),
        ("en-x", "en", None),
    ]
    assert records[0].question == "¿Contraseña?"


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "empty"),
        ("not json", "line 1: not JSON"),
        ("[1, 2]", "not a JSON object"),
        (_line(question=...), "'question' must be a non-empty string"),
        (_line(answer="  "), "'answer'"),
        (_line(id=7), "'id'"),
        (_line(id="has space"), "no spaces"),
        (_line(id="a/b"), "no spaces or '/'"),
        (_line(lang="español"), "'lang'"),
        (_line(url="javascript:alert(1)"), "'url' must be an http(s) URL"),
        (_line(extra=1), "unknown key(s) extra"),
        (_line() + "\n" + _line(), "line 2: id 'es-password' is already on line 1"),
        (_line() + "\n" + _line(id="b", lang=""), "line 2"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line(text: str, says: str) -> None:
    with pytest.raises(FaqImportError, match=None) as error:
        parse_faq_lines(text)
    assert says in str(error.value)


SECRET = "k" * 32


def test_feedback_links_verify_and_a_tampered_one_does_not() -> None:
    path = feedback_path(SECRET, "MB-7K3Q9P", "es-password", "yes")
    _, _, _, ref, entry, answer, signature = path.split("/")
    assert (ref, entry, answer) == ("MB-7K3Q9P", "es-password", "yes")
    assert check_feedback(SECRET, ref, entry, "yes", signature).valid
    assert check_feedback(SECRET, ref, entry, "no", signature).valid  # the answer is the customer's choice
    assert check_feedback(SECRET, ref.lower(), entry, "no", signature).valid  # refs are case-blind
    assert not check_feedback(SECRET, "MB-7K3Q9Q", entry, "yes", signature).valid  # another ticket
    assert not check_feedback(SECRET, ref, "es-invoice", "yes", signature).valid  # another entry
    assert not check_feedback("other-key", ref, entry, "yes", signature).valid
    assert not check_feedback(SECRET, ref, entry, "yes", signature[:-1] + "0").valid
    assert not check_feedback(SECRET, ref, entry, "maybe", signature).valid
    assert feedback_signature(SECRET, ref, entry) != feedback_signature(SECRET, ref, "es-invoice")


def test_satisfaction_links_verify_scores_one_to_five_only() -> None:
    path = satisfaction_path(SECRET, "MB-7K3Q9P", 4)
    *_, ref, score, signature = path.split("/")
    assert score == "4" and check_satisfaction(SECRET, ref, "1", signature).valid
    for bad in ("0", "6", "-1", "4.5", "x"):
        assert not check_satisfaction(SECRET, ref, bad, signature).valid
    assert not check_satisfaction(SECRET, "MB-AAAAAA", "4", signature).valid
    # A feedback signature is no satisfaction signature: the labels differ.
    assert not check_satisfaction(SECRET, ref, "4", feedback_signature(SECRET, ref, "x")).valid


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _stats(yes: int, no: int, reviewed_days_ago: int = 1) -> EntryStats:
    entry = FaqEntry(
        id="e", language="en", question="q", answer="a", reviewed_at=NOW - timedelta(days=reviewed_days_ago)
    )
    return EntryStats(entry, yes, no)


@pytest.mark.parametrize(
    "yes, no, days, flagged",
    [
        (0, 0, 1, []),
        (0, 2, 1, []),  # twice is not "again and again"
        (0, 3, 1, ["unhelpful"]),
        (5, 3, 1, []),  # more found it helpful than not
        (3, 3, 1, []),
        (2, 4, 1, ["unhelpful"]),
        (0, 0, 180, ["reviewed"]),
        (0, 0, 179, []),
        (0, 9, 400, ["unhelpful", "reviewed"]),
    ],
)
def test_flags(yes: int, no: int, days: int, flagged: list[str]) -> None:
    reasons = flags_for(_stats(yes, no, days), NOW, unhelpful_flag=3, review_days=180)
    assert len(reasons) == len(flagged)
    for word, reason in zip(flagged, reasons, strict=True):
        assert word in reason


def test_flags_can_be_switched_off() -> None:
    assert flags_for(_stats(0, 50, 900), NOW, unhelpful_flag=0, review_days=0) == []
