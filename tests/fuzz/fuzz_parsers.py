"""Coverage-guided fuzz target (atheris, libFuzzer) for every parser of untrusted bytes:
the MIME parser and each webhook platform's events + normalise.

The first byte of an input picks the parser, the rest is what that parser reads. Run it
bounded (tests/fuzz/test_fuzz.py does), or longer by hand:

    python -m tests.fuzz.fuzz_parsers -max_total_time=600 CORPUS_DIR

An input that raises anything but the refusals the product answers with (UnparseableMessage,
Rejected, UnreadableEvent) or yields text the store refuses is a crash: libFuzzer saves it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["mailbot.mail", "mailbot.pipeline.storable", "webhooks"]):
    from mailbot.limits import Limits
    from mailbot.mail.parse import UnparseableMessage, parse_email
    from mailbot.pipeline.storable import keep_within
    from tests.fuzz.seeds import (
        CHANNELS,
        EXPECTED_ERRORS,
        mail_seeds,
        read_webhook,
        store_unsafe,
        webhook_seeds,
    )

TARGETS = ["email", *sorted(CHANNELS)]
LIMITS = Limits()


def test_one_input(data: bytes) -> None:
    if not data:
        return
    target, body = TARGETS[data[0] % len(TARGETS)], data[1:]
    if target == "email":
        try:
            msg = keep_within(parse_email(body, max_attachment_bytes=1 << 16), LIMITS)
        except UnparseableMessage:
            return
        if store_unsafe(msg) or "\n" in msg.subject:
            raise AssertionError(f"unsafe fields {store_unsafe(msg)} or a subject of several lines")
        return
    try:
        for msg in read_webhook(target, body, detect_language=False):
            if store_unsafe(msg):
                raise AssertionError(f"{target}: fields the store refuses: {store_unsafe(msg)}")
    except EXPECTED_ERRORS:
        return


def write_seed_corpus(directory: Path) -> None:
    """The mail corpus and the platform payloads, each behind the byte that picks its parser."""
    directory.mkdir(parents=True, exist_ok=True)
    for index, raw in enumerate(mail_seeds()):
        (directory / f"email-{index:03d}").write_bytes(bytes([TARGETS.index("email")]) + raw)
    for index, seed in enumerate(webhook_seeds()):
        (directory / f"{seed.channel_type}-{index:03d}").write_bytes(
            bytes([TARGETS.index(seed.channel_type)]) + seed.body
        )


def main() -> None:
    # Python's own check on deep recursion is what the parsers must survive; libFuzzer's
    # default would count a RecursionError caught and handled as nothing special.
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
