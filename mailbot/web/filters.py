"""Jinja filters for the panel: times in UTC, sizes, and customer HTML made inert."""

from __future__ import annotations

from datetime import datetime

import nh3
from flask import Flask
from markupsafe import Markup

from mailbot.timeutil import as_utc, utcnow

# Only text structure survives: no style (CSS can exfiltrate and overlay), no images
# (remote images are tracking pixels), no forms; links get rel=noopener noreferrer.
ALLOWED_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "div",
    "em",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


def sanitize_html(html: str | None) -> Markup:
    if not html:
        return Markup("")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(cleaned)  # noqa: S704 - nh3 has just made it safe


def format_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def time_ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    seconds = int((utcnow() - as_utc(value)).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = f"{seconds // size} {unit}"
            break
    else:
        amount = f"{seconds} s"
    return f"in {amount}" if future else f"{amount} ago"


def file_size(size: int | None) -> str:
    if size is None:
        return "—"
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size} {unit}"
        size //= 1024
    return f"{size} GB"


def last_line(text: str | None) -> str:
    """The last line of a traceback: the exception, which is what a list needs to show."""
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else "no traceback"


def without_page(args: dict[str, str]) -> dict[str, str]:
    """Query arguments to carry into pager links, which set the page themselves."""
    return {k: v for k, v in args.items() if k != "page"}


def init_app(app: Flask) -> None:
    app.jinja_env.filters["without_page"] = without_page
    app.jinja_env.filters["last_line"] = last_line
    app.jinja_env.filters["sanitize_html"] = sanitize_html
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["ago"] = time_ago
    app.jinja_env.filters["filesize"] = file_size
