"""FAQ entries: read a JSON Lines file, and write it into the store.

`mailbot faq import FILE` and the panel's import both come here. The format is the
contract of issue 9: one object a line, `{"id", "lang", "question", "answer", "url"?}`;
importing again updates the entries with the same id and leaves the others alone. A file
with any bad line is refused as a whole, naming the line, and nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.faq.ranking import FaqText
from mailbot.store.faq_models import FaqEntry

REQUIRED = ("id", "lang", "question", "answer")
# An ISO 639 code, optionally with a region (BCP 47 "pt-br"), as the ticket's language is.
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,4})?")
OPTIONAL = ("url",)
MAX_ID = 100
MAX_URL = 2000


class FaqImportError(ValueError):
    """A line that is not a valid FAQ entry; the message names the line and the field."""


@dataclass(frozen=True)
class FaqRecord:
    id: str
    lang: str
    question: str
    answer: str
    url: str | None = None

    def as_text(self) -> FaqText:
        return FaqText(self.id, self.question, self.answer)


def parse_faq_lines(text: str) -> list[FaqRecord]:
    """Every entry of a JSON Lines text (blank lines skipped); FaqImportError on the first
    bad line. An id given twice in one file is refused: which one was meant?"""
    records: list[FaqRecord] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        record = _parse_line(line, number)
        if record.id in seen:
            raise FaqImportError(f"line {number}: id {record.id!r} is already on line {seen[record.id]}")
        seen[record.id] = number
        records.append(record)
    if not records:
        raise FaqImportError("no entries: the file is empty")
    return records


def _parse_line(line: str, number: int) -> FaqRecord:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise FaqImportError(f"line {number}: not JSON ({error.msg})") from error
    if not isinstance(data, dict):
        raise FaqImportError(f"line {number}: not a JSON object")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise FaqImportError(f"line {number}: unknown key(s) {', '.join(unknown)}")
    for key in REQUIRED:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise FaqImportError(f"line {number}: {key!r} must be a non-empty string")
    url = data.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://"))):
        raise FaqImportError(f"line {number}: 'url' must be an http(s) URL")
    if url is not None and len(url) > MAX_URL:
        raise FaqImportError(f"line {number}: 'url' is longer than {MAX_URL} characters")
    entry_id = data["id"].strip()
    if len(entry_id) > MAX_ID or any(c.isspace() or c == "/" for c in entry_id):
        raise FaqImportError(f"line {number}: 'id' must be at most {MAX_ID} characters, no spaces or '/'")
    lang = data["lang"].strip().lower()
    if not _LANGUAGE.fullmatch(lang):
        raise FaqImportError(f"line {number}: 'lang' must be a language code such as 'es'")
    return FaqRecord(entry_id, lang, data["question"].strip(), data["answer"].strip(), url or None)


def import_faq(session: Session, records: Sequence[FaqRecord], now: datetime) -> tuple[int, int]:
    """Insert new entries and update those with the same id; (added, updated)."""
    existing = {
        e.id: e for e in session.scalars(select(FaqEntry).where(FaqEntry.id.in_([r.id for r in records])))
    }
    added = updated = 0
    for record in records:
        entry = existing.get(record.id)
        if entry is None:
            session.add(
                FaqEntry(
                    id=record.id,
                    language=record.lang,
                    question=record.question,
                    answer=record.answer,
                    url=record.url,
                    created_at=now,
                    updated_at=now,
                    reviewed_at=now,
                )
            )
            added += 1
            continue
        entry.language, entry.question, entry.answer, entry.url = (
            record.lang,
            record.question,
            record.answer,
            record.url,
        )
        # Imported again: someone looked at it, whether or not a word changed.
        entry.updated_at = entry.reviewed_at = now
        updated += 1
    session.flush()
    return added, updated


def entry_lines(entries: Iterable[FaqEntry]) -> str:
    """The entries in the import format, so what is stored can be kept in version control."""
    lines = []
    for e in entries:
        data = {"id": e.id, "lang": e.language, "question": e.question, "answer": e.answer}
        if e.url:
            data["url"] = e.url
        lines.append(json.dumps(data, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)
