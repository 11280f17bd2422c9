"""Channels: list, add, edit, test and delete chat and social channels and web forms.

Changes go through mailbot.channels (ChannelSpec, validate_spec, add_channel,
apply_spec), as the CLI's do. Secrets are never sent back to the browser: the form
shows a mask and an empty field keeps the stored secret. Each channel shows the URL
to paste into the platform's settings.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from mailbot.channels import (
    CHANNEL_TYPES,
    DEFAULT_API_BASES,
    KNOWN_OPTIONS,
    ChannelConfigError,
    ChannelSpec,
    add_channel,
    apply_spec,
    channel_options,
    validate_spec,
    webhook_path,
)
from mailbot.store.models import Channel
from mailbot.store.secrets import SecretUnreadable, decrypt_secret, mask_secret
from mailbot.web.audit import record
from mailbot.web.auth import admin_required
from mailbot.web.store import db, runtime

bp = Blueprint("channels_admin", __name__)


# Options that are shared secrets (Meta's webhook verification handshake compares the
# verify_token): shown as KEPT, and KEPT sent back keeps the stored value.
SECRET_OPTIONS = frozenset({"verify_token"})
KEPT = "(kept)"


def shown_options(channel: Channel) -> dict[str, str]:
    return {k: KEPT if k in SECRET_OPTIONS and v else v for k, v in channel_options(channel).items()}


def kept_options(submitted: dict[str, str], channel: Channel) -> dict[str, str]:
    stored = channel_options(channel)
    return {k: stored.get(k, "") if k in SECRET_OPTIONS and v == KEPT else v for k, v in submitted.items()}


def snapshot(channel: Channel) -> dict[str, Any]:
    """For the audit log: every setting, of a secret only whether it is set."""
    return {
        "type": channel.type,
        "name": channel.name,
        "api_base": channel.api_base,
        "options": {k: "set" if k in SECRET_OPTIONS else v for k, v in channel_options(channel).items()},
        "enabled": channel.enabled,
        "secret": "set" if channel.secret else "not set",
        "token": "set" if channel.token else "not set",
    }


def _masked(stored: str) -> str:
    try:
        return mask_secret(decrypt_secret(runtime().settings.secret_key, stored))
    except SecretUnreadable:
        return "unreadable (MAILBOT_SECRET_KEY changed): enter it again"


def public_url(path: str) -> str:
    base = os.environ.get("MAILBOT_PUBLIC_URL", "").rstrip("/") or request.host_url.rstrip("/")
    return base + path


def _spec_from_form() -> ChannelSpec:
    options: dict[str, str] = {}
    for line in request.form.get("options", "").splitlines():
        key, sep, value = line.partition("=")
        if not line.strip():
            continue
        if not sep:
            raise ChannelConfigError(f"option line {line!r} is not KEY=VALUE")
        options[key.strip()] = value.strip()
    return ChannelSpec(
        type=request.form.get("type", "").strip(),
        name=request.form.get("name", "").strip(),
        secret=request.form.get("secret", "").strip(),
        token=request.form.get("token", "").strip(),
        api_base=request.form.get("api_base", "").strip() or None,
        options=options,
    )


def _channel_or_404(channel_id: int) -> Channel:
    channel = db().get(Channel, channel_id)
    if channel is None:
        abort(404, description="There is no such channel.")
    return channel


def _render_form(
    channel: Channel | None, errors: list[str] | None = None, test: str | None = None, status: int = 200
) -> ResponseReturnValue:
    body = render_template(
        "panel/channel_form.html",
        channel=channel,
        options="\n".join(f"{k}={v}" for k, v in shown_options(channel).items()) if channel else "",
        masks={"secret": _masked(channel.secret), "token": _masked(channel.token)} if channel else {},
        url=public_url(webhook_path(channel.type, channel.name)) if channel else None,
        types=CHANNEL_TYPES,
        known_options=KNOWN_OPTIONS,
        default_api_bases=DEFAULT_API_BASES,
        errors=errors or [],
        test=test,
    )
    return Response(body, status=status)


@bp.route("/channels")
def index() -> str:
    channels = list(db().scalars(select(Channel).order_by(Channel.type, Channel.name)))
    urls = {c.id: public_url(webhook_path(c.type, c.name)) for c in channels}
    return render_template("panel/channels.html", channels=channels, urls=urls)


@bp.route("/channels/new", methods=["GET"])
def new() -> ResponseReturnValue:
    return _render_form(None)


@bp.route("/channels/new", methods=["POST"])
@admin_required
def create() -> ResponseReturnValue:
    try:
        channel = add_channel(db(), _spec_from_form(), runtime().settings.secret_key)
    except ChannelConfigError as error:
        db().rollback()
        return _render_form(None, [str(error)], status=422)
    record(db(), "channel.create", f"channel:{channel.type}/{channel.name}", None, snapshot(channel))
    db().commit()
    flash(f"Channel {channel.name} added. Paste its URL into the platform's webhook settings.", "ok")
    return redirect(url_for("channels_admin.edit", channel_id=channel.id))


@bp.route("/channels/<int:channel_id>", methods=["GET"])
def edit(channel_id: int) -> ResponseReturnValue:
    return _render_form(_channel_or_404(channel_id))


@bp.route("/channels/<int:channel_id>", methods=["POST"])
@admin_required
def update(channel_id: int) -> ResponseReturnValue:
    channel = _channel_or_404(channel_id)
    before = snapshot(channel)
    try:
        form = _spec_from_form()
        # Type and name make the webhook URL the platform calls: they do not change.
        options = kept_options(form.options, channel)
        spec = ChannelSpec(channel.type, channel.name, form.secret, form.token, form.api_base, options)
        validate_spec(spec, secret_stored=bool(channel.secret))
        apply_spec(channel, spec, runtime().settings.secret_key)
    except ChannelConfigError as error:
        db().rollback()
        return _render_form(_channel_or_404(channel_id), [str(error)], status=422)
    channel.enabled = request.form.get("enabled") == "1"
    after = snapshot(channel)
    for name in ("secret", "token"):
        if getattr(spec, name):
            after[name] = "changed"
    record(db(), "channel.update", f"channel:{channel.type}/{channel.name}", before, after)
    db().commit()
    flash(f"Channel {channel.name} saved.", "ok")
    return redirect(url_for("channels_admin.edit", channel_id=channel.id))


@bp.route("/channels/<int:channel_id>/test", methods=["POST"])
@admin_required
def test_channel(channel_id: int) -> ResponseReturnValue:
    """Can we reach the platform's API from here? Shows its own answer."""
    channel = _channel_or_404(channel_id)
    base = (channel.api_base or DEFAULT_API_BASES.get(channel.type, "")).rstrip("/")
    db().rollback()  # no transaction held while we wait on the network
    if not base:
        return _render_form(
            _channel_or_404(channel_id), test="This channel answers by mail: nothing to test."
        )
    try:
        answer = httpx.get(base, timeout=10.0, follow_redirects=False)
        result = f"{base} answered HTTP {answer.status_code}: {answer.text[:300]}"
    except httpx.HTTPError as error:
        result = f"{base} unreachable: {type(error).__name__}: {error}"
    return _render_form(_channel_or_404(channel_id), test=result)


@bp.route("/channels/<int:channel_id>/delete", methods=["POST"])
@admin_required
def delete(channel_id: int) -> ResponseReturnValue:
    channel = _channel_or_404(channel_id)
    record(db(), "channel.delete", f"channel:{channel.type}/{channel.name}", snapshot(channel), None)
    db().delete(channel)
    db().commit()
    flash(f"Channel {channel.name} removed; its tickets stay.", "ok")
    return redirect(url_for("channels_admin.index"))
