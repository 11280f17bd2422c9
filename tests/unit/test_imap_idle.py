"""Which untagged responses announce new mail (RFC 3501 section 7.3.1), as imapclient
parses them from IDLE, DONE and NOOP answers."""

from __future__ import annotations

import pytest

from mailbot.sources.imap_idle import mail_arrived


@pytest.mark.parametrize(
    "responses",
    [
        [(1, b"EXISTS")],
        [(b"OK", b"Still here"), (7, b"EXISTS"), (7, b"RECENT")],
        [(3, b"EXPUNGE"), (3, b"EXISTS")],
        [(0, b"EXISTS")],  # a count at all is news: the folder changed under us
    ],
)
def test_an_exists_announces_mail(responses: list[object]) -> None:
    assert mail_arrived(responses)


@pytest.mark.parametrize(
    "responses",
    [
        [],
        [(b"OK", b"Still here")],
        [(2, b"FETCH", (b"FLAGS", (b"\\Seen",)))],
        [(4, b"EXPUNGE")],
        [(2, b"RECENT")],
        [b"EXISTS"],  # not a parsed response
        [(b"EXISTS",)],
    ],
)
def test_other_responses_do_not(responses: list[object]) -> None:
    assert not mail_arrived(responses)
