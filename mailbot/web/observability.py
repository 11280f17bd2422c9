"""`/healthz`, `/readyz` and `/metrics`: for load balancers, orchestrators and Prometheus.

No login: the callers are machines without a panel session. They show no customer data
and no configuration beyond mailbox names (in the poller lag); keep `/metrics` to the
monitoring network at the reverse proxy where even that is too much.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from mailbot.observability.figures import load_figures
from mailbot.observability.metrics import exposition
from mailbot.observability.redis_client import quick_client
from mailbot.web.store import runtime

log = logging.getLogger("mailbot.web")

bp = Blueprint("observability", __name__)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is up and serving requests; nothing else is looked at."""
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready when the store and Redis both answer; otherwise 503 naming what does not.
    The errors themselves go to the log, not to an unauthenticated caller."""
    checks = {"store": _check_store(), "redis": _check_redis()}
    down = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "not ready" if down else "ready", "checks": checks, "down": down}
    return jsonify(body), 503 if down else 200


@bp.route("/metrics")
def metrics() -> ResponseReturnValue:
    current = runtime()
    client = quick_client(current.redis_url)
    return Response(exposition(lambda: load_figures(current, client)), content_type=CONTENT_TYPE_LATEST)


def _check_store() -> str:
    try:
        with runtime().sessions() as session:
            session.execute(text("SELECT 1"))
        return "ok"
    except Exception as error:  # any failure to answer is "down", whatever the driver
        log.warning("readyz: the store does not answer: %s", error)
        return "unreachable"


def _check_redis() -> str:
    try:
        quick_client(runtime().redis_url).ping()
        return "ok"
    except Exception as error:  # connection refused, timeout, a private Redis that will not start
        log.warning("readyz: Redis does not answer: %s", error)
        return "unreachable"
