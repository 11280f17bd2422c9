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

from imapclient import IMAPClient
from sqlalchemy import select

from mailbot.locks import Lease
from mailbot.runtime import Runtime
from mailbot.sources.imap_connect import connect_imap
from mailbot.sources.imap_sync import SyncReport, sync_folder
from mailbot.store.models import Alert, Mailbox
from mailbot.timeutil import utcnow

log = logging.getLogger("mailbot.imap")

# RFC 2177 asks clients to re-issue IDLE at least every 29 minutes; we wake far more
# often so the lease is renewed, a lost connection is noticed and a stop takes seconds.
IDLE_WAKE_SECONDS = 5
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
        if not lease.acquire():
            log.info("mailbox %s is being synced by another poller", mailbox.name)
            continue
        try:
            client = connect_imap(mailbox, runtime.settings.secret_key)
            try:
                reports.append(sync_folder(runtime, client, mailbox, keep_alive=lease.renew))
            finally:
                _logout(client)
            record_sync_result(runtime, mailbox.id, None)
        except Exception as error:
            log.exception("mailbox %s: sync failed", mailbox.name)
            text = f"{type(error).__name__}: {error}"
            record_sync_result(runtime, mailbox.id, text)
            reports.append(SyncReport(mailbox.name, mailbox.imap_folder, error=text))
        finally:
            lease.release()
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


class MailboxWatcher(threading.Thread):
    """Keeps one mailbox synced: IDLE when the server offers it, polling otherwise."""

    def __init__(self, runtime: Runtime, mailbox_id: int, stop: threading.Event) -> None:
        super().__init__(name=f"mailbox-{mailbox_id}", daemon=True)
        self.runtime = runtime
        self.mailbox_id = mailbox_id
        self.stop = stop

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            lease = lease_for(self.runtime, self.mailbox_id)
            if not lease.acquire():
                self.stop.wait(self.runtime.settings.poller_lease_seconds / 3)
                continue
            try:
                self._watch(lease)
                failures = 0
            except Exception as error:
                failures += 1
                log.exception("mailbox %s: connection failed", self.mailbox_id)
                record_sync_result(self.runtime, self.mailbox_id, f"{type(error).__name__}: {error}")
            finally:
                lease.release()
            if failures:
                # Reconnect with exponential backoff, so a server that is down is not hammered.
                self.stop.wait(min(2**failures, MAX_BACKOFF_SECONDS))

    def _watch(self, lease: Lease) -> None:
        with self.runtime.sessions() as session:
            mailbox = session.get(Mailbox, self.mailbox_id)
        if mailbox is None or not mailbox.enabled:
            self.stop.wait(POLL_SECONDS)
            return
        client = connect_imap(mailbox, self.runtime.settings.secret_key)
        try:
            can_idle = client.has_capability("IDLE")
            last_full = 0.0
            while not self.stop.is_set():
                sync_folder(self.runtime, client, mailbox, keep_alive=lease.renew)
                record_sync_result(self.runtime, self.mailbox_id, None)
                last_full = time.monotonic()
                while not self.stop.is_set():
                    if not lease.renew():
                        log.warning("mailbox %s: lease lost, stepping back", mailbox.name)
                        return
                    pushed = self._wait_for_mail(client, can_idle)
                    if pushed or time.monotonic() - last_full > FULL_SYNC_SECONDS:
                        break
        finally:
            _logout(client)

    def _wait_for_mail(self, client: IMAPClient, can_idle: bool) -> bool:
        if not can_idle:
            self.stop.wait(min(POLL_SECONDS, self.runtime.settings.poller_lease_seconds / 3))
            return True
        client.idle()
        try:
            responses = client.idle_check(timeout=IDLE_WAKE_SECONDS)
        finally:
            client.idle_done()
        return any(b"EXISTS" in response for response in responses)


def run_forever(
    runtime: Runtime,
    stop: threading.Event,
    refresh_seconds: float = 15.0,
    on_start: Callable[[int], None] | None = None,
) -> None:
    """Watch every enabled mailbox until `stop` is set; mailboxes added later are picked up."""
    watchers: dict[int, MailboxWatcher] = {}
    while not stop.is_set():
        for mailbox in enabled_mailboxes(runtime):
            watcher = watchers.get(mailbox.id)
            if watcher is None or not watcher.is_alive():
                watchers[mailbox.id] = MailboxWatcher(runtime, mailbox.id, stop)
                watchers[mailbox.id].start()
                if on_start:
                    on_start(mailbox.id)
        stop.wait(refresh_seconds)
    for watcher in watchers.values():
        watcher.join(timeout=IDLE_WAKE_SECONDS + 5)
