"""CSRF protection: one random token per session, required on every state-changing request.

The session cookie is SameSite=Lax, which already stops most cross-site POSTs; the token
also covers old browsers and same-site attackers (another app on a sibling subdomain).
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

from mailbot.api import API_PATH

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token() -> str:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def rotate_token() -> str:
    """A fresh token, at login: a token planted before login must not survive it."""
    token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


# Webhooks are verified by the platform's signature instead: a platform has no session.
EXEMPT_BLUEPRINTS = frozenset({"webhooks"})


def check_csrf() -> None:
    if (
        request.method not in UNSAFE_METHODS
        or request.blueprint in EXEMPT_BLUEPRINTS
        # The REST API reads no cookie: a browser never sends its bearer token on its
        # own, which is what CSRF abuses.
        or request.path.startswith(API_PATH)
    ):
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FORM_FIELD) or request.headers.get(HEADER) or ""
    if (
        not isinstance(expected, str)
        or not expected
        or not hmac.compare_digest(expected.encode(), sent.encode())
    ):
        abort(
            400,
            description="The form's security token is missing or has expired. Reload the page and try again.",
        )


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.before_request(check_csrf)
