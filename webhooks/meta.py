"""What every Meta webhook shares (WhatsApp Cloud API, Messenger, Instagram messaging).

Not a channel type itself: whatsapp.py and messenger.py register theirs with these pieces.

- Signature: Meta signs each POST with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
  the raw body, keyed with the app secret>` (developers.facebook.com/docs/graph-api/
  webhooks/getting-started, "Validate payloads"). The signature covers no timestamp, so
  a replayed request verifies: it is made harmless by the event ids, which the store
  keeps unique per channel.
- Subscription handshake: a GET with `hub.mode=subscribe`, `hub.verify_token` (the
  string configured in the app dashboard: our option `verify_token`) and `hub.challenge`,
  answered with the challenge alone; anything else is refused with 403.
- Bodies: `{"object": ..., "entry": [...]}`; each entry names the page, Instagram
  account or WhatsApp Business Account it is about.
"""

from __future__ import annotations

from typing import Any

from webhooks import ChannelConfig, Rejected, Reply, WebhookRequest
from webhooks.checks import hmac_sha256_hex, json_object, required_header, same_secret
from webhooks.payload import object_list

SIGNATURE_HEADER = "x-hub-signature-256"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac_sha256_hex(secret, body)


def verify(request: WebhookRequest, channel: ChannelConfig) -> None:
    given = required_header(request, SIGNATURE_HEADER)
    if not given.startswith("sha256="):
        raise Rejected(401, f"{SIGNATURE_HEADER} is not sha256=<hex>")
    # Meta writes the hex digest in lower case; a proxy that upper-cased it changed nothing.
    if not same_secret(signature(channel.secret, request.body), given.lower()):
        raise Rejected(401, f"{SIGNATURE_HEADER} does not match the body")


def handshake(request: WebhookRequest, channel: ChannelConfig) -> Reply:
    wanted = channel.options.get("verify_token", "")
    mode = request.query.get("hub.mode", "")
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if mode != "subscribe" or not challenge:
        raise Rejected(403, "not a subscription request (hub.mode=subscribe with hub.challenge)")
    # Without a configured verify_token nobody can prove they are the app's owner.
    if not wanted or not same_secret(wanted, token):
        raise Rejected(403, "hub.verify_token does not match the channel's verify_token")
    return Reply(200, challenge.encode(), "text/plain; charset=utf-8")


def parse_body(request: WebhookRequest, objects: tuple[str, ...]) -> list[dict[str, Any]]:
    """The entries of a webhook body whose `object` is one of `objects`; 400 otherwise."""
    body = json_object(request)
    if body.get("object") not in objects:
        raise Rejected(400, f"object {body.get('object')!r} is not {' or '.join(objects)}")
    if not isinstance(body.get("entry"), list):
        raise Rejected(400, "entry is not a list")
    return object_list(body, "entry")
