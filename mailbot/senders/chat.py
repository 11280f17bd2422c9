"""The delivery loop every chat sender shares: one platform call per outbox row.

A platform's sender only says how one row becomes one HTTP call and where the sent
message's id is in the answer (`SendOne`); this loop does the rest the same way for all:
- the rows of one batch may belong to different configured channels of the type (two
  Slack workspaces): each row's ChannelConfig is loaded once per batch;
- `handover.begin` right before the call, `handover.done` with the platform's message id
  after it;
- a permanent refusal fails that row alone and the loop goes on;
- a temporary one (429, 5xx, unreachable) says the channel's API is not taking
  messages now: that row is retried, and the channel's remaining rows of the batch are
  retried with it without being tried, no sooner than the Retry-After it asked for;
  rows of the type's other channels still go out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from mailbot.channels import load_config
from mailbot.runtime import Runtime
from mailbot.senders import Handover, PermanentFailure, TemporaryFailure
from mailbot.senders.http import client
from mailbot.store.models import OutboxEntry
from mailbot.store.secrets import SecretUnreadable
from webhooks import ChannelConfig

log = logging.getLogger("mailbot.outbox")

# Sends one row through its channel; returns the id the platform gave the message.
SendOne = Callable[[httpx.Client, ChannelConfig, OutboxEntry], "str | None"]


def deliver_each(runtime: Runtime, entries: list[OutboxEntry], handover: Handover, send_one: SendOne) -> None:
    configs = _configs(runtime, entries)
    held: dict[int, TemporaryFailure] = {}  # channel id -> why its rows wait
    with client() as http:
        for entry in entries:
            config = configs.get(entry.channel_id) if entry.channel_id is not None else None
            if isinstance(config, Exception):
                handover.done(entry, config)
                continue
            if config is None:
                handover.done(entry, PermanentFailure(f"outbox {entry.id}: its channel no longer exists"))
                continue
            if config.id in held:
                handover.done(entry, held[config.id])
                continue
            if not handover.begin(entry):
                handover.done(entry)  # another worker holds it now
                continue
            try:
                external_id = send_one(http, config, entry)
            except PermanentFailure as failure:
                handover.done(entry, failure)
                continue
            except TemporaryFailure as failure:
                handover.done(entry, failure)
                held[config.id] = TemporaryFailure(
                    f"not tried after {failure}", definite=True, retry_after=failure.retry_after
                )
                continue
            except Exception as error:
                # Something in this row the call cannot carry: it fails alone and for good.
                log.exception("outbox %s: cannot be sent", entry.id)
                handover.done(entry, PermanentFailure(f"{type(error).__name__}: {error}"))
                continue
            handover.done(entry, external_id=external_id)


def _configs(runtime: Runtime, entries: list[OutboxEntry]) -> dict[int, ChannelConfig | Exception | None]:
    configs: dict[int, ChannelConfig | Exception | None] = {}
    with runtime.sessions() as session:
        for channel_id in {e.channel_id for e in entries if e.channel_id is not None}:
            try:
                configs[channel_id] = load_config(session, channel_id, runtime.settings.secret_key)
            except SecretUnreadable as error:
                # MAILBOT_SECRET_KEY changed: an admin's to fix; the rows wait, they do not fail.
                log.error("channel %s: cannot load its configuration: %s", channel_id, error)
                configs[channel_id] = TemporaryFailure(
                    f"channel {channel_id}: configuration unreadable: {error}", definite=True
                )
    return configs
