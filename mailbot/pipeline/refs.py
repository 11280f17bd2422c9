"""Ticket references and the reply tokens that carry them through replies.

A reference is short, unambiguous to read aloud (no 0/O, 1/I) and not guessable, so
a stranger cannot join a ticket by writing its number in a subject. The reply token
in a plus-address (support+mb-7k3q9p.1a2b3c4d@) is signed, so it can be trusted even
when the person replying is not the ticket's contact (a colleague in Cc).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

# "MB-" and six characters from an alphabet without I, O, 0 and 1, so a reference read
# aloud or retyped from a phone screen survives. The one definition: subjects.py reads
# references with it too.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PREFIX = "MB-"
_TOKEN = re.compile(rf"^({re.escape(PREFIX.lower())}[{ALPHABET.lower()}]{{6}})\.([0-9a-f]{{8}})$")


def new_ref() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(6))


def _signature(secret_key: str, ref: str) -> str:
    mac = hmac.new(secret_key.encode(), ("reply-token:" + ref.upper()).encode(), hashlib.sha256)
    return mac.hexdigest()[:8]


def reply_address(secret_key: str, support_address: str, ref: str) -> str:
    local, _, domain = support_address.partition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{ref.lower()}.{_signature(secret_key, ref)}@{domain}"


def ref_from_reply_address(secret_key: str, address: str) -> str | None:
    """The ticket reference a signed plus-address carries, or None."""
    local = address.partition("@")[0].lower()
    if "+" not in local:
        return None
    match = _TOKEN.match(local.split("+", 1)[1])
    if not match:
        return None
    ref = match.group(1).upper()
    if not hmac.compare_digest(match.group(2), _signature(secret_key, ref)):
        return None
    return ref


# The agent-reply address (support+agent.mb-7k3q9p.<20 hex>@): the Reply-To of a
# notification to agents. Distinct from the customer's reply address, and signed under
# its own label with a longer signature: what is sent there may be relayed to the
# customer in our name, so it must be much harder to forge than joining a ticket.
AGENT_TAG = "agent."
_AGENT_TOKEN = re.compile(
    rf"^{re.escape(AGENT_TAG)}({re.escape(PREFIX.lower())}[{ALPHABET.lower()}]{{6}})\.(.*)$"
)


@dataclass(frozen=True)
class AgentAddress:
    """What an address of the agent-reply shape says: the ticket it names, and whether
    its signature holds (a tampered or forged one names a ticket all the same)."""

    ref: str
    verified: bool


def _agent_signature(secret_key: str, ref: str) -> str:
    mac = hmac.new(secret_key.encode(), ("agent-reply-token:" + ref.upper()).encode(), hashlib.sha256)
    return mac.hexdigest()[:20]


def agent_reply_address(secret_key: str, support_address: str, ref: str) -> str:
    local, _, domain = support_address.partition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{AGENT_TAG}{ref.lower()}.{_agent_signature(secret_key, ref)}@{domain}"


def parse_agent_reply_address(secret_key: str, address: str) -> AgentAddress | None:
    """None unless the address has the agent-reply shape; then its ticket and verdict."""
    local = address.partition("@")[0].lower()
    if "+" not in local:
        return None
    match = _AGENT_TOKEN.match(local.split("+", 1)[1])
    if not match:
        return None
    ref = match.group(1).upper()
    return AgentAddress(ref, hmac.compare_digest(match.group(2), _agent_signature(secret_key, ref)))


def ack_message_id(secret_key: str, ref: str, support_address: str) -> str:
    """Deterministic, so a retried send carries the same id and replies find the ticket;
    signed, because In-Reply-To is trusted from any sender and a ref alone is public
    (it stands in every acknowledgement's subject)."""
    domain = support_address.partition("@")[2] or "mailbot.invalid"
    return f"mailbot.ack.{ref.lower()}.{_signature(secret_key, ref)}@{domain}"
