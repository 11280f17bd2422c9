"""Whether a group-chat message is for us, by the channel's `groups` option.

`mentions` (the default): only when the bot is addressed (a Slack <@BOT> mention, a
Telegram @bot_username, a reply to the bot or a /command); `all`: every message;
`ignore`: none. One-to-one chats are always for us.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_GROUP_POLICY = "mentions"


def unaddressed_group(options: Mapping[str, str], *, group: bool, addressed: bool) -> bool:
    if not group:
        return False
    policy = options.get("groups") or DEFAULT_GROUP_POLICY
    if policy == "all":
        return False
    if policy == "ignore":
        return True
    return not addressed
