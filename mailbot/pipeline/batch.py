"""The pipeline for a batch of stored inbound messages: two transactions per chunk instead
of two per message.

Per chunk of FILING_CHUNK fresh rows (never attempted before):
1. claim: one UPDATE ... RETURNING counts the attempt and takes the lease of every row,
   committed before any work, as `process_inbound` does for one row;
2. parse each row outside any transaction (normalise is CPU only);
3. file: one transaction takes every sender's lock up front (sorted, so two workers never
   wait on each other in a cycle), reads what the messages will ask of the store once
   for all (chunk_reads.py), then files the messages in order. A later message of the
   chunk sees what an earlier one wrote (the session flushes before each query), so
   threading, dedupe and the caps read the same as one by one. When one message's filing
   fails, the whole transaction is undone and the chunk filed one by one.

What stays exactly as strong: a message is filed only while its row is `received`, read
under FOR UPDATE in the filing transaction; each acknowledgement is an outbox row with a
unique key. A worker killed in the filing transaction loses the whole chunk's filing
(rolled back), not its claim: those rows come back through recovery with one attempt
counted, and a row attempted before never takes this path but `process_inbound`'s, one
message per transaction, so a message that kills its worker every time reaches
MAX_ATTEMPTS alone and the others of its chunk are filed around it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session

from mailbot.channels import load_config
from mailbot.mail.parse import UnparseableMessage
from mailbot.message import InboundMessage
from mailbot.observability.logs import log_fields
from mailbot.pipeline.chunk_load import read_chunk
from mailbot.pipeline.normalizers import normalize_inbound
from mailbot.pipeline.process import (
    Addresses,
    Outcome,
    file_message,
    normalize_settings,
    process_inbound,
    record_failure,
    record_quarantine,
    sender_lock_key,
)
from mailbot.runtime import Runtime
from mailbot.stage_timings import StageClock
from mailbot.statuses import InboundStatus
from mailbot.store.id_pool import reserve_ids
from mailbot.store.models import Inbound
from mailbot.store.read_once import reads_kept
from mailbot.timeutil import utcnow
from webhooks import ChannelConfig, UnreadableEvent

log = logging.getLogger("mailbot.pipeline")

# Rows filed per transaction. It bounds how long a chunk holds SQLite's write lock (a
# webhook's INSERT and the delivery bookkeeping wait behind it), how much filing a killed
# worker throws away, and how long the first customers of a job wait for their answer.
FILING_CHUNK = 10


@dataclass(frozen=True)
class _Claimed:
    inbound_id: int
    raw: bytes
    channel_type: str
    channel_id: int | None


@dataclass(frozen=True)
class _Parsed:
    inbound_id: int
    msg: InboundMessage
    channel: ChannelConfig | None


def process_in_chunks(
    runtime: Runtime, inbound_ids: list[int], addresses: Addresses, clock: StageClock
) -> Iterator[list[Outcome]]:
    """The outcomes chunk by chunk, each chunk committed when it is yielded: its
    acknowledgements can leave before the next chunk is filed."""
    for start in range(0, len(inbound_ids), FILING_CHUNK):
        yield _process_chunk(runtime, inbound_ids[start : start + FILING_CHUNK], addresses, clock)


def _process_chunk(
    runtime: Runtime, inbound_ids: list[int], addresses: Addresses, clock: StageClock
) -> list[Outcome]:
    with clock.stage("claim"):
        claimed = _claim_fresh(runtime, inbound_ids)
    taken = {row.inbound_id for row in claimed}
    outcomes: list[Outcome] = []
    # Retried, leased elsewhere or already done: the careful path decides, one by one.
    with clock.stage("file one by one (retried rows)"):
        outcomes += [process_inbound(runtime, i, addresses) for i in inbound_ids if i not in taken]
    with clock.stage("parse"):
        parsed, unparsed = _parse_all(runtime, claimed, addresses)
    outcomes += unparsed
    if parsed:
        with clock.stage("file (one transaction)"):
            outcomes += _file_all(runtime, parsed, addresses)
    return outcomes


def _claim_fresh(runtime: Runtime, inbound_ids: list[int]) -> list[_Claimed]:
    now = utcnow()
    lease = timedelta(seconds=runtime.settings.processing_lease_seconds)
    with runtime.sessions.begin() as session:
        rows = session.execute(
            update(Inbound)
            .where(
                Inbound.id.in_(inbound_ids),
                Inbound.status == InboundStatus.RECEIVED,
                Inbound.attempts == 0,
                or_(Inbound.processing_started_at.is_(None), Inbound.processing_started_at <= now - lease),
            )
            .values(processing_started_at=now, attempts=Inbound.attempts + 1)
            .returning(Inbound.id, Inbound.raw, Inbound.channel, Inbound.channel_id)
            .execution_options(synchronize_session=False)
        ).all()
    order = {inbound_id: n for n, inbound_id in enumerate(inbound_ids)}
    claimed = [_Claimed(*row) for row in rows]
    return sorted(claimed, key=lambda row: order[row.inbound_id])  # arrival order, as one by one


def _parse_all(
    runtime: Runtime, claimed: list[_Claimed], addresses: Addresses
) -> tuple[list[_Parsed], list[Outcome]]:
    settings = runtime.settings
    for_normalize = normalize_settings(settings, addresses)
    channels: dict[int, ChannelConfig | None] = {}
    needed = {row.channel_id for row in claimed if row.channel_id}
    if needed:
        with runtime.sessions() as session:
            channels = {i: load_config(session, i, settings.secret_key) for i in needed}
    parsed: list[_Parsed] = []
    failed: list[Outcome] = []
    for row in claimed:
        channel = channels.get(row.channel_id) if row.channel_id else None
        try:
            msg = normalize_inbound(row.raw, row.channel_type, channel, for_normalize)
        except (UnparseableMessage, UnreadableEvent) as error:
            failed.append(record_quarantine(runtime, row.inbound_id, f"unparseable: {error}"))
            continue
        except Exception as error:  # a parser bug must not stop the batch either
            log.exception("inbound %s: parser crashed", row.inbound_id)
            failed.append(record_failure(runtime, row.inbound_id, f"parser crashed: {error!r}"))
            continue
        parsed.append(_Parsed(row.inbound_id, msg, channel))
    return parsed, failed


def _file_all(runtime: Runtime, parsed: list[_Parsed], addresses: Addresses) -> list[Outcome]:
    outcomes: list[Outcome] = []
    try:
        with runtime.sessions.begin() as session, reads_kept(session):
            messages = [p.msg for p in parsed]
            _serialise_senders(session, messages)
            rows = {
                row.id: row
                for row in session.scalars(
                    select(Inbound).where(Inbound.id.in_([p.inbound_id for p in parsed])).with_for_update()
                )
            }
            # After the senders' locks: nobody else files for them until the commit.
            chunk = read_chunk(session, messages, runtime.settings, utcnow())
            # The chunk's new rows go out together at the commit (store/id_pool.py).
            reserve_ids(session, len(parsed))
            for item in parsed:
                inbound = rows.get(item.inbound_id)
                if inbound is None or inbound.status != InboundStatus.RECEIVED:
                    outcomes.append(Outcome(item.inbound_id, "skipped"))
                    continue
                if not chunk.start(item.msg):
                    session.flush()
                with log_fields(inbound_id=item.inbound_id, channel=inbound.channel):
                    try:
                        outcome = file_message(session, runtime, inbound, item.msg, addresses, item.channel)
                    except Exception:
                        log.exception("inbound %s: filing failed", item.inbound_id)
                        raise
                outcomes.append(outcome)
                if outcome.kind != "customer":
                    chunk.filed_otherwise()
    except Exception as error:
        # A message's filing failed (a bug, bad data), or the transaction itself did (a
        # deadlock PostgreSQL broke, a lost connection): nothing of it was written. Give
        # the claims back and file one by one, where a failure is one message's alone.
        # (No savepoint per message: it cost a fifth of filing, for a rare failure.)
        log.warning("filing %s messages in one transaction failed (%s); one by one", len(parsed), error)
        return _file_one_by_one(runtime, [p.inbound_id for p in parsed])
    channel_of = {item.inbound_id: item.msg.channel for item in parsed}
    for outcome in outcomes:
        fields = {"channel": channel_of.get(outcome.inbound_id), "ticket_ref": outcome.ticket_ref}
        with log_fields(inbound_id=outcome.inbound_id, **fields):
            log.info(
                "inbound %s: %s %s ticket=%s (%s)",
                outcome.inbound_id,
                outcome.status,
                outcome.kind,
                outcome.ticket_ref,
                outcome.reason,
            )
    return outcomes


def _file_one_by_one(runtime: Runtime, inbound_ids: list[int]) -> list[Outcome]:
    with runtime.sessions.begin() as session:
        session.execute(
            update(Inbound)
            .where(Inbound.id.in_(inbound_ids), Inbound.status == InboundStatus.RECEIVED)
            .values(processing_started_at=None)
            .execution_options(synchronize_session=False)
        )
    return [process_inbound(runtime, inbound_id) for inbound_id in inbound_ids]


def _serialise_senders(session: Session, messages: list[InboundMessage]) -> None:
    """The batch form of process._serialise_sender: every sender of the chunk locked for
    the transaction, in one sorted order (two chunks sharing senders queue, never cross),
    in one statement: one round trip per chunk rather than one per sender."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already runs one write transaction at a time
    keys = sorted({sender_lock_key(msg) for msg in messages})
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0))"
            " FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS sender(key, n) ORDER BY n"
        ),
        {"keys": keys},
    )
