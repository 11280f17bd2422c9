"""The limits' defaults and their environment variables (README "## Limits")."""

from __future__ import annotations

import pytest

from mailbot.config import load_settings
from mailbot.limits import ENVIRONMENT, BadLimit, Limits, load_limits
from mailbot.pipeline.subjects import NORMALIZED_SUBJECT_CHARS, normalize_subject
from mailbot.store.models import OutboxEntry, Ticket


def test_defaults_are_the_documented_ones() -> None:
    limits = load_limits({})
    assert limits == Limits()
    assert (limits.max_message_bytes, limits.max_attachment_bytes, limits.max_webhook_bytes) == (
        32 * 1024 * 1024,
        10 * 1024 * 1024,
        1024 * 1024,
    )
    assert (limits.max_text_chars, limits.max_html_chars, limits.max_mime_depth) == (100_000, 1_000_000, 50)


def test_every_limit_has_its_variable() -> None:
    assert sorted(ENVIRONMENT.values()) == sorted(Limits.__dataclass_fields__)
    limits = load_limits({variable: str(n + 7) for n, variable in enumerate(ENVIRONMENT)})
    assert [getattr(limits, name) for name in ENVIRONMENT.values()] == [
        n + 7 for n in range(len(ENVIRONMENT))
    ]


@pytest.mark.parametrize("value", ["ten", "-1", "0", "1.5"])
def test_a_limit_that_is_not_a_positive_whole_number_is_refused_by_name(value: str) -> None:
    with pytest.raises(BadLimit, match=f"MAILBOT_MAX_TEXT_CHARS={value!r}"):
        load_limits({"MAILBOT_MAX_TEXT_CHARS": value})


def test_the_settings_carry_them(tmp_path) -> None:
    settings = load_settings(
        {"MAILBOT_DATA_DIR": str(tmp_path), "MAILBOT_SECRET_KEY": "k", "MAILBOT_MAX_ATTACHMENT_BYTES": "5"}
    )
    assert settings.limits.max_attachment_bytes == settings.max_attachment_bytes == 5


def test_the_normalised_subject_is_cut_to_its_columns() -> None:
    assert NORMALIZED_SUBJECT_CHARS == Ticket.normalized_subject.type.length
    assert NORMALIZED_SUBJECT_CHARS == OutboxEntry.normalized_subject.type.length
    assert len(normalize_subject("Pedido " * 300)) == NORMALIZED_SUBJECT_CHARS
