"""Classify rules for chat and social events, in the style of classify.py's mail rules.

A platform tells us plainly what mail only hints at: a Slack `bot_id` is the mail
world's Auto-Submitted, Meta's `is_echo` is our own Message-ID coming back. The
platform modules (webhooks/) read those markers into the InboundMessage; these rules
turn them into verdicts. Only a `message` from a person can be acknowledged.
"""

from __future__ import annotations

from mailbot.message import EVENT_MESSAGE, InboundMessage
from mailbot.pipeline.classify import AUTO_REPLY, OWN_ECHO, PLATFORM_EVENT, Context, Rule, rule


@rule(OWN_ECHO, "Our own message coming back: Meta is_echo, WhatsApp echoes, our X account, our bot.")
def own_chat_message(msg: InboundMessage, ctx: Context) -> str | None:
    if msg.from_us:
        return f"our own {msg.channel} message echoed back"
    return None


@rule(PLATFORM_EVENT, "Not a message: an edit, deletion, receipt, reaction, join or leave.")
def platform_event(msg: InboundMessage, ctx: Context) -> str | None:
    if msg.event != EVENT_MESSAGE:
        return f"{msg.channel} {msg.event} event, not a new message"
    return None


@rule(PLATFORM_EVENT, "A group chat message not addressed to us (channel option groups).")
def unaddressed_group(msg: InboundMessage, ctx: Context) -> str | None:
    if msg.unaddressed_group:
        return f"{msg.channel} group message not addressed to us"
    return None


@rule(AUTO_REPLY, "Written by a bot or an integration (Slack bot_id, Telegram is_bot).")
def bot_sender(msg: InboundMessage, ctx: Context) -> str | None:
    if msg.from_bot:
        return f"{msg.channel} message from a bot"
    return None


CHAT_RULES: tuple[Rule, ...] = (own_chat_message, platform_event, unaddressed_group, bot_sender)
