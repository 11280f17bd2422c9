"""`mailbot tickets handoff REF --queue Q [--to AGENT] --note TEXT`: escalation by hand.

The customer is told, once, that their case is with a specialist; the note stays inside.
"""

from __future__ import annotations

import click


@click.command("handoff")
@click.argument("ref")
@click.option("--queue", default=None, help="The specialist queue (e.g. billing).")
@click.option("--to", "assignee", default=None, metavar="AGENT", help="The specialist's e-mail address.")
@click.option("--note", default="", help="An internal note for the specialist (never sent to the customer).")
def handoff(ref: str, queue: str | None, assignee: str | None, note: str) -> None:
    """Hand ticket REF to a specialist queue and/or person; prints who has it now."""
    import redis
    from sqlalchemy import select

    from mailbot.contact_commands import _actor
    from mailbot.queue import enqueue_delivery
    from mailbot.runtime import current_runtime
    from mailbot.store.models import Ticket
    from mailbot.ticket_changes import Author
    from mailbot.ticket_handoff import HandoffRefused, HandoffRequest, describe_holder, hand_off
    from mailbot.timeutil import utcnow

    runtime = current_runtime()
    with runtime.sessions.begin() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref.strip().upper()))
        if ticket is None:
            raise click.ClickException(f"no ticket {ref}")
        try:
            outcome = hand_off(
                session,
                ticket,
                HandoffRequest(queue=queue, assignee=assignee, note=note),
                author=Author("cli", _actor()),
                settings=runtime.settings,
                now=utcnow(),
            )
        except HandoffRefused as error:
            raise click.ClickException(str(error)) from error
        holder = describe_holder(outcome.handoff.to_queue, outcome.handoff.to_assignee)
        outbox_ids = outcome.outbox_ids
        not_told = outcome.not_told
    try:
        enqueue_delivery(runtime, outbox_ids)
    except redis.RedisError:
        pass  # committed, so promised: the workers' recovery finds the pending rows
    if not_told:
        click.echo(f"the customer was not told: {not_told}", err=True)
    click.echo(holder)
