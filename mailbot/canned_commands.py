"""`mailbot canned ...`: canned responses agents reuse, per language.

mailbot canned import FILE       JSON Lines {"name", "lang", "text"}; the same name and lang replaces
mailbot canned list [--json]
mailbot canned remove NAME [--lang LANG]
"""

from __future__ import annotations

import json

import click

from mailbot.delivery_commands import _sessions


@click.group()
def canned() -> None:
    """Canned responses: the same answer to the same question, in the customer's language."""


@canned.command("import")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def canned_import(path: str) -> None:
    """Import FILE (JSON Lines); nothing is kept when a line is wrong."""
    from mailbot.canned import CannedError, parse_import, save

    try:
        with click.open_file(path, encoding="utf-8") as handle:
            specs = parse_import(handle)
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path} is not UTF-8 text: {error}") from error
    except CannedError as error:
        raise click.ClickException(f"{path}: {error}") from error
    created = updated = 0
    with _sessions().begin() as session:
        for spec in specs:
            _, new = save(session, spec)
            created += new
            updated += not new
    click.echo(f"{created} created, {updated} updated")


@canned.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, as import reads them.")
def canned_list(as_json: bool) -> None:
    """Every canned response, by name and language."""
    from mailbot.canned import all_responses

    with _sessions()() as session:
        rows = [(r.name, r.language, r.body) for r in all_responses(session)]
    for name, language, body in rows:
        if as_json:
            click.echo(json.dumps({"name": name, "lang": language, "text": body}, ensure_ascii=False))
        else:
            click.echo(f"{name}\t{language}\t{body.splitlines()[0] if body else ''}")


@canned.command("remove")
@click.argument("name")
@click.option("--lang", default=None, help="Only this language's version.")
def canned_remove(name: str, lang: str | None) -> None:
    """Remove the canned response NAME (every language, or only --lang)."""
    from sqlalchemy import delete

    from mailbot.store.models import CannedResponse

    with _sessions().begin() as session:
        query = delete(CannedResponse).where(CannedResponse.name == name)
        if lang:
            query = query.where(CannedResponse.language == lang.lower())
        if session.execute(query).rowcount == 0:  # type: ignore[attr-defined]
            raise click.ClickException(f"no canned response {name}" + (f" in {lang}" if lang else ""))
