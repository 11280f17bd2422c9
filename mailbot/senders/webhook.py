"""Outbound webhook sender: a notification POSTed to an external helpdesk or CRM, signed
with the target's secret exactly as the generic channel signs (webhooks/generic.py):

    POST <url>
    Content-Type: application/json; charset=utf-8
    X-Mailbot-Timestamp: <Unix seconds>
    X-Mailbot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>
    {"event": "message.created", "ticket": {...}, "message": {...}}

The body was fixed when the row was written (pipeline/notify.py), so every attempt sends
the same event; the timestamp and signature are made per attempt, so a retry an hour
later is still inside the receiver's replay window. HTTP answers mean what they mean
for every platform (senders/http.py): 429 and 5xx are retried with the outbox's backoff,
another 4xx fails the row, shown in the panel.
"""

from __future__ import annotations

import logging
import time

from mailbot.runtime import Runtime
from mailbot.senders import Handover, PermanentFailure, TemporaryFailure, sender
from mailbot.senders.http import call_api, client
from mailbot.store.models import DeliveryTarget, OutboxEntry
from mailbot.store.secrets import SecretUnreadable, decrypt_secret
from webhooks.generic import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

log = logging.getLogger("mailbot.outbox")


def signed_headers(secret: str, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def _secrets(runtime: Runtime, entries: list[OutboxEntry]) -> dict[str, str | Exception]:
    found: dict[str, str | Exception] = {}
    with runtime.sessions() as session:
        for target_id in {e.fields.get("target_id", "") for e in entries}:
            target = session.get(DeliveryTarget, int(target_id)) if target_id.isdigit() else None
            if target is None:
                found[target_id] = PermanentFailure("its delivery target was removed")
                continue
            try:
                found[target_id] = decrypt_secret(runtime.settings.secret_key, target.secret)
            except SecretUnreadable as error:
                # MAILBOT_SECRET_KEY changed: an admin's to fix; the rows wait, they do not fail.
                found[target_id] = TemporaryFailure(f"webhook secret unreadable: {error}", definite=True)
    return found


@sender("webhook")
def send_webhook(runtime: Runtime, entries: list[OutboxEntry], handover: Handover) -> None:
    secrets = _secrets(runtime, entries)
    with client() as http:
        for entry in entries:
            secret = secrets[entry.fields.get("target_id", "")]
            if isinstance(secret, Exception):
                handover.done(entry, secret)
                continue
            if not handover.begin(entry):
                handover.done(entry)  # another worker holds it now
                continue
            body = entry.body.encode()
            try:
                # The bytes signed are the bytes sent: serialised once, passed as content.
                call_api(
                    http, "POST", entry.fields["url"], content=body, headers=signed_headers(secret, body)
                )
            except (PermanentFailure, TemporaryFailure) as failure:
                handover.done(entry, failure)
                continue
            except Exception as error:
                log.exception("outbox %s: cannot be sent", entry.id)
                handover.done(entry, PermanentFailure(f"{type(error).__name__}: {error}"))
                continue
            handover.done(entry)
