"""Acknowledgement templates: one Jinja file per language under templates/ack/,
with a `subject` block and a `body` block."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

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
    return sorted(p.stem for p in (templates_dir() / "ack").glob("*.txt"))


def choose_language(wanted: str | None, fallback: str) -> str:
    languages = available_languages()
    if wanted in languages:
        return wanted  # type: ignore[return-value]
    return fallback if fallback in languages else "en"


def render_blocks(template: Template, context: dict[str, Any]) -> tuple[str, str]:
    def block(name: str) -> str:
        return "".join(template.blocks[name](template.new_context(context))).strip()

    subject = " ".join(block("subject").split())  # a subject is one line
    return subject, block("body") + "\n"


def render_ack(language: str, context: dict[str, Any]) -> tuple[str, str]:
    template = _environment(str(templates_dir())).get_template(f"ack/{language}.txt")
    return render_blocks(template, context)
