"""`/webhooks/<type>/<name>`: platforms' requests in, verified, stored, answered at once.

Cheap at the edge (Zulip's email mirror, shared/style.md): verify the signature, store
each event's bytes under its platform id, enqueue, answer 2xx. Nothing is interpreted
here; a worker normalises and files the events. Slack wants an answer within 3 s, and
every platform retries a slow or failed answer, so nothing slow happens before it.

Answers: 200 for an accepted or repeated event; 401 for a bad signature or a stale
timestamp (nothing stored but a log line); 400 for a body the platform module cannot
read; 404 for an unknown channel; 413 over the body limit (limits.py) and 415 for a
compressed body (no platform compresses what it posts; decompressing one is how a small
request becomes gigabytes), both logged.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from flask import Blueprint, Response, abort, request
from werkzeug.exceptions import RequestEntityTooLarge

from mailbot.channels import config_of, find_channel
from mailbot.observability.logs import log_fields
from mailbot.sources.webhook_intake import store_events
from mailbot.web.store import db, runtime
from webhooks import CHANNEL_TYPES, ChannelConfig, Rejected, Reply, WebhookRequest, load_channel_types

log = logging.getLogger("mailbot.ingest")

bp = Blueprint("webhooks", __name__)

# A channel's configuration is read at most this often per process: the hot path of a
# busy channel is then one INSERT per event.
CONFIG_TTL_SECONDS = 5.0

_configs: dict[tuple[str, str], tuple[float, ChannelConfig | None]] = {}
_configs_lock = threading.Lock()


def _config(channel_type: str, name: str) -> ChannelConfig | None:
    now = time.monotonic()
    with _configs_lock:
        cached = _configs.get((channel_type, name))
    if cached is not None and now - cached[0] < CONFIG_TTL_SECONDS:
        return cached[1]
    row = find_channel(db(), channel_type, name)
    config = config_of(row, runtime().settings.secret_key) if row is not None else None
    db().rollback()  # read-only: release SQLite's lock at once
    with _configs_lock:
        _configs[(channel_type, name)] = (now, config)
    return config


def _public_url() -> str:
    """The URL the platform called. Twilio signs it; behind a proxy Flask sees another."""
    base = os.environ.get("MAILBOT_PUBLIC_URL", "").rstrip("/")
    if not base:
        return request.url
    path = request.full_path
    return base + (path[:-1] if path.endswith("?") else path)


def _webhook_request() -> WebhookRequest:
    body = request.get_data(cache=True)
    form: dict[str, str] = {}
    if request.mimetype == "application/x-www-form-urlencoded":
        form = {key: request.form.get(key, "") for key in request.form}
    return WebhookRequest(
        method=request.method,
        url=_public_url(),
        headers={k.lower(): v for k, v in request.headers.items()},
        query={key: request.args.get(key, "") for key in request.args},
        body=body,
        form=form,
        received_at=time.time(),
    )


def _refuse(channel_type: str, name: str, status: int, reason: str) -> Response:
    log.warning("%s/%s: refused (%s): %s", channel_type, name, status, reason)
    return Response(reason + "\n", status=status, content_type="text/plain")


def _respond(reply: Reply) -> Response:
    return Response(reply.body, status=reply.status, content_type=reply.content_type)


@bp.route("/webhooks/<channel_type>/<name>", methods=["GET", "POST"])
def receive(channel_type: str, name: str) -> Response:
    with log_fields(channel=channel_type):
        return _receive(channel_type, name)


def _receive(channel_type: str, name: str) -> Response:
    load_channel_types()
    kind = CHANNEL_TYPES.get(channel_type)
    if kind is None or channel_type == "form":
        abort(404, description=f"no webhook channel type {channel_type!r}")
    limit = runtime().settings.limits.max_webhook_bytes
    # The declared length first, so an oversize body is never read; then what was read,
    # for a chunked body that declares none.
    if (request.content_length or 0) > limit:
        return _refuse(channel_type, name, 413, f"webhook bodies are limited to {limit} bytes")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return _refuse(channel_type, name, 415, f"compressed webhook bodies ({encoding}) are not accepted")
    config = _config(channel_type, name)
    if config is None:
        abort(404, description=f"no {channel_type} channel named {name!r}")
    # One byte more than the limit: Werkzeug stops a chunked body there without a word
    # (no length was declared), so a body that long is one too long.
    request.max_content_length = limit + 1
    try:
        incoming = _webhook_request()
    except RequestEntityTooLarge:
        incoming = None
    if incoming is None or len(incoming.body) > limit:
        return _refuse(channel_type, name, 413, f"webhook bodies are limited to {limit} bytes")
    try:
        if request.method == "GET":
            if kind.handshake is None:
                abort(405)
            return _respond(kind.handshake(incoming, config))
        kind.verify(incoming, config)
        found = kind.events(incoming, config)
    except Rejected as rejected:
        return _refuse(channel_type, name, rejected.status, rejected.reason)
    if isinstance(found, Reply):
        return _respond(found)
    stored = store_events(runtime(), config.id, channel_type, name, found) if found else []
    log.debug("%s/%s: %s events, %s new", channel_type, name, len(found), len(stored))
    return Response("ok\n", status=200, content_type="text/plain")
