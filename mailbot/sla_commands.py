"""`mailbot sla import|show`: the SLA configuration from the command line, so it can be
kept in version control as well as edited in the panel (format in the README)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mailbot.sla.config import SlaError
from mailbot.sla.store import export_config, save_config
from mailbot.timeutil import utcnow
from mailbot.triage_commands import _audit, _read_json, _sessions


@click.group()
def sla() -> None:
    """SLA policies: first-response targets, business hours, holidays, escalation."""


@sla.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def sla_import(path: Path) -> None:
    """Replace the SLA configuration with FILE.json; nothing changes if it is invalid."""
    data = _read_json(path)
    try:
        with _sessions().begin() as session:
            before = export_config(session)
            config = save_config(session, data, utcnow())
            _audit(session, "sla.import", path.name, before, data)
    except SlaError as error:
        raise click.ClickException(f"{path}: {error}") from error
    steps = sum(len(p.escalate) for p in config.policies)
    click.echo(f"{len(config.policies)} SLA policies imported ({steps} escalation steps)", err=True)


@sla.command("show")
def sla_show() -> None:
    """The SLA configuration in force, as JSON (the import format; the built-in one if none)."""
    with _sessions()() as session:
        click.echo(json.dumps(export_config(session), ensure_ascii=False, indent=2))
