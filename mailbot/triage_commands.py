"""`mailbot customers ...` and `mailbot rules ...`: customer data and routing rules from
the command line, so both can be kept in version control (formats in the README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session, sessionmaker

from mailbot.customers.records import CustomerFileError, import_customers, parse_customers_csv
from mailbot.pipeline.routing import RuleError, parse_rules
from mailbot.rules import dry_run, dry_run_json, export_rules, import_rules
from mailbot.store.panel_models import AuditEntry
from mailbot.timeutil import utcnow


def _sessions() -> sessionmaker[Session]:
    """Sessions on the configured database; not current_runtime(), which would start Redis."""
    from mailbot.config import load_settings
    from mailbot.store.db import session_factory

    return session_factory(load_settings().database_url)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise click.ClickException(f"{path}: {error}") from error


def _audit(
    session: Session, action: str, target: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> None:
    session.add(
        AuditEntry(
            actor="cli",
            action=action,
            target=target,
            before=json.dumps(before, ensure_ascii=False) if before is not None else None,
            after=json.dumps(after, ensure_ascii=False),
        )
    )


@click.group()
def customers() -> None:
    """Customer data: attributes shown in a ticket's context and used by routing rules."""


@customers.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def customers_import(path: Path) -> None:
    """Replace the imported customers with FILE.csv (email and/or phone, name, attributes)."""
    try:
        rows = parse_customers_csv(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, CustomerFileError) as error:
        raise click.ClickException(f"{path}: {error}") from error
    with _sessions().begin() as session:
        count = import_customers(session, rows, utcnow())
        _audit(session, "customers.import", path.name, None, {"customers": count})
    click.echo(f"{count} customers imported", err=True)


@click.group()
def rules() -> None:
    """Routing rules: queue, assignee, priority and tags by channel, words, intent..."""


@rules.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def rules_import(path: Path) -> None:
    """Replace every routing rule with those in FILE.json."""
    data = _read_json(path)
    try:
        with _sessions().begin() as session:
            before = export_rules(session)
            imported = import_rules(session, data, utcnow())
            after = {"rules": [dict(r.definition) for r in imported]}
            _audit(session, "rules.import", path.name, {"rules": before}, after)
    except RuleError as error:
        raise click.ClickException(f"{path}: {error}") from error
    click.echo(f"{len(imported)} rules imported", err=True)


@rules.command("list")
def rules_list() -> None:
    """The rules in order, as JSON (the import format)."""
    with _sessions()() as session:
        click.echo(json.dumps(export_rules(session), ensure_ascii=False, indent=2))


@rules.command("dry-run")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def rules_dry_run(path: Path) -> None:
    """What the rules in FILE.json would do to recent tickets; nothing is saved."""
    try:
        parsed = parse_rules(_read_json(path))
    except RuleError as error:
        raise click.ClickException(f"{path}: {error}") from error
    with _sessions()() as session:
        report = dry_run_json(dry_run(session, parsed))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
