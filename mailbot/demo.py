"""`mailbot demo`: the whole product on embedded defaults, with a seeded demo mailbox.

It starts a private Dovecot holding a support mailbox, an SMTP catcher that prints
what mailbot sends, and the three Procfile processes (poller, worker, web), then
delivers a few customer mails in Spanish, Italian and English, so a newcomer sees
tickets created, deduplicated and acknowledged, and can browse them on the web.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from mailbot.config import load_settings
from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.mailboxes import MailboxSpec, add_mailbox
from mailbot.runtime import current_runtime
from mailbot.statuses import InboundStatus
from mailbot.store.migrate import upgrade_database
from mailbot.store.models import Inbound
from mailbot.ticket_json import list_tickets_json

HISTORY = [
    (
        "Carla Rossi <carla.rossi@libero.test>",
        "Fattura di marzo",
        "Buongiorno, potreste reinviarmi la fattura di marzo? Grazie, Carla",
    ),
    (
        "John Miller <john.miller@outlook.test>",
        "Password reset",
        "Hi, I could not reset my password last week. It works now, thanks anyway.",
    ),
]

NEW_MAIL = [
    (
        "Ana García <ana.garcia@gmail.test>",
        "Mi pedido no ha llegado",
        "demo-1@mail.gmail.test",
        "",
        "Hola, hice el pedido 48213 hace dos semanas y todavía no ha llegado. ¿Podéis decirme algo?\n\n"
        "Gracias,\nAna",
    ),
    (
        "Marco Bianchi <marco.bianchi@libero.test>",
        "Rimborso non ricevuto",
        "demo-2@libero.test",
        "",
        "Ciao, ho restituito le scarpe il 2 novembre ma non ho ancora ricevuto il rimborso. "
        "È urgente, grazie.\n\nMarco",
    ),
    (
        "Emma Clarke <emma.clarke@yahoo.test>",
        "Wrong size delivered",
        "demo-3@yahoo.test",
        "",
        "Hello, I ordered a medium jacket and received a large one. How can I exchange it?\n\nEmma",
    ),
    # The same message delivered a second time: no second ticket, no second answer.
    (
        "Ana García <ana.garcia@gmail.test>",
        "Mi pedido no ha llegado",
        "demo-1@mail.gmail.test",
        "",
        "Hola, hice el pedido 48213 hace dos semanas y todavía no ha llegado. ¿Podéis decirme algo?\n\n"
        "Gracias,\nAna",
    ),
    # Ana writes again about the same matter: it joins her open ticket.
    (
        "Ana García <ana.garcia@gmail.test>",
        "Mi pedido no ha llegado",
        "demo-4@mail.gmail.test",
        "",
        "Perdón, olvidé decir que la dirección es Calle Mayor 5, Madrid.",
    ),
    # An out-of-office reply: stored, never answered.
    (
        "Emma Clarke <emma.clarke@yahoo.test>",
        "Automatic reply: Wrong size delivered",
        "demo-5@yahoo.test",
        "Auto-Submitted: auto-replied\n",
        "I am out of the office until Monday.",
    ),
]


def _mail(sender: str, subject: str, body: str, message_id: str, extra: str = "") -> bytes:
    return (
        f"From: {sender}\nTo: support@acme.test\nSubject: {subject}\n"
        f"Message-ID: <{message_id}>\nDate: {dt.datetime.now(dt.UTC):%a, %d %b %Y %H:%M:%S +0000}\n"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        f"Content-Transfer-Encoding: 8bit\n{extra}\n{body}\n"
    ).encode()


def run_demo(data_dir: str | None, port: int, once: bool = False) -> None:
    base = Path(data_dir) if data_dir else load_settings().data_dir / "demo"
    shutil.rmtree(base, ignore_errors=True)  # each demo starts from a clean slate
    base.mkdir(parents=True)
    os.environ["MAILBOT_DATA_DIR"] = str(base)
    os.environ.pop("MAILBOT_DATABASE_URL", None)
    settings = load_settings()
    upgrade_database(settings.database_url)
    runtime = current_runtime()  # starts the private redis-server under the data dir

    # Dovecot's mail processes run unprivileged: their folder must be reachable by them,
    # which a checkout under a private home directory is not.
    dovecot_dir = Path(tempfile.mkdtemp(prefix="mailbot-demo-dovecot-"))
    dovecot = DovecotServer(dovecot_dir)
    dovecot.start()
    password = secrets.token_hex(8)
    dovecot.add_user("support", password)
    smtp = SmtpSink(print_to=sys.stdout)
    smtp.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for sender, subject, body in HISTORY:
            old_mail = _mail(sender, subject, body, secrets.token_hex(8) + "@old.test")
            dovecot.append(
                "support", password, old_mail, msg_time=dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
            )
        with runtime.sessions.begin() as session:
            add_mailbox(
                session,
                MailboxSpec(
                    "support", dovecot.imap_url("support", password), smtp.smtp_url(), "support@acme.test"
                ),
                settings.secret_key,
            )
        admin_password = _create_admin(base)
        env = {**os.environ, "MAILBOT_REDIS_URL": runtime.redis_url}
        mailbot = [sys.executable, "-m", "mailbot.cli"]
        processes.append(subprocess.Popen([*mailbot, "poll"], env=env))
        processes.append(subprocess.Popen([*mailbot, "worker"], env=env))
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    # gunicorn 27's control socket is one path per user: every gunicorn on
                    # the host would share it.
                    "--no-control-socket",
                    "--log-level",
                    "warning",
                    "mailbot.web.wsgi:app",
                ],
                env=env,
            )
        )
        _wait_for_web(port, timeout=30)
        _say(f"mailbot demo: tickets at http://127.0.0.1:{port}")
        _say(f"  log in as admin@acme.test / {admin_password}")
        for sender, subject, message_id, extra, body in NEW_MAIL:
            time.sleep(1.5)
            dovecot.append("support", password, _mail(sender, subject, body, message_id, extra))
            _say(f"customer mail arrived: {sender} - {subject}")
        _wait_for_acknowledgements(runtime, expected=3, timeout=60)
        _print_summary(runtime)
        if once:
            return
        _say("Running; press Ctrl-C to stop.")
        while all(p.poll() is None for p in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        smtp.stop()
        dovecot.stop()
        shutil.rmtree(dovecot_dir, ignore_errors=True)
        from mailbot.redis_server import stop_private_redis

        stop_private_redis(settings)


def _create_admin(base: Path) -> str:
    password = secrets.token_urlsafe(9)
    result = subprocess.run(
        [sys.executable, "-m", "mailbot.cli", "admin", "create", "admin@acme.test", "--password", password],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return "(no panel users yet: " + result.stderr.strip().splitlines()[-1] + ")"
    return password


def _wait_for_acknowledgements(runtime, expected: int, timeout: float) -> None:
    """Until every seeded mail is filed and the expected acknowledgements are sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.sessions() as session:
            tickets = list_tickets_json(session)
            waiting = session.scalar(
                select(func.count()).select_from(Inbound).where(Inbound.status == InboundStatus.RECEIVED)
            )
            filed = session.scalar(select(func.count()).select_from(Inbound))
        acknowledged = sum(1 for t in tickets if t["acknowledged_at"])
        if acknowledged >= expected and not waiting and filed >= len(HISTORY) + len(NEW_MAIL):
            return
        time.sleep(0.5)
    raise SystemExit(f"demo: fewer than {expected} acknowledgements after {timeout}s; see the logs above")


def _wait_for_web(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"demo: the web panel did not answer on port {port}; see the logs above")


def _print_summary(runtime) -> None:
    with runtime.sessions() as session:
        tickets = list_tickets_json(session)
    _say(f"{len(tickets)} tickets:")
    for t in tickets:
        kinds = ", ".join(m["kind"] for m in t["messages"])
        acked = "acknowledged" if t["acknowledged_at"] else "not acknowledged (history)"
        _say(
            f"  {t['ref']}  {t['language']}  {t['contact']['email']:<30} {t['subject']:<28} [{kinds}] {acked}"
        )


def _say(text: str) -> None:
    print(text, flush=True)
