"""`mailbot poll`: sync every mailbox, once or forever (IMAP IDLE where offered).

One poller at a time per mailbox, whatever the number of hosts: a lease in Redis,
renewed while the poller works. A poller that dies stops renewing, the lease expires
and another poller takes the mailbox over (peers.md, complaint 1: overlapping runs).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from imapclient import IMAPClient
from sqlalchemy import select

from mailbot.locks import Lease
from mailbot.observability.freshness import mark_mailbox_current
from mailbot.observability.logs import add_log_fields, log_fields
from mailbot.observability.redis_client import quick_client
from mailbot.queue import enqueue_processing
from mailbot.runtime import Runtime
from mailbot.sources.imap_connect import connect_imap
from mailbot.sources.imap_idle import idle_for_mail, settled
from mailbot.sources.imap_sync import LeaseLost, SyncReport, sync_folder
from mailbot.store.models import Alert, Mailbox
from mailbot.timeutil import utcnow

log = logging.getLogger("mailbot.imap")

# RFC 2177 asks clients to re-issue IDLE at least every 29 minutes; we wake far more
# often so the lease is renewed, a lost connection is noticed and a stop takes seconds.
IDLE_WAKE_SECONDS = 5
# The first IDLE after a sync: what arrived just before it is only reported at its end.
IDLE_SETTLE_SECONDS = 1
# A lost Redis is looked for this often: a restart takes seconds, and mail waits for it.
REDIS_RETRY_SECONDS = 1
# A mailbox leased by another poller is asked for this often (at most a third of the
# lease): a dead poller's lease then changes hands seconds after it expires.
LEASE_RETRY_SECONDS = 5
FULL_SYNC_SECONDS = 300
POLL_SECONDS = 60
MAX_BACKOFF_SECONDS = 300


def lease_for(runtime: Runtime, mailbox_id: int) -> Lease:
    return Lease(runtime.redis, f"mailbot:lease:mailbox:{mailbox_id}", runtime.settings.poller_lease_seconds)


def enabled_mailboxes(runtime: Runtime) -> list[Mailbox]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Mailbox).where(Mailbox.enabled.is_(True)).order_by(Mailbox.id)))


def poll_once(runtime: Runtime) -> list[SyncReport]:
    """One sync of every mailbox this poller can lease; a failing mailbox is recorded and
    reported (SyncReport.error), never raised, so the others are still synced."""
    reports = []
    for mailbox in enabled_mailboxes(runtime):
        lease = lease_for(runtime, mailbox.id)
        try:
            if not lease.acquire():
                log.info("mailbox %s is being synced by another poller", mailbox.name)
                continue
            client = connect_imap(mailbox, runtime.settings.secret_key)
            try:
                reports.append(sync_folder(runtime, client, mailbox, keep_alive=lease.renew))
            finally:
                _logout(client)
            record_sync_result(runtime, mailbox.id, None)
        except Exception as error:
            log.exception("mailbox %s: sync failed", mailbox.name)
            text = f"{type(error).__name__}: {error}"
            if not isinstance(error, redis.RedisError):  # ours, not the mailbox's
                record_sync_result(runtime, mailbox.id, text)
            reports.append(SyncReport(mailbox.name, mailbox.imap_folder, error=text))
        finally:
            lease.release_quietly()
    return reports


def record_sync_result(runtime: Runtime, mailbox_id: int, error: str | None) -> None:
    with runtime.sessions.begin() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None:
            return
        now = utcnow()
        if error is None:
            mailbox.last_sync_at = now
            mailbox.last_error = None
            return
        if mailbox.last_error != error:  # one alert per new kind of failure, not per retry
            session.add(Alert(kind="mailbox_error", mailbox_id=mailbox_id, detail=error[:4000]))
        mailbox.last_error = error[:4000]
        mailbox.last_error_at = now


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the server may have dropped us already
        pass


class Handoff:
    """Inbound ids stored but not yet enqueued, kept until Redis takes them.

    A sync commits rows before it enqueues them (durable before acknowledged); when
    Redis is down at that moment, the rows are safe but no job carries them, and the next
    sync does not see them as new. The watcher hands them over first thing once Redis
    is back (a poller killed meanwhile leaves them to the workers' recovery).
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.waiting: list[int] = []
        self.waiting_history: list[int] = []

    def __call__(self, inbound_ids: list[int], history_ids: list[int] | None = None) -> None:
        self.waiting += inbound_ids
        self.waiting_history += history_ids or []
        if self.waiting:
            enqueue_processing(self.runtime, self.waiting)
            self.waiting = []
        if self.waiting_history:
            enqueue_processing(self.runtime, self.waiting_history, history=True)
            self.waiting_history = []


class MailboxWatcher(threading.Thread):
    """Keeps one mailbox synced: IDLE when the server offers it, polling otherwise.

    Nothing that goes wrong ends the thread: IMAP and database failures are retried with
    backoff, a lost Redis every REDIS_RETRY_SECONDS with the lease token kept.
    """

    def __init__(self, runtime: Runtime, mailbox_id: int, stop: threading.Event) -> None:
        super().__init__(name=f"mailbox-{mailbox_id}", daemon=True)
        self.runtime = runtime
        self.mailbox_id = mailbox_id
        self.stop = stop
        # One token for the watcher's whole life, so the lease that comes back with a
        # restarted Redis is still recognised as ours.
        self.lease = lease_for(runtime, mailbox_id)
        self.handoff = Handoff(runtime)

    def run(self) -> None:
        with log_fields(mailbox_id=self.mailbox_id, channel="email"):
            self._run()

    def _run(self) -> None:
        failures = 0
        redis_lost = False
        while not self.stop.is_set():
            try:
                if not self.lease.acquire():
                    # Another poller has it; asking is cheap, and when it dies its
                    # mailbox should not wait long for someone to notice.
                    self.stop.wait(min(LEASE_RETRY_SECONDS, self.runtime.settings.poller_lease_seconds / 3))
                    continue
                if redis_lost:
                    log.warning("mailbox %s: Redis is back, resuming", self.mailbox_id)
                    redis_lost = False
                self._watch()
                failures = 0
            except redis.RedisError as error:
                # Redis is restarting or unreachable: without it nothing can be enqueued
                # nor the lease checked, so wait for it, briefly and without giving the
                # lease up. Mail that arrives meanwhile is fetched by the first sync after.
                if not redis_lost:
                    log.warning("mailbox %s: Redis unavailable (%s), waiting for it", self.mailbox_id, error)
                redis_lost = True
                self.stop.wait(REDIS_RETRY_SECONDS)
                continue
            except LeaseLost as error:
                log.warning("%s", error)
            except Exception as error:
                failures += 1
                log.exception("mailbox %s: connection failed", self.mailbox_id)
                self._record_failure(error)
            self.lease.release_quietly()
            if failures:
                # Reconnect with exponential backoff, so a server that is down is not hammered.
                self.stop.wait(min(2**failures, MAX_BACKOFF_SECONDS))
        self.lease.release_quietly()

    def _record_failure(self, error: Exception) -> None:
        try:
            record_sync_result(self.runtime, self.mailbox_id, f"{type(error).__name__}: {error}")
        except Exception:  # the database may be what failed; the log has the error
            log.exception("mailbox %s: could not record the failure", self.mailbox_id)

    def _watch(self) -> None:
        with self.runtime.sessions() as session:
            mailbox = session.get(Mailbox, self.mailbox_id)
        if mailbox is None or not mailbox.enabled:
            self.stop.wait(POLL_SECONDS)
            return
        add_log_fields(mailbox=mailbox.name)
        client = connect_imap(mailbox, self.runtime.settings.secret_key)
        try:
            can_idle = client.has_capability("IDLE")
            while not self.stop.is_set():
                self._sync(client, mailbox)
                synced_at = time.monotonic()
                # Short first round: mail that came between our last command and IDLE is
                # announced only when the IDLE ends (see imap_idle).
                wait = IDLE_SETTLE_SECONDS
                # Without IDLE the folder is polled; either way we wake every few
                # seconds to renew the lease.
                resync_after = FULL_SYNC_SECONDS if can_idle else POLL_SECONDS
                while not self.stop.is_set():
                    if not self.lease.renew():
                        log.warning("mailbox %s: lease lost, stepping back", mailbox.name)
                        return
                    if self._wait_for_mail(client, can_idle, wait):
                        break
                    if can_idle:  # the server said nothing came: still all stored
                        mark_mailbox_current(quick_client(self.runtime.redis_url), self.mailbox_id)
                    wait = IDLE_WAKE_SECONDS
                    if time.monotonic() - synced_at > resync_after:
                        break
        finally:
            _logout(client)

    def _sync(self, client: IMAPClient, mailbox: Mailbox) -> None:
        """Sync until no mail arrived during the sync itself."""
        folder = mailbox.imap_folder or "INBOX"
        while not self.stop.is_set():
            self.handoff([])  # what a lost Redis kept back goes first
            report = sync_folder(
                self.runtime, client, mailbox, keep_alive=self.lease.renew, hand_over=self.handoff
            )
            record_sync_result(self.runtime, self.mailbox_id, None)
            if settled(client, folder, report.uidnext):
                mark_mailbox_current(quick_client(self.runtime.redis_url), self.mailbox_id)
                return
            log.info("mailbox %s: mail arrived during the sync, syncing again", mailbox.name)
            if not self.lease.renew():
                raise LeaseLost(f"mailbox {mailbox.name}: lease lost between syncs; another poller goes on")

    def _wait_for_mail(self, client: IMAPClient, can_idle: bool, seconds: float) -> bool:
        if can_idle:
            return idle_for_mail(client, seconds)
        self.stop.wait(seconds)
        return False


def run_forever(
    runtime: Runtime,
    stop: threading.Event,
    refresh_seconds: float = 15.0,
    on_start: Callable[[int], None] | None = None,
) -> None:
    """Watch every enabled mailbox until `stop` is set; mailboxes added later are picked up."""
    watchers: dict[int, MailboxWatcher] = {}
    while not stop.is_set():
        try:
            mailboxes = enabled_mailboxes(runtime)
        except Exception:  # the database is down: the running watchers go on meanwhile
            log.exception("could not list the mailboxes")
            mailboxes = []
        for mailbox in mailboxes:
            watcher = watchers.get(mailbox.id)
            if watcher is None or not watcher.is_alive():
                watchers[mailbox.id] = MailboxWatcher(runtime, mailbox.id, stop)
                watchers[mailbox.id].start()
                if on_start:
                    on_start(mailbox.id)
        stop.wait(refresh_seconds)
    for watcher in watchers.values():
        watcher.join(timeout=IDLE_WAKE_SECONDS + 5)
