"""Incremental IMAP sync of one mailbox folder: durable first, by UID, never by \\Seen.

RFC 3501 section 2.3.1.1: a UID names a message for as long as the folder's
UIDVALIDITY stays the same. So what we have stored is remembered as
(mailbox, folder, UIDVALIDITY, UID), new mail is every UID above the last one seen,
and a changed UIDVALIDITY means a full resync in which messages we already hold (same
raw bytes) are recognised instead of imported again (peers.md, complaints 1, 2 and 6).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from imapclient.imapclient import SEEN
from sqlalchemy import func, insert, select, update

from mailbot.queue import enqueue_processing
from mailbot.runtime import Runtime
from mailbot.statuses import InboundStatus
from mailbot.store.models import Alert, Inbound, Mailbox, SyncState
from mailbot.timeutil import as_utc, utcnow

log = logging.getLogger("mailbot.imap")


@dataclass
class SyncReport:
    mailbox: str
    folder: str
    uidvalidity: int = 0
    # The folder's UIDNEXT when the sync began (RFC 3501 section 2.3.1.1), if the server
    # said: a later, higher UIDNEXT means mail arrived after this sync looked.
    uidnext: int | None = None
    server_count: int = 0
    stored_count: int = 0  # rows we hold for this folder and UIDVALIDITY after the sync
    new: int = 0
    known_after_resync: int = 0
    gaps: list[int] = field(default_factory=list)
    uidvalidity_changed: bool = False
    policy_applied: int = 0
    error: str | None = None  # set when the sync failed; nothing else is then meaningful


def sync_folder(
    runtime: Runtime,
    client: IMAPClient,
    mailbox: Mailbox,
    keep_alive: Callable[[], object] = lambda: None,
    hand_over: Callable[[list[int], list[int]], object] | None = None,
) -> SyncReport:
    """Store every message of the folder we do not hold yet, then `hand_over` the new
    inbound ids, live mail and history apart (default: enqueue their processing)."""
    folder = mailbox.imap_folder or "INBOX"
    report = SyncReport(mailbox=mailbox.name, folder=folder)
    selected = client.select_folder(folder)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    report.uidvalidity = uidvalidity
    report.uidnext = folder_uidnext(selected)
    report.policy_applied = apply_after_process_policy(runtime, client, mailbox, folder, uidvalidity)

    with runtime.sessions.begin() as session:
        state = session.scalar(
            select(SyncState).where(SyncState.mailbox_id == mailbox.id, SyncState.folder == folder)
        )
        last_uid = 0
        if state is not None and state.uidvalidity == uidvalidity:
            last_uid = state.last_uid
        elif state is not None:
            report.uidvalidity_changed = True
            _alert(
                session,
                mailbox,
                "uidvalidity_changed",
                f"{folder}: UIDVALIDITY changed from {state.uidvalidity} to {uidvalidity}; "
                "resyncing, messages already held are recognised by their bytes",
            )
        stored_uids = set(
            session.scalars(
                select(Inbound.imap_uid).where(
                    Inbound.mailbox_id == mailbox.id,
                    Inbound.imap_folder == folder,
                    Inbound.imap_uidvalidity == uidvalidity,
                )
            )
        )

    server_uids = sorted(int(uid) for uid in client.search("ALL"))
    report.server_count = len(server_uids)
    missing = [uid for uid in server_uids if uid not in stored_uids]
    report.gaps = [uid for uid in missing if uid <= last_uid]
    if report.gaps:
        # A UID we passed without storing: a fetch that failed, a message that reappeared.
        # Never silent: alert, then fetch it like new mail.
        with runtime.sessions.begin() as session:
            _alert(
                session,
                mailbox,
                "sync_gap",
                f"{folder}: {len(report.gaps)} message(s) on the server were never stored "
                f"(UIDs {_uid_ranges(report.gaps)}); fetching them now",
            )
    cutoff = _cutoff(mailbox, runtime.settings.ack_cutoff_grace_seconds)
    # Messages in a batch the server refused are tried again last and one at a time:
    # some servers drop the connection after such a refusal, and every message queued
    # behind a bad one would otherwise wait forever (Gmail: "Some messages could not be
    # FETCHed"; Dovecot: an unreadable file).
    suspects = Suspects(runtime, mailbox, folder, uidvalidity)
    in_batches, alone = suspects.order(missing)
    batches = _batches(client, in_batches, max(runtime.settings.imap_batch_size, 1), suspects)
    batches += [[uid] for uid in alone]
    for batch in batches:
        fetched = _fetch(client, batch, suspects)
        with runtime.sessions.begin() as session:
            new_ids, history_ids = _store_batch(
                session, mailbox, folder, uidvalidity, batch, fetched, cutoff, report=report
            )
            _save_state(session, mailbox.id, folder, uidvalidity, max(batch))
        # Enqueued only once the rows are committed: durable before acknowledged.
        if hand_over is None:
            enqueue_processing(runtime, new_ids)
            enqueue_processing(runtime, history_ids, history=True)
        else:
            hand_over(new_ids, history_ids)
        if keep_alive() is False:
            raise LeaseLost(f"mailbox {mailbox.name}: lease lost mid-sync; another poller goes on")
    if not missing:
        with runtime.sessions.begin() as session:
            _save_state(session, mailbox.id, folder, uidvalidity, max(server_uids, default=0))
    report.stored_count = len(stored_uids) + report.new + report.known_after_resync
    log.info(
        "mailbox %s/%s: server has %s, we hold %s, %s new, %s gap(s)%s",
        mailbox.name,
        folder,
        report.server_count,
        report.stored_count,
        report.new,
        len(report.gaps),
        " (UIDVALIDITY changed)" if report.uidvalidity_changed else "",
    )
    return report


class LeaseLost(RuntimeError):
    pass


def folder_uidnext(selected: dict) -> int | None:
    """UIDNEXT from imapclient's answer to SELECT; None if the server left it out."""
    value = selected.get(b"UIDNEXT")
    return int(value) if value is not None else None


# A batch is cut at this many bytes too: 200 large messages at once would not fit in memory.
MAX_BATCH_BYTES = 25 * 1024 * 1024


def _batches(client: IMAPClient, uids: list[int], size: int, suspects: Suspects) -> list[list[int]]:
    if not uids:
        return []
    try:
        answer = client.fetch(uids, [b"RFC822.SIZE"])
    except IMAPClientAbortError:
        suspects.add(uids)  # which one broke it is unknown: next time, one at a time
        raise
    except IMAPClientError:
        answer = {}
    sizes = {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in answer.items()}
    batches: list[list[int]] = [[]]
    weight = 0
    for uid in uids:
        if batches[-1] and (len(batches[-1]) >= size or weight + sizes.get(uid, 0) > MAX_BATCH_BYTES):
            batches.append([])
            weight = 0
        batches[-1].append(uid)
        weight += sizes.get(uid, 0)
    return batches


class Suspects:
    """UIDs in a batch the server refused (suspect) and UIDs it refused alone (refused),
    kept in Redis for a week. Suspects are tried one at a time after the good batches,
    refused ones after them, so a bad message can only ever hold back itself."""

    TTL = 7 * 24 * 3600

    def __init__(self, runtime: Runtime, mailbox: Mailbox, folder: str, uidvalidity: int) -> None:
        self.runtime = runtime
        self.mailbox = mailbox
        self.folder = folder
        self.key = f"mailbot:unfetchable:{mailbox.id}:{folder}:{uidvalidity}"

    def _members(self, kind: str) -> set[int]:
        return {int(uid) for uid in self.runtime.redis.smembers(f"{self.key}:{kind}")}

    def order(self, uids: list[int]) -> tuple[list[int], list[int]]:
        """(UIDs to fetch in batches, UIDs to fetch one at a time, in that order)."""
        suspect, refused = self._members("suspect"), self._members("refused")
        alone = [u for u in uids if u in suspect and u not in refused] + [u for u in uids if u in refused]
        return [u for u in uids if u not in suspect and u not in refused], alone

    def add(self, uids: list[int]) -> None:
        if len(uids) == 1:
            self._refuse(uids[0])
            return
        self.runtime.redis.sadd(f"{self.key}:suspect", *uids)
        self.runtime.redis.expire(f"{self.key}:suspect", self.TTL)

    def _refuse(self, uid: int) -> None:
        redis = self.runtime.redis
        if redis.sadd(f"{self.key}:refused", uid):
            with self.runtime.sessions.begin() as session:
                _alert(
                    session,
                    self.mailbox,
                    "unfetchable",
                    f"{self.folder} UID {uid}: the server would not return it",
                )
        redis.expire(f"{self.key}:refused", self.TTL)

    def discard(self, uids: list[int]) -> None:
        if uids:
            self.runtime.redis.srem(f"{self.key}:suspect", *uids)
            self.runtime.redis.srem(f"{self.key}:refused", *uids)


def _fetch(client: IMAPClient, batch: list[int], suspects: Suspects) -> dict[int, dict]:
    items = [b"BODY.PEEK[]", b"INTERNALDATE"]
    try:
        fetched: dict[int, dict] = dict(client.fetch(batch, items))
    except IMAPClientError:
        # The connection may be gone with it (some servers hang up); the next sync
        # fetches the good ones first.
        suspects.add(batch)
        raise
    bodies = [uid for uid, data in fetched.items() if data.get(b"BODY[]") is not None]
    suspects.discard(bodies)
    for uid in batch:
        if uid in fetched and uid not in bodies:
            suspects.add([uid])  # answered without a body
    return fetched


def _store_batch(
    session,
    mailbox: Mailbox,
    folder: str,
    uidvalidity: int,
    batch: list[int],
    fetched: dict,
    cutoff: datetime,
    *,
    report: SyncReport,
) -> tuple[list[int], list[int]]:
    """Store the batch; the ids of the new rows, live mail apart from history.

    A few statements per batch, not two per message (issue 11: the poller's per-row
    SELECT and flush cost more than the IMAP fetch): the bytes already held, read at once;
    the new rows in one INSERT; then the copies of bytes held (or stored just now)."""
    arrivals: list[tuple[int, bytes, str, datetime]] = []
    for uid in batch:
        data = fetched.get(uid)
        if data is None:
            continue  # expunged between SEARCH and FETCH: gone from the next SEARCH too
        if data.get(b"BODY[]") is None:
            continue  # answered without a body: a suspect, tried alone next time
        raw = bytes(data[b"BODY[]"])
        arrived = data.get(b"INTERNALDATE")
        arrived_at = as_utc(arrived) if isinstance(arrived, datetime) else utcnow()
        arrivals.append((uid, raw, hashlib.sha256(raw).hexdigest(), arrived_at))
    if not arrivals:
        return [], []
    # The same bytes already held for this mailbox: a UIDVALIDITY resync (perhaps one
    # that was interrupted) or a second copy delivered to the same folder.
    held: dict[str, int] = dict(
        session.execute(
            select(Inbound.raw_sha256, func.min(Inbound.id))
            .where(Inbound.mailbox_id == mailbox.id, Inbound.raw_sha256.in_({a[2] for a in arrivals}))
            .group_by(Inbound.raw_sha256)
        ).all()
    )

    def row(uid: int, raw: bytes, digest: str, arrived_at: datetime) -> dict[str, Any]:
        return {
            "source_key": f"imap:{mailbox.id}:{folder}:{uidvalidity}:{uid}",
            "channel": "email",
            "mailbox_id": mailbox.id,
            "raw": raw,
            "raw_sha256": digest,
            "arrived_at": arrived_at,
            "may_acknowledge": arrived_at >= cutoff,
            "imap_folder": folder,
            "imap_uidvalidity": uidvalidity,
            "imap_uid": uid,
        }

    fresh: list[dict[str, Any]] = []
    copies: list[tuple[int, str, datetime]] = []
    first_of: set[str] = set()
    for uid, raw, digest, arrived_at in arrivals:
        if digest in held or digest in first_of:
            copies.append((uid, digest, arrived_at))
        else:
            first_of.add(digest)
            fresh.append(row(uid, raw, digest, arrived_at))
    new_ids: list[int] = []
    history_ids: list[int] = []
    if fresh:
        stored = session.execute(
            insert(Inbound).returning(Inbound.id, Inbound.raw_sha256, sort_by_parameter_order=True), fresh
        ).all()
        for values, (inbound_id, digest) in zip(fresh, stored, strict=True):
            held.setdefault(digest, inbound_id)
            (new_ids if values["may_acknowledge"] else history_ids).append(inbound_id)
        report.new += len(fresh)
    if copies:
        # Remember the new UID (so it is no gap), keep one copy of the bytes.
        now = utcnow()
        session.execute(
            insert(Inbound),
            [
                {
                    **row(uid, b"", digest, arrived_at),
                    "status": InboundStatus.DUPLICATE,
                    "error": f"same bytes as inbound {held[digest]}",
                    "processed_at": now,
                }
                for uid, digest, arrived_at in copies
            ],
        )
        report.known_after_resync += len(copies)
    return new_ids, history_ids


def _save_state(session, mailbox_id: int, folder: str, uidvalidity: int, uid: int) -> SyncState:
    state = session.scalar(
        select(SyncState).where(SyncState.mailbox_id == mailbox_id, SyncState.folder == folder)
    )
    if state is None:
        state = SyncState(mailbox_id=mailbox_id, folder=folder, uidvalidity=uidvalidity, last_uid=0)
        session.add(state)
    if state.uidvalidity != uidvalidity:
        state.uidvalidity, state.last_uid = uidvalidity, 0
    state.last_uid = max(state.last_uid, uid)
    return state


def _cutoff(mailbox: Mailbox, grace_seconds: int) -> datetime:
    # INTERNALDATE has whole seconds: a message appended in the same second as the
    # mailbox was added counts as new mail.
    cutoff = as_utc(mailbox.ack_cutoff).replace(microsecond=0)
    return cutoff - timedelta(seconds=grace_seconds)


def apply_after_process_policy(
    runtime: Runtime, client: IMAPClient, mailbox: Mailbox, folder: str, uidvalidity: int
) -> int:
    """Mark processed messages on the server (\\Seen, or moved), only once they are filed."""
    if mailbox.after_process not in {"seen", "move"}:
        return 0
    with runtime.sessions.begin() as session:
        done = [
            (row_id, uid)
            for row_id, uid in session.execute(
                select(Inbound.id, Inbound.imap_uid).where(
                    Inbound.mailbox_id == mailbox.id,
                    Inbound.imap_folder == folder,
                    Inbound.imap_uidvalidity == uidvalidity,
                    Inbound.server_done.is_(False),
                    # Only what was filed: a quarantined message stays where staff can see it.
                    Inbound.status.in_(
                        (InboundStatus.PROCESSED, InboundStatus.DUPLICATE, InboundStatus.IGNORED)
                    ),
                )
            )
            if uid is not None
        ]
    if not done:
        return 0
    uids = [uid for _, uid in done]
    # No transaction is open during the IMAP commands: a crash here leaves the rows
    # unmarked, and flagging or moving them again next time is harmless.
    can_move = client.has_capability("MOVE") or client.has_capability("UIDPLUS")
    if mailbox.after_process == "seen" or not can_move:
        # Without MOVE or UIDPLUS, moving means a plain EXPUNGE, which would also erase
        # messages other clients marked deleted: mark them seen instead.
        client.add_flags(uids, [SEEN], silent=True)
    else:
        target = mailbox.move_to_folder or "Processed"
        if not client.folder_exists(target):
            client.create_folder(target)
        if client.has_capability("MOVE"):
            client.move(uids, target)
        else:
            client.copy(uids, target)
            client.delete_messages(uids, silent=True)
            client.uid_expunge(uids)
    with runtime.sessions.begin() as session:
        session.execute(
            update(Inbound).where(Inbound.id.in_([row_id for row_id, _ in done])).values(server_done=True)
        )
    return len(uids)


def _alert(session, mailbox: Mailbox, kind: str, detail: str) -> None:
    log.warning("mailbox %s: %s", mailbox.name, detail)
    already = session.scalar(
        select(Alert.id)
        .where(Alert.kind == kind, Alert.mailbox_id == mailbox.id, Alert.detail == detail)
        .where(Alert.resolved_at.is_(None))
        .limit(1)
    )
    if already is None:  # the same open alert is not repeated at every sync
        session.add(Alert(kind=kind, mailbox_id=mailbox.id, detail=detail))


def _uid_ranges(uids: list[int]) -> str:
    text = ", ".join(str(u) for u in uids[:20])
    return text + (f" and {len(uids) - 20} more" if len(uids) > 20 else "")
