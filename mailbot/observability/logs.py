"""Logging for every mailbot process: text for a person, or one JSON object a line for a
log pipeline (`MAILBOT_LOG_FORMAT=json`), each line carrying what the event concerns.

What it concerns is set at the stage boundaries (a job filing an inbound message, a
delivery, a poller's mailbox, a webhook) with `log_fields`, held in a context variable
so every log call below that point, in any module, carries it without being passed it.
Threads start with none: each poller's mailbox thread sets its own.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from pythonjsonlogger.json import JsonFormatter

FORMAT_VARIABLE = "MAILBOT_LOG_FORMAT"
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Always in a JSON line, null while unknown, so a query need not test for the key.
ALWAYS = ("ticket_ref", "inbound_id", "channel")
NOISY_LOGGERS = ("rq.worker", "imapclient", "aiosmtpd", "mail.log")

_fields: ContextVar[Mapping[str, Any]] = ContextVar("mailbot_log_fields", default=MappingProxyType({}))


@contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Within the block, every log line also says these (None values are left out)."""
    token = _fields.set(MappingProxyType({**_fields.get(), **_known(fields)}))
    try:
        yield
    finally:
        _fields.reset(token)


def add_log_fields(**fields: Any) -> None:
    """Learned part way through a block (the ticket a message was filed on): from here
    to the end of the enclosing `log_fields` block."""
    _fields.set(MappingProxyType({**_fields.get(), **_known(fields)}))


def current_log_fields() -> Mapping[str, Any]:
    return _fields.get()


def _known(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


class ContextFields(logging.Filter):
    """Copies the current fields onto each record, where the JSON formatter finds them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in ALWAYS:
            setattr(record, name, None)
        for name, value in _fields.get().items():
            setattr(record, name, value)
        return True


def log_format(environ: Mapping[str, str] = os.environ) -> str:
    value = environ.get(FORMAT_VARIABLE, "").strip().lower() or "text"
    if value not in FORMATS:
        raise ValueError(f"{FORMAT_VARIABLE} must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        json_ensure_ascii=False,
    )


def setup_logging(verbose: bool = False, environ: Mapping[str, str] = os.environ) -> None:
    """Logs to stderr in the configured format. Raises ValueError on an unknown format."""
    chosen = log_format(environ)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if chosen == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(ContextFields())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
