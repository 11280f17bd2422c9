"""Steady customer traffic for the chaos suite, and where its answers arrived.

Mail is APPENDed to Dovecot, webhooks are POSTed to the web process signed as the generic
channel's contract says. Each feed does what its real sender does when the far end is
away: an APPEND that fails (Dovecot restarting) is tried again on a new connection, a
webhook answered with anything but 200 (or not answered) is sent again, as every
platform retries. Each item is timed from its first attempt.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.platform_api import PlatformApi
from tests.fixtures.messages import customer_mail
from tests.fixtures.platforms import as_bytes
from tests.fixtures.platforms import generic as fx


@dataclass
class Fed:
    """What a feed sent: key (Message-ID or conversation id) -> first attempt, monotonic."""

    sent_at: dict[str, float] = field(default_factory=dict)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, key: str, at: float) -> None:
        with self.lock:
            self.sent_at[key] = at


class MailFeed(threading.Thread):
    """Customer mail to several mailboxes, round robin, about `rate` a second."""

    def __init__(
        self, dovecot: DovecotServer, mailboxes: list[tuple[str, str, str]], rate: float, run: str
    ) -> None:
        super().__init__(name="mail-feed", daemon=True)
        self.dovecot = dovecot
        self.mailboxes = mailboxes  # (user, password, address)
        self.rate = rate
        self.run_id = run
        self.fed = Fed()
        self.stopped = threading.Event()
        self.rng = random.Random(f"mail-{run}")

    def run(self) -> None:
        n = 0
        while not self.stopped.is_set():
            user, password, address = self.mailboxes[n % len(self.mailboxes)]
            message_id = f"chaos-{self.run_id}-{n}@mail.cliente.test"
            raw = customer_mail(
                message_id,
                sender=f"Cliente {n} <c{n}.{self.run_id}@cliente.test>",
                to=address,
                subject=f"Pedido {n} sin entregar",
                body=f"Hola, mi pedido número {n} no ha llegado todavía. Gracias.",
            )
            first = time.monotonic()
            # Until it is in, even once told to stop: an attempt may have stored it already.
            while True:
                try:
                    self.dovecot.append(user, password, raw)
                    break
                except Exception:  # noqa: BLE001 (Dovecot restarting: any IMAP or socket error)
                    self.fed.retries += 1
                    time.sleep(0.5)
            self.fed.record(message_id, first)
            n += 1
            self.stopped.wait(self.rng.expovariate(self.rate))


class WebhookFeed(threading.Thread):
    """Signed generic-channel submissions, one new customer each, about `rate` a second."""

    def __init__(self, url: str, rate: float, run: str) -> None:
        super().__init__(name="webhook-feed", daemon=True)
        self.url = url
        self.rate = rate
        self.run_id = run
        self.fed = Fed()
        self.stopped = threading.Event()
        self.rng = random.Random(f"webhook-{run}")

    def run(self) -> None:
        n = 0
        with httpx.Client(timeout=10) as http:
            while not self.stopped.is_set():
                conversation = f"conv-{self.run_id}-{n}"
                body = as_bytes(
                    fx.submission(
                        f"Hola, el pedido {n} llegó roto. ¿Me enviáis otro?",
                        event_id=f"evt-{self.run_id}-{n}",
                        sender_id=f"cust-{self.run_id}-{n}",
                        name=f"Cliente Web {n}",
                        email=None,
                        phone=None,
                        conversation_id=conversation,
                    )
                )
                first = time.monotonic()
                # Until it is taken, even once told to stop: an attempt may have stored it.
                while True:
                    try:
                        # Signed afresh on each attempt, as a platform's retry is.
                        answer = http.post(self.url, content=body, headers=fx.signed_headers(body))
                        if answer.status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    self.fed.retries += 1
                    time.sleep(1.0)
                self.fed.record(conversation, first)
                n += 1
                self.stopped.wait(self.rng.expovariate(self.rate))


@dataclass
class PlatformAnswers:
    """When each acknowledgement reached the generic channel's far end, by conversation id."""

    arrived: dict[str, float]  # conversation id -> first answer, monotonic
    counts: Counter[str]  # conversation id -> answers


def platform_answers(api: PlatformApi) -> PlatformAnswers:
    answers = PlatformAnswers({}, Counter())
    for call in api.calls_to("generic"):
        if call.status == 200:
            conversation = json.loads(call.body)["conversation_id"]
            answers.arrived.setdefault(conversation, call.at)
            answers.counts[conversation] += 1
    return answers
