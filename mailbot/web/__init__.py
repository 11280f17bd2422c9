"""The admin panel: a Flask app of server-rendered pages, one blueprint per area.

Served by gunicorn as `mailbot.web.wsgi:app`. Pages need no JavaScript; the one small
script (the template preview) only makes a working form quicker.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Flask is imported in create_app: `mailbot admin` must not pay for it
    from flask import Flask, Response
    from werkzeug.exceptions import HTTPException

PANEL_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"

# Customer content is shown on these pages: no inline script may ever run, even if an
# escaping bug let markup through.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from flask import Flask
    from werkzeug.exceptions import HTTPException
    from werkzeug.middleware.proxy_fix import ProxyFix

    from mailbot.config import load_settings

    app = Flask(__name__, template_folder=str(PANEL_TEMPLATES), static_folder="static")
    settings = load_settings()
    app.config.from_mapping(
        # Derived, not the key itself: the session signing key and the secrets key stay
        # independent even though one setting feeds both.
        SECRET_KEY=hashlib.sha256(("mailbot-panel-session:" + settings.secret_key).encode()).hexdigest(),
        SESSION_COOKIE_NAME="mailbot_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_env_flag("MAILBOT_COOKIE_SECURE"),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    if test_config:
        app.config.from_mapping(test_config)
    trusted_proxies = int(os.environ.get("MAILBOT_TRUSTED_PROXIES", "0") or 0)
    if trusted_proxies:
        # Behind a reverse proxy the client's address (used by the login rate limit) is in
        # X-Forwarded-For; trust exactly as many hops as there are proxies, no more.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies)  # type: ignore[method-assign]

    from mailbot.api import views as api_views
    from mailbot.web import (
        api_tokens,
        audit,
        auth,
        canned_admin,
        channels_admin,
        contacts,
        csrf,
        dashboard,
        deliveries,
        failures,
        faq_admin,
        feedback,
        filters,
        forms,
        handoffs,
        mailboxes,
        observability,
        rules_admin,
        sla_admin,
        store,
        templates_admin,
        tickets,
        webhooks,
    )

    store.init_app(app)
    auth.init_app(app)  # before csrf: an anonymous POST is sent to the login page
    csrf.init_app(app)
    filters.init_app(app)
    for blueprint in (
        dashboard.bp,
        tickets.bp,
        contacts.bp,
        mailboxes.bp,
        channels_admin.bp,
        templates_admin.bp,
        rules_admin.bp,
        sla_admin.bp,
        canned_admin.bp,
        handoffs.bp,
        failures.bp,
        deliveries.bp,
        audit.bp,
        webhooks.bp,
        forms.bp,
        feedback.bp,
        faq_admin.bp,
        api_tokens.bp,
        api_views.bp,
        observability.bp,
    ):
        app.register_blueprint(blueprint)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        # Pages show customer data: keep them out of shared and back-button caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _http_error(error: HTTPException) -> Response | HTTPException:
    from flask import Response, render_template, request

    if error.code is None or error.code < 400:
        return error
    from mailbot.api import API_PATH

    if request.path.startswith(API_PATH):
        from mailbot.api.operations import problem_for

        return problem_for(error)
    body = render_template(
        "panel/error.html", code=error.code, name=error.name, description=error.description
    )
    return Response(body, status=error.code)
