"""Waiting for new mail on a selected folder with IMAP IDLE (RFC 2177), without missing any.

A server reports new mail with an untagged `* n EXISTS` (RFC 3501 section 7.3.1), and
it may do so in the answer to any command (section 7: "the server checks the mailbox
for new messages as part of command execution"), not only while we IDLE. Each report
is made once. Two places lost it, and with it the first mail after a poller started
on a quiet mailbox until some later mail happened to arrive (issue 7):

- Mail that arrives after our last command and before we enter IDLE is, on Dovecot,
  not pushed during that IDLE but announced when it ends, in the answer to DONE:
  `idle_done()` returns it, and we dropped it.
- Mail that arrives in the last half second of an IDLE (Dovecot waits that long before
  it pushes) is announced neither then, nor in the answer to DONE, nor during the next
  IDLE; a NOOP right after DONE reports it (RFC 3501 section 6.1.2: NOOP is the poll
  for new mail). Measured on Dovecot 2.3.
- Mail that arrives during a sync is announced in the answer to its FETCH or SEARCH,
  which imapclient keeps to itself (mjs/imapclient#152). `settled()` asks the folder
  again instead: a fresh SELECT tells its UIDNEXT whatever was said before.
"""

from __future__ import annotations

from collections.abc import Iterable

from imapclient import IMAPClient

from mailbot.sources.imap_sync import folder_uidnext


def mail_arrived(responses: Iterable[object]) -> bool:
    """Whether imapclient's parsed untagged responses include an EXISTS, such as
    `(3, b'EXISTS')`; keep-alives like `(b'OK', b'Still here')` and flag changes do not."""
    return any(
        isinstance(response, tuple) and len(response) >= 2 and response[1] == b"EXISTS"
        for response in responses
    )


def idle_for_mail(client: IMAPClient, timeout: float) -> bool:
    """IDLE up to `timeout` seconds; True if the server announced new mail while we
    idled, in its answer to DONE, or in its answer to the NOOP that follows."""
    client.idle()
    # No DONE if this raises: the connection is gone, and the caller reconnects.
    pushed = client.idle_check(timeout=timeout)
    _, at_done = client.idle_done()
    _, at_noop = client.noop()
    return mail_arrived([*pushed, *at_done, *at_noop])


def settled(client: IMAPClient, folder: str, uidnext_at_sync: int | None) -> bool:
    """True if no mail arrived in `folder` since a sync that began with UIDNEXT
    `uidnext_at_sync`. UIDs only grow (RFC 3501 section 2.3.1.1), so an unchanged UIDNEXT
    means nothing new; a server that gives no UIDNEXT is left to IDLE's reports."""
    return folder_uidnext(client.select_folder(folder)) == uidnext_at_sync
