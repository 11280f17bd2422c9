"""Acknowledgement templates: one Jinja file per language under templates/ack/,
with a `subject` block and a `body` block."""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.store.panel_models import AckTemplateOverride
from mailbot.store.read_once import read_once

log = logging.getLogger("mailbot.ack")

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def templates_dir() -> Path:
    return Path(os.environ.get("MAILBOT_TEMPLATES_DIR") or REPO_TEMPLATES)


@lru_cache(maxsize=4)
def _environment(directory: str) -> Environment:
    # Plain text mail: no HTML autoescaping, but undefined names fail loudly.
    return Environment(
        loader=FileSystemLoader(directory),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def available_languages() -> list[str]:
    # Asked for every acknowledgement: the directory is listed again only when it changed
    # (a file added or removed changes its mtime), not once per message.
    directory = templates_dir() / "ack"
    try:
        changed = directory.stat().st_mtime_ns
    except OSError:
        return []
    return list(_languages_in(directory, changed))


@lru_cache(maxsize=8)
def _languages_in(directory: Path, changed: int) -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in directory.glob("*.txt")))


def choose_language(wanted: str | None, fallback: str, languages: Collection[str] | None = None) -> str:
    """`wanted` if it has a template, else `fallback` if that has one, else English."""
    if languages is None:
        languages = available_languages()
    if wanted is not None and wanted in languages:
        return wanted
    return fallback if fallback in languages else "en"


def render_blocks(template: Template, context: dict[str, Any]) -> tuple[str, str]:
    def block(name: str) -> str:
        return "".join(template.blocks[name](template.new_context(context))).strip()

    subject = " ".join(block("subject").split())  # a subject is one line
    return subject, block("body") + "\n"


def render_ack(language: str, context: dict[str, Any]) -> tuple[str, str]:
    template = _environment(str(templates_dir())).get_template(f"ack/{language}.txt")
    return render_blocks(template, context)


# -- templates edited in the admin panel ------------------------------------------------
# A row in ack_template_overrides replaces the file for its language. Edited text is
# rendered in Jinja's sandbox: an admin's template must not reach Python internals
# (`{{ ''.__class__.__mro__ }}` and the like) in the worker that sends mail.

REQUIRED_BLOCKS = ("subject", "body")

# The ticket the panel previews and checks templates against; every variable a real
# acknowledgement gets (see pipeline/acknowledge.py build_ack) is here.
SAMPLE_CONTEXT: dict[str, Any] = {
    "ref": "MB-7K3Q9P",
    "name": "Ana",
    "subject": "My order #1234 has not arrived",
    "response_hours": 24,
    "existing": False,
    # Self-service (faq/): the entries suggested, and the phone number of the language.
    "faq": [
        {
            "question": "How long does delivery take?",
            "answer": "Orders arrive in 2 to 4 working days.",
            "url": "https://help.example.com/shipping",
            "yes_url": "https://support.example.com/feedback/faq/MB-7K3Q9P/shipping/yes/0123abcd",
            "no_url": "https://support.example.com/feedback/faq/MB-7K3Q9P/shipping/no/0123abcd",
        }
    ],
    "phone": "+44 20 7946 0000",
}


class AckTemplateError(ValueError):
    """An edited template that does not parse, lacks a block, or fails on a sample ticket."""


@lru_cache(maxsize=1)
def _sandbox() -> Environment:
    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


@lru_cache(maxsize=64)
def compile_ack_source(source: str) -> Template:
    try:
        template = _sandbox().from_string(source)
    except TemplateSyntaxError as error:
        raise AckTemplateError(f"line {error.lineno}: {error.message}") from error
    missing = [name for name in REQUIRED_BLOCKS if name not in template.blocks]
    if missing:
        raise AckTemplateError(
            "missing block(s): " + ", ".join(f"{{% block {name} %}}...{{% endblock %}}" for name in missing)
        )
    return template


def render_ack_source(source: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render edited template text; AckTemplateError on any failure, with its reason."""
    template = compile_ack_source(source)
    try:
        return render_blocks(template, context)
    except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError) as error:
        raise AckTemplateError(f"{type(error).__name__}: {error}") from error


def check_ack_source(source: str) -> tuple[str, str]:
    """What the panel runs before saving: parse, then render the sample ticket."""
    if not source.strip():
        raise AckTemplateError("the template is empty")
    return render_ack_source(source, SAMPLE_CONTEXT)


def default_ack_source(language: str) -> str | None:
    path = templates_dir() / "ack" / f"{language}.txt"
    return path.read_text(encoding="utf-8") if path.is_file() else None


@read_once
def stored_ack_sources(session: Session) -> dict[str, str]:
    """The templates edited in the panel, by language: one small table, read whole."""
    rows = session.execute(select(AckTemplateOverride.language, AckTemplateOverride.source))
    return {language: source for language, source in rows}


def stored_ack_source(session: Session, language: str) -> str | None:
    return stored_ack_sources(session).get(language)


def languages_from_store(session: Session) -> list[str]:
    """Languages with a template: the files' and those added in the panel."""
    return sorted(set(available_languages()) | set(stored_ack_sources(session)))


def choose_language_from_store(session: Session, wanted: str | None, fallback: str) -> str:
    return choose_language(wanted, fallback, languages_from_store(session))


def render_ack_from_store(session: Session, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """The acknowledgement for `language`: the panel's edited template if there is one,
    else the file. An edited template that fails at send time (say, a variable the sample
    did not exercise) falls back to the file rather than leaving the customer unanswered."""
    source = stored_ack_source(session, language)
    if source is not None:
        try:
            return render_ack_source(source, context)
        except AckTemplateError:
            log.exception("edited %s template failed; using the file", language)
            if default_ack_source(language) is None:
                return render_ack("en", context)
    return render_ack(language, context)


# -- chat and social channels ---------------------------------------------------------
# The same language file carries a `chat` block (a short message in the customer's
# conversation: no subject, nothing about replying by e-mail) and a `public` block (a
# public reply to a post, which names the ticket and never asks for a DM or for details
# the customer already gave). A template edited in the panel may add them too;
# without them the file's blocks are used.

CHAT_BLOCKS = ("chat", "public")


def render_chat_ack_from_store(session: Session, language: str, context: dict[str, Any], block: str) -> str:
    source = stored_ack_source(session, language)
    if source is not None:
        try:
            template = compile_ack_source(source)
            if block in template.blocks:
                return _one_block(template, block, context)
        except (AckTemplateError, TemplateError, SecurityError, TypeError, ValueError, ArithmeticError):
            log.exception("edited %s template failed for %s; using the file", language, block)
    if default_ack_source(language) is None:
        language = "en"
    template = _environment(str(templates_dir())).get_template(f"ack/{language}.txt")
    return _one_block(template, block, context)


def _one_block(template: Template, block: str, context: dict[str, Any]) -> str:
    text = "".join(template.blocks[block](template.new_context(context)))
    return " ".join(text.split())  # one paragraph: chat clients wrap it themselves


# -- the satisfaction question sent when a ticket is solved (faq/satisfaction.py) --------
# A `satisfaction` block of the same language file; a template edited in the panel may
# carry its own. Mail keeps its lines (one link per score); a chat gets one paragraph.

SATISFACTION_BLOCK = "satisfaction"


def render_satisfaction_from_store(
    session: Session, language: str, context: dict[str, Any], *, one_paragraph: bool
) -> str:
    source = stored_ack_source(session, language)
    template: Template | None = None
    if source is not None:
        try:
            compiled = compile_ack_source(source)
            if SATISFACTION_BLOCK in compiled.blocks:
                template = compiled
        except AckTemplateError:
            log.exception("edited %s template failed for the satisfaction question; using the file", language)
    if template is None:
        if default_ack_source(language) is None:
            language = "en"
        template = _environment(str(templates_dir())).get_template(f"ack/{language}.txt")
    if one_paragraph:
        return _one_block(template, SATISFACTION_BLOCK, context)
    text = "".join(template.blocks[SATISFACTION_BLOCK](template.new_context(context)))
    return text.strip() + "\n"
