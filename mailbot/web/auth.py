"""Login, logout, and who may see and change what.

Flask's session is a signed cookie; a copied cookie would stay valid after logout. So the
cookie only carries a random session id, and the session itself lives in Redis: logout
deletes it there and the cookie is worthless from then on."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from mailbot.api import API_PATH
from mailbot.store.panel_models import User
from mailbot.timeutil import utcnow
from mailbot.web import ratelimit
from mailbot.web.csrf import rotate_token
from mailbot.web.passwords import authenticate
from mailbot.web.store import db, runtime

bp = Blueprint("auth", __name__)

SESSION_TTL = timedelta(hours=12)
SESSION_PREFIX = "mailbot:panel:session"
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})
# Customers and platforms, not panel users: webhooks prove themselves by their
# signatures, the public forms by their CSRF token and rate limit, the feedback links
# (faq/links.py) by their HMAC signatures; probes and Prometheus (web/observability.py)
# read no customer data.
PUBLIC_BLUEPRINTS = frozenset({"webhooks", "forms", "feedback", "observability"})
# Never a panel session to load: no Redis round trip, and a probe must answer (503)
# while Redis is down instead of failing on the session lookup.
SESSIONLESS_BLUEPRINTS = frozenset({"webhooks", "observability"})

F = TypeVar("F", bound=Callable[..., Any])


def _session_key(sid: str) -> str:
    return f"{SESSION_PREFIX}:{sid}"


def load_user() -> None:
    g.user = None
    # The REST API authenticates every request by its bearer token (mailbot/api), also
    # the ones no route matches: a 404 or 405 there is the API's JSON, never the login page.
    if request.blueprint in SESSIONLESS_BLUEPRINTS or request.path.startswith(API_PATH):
        return  # a platform or an API client never has a panel session: no Redis round trip
    sid = session.get("sid")
    if not isinstance(sid, str):
        return
    try:
        user_id = runtime().redis.get(_session_key(sid))
    except (redis.ConnectionError, redis.TimeoutError):
        abort(503, description="Redis does not answer: logins and queues are unavailable until it is back.")
    if user_id is None:
        return
    user = db().get(User, int(user_id))
    if user is not None and user.active:
        g.user = user


def require_login() -> ResponseReturnValue | None:
    if (
        request.endpoint in PUBLIC_ENDPOINTS
        or request.blueprint in PUBLIC_BLUEPRINTS
        or request.path.startswith(API_PATH)
        or g.user is not None
    ):
        return None
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def admin_required(view: F) -> F:
    """For views that change configuration: agents may look, not change."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None or not g.user.is_admin:
            abort(403, description="Only administrators can change the configuration.")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an open redirect would make a phishing link look like ours.
    # Browsers read a backslash as a slash and drop tabs and newlines from URLs (WHATWG URL
    # standard), so "/\\evil.test" and "/\t/evil.test" would lead off the site: refused too.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(char) < 0x20 or ord(char) == 0x7F for char in target)
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("panel/login.html", email="", next=request.args.get("next", ""))
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    next_url = request.form.get("next", "")
    ip = request.remote_addr or "unknown"
    redis_client = runtime().redis
    locked = ratelimit.seconds_locked(redis_client, ip, email)
    if locked:
        flash(f"Too many failed attempts. Try again in {locked // 60 + 1} minutes.", "error")
        return Response(render_template("panel/login.html", email=email, next=next_url), status=429)
    user = authenticate(db(), email, password)
    if user is None:
        db().commit()
        ratelimit.record_failure(redis_client, ip, email)
        flash("Wrong e-mail or password.", "error")
        return Response(render_template("panel/login.html", email=email, next=next_url), status=401)
    user.last_login_at = utcnow()
    db().commit()
    ratelimit.clear_failures(redis_client, ip, email)
    # A new session id and CSRF token at login: nothing set before it (possibly by an
    # attacker, session fixation) carries over.
    session.clear()
    sid = secrets.token_urlsafe(32)
    redis_client.set(_session_key(sid), user.id, ex=SESSION_TTL)
    session["sid"] = sid
    session.permanent = True
    rotate_token()
    return redirect(_safe_next(next_url))


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    sid = session.get("sid")
    if isinstance(sid, str):
        runtime().redis.delete(_session_key(sid))
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    app.permanent_session_lifetime = SESSION_TTL
    app.before_request(load_user)
    app.before_request(require_login)
    app.register_blueprint(bp)
