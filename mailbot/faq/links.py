"""Signed links a customer follows without logging in: "was this helpful?" per suggested
FAQ entry, and the one-question satisfaction survey of a solved ticket.

A link names the ticket and what it answers, and carries an HMAC-SHA256 of them under the
secret key, so nobody can rate an entry on another customer's ticket or score a ticket
by guessing its (public) reference. The answer itself (yes/no, the score) is the
customer's choice and stands outside the signature: each link of a set differs only there.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

ANSWERS = ("yes", "no")
SCORES = (1, 2, 3, 4, 5)
FEEDBACK_PREFIX = "/feedback/faq"
SATISFACTION_PREFIX = "/feedback/satisfaction"
_SIGNATURE_HEX = 32  # 128 bits


def _sign(secret_key: str, label: str, *parts: str) -> str:
    message = "\x1f".join((label, *parts)).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:_SIGNATURE_HEX]


def feedback_signature(secret_key: str, ref: str, entry_id: str) -> str:
    return _sign(secret_key, "faq-feedback", ref.upper(), entry_id)


def satisfaction_signature(secret_key: str, ref: str) -> str:
    return _sign(secret_key, "satisfaction", ref.upper())


def feedback_path(secret_key: str, ref: str, entry_id: str, answer: str) -> str:
    return f"{FEEDBACK_PREFIX}/{ref}/{entry_id}/{answer}/{feedback_signature(secret_key, ref, entry_id)}"


def satisfaction_path(secret_key: str, ref: str, score: int) -> str:
    return f"{SATISFACTION_PREFIX}/{ref}/{score}/{satisfaction_signature(secret_key, ref)}"


def absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: str = ""


def check_feedback(secret_key: str, ref: str, entry_id: str, answer: str, signature: str) -> Verdict:
    if answer not in ANSWERS:
        return Verdict(False, "the answer must be yes or no")
    if not hmac.compare_digest(signature.lower(), feedback_signature(secret_key, ref, entry_id)):
        return Verdict(False, "the link's signature does not match")
    return Verdict(True)


def check_satisfaction(secret_key: str, ref: str, score: str, signature: str) -> Verdict:
    if not score.isdigit() or int(score) not in SCORES:
        return Verdict(False, "the score must be 1 to 5")
    if not hmac.compare_digest(signature.lower(), satisfaction_signature(secret_key, ref)):
        return Verdict(False, "the link's signature does not match")
    return Verdict(True)
