"""Secrets at rest (IMAP/SMTP passwords, OAuth tokens, channel secrets), encrypted with a
key derived from MAILBOT_SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "fernet:"


class SecretUnreadable(Exception):
    """The stored secret was encrypted with another MAILBOT_SECRET_KEY."""


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(("mailbot-secrets:" + secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(secret_key: str, plaintext: str) -> str:
    if not plaintext:
        return ""
    return PREFIX + _fernet(secret_key).encrypt(plaintext.encode()).decode()


def decrypt_secret(secret_key: str, stored: str) -> str:
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("stored secret is not in the encrypted format")
    try:
        return _fernet(secret_key).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("stored secret cannot be decrypted: MAILBOT_SECRET_KEY has changed") from error


def mask_secret(plaintext: str) -> str:
    """What the panel may show of a secret: never the whole of it."""
    if not plaintext:
        return ""
    return "•" * 8 + plaintext[-2:] if len(plaintext) > 6 else "•" * 8
