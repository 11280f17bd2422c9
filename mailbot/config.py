"""Settings read from the environment, with embedded defaults that need nothing installed.

Everything a support team edits day to day (mailboxes, templates, SLAs) lives in the
database and the panel; only what must be known before the database is opened is here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mailbot.faq import DEFAULT_MIN_SCORE
from mailbot.limits import Limits, load_limits


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    # None: mailbot starts and supervises a private redis-server under data_dir.
    redis_url: str | None
    secret_key: str
    default_language: str = "en"
    # Messages whose first sight is older than this many seconds before the mailbox
    # was added count as history: imported, never acknowledged.
    ack_cutoff_grace_seconds: int = 0
    # Two copies of one body from one sender within this window are one message.
    duplicate_window_seconds: int = 6 * 3600
    imap_batch_size: int = 200
    # Rate caps, the last guard against mail loops (see shared/peers.md: FreeScout's
    # 10 per 3 hours and 2 per subject).
    ack_cap_per_address: int = 10
    ack_cap_per_subject: int = 2
    ack_cap_window_seconds: int = 3 * 3600
    burst_hold_threshold: int = 30
    # A claim older than this was abandoned by a dead worker (nothing was sent yet). Longer
    # than the worst way to DATA of a group (six SMTP steps of 30 s for the first message).
    outbox_claim_ttl_seconds: int = 600
    # A hand-over older than this was cut off: the row becomes `uncertain`.
    outbox_sending_ttl_seconds: int = 300
    # How long one attempt at filing a message may take before another job may try it.
    processing_lease_seconds: int = 60
    # A poller that stops renewing its mailbox lease for this long is presumed dead. It
    # renews every few seconds and after each FETCH batch; its mailbox waits this long
    # for another poller when it is killed.
    poller_lease_seconds: int = 15
    # The customer-data lookup (customers/lookup.py): a URL template with {email} and/or
    # {phone}, answered with a JSON object of attributes. None: CSV imports only.
    customer_lookup_url: str | None = None
    customer_lookup_timeout_seconds: float = 2.0
    customer_lookup_ttl_seconds: int = 3600
    # Cross-channel dedupe (pipeline/crosschannel.py): a contact's message on another
    # channel joins their open ticket active within this window when the texts share at
    # least this share of the shorter one's word stems.
    cross_channel_window_seconds: int = 72 * 3600
    cross_channel_similarity: float = 0.3
    # The region a phone number without country code is read in when neither the channel
    # nor the mailbox has a language (ISO 3166 code; "": the default language's region).
    default_phone_region: str = ""
    # How often the SLA watchdog looks for tickets to escalate (sla/schedule.py).
    sla_watch_seconds: int = 30
    # Self-service (faq/): the BM25 score an FAQ entry needs to be suggested (chosen on a
    # labelled set, benchmarks/faq_threshold.py); how many "not helpful" answers, or how
    # many days without a review, flag an entry in the panel.
    faq_min_score: float = DEFAULT_MIN_SCORE
    faq_unhelpful_flag: int = 3
    faq_review_days: int = 180
    # Where customers reach the web process: the base of the signed links in mail.
    public_url: str = "http://127.0.0.1:8000"
    # Sizes and depths of what is read and kept (limits.py, README "## Limits").
    limits: Limits = field(default_factory=Limits)

    @property
    def max_attachment_bytes(self) -> int:
        return self.limits.max_attachment_bytes


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    data_dir = Path(env.get("MAILBOT_DATA_DIR") or Path.cwd() / ".data").resolve()
    database_url = env.get("MAILBOT_DATABASE_URL") or f"sqlite:///{data_dir / 'mailbot.sqlite3'}"
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=env.get("MAILBOT_REDIS_URL") or None,
        secret_key=env.get("MAILBOT_SECRET_KEY") or _local_secret_key(data_dir),
        default_language=env.get("MAILBOT_DEFAULT_LANGUAGE", "en"),
        ack_cutoff_grace_seconds=int(env.get("MAILBOT_ACK_CUTOFF_GRACE_SECONDS", "0")),
        duplicate_window_seconds=int(env.get("MAILBOT_DUPLICATE_WINDOW_SECONDS", str(6 * 3600))),
        imap_batch_size=int(env.get("MAILBOT_IMAP_BATCH_SIZE", "200")),
        ack_cap_per_address=int(env.get("MAILBOT_ACK_CAP_PER_ADDRESS", "10")),
        ack_cap_per_subject=int(env.get("MAILBOT_ACK_CAP_PER_SUBJECT", "2")),
        burst_hold_threshold=int(env.get("MAILBOT_BURST_HOLD_THRESHOLD", "30")),
        outbox_claim_ttl_seconds=int(env.get("MAILBOT_OUTBOX_CLAIM_TTL_SECONDS", "600")),
        outbox_sending_ttl_seconds=int(env.get("MAILBOT_OUTBOX_SENDING_TTL_SECONDS", "300")),
        processing_lease_seconds=int(env.get("MAILBOT_PROCESSING_LEASE_SECONDS", "60")),
        poller_lease_seconds=int(env.get("MAILBOT_POLLER_LEASE_SECONDS", "15")),
        customer_lookup_url=env.get("MAILBOT_CUSTOMER_LOOKUP_URL") or None,
        customer_lookup_timeout_seconds=float(env.get("MAILBOT_CUSTOMER_LOOKUP_TIMEOUT_SECONDS", "2")),
        customer_lookup_ttl_seconds=int(env.get("MAILBOT_CUSTOMER_LOOKUP_TTL_SECONDS", "3600")),
        cross_channel_window_seconds=int(float(env.get("MAILBOT_CROSS_CHANNEL_WINDOW_HOURS", "72")) * 3600),
        cross_channel_similarity=float(env.get("MAILBOT_CROSS_CHANNEL_SIMILARITY", "0.3")),
        default_phone_region=env.get("MAILBOT_DEFAULT_PHONE_REGION", "").upper(),
        sla_watch_seconds=max(int(env.get("MAILBOT_SLA_WATCH_SECONDS", "30")), 1),
        faq_min_score=float(env.get("MAILBOT_FAQ_MIN_SCORE", str(DEFAULT_MIN_SCORE))),
        faq_unhelpful_flag=int(env.get("MAILBOT_FAQ_UNHELPFUL_FLAG", "3")),
        faq_review_days=int(env.get("MAILBOT_FAQ_REVIEW_DAYS", "180")),
        public_url=(env.get("MAILBOT_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
        limits=load_limits(env),
    )


def _local_secret_key(data_dir: Path) -> str:
    """A key generated once per data dir, so an embedded setup is secure without setup.

    Production sets MAILBOT_SECRET_KEY; losing this file makes stored secrets unreadable.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "secret.key"
    if not key_file.exists():
        # Written beside and renamed, so a second process starting at the same
        # moment never reads a half-written key.
        partial = key_file.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(os.urandom(32).hex())
        try:
            os.link(partial, key_file)  # fails if another process won the race
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    return key_file.read_text().strip()
