"""Plain text from HTML mail, shaped so the quote splitter and classifiers can read it.

Many clients (Outlook, Apple Mail on iOS, web forms) send HTML only. We keep what a
reader sees: link targets, list bullets, table rows, and `<blockquote>` rendered as
`> ` lines so quoted replies are recognised exactly as in plain-text mail (RFC 3676
section 4.5 quoting).
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import CData

_DROPPED = {"script", "style", "head", "title", "meta", "link", "template", "noscript", "svg"}
_PARAGRAPHS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "address", "figure",
    "dl", "fieldset", "form", "header", "footer", "section", "article", "aside", "main",
}  # fmt: skip
_LINES = {"div", "tr", "dt", "dd", "center", "caption", "nav", "figcaption", "li", "td", "th"}
_SPACE_RUN = re.compile(r"[ \t\r\n\f\v]+")
# Inline CSS that hides an element from the person reading the mail. Hidden text is how
# spam and phishing slip words past filters (and could slip "urgent" past triage); the
# customer never saw it, so it is not their words. Newsletters' hidden preheaders go too.
_HIDDEN_STYLE = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0*)?[a-z%]*\s*(?:;|$|!))",
    re.IGNORECASE,
)


def html_opening(html: str, max_chars: int) -> str:
    """The first `max_chars` of `html`, cut before a tag rather than inside one (a cut
    `<a href="...` would otherwise be read as text)."""
    if len(html) <= max_chars:
        return html
    tag_start = html.rfind("<", 0, max_chars)
    return html[: tag_start if tag_start > 0 else max_chars]


def html_to_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    writer = _Writer()
    try:
        writer.render_children(soup)
    except RecursionError:
        # Thousands of unclosed <font> or <div> tags nest that deep; keep the words
        # rather than the layout.
        for tag in soup.find_all(lambda tag: tag.name in _DROPPED or _hidden(tag)):
            tag.extract()
        return "\n".join(line.strip() for line in soup.get_text("\n").splitlines() if line.strip())
    return writer.text()


class _Writer:
    """Accumulates lines; `prefix` holds blockquote markers and list indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line = ""  # text of the current line, without prefix
        self.marker = ""  # list bullet waiting for the current line's first text
        self.started = False  # whether the current line has real text yet
        self.breaks = 0  # pending line breaks: 1 = new line, 2 = blank line between
        self.prefix: list[str] = []
        self.in_pre = 0

    # -- output primitives -------------------------------------------------

    def text(self) -> str:
        self.flush()
        out: list[str] = []
        for line in self.lines:
            line = line.replace("\u00a0", " ").rstrip()
            if _is_blank(line) and out and _is_blank(out[-1]):
                continue  # collapse runs of blank (or blank quoted) lines
            out.append(line)
        return "\n".join(out).strip("\n")

    def request_break(self, count: int) -> None:
        if self.marker and not self.started:
            return  # a block opening a list item stays on the bullet's line
        if self.started or self.lines:
            self.breaks = max(self.breaks, count)

    def flush(self) -> None:
        """End the current line and emit pending blank lines under the current prefix."""
        if self.started:
            # A bullet line is indented like its list, not like the item's body.
            prefix = self.prefix[:-1] if self.marker else self.prefix
            self.lines.append("".join(prefix) + self.marker + self.line)
            self.line, self.marker, self.started = "", "", False
            self.breaks = max(self.breaks, 1)
        if self.lines and self.breaks > 1:
            self.lines.append("".join(self.prefix).rstrip())
        self.breaks = 0

    def end_line(self) -> None:
        """Emit the current line but drop pending blank lines (end of a quote or item)."""
        if self.started:
            self.breaks = 1
            self.flush()
        self.breaks = 0

    def write(self, text: str) -> None:
        if not self.in_pre:
            text = _SPACE_RUN.sub(" ", text)
            if not self.started or self.line.endswith(" "):
                text = text.lstrip(" ")
            if not text:
                return
            self._put(text)
            return
        self._lines(text)

    def _put(self, text: str) -> None:
        if self.breaks:
            self.flush()
        self.line += text
        self.started = True

    # -- rendering ---------------------------------------------------------

    def render_children(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Tag):
                self.render_tag(child)
            elif type(child) is NavigableString or isinstance(child, CData):
                self.write(str(child))
            # Comments (including Outlook's <!--[if mso]> blocks), doctypes and
            # processing instructions are never shown to the reader.

    def render_tag(self, tag: Tag) -> None:
        name = tag.name.lower()
        if name in _DROPPED or _hidden(tag):
            return
        if name == "br":
            if self.breaks:
                self.flush()  # "</div><br>": the <br> adds an empty line below
            self.started = True  # <br> ends the current line even when it is empty
            self.flush()
            return
        if name == "a":
            self._link(tag)
        elif name == "blockquote":
            self._blockquote(tag)
        elif name in ("ul", "ol", "menu"):
            self._list(tag, ordered=name == "ol")
        elif name == "table":
            self._table(tag)
        elif name == "pre":
            self.request_break(2)
            self.in_pre += 1
            self.render_children(tag)
            self.in_pre -= 1
            self.request_break(2)
        elif name in _PARAGRAPHS:
            self.request_break(2)
            self.render_children(tag)
            self.request_break(2)
        elif name in _LINES:
            self.request_break(1)
            self.render_children(tag)
            self.request_break(1)
        else:
            self.render_children(tag)

    def _link(self, tag: Tag) -> None:
        label = _render_inline(tag)
        href = str(tag.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:")) or tag.find(["table", "div", "p"]):
            self.render_children(tag)
            return
        target = href[len("mailto:") :] if href.lower().startswith("mailto:") else href
        if not label:
            self.write(f" {target} ")
            return
        self.render_children(tag)
        if not (_same_target(label, href) or _same_target(label, target)):
            self.write(f" ({target})")

    def _blockquote(self, tag: Tag) -> None:
        self.request_break(2)
        self.flush()
        self.prefix.append("> ")
        self.render_children(tag)
        self.end_line()
        self.prefix.pop()
        self.request_break(2)

    def _list(self, tag: Tag, *, ordered: bool) -> None:
        gap = 1 if self.prefix and self.prefix[-1].isspace() else 2  # nested lists stay tight
        self.request_break(gap)
        number = _start(tag)
        for item in tag.find_all("li", recursive=False):
            marker = f"{number}. " if ordered else "- "
            number += 1
            self.request_break(1)
            self.flush()
            self.marker = marker
            self.prefix.append(" " * len(marker))
            self.render_children(item)
            if not self.started and self.marker:
                self.marker = ""  # an empty <li>: drop its bullet
            self.end_line()
            self.prefix.pop()
        self.request_break(gap)

    def _table(self, tag: Tag) -> None:
        rows = [tr for tr in tag.find_all("tr") if tr.find_parent("table") is tag]
        # Mail layouts nest tables and put whole paragraphs in cells; flattening those
        # into "a | b" lines would glue unrelated blocks together.
        layout = tag.find("table") is not None
        rendered: list[list[str]] = []
        for tr in rows:
            cells = [_render_block(cell) for cell in tr.find_all(["td", "th"], recursive=False)]
            cells = [cell for cell in cells if cell]
            if any("\n\n" in cell for cell in cells):
                layout = True
            if cells:
                rendered.append(cells)
        self.request_break(2)
        for cells in rendered:
            if layout or len(cells) == 1:
                for cell in cells:
                    self._block_lines(cell)
            else:
                self._block_lines(" | ".join(" ".join(c.split("\n")) for c in cells))
        self.request_break(2)

    def _block_lines(self, text: str) -> None:
        self.request_break(1)
        self._lines(text)
        self.request_break(1)

    def _lines(self, text: str) -> None:
        newlines = 0
        for i, line in enumerate(text.split("\n")):
            newlines += 1 if i else 0
            if line:
                if newlines:
                    self.request_break(min(newlines, 2))
                self._put(line)
                newlines = 0
        if newlines:
            self.request_break(min(newlines, 2))


def _render_inline(tag: Tag) -> str:
    return " ".join(_render_block(tag).split())


def _render_block(tag: Tag) -> str:
    writer = _Writer()
    writer.render_children(tag)
    return writer.text()


def _same_target(label: str, href: str) -> bool:
    def norm(value: str) -> str:
        value = value.strip().lower()
        value = re.sub(r"^(https?://)?(www\.)?", "", value)
        return value.rstrip("/")

    return norm(label) == norm(href)


def _start(tag: Tag) -> int:
    try:
        return int(str(tag.get("start", "1")))
    except ValueError:
        return 1


def _is_blank(line: str) -> bool:
    return not line.replace(">", "").strip()


def _hidden(tag: Tag) -> bool:
    if tag.has_attr("hidden"):
        return True
    style = tag.get("style")
    return isinstance(style, str) and _HIDDEN_STYLE.search(style) is not None
