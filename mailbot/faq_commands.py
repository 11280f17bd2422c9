"""`mailbot faq ...`: FAQ entries from the command line, so they can be kept in version
control (JSON Lines, one entry a line; format in the README)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.faq.entries import FaqImportError, entry_lines, import_faq, parse_faq_lines
from mailbot.store.faq_models import FaqEntry
from mailbot.store.panel_models import AuditEntry
from mailbot.timeutil import utcnow


def _sessions() -> sessionmaker[Session]:
    """Sessions on the configured database; not current_runtime(), which would start Redis."""
    from mailbot.config import load_settings
    from mailbot.store.db import session_factory

    return session_factory(load_settings().database_url)


@click.group()
def faq() -> None:
    """FAQ entries per language, suggested in acknowledgements where they help."""


@faq.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def faq_import(path: Path) -> None:
    """Add or update the entries of FILE (JSON Lines: id, lang, question, answer, url?).
    An entry with an id already stored is updated; entries not in FILE stay."""
    try:
        records = parse_faq_lines(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path}: not UTF-8 text ({error.reason})") from error
    except FaqImportError as error:
        raise click.ClickException(f"{path}: {error}; nothing was imported") from error
    with _sessions().begin() as session:
        added, updated = import_faq(session, records, utcnow())
        session.add(
            AuditEntry(
                actor="cli",
                action="faq.import",
                target=path.name,
                after=json.dumps({"added": added, "updated": updated, "ids": [r.id for r in records]}),
            )
        )
    click.echo(f"imported {len(records)} FAQ entries: {added} added, {updated} updated", err=True)


@faq.command("list")
@click.option("--lang", "language", default=None, help="Only the entries of this language.")
def faq_list(language: str | None) -> None:
    """Print the stored entries in the import format."""
    with _sessions()() as session:
        query = select(FaqEntry).order_by(FaqEntry.language, FaqEntry.id)
        if language:
            query = query.where(FaqEntry.language == language.lower())
        click.echo(entry_lines(session.scalars(query)), nl=False)
